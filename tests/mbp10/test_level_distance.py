"""The distance to the nearest valid level (binary search per set of valid levels) equals the per-level loop
of `reference.level_distance_reference`, bit for bit: exact ties between two levels, duplicate levels,
levels that become valid during the day, NaN and infinite levels and mids."""

from __future__ import annotations

import numpy as np
import pytest
from mbp10.levels import level_distance
from mbp10.reference import level_distance_reference

BAR_NS = 5_000_000_000


@pytest.mark.parametrize("seed", range(8))
def test_level_distance_equals_the_per_level_loop(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    mid = 4700 + np.round(np.cumsum(rng.normal(0, 0.6, n)) * 8) / 8  # eighths: exact ties midway
    mid[rng.random(n) < 0.03] = np.nan
    mid[rng.integers(0, n, 3)] = rng.choice([np.inf, -np.inf], 3)
    bar_end = (np.arange(n, dtype=np.int64) + 1) * BAR_NS
    prices = np.round(rng.uniform(mid[0] - 40, mid[0] + 40, 25) * 4) / 4
    prices[:3] = prices[3:6]  # duplicates
    since = rng.choice(np.array([0, bar_end[n // 3], bar_end[2 * n // 3] + 1]), len(prices))
    if seed % 2:  # a NaN level from some bar on, and infinite ones
        prices = np.r_[prices, np.nan, np.inf, -np.inf]
        since = np.r_[since, bar_end[n // 2], 0, bar_end[10]]
    got = level_distance(mid, bar_end, prices, since)
    want = level_distance_reference(mid, bar_end, prices, since)
    np.testing.assert_array_equal(got, want)
    shuffled = rng.permutation(n)  # bars out of time order: the same distances, bar for bar
    np.testing.assert_array_equal(
        level_distance(mid[shuffled], bar_end[shuffled], prices, since), want[shuffled]
    )
    ties = np.isin(np.abs(want), [0.125, 0.375]) & ~np.isnan(want)
    assert ties.any() and np.isfinite(want).sum() > n // 3


def test_level_distance_ties_go_to_the_lower_level_and_no_level_is_nan():
    mid = np.array([100.5, 100.5, 99.0, np.nan, 101.0])
    bar_end = np.array([1, 2, 3, 4, 5], np.int64) * BAR_NS
    got = level_distance(mid, bar_end, np.array([100.0, 101.0]), np.array([0, 2 * BAR_NS]))
    # bar 1: only 100 valid; bar 2: 100 and 101 equally near -> the lower, +0.5; bar 4: no mid
    np.testing.assert_array_equal(got, [0.5, 0.5, -1.0, np.nan, 0.0])
    assert np.isnan(level_distance(mid, bar_end, np.empty(0), np.empty(0, np.int64))).all()
    # a distance past the float range is no distance (the loop never finds a level nearer than infinity)
    far = (np.array([1e308]), np.array([BAR_NS]), np.array([-1e308]), np.array([0]))
    with np.errstate(over="ignore"):
        assert np.isnan(level_distance(*far)).all() and np.isnan(level_distance_reference(*far)).all()
