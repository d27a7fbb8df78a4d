"""Episodes (hysteresis, outcomes) on hand-made price paths; approach features equal the per-touch loop."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest
from mbp10.approach import compute_approach, sums_before
from mbp10.bars import compute_bars
from mbp10.episodes import EpisodeParams, compute_episodes, find_touches
from mbp10.levels import compute_levels
from mbp10.reference import approach_reference
from mbp10.synth import synth_day

P = EpisodeParams(approach_pts=1.0, reset_pts=4.0, break_pts=2.0, bounce_pts=4.0, horizon_bars=5)


def one_level(price=100.0, valid_from=0):
    return pa.table(
        {
            "date": ["2024-01-02"],
            "level_kind": ["round"],
            "level_price": [price],
            "valid_from_ns": [valid_from],
        }
    )


def test_touch_needs_a_reset_between_touches():
    mid = np.array([110, 103, 100.5, 99.5, 100.8, 102, 100.2, 106, 101, 100.9, 99, 95], dtype=float)
    ends = np.arange(len(mid), dtype=np.int64) * 5_000_000_000 + 5_000_000_000
    lvl, bar, direction = find_touches(mid, ends, one_level(), P)
    # bar 2 touches after being far (110); 3, 4, 6 are still the same touch; 8 re-touches after 106 (far)
    assert bar.tolist() == [2, 8] and direction.tolist() == [1, 1] and lvl.tolist() == [0, 0]


def test_touch_from_below_and_level_validity():
    mid = np.array([90, 95, 99.5, 93, 99.2], dtype=float)
    ends = np.arange(1, 6, dtype=np.int64) * 5_000_000_000
    _, bar, direction = find_touches(mid, ends, one_level(), P)
    assert bar.tolist() == [2, 4] and direction.tolist() == [-1, -1]
    # a level valid only from bar 3's end: the earlier approach does not exist yet
    _, bar, _ = find_touches(mid, ends, one_level(valid_from=int(ends[3])), P)
    assert bar.tolist() == [4]


def _bars_from_mids(mids):
    n = len(mids)
    cols = {
        "bar_start_ns": np.arange(n, dtype=np.int64) * 5_000_000_000,
        "bar5s_book_mid_px_eob": np.asarray(mids, dtype=float),
    }
    return pa.table(cols)


@pytest.mark.parametrize(
    "path, outcome",
    [
        ([110, 100.5, 99, 97.5, 97], "break"),
        ([110, 100.5, 101, 104.5, 90], "bounce"),
        ([110, 100.5, 101, 99, 100.1, 100], "chop"),
    ],
)
def test_outcomes(path, outcome):
    ep, windows = compute_episodes("2024-01-02", _bars_from_mids(path), one_level(), P)
    assert ep.column("outcome").to_pylist() == [outcome]
    assert ep.column("touch_id").to_pylist() == [20240102_00000]
    assert windows.column("touch_id").to_pylist().count(20240102_00000) == len(path)


@pytest.fixture(scope="module")
def day_with_touches():
    rec = synth_day(dt.date(2024, 1, 3), 40_000, seed=5)
    bars = compute_bars(rec)
    levels = compute_levels(dt.date(2024, 1, 3), bars, None, None)
    # tight parameters so a short synthetic day has plenty of touches
    p = EpisodeParams(approach_pts=0.5, reset_pts=1.5, break_pts=1.0, bounce_pts=1.5)
    mid = bars.column("bar5s_book_mid_px_eob").to_numpy()
    extra = pa.table(
        {
            "date": ["2024-01-03"] * 3,
            "level_kind": ["test"] * 3,
            "level_price": np.nanpercentile(mid, [25, 50, 75]).round(),
            "valid_from_ns": np.zeros(3, np.int64),
        }
    )
    levels = pa.concat_tables([levels, extra])
    episodes, _ = compute_episodes("2024-01-03", bars, levels, p)
    return bars, episodes


def test_approach_equals_per_touch_loop(day_with_touches):
    bars, episodes = day_with_touches
    assert episodes.num_rows >= 5
    approach, signature = compute_approach(bars, episodes)
    rows, sigs = approach_reference(bars, episodes)
    assert sorted(approach.column_names) == sorted(rows) and signature.column_names == list(sigs)
    for name, ref in rows.items():
        np.testing.assert_allclose(
            approach[name].to_numpy(), np.asarray(ref, dtype=float), rtol=1e-9, err_msg=name
        )
    for name, ref in sigs.items():
        np.testing.assert_allclose(
            signature[name].to_numpy(), np.asarray(ref, dtype=float), rtol=1e-9, err_msg=name
        )


def _touches_walked(mid, n, ends, price, kind, valid_from, row, p):
    """The touches of each level by walking its bars one by one (the obvious twin of `find_touches`)."""
    out = []
    for lv in range(len(price)):
        prev = None  # distance at the level's last far-or-near bar, and whether it was near
        for j in range(n[row[lv]]):
            d = mid[row[lv], j] - price[lv]
            if ends[row[lv], j] < valid_from[lv] or math.isnan(d):
                continue
            if abs(d) > p.reset_pts:
                prev = (d, False)
            elif abs(d) <= p.approach_pts:
                if prev is not None and not prev[1]:
                    out.append((row[lv], j, price[lv], kind[lv], lv, 1 if prev[0] > 0 else -1))
                prev = (d, True)
    out.sort(key=lambda t: t[:4])
    return [t[4] for t in out], [t[1] for t in out], [t[5] for t in out]


@pytest.mark.parametrize("seed", range(6))
def test_find_touches_equals_the_walk_per_level(seed):
    """Several instruments' grids at once, levels that exist late, never come near, NaN or infinite, mids
    with gaps: the same touches as walking each level's bars (the matrix leaves out levels no mid reaches)."""
    rng = np.random.default_rng(seed)
    k, width = 3, 400
    n = np.array([width, 300, 350])  # rows past their grid's end hold mids that must not count
    mid = 100 + np.cumsum(rng.choice([-0.5, 0.0, 0.5], size=(k, width)), axis=1)
    mid[rng.random((k, width)) < 0.05] = np.nan
    ends = (np.arange(1, width + 1) * 5_000_000_000)[None, :] + np.array([0, 7, 3])[:, None]
    price = np.r_[np.round(rng.uniform(90, 110, 20)), 100.25, 250.0, np.nan, np.inf, -np.inf]
    row = rng.integers(0, k, len(price))
    valid_from = np.where(rng.random(len(price)) < 0.3, ends[0, width // 2], 0)
    kind = [f"k{i % 3}" for i in range(len(price))]
    levels = pa.table(
        {
            "level_kind": kind,
            "level_price": price,
            "valid_from_ns": valid_from,
        }
    )
    tight = EpisodeParams(approach_pts=0.5, reset_pts=1.5)
    lvl, bar, direction = find_touches(mid, ends, levels, tight, row, n)
    want = _touches_walked(mid, n, ends, price, kind, valid_from, row, tight)
    assert len(lvl) > 10
    assert (lvl.tolist(), bar.tolist(), direction.tolist()) == want


def test_sums_before_are_the_float_cumsum_bit_for_bit():
    """Integer rows summed as int64 give the float64 cumsum's bits while every partial sum is exact; past
    that bound (2**53 + 1 + 1 rounds in float64) they are summed as floats, as the cumsum would."""
    rng = np.random.default_rng(3)
    small = rng.integers(-50_000, 50_000, (4, 17_280))
    big = np.array([[2**53, 1, 1, -(2**40)], [3, 2**60, 1, 1]], np.int64)
    floats = rng.normal(0, 1e3, (3, 500))
    for x in (small, big, floats):
        want = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x.astype(np.float64), axis=1)], axis=1)
        np.testing.assert_array_equal(sums_before(x), want)
    assert sums_before(big)[0, 3] == 2.0**53  # the float sum: the two 1s are lost, as in the cumsum


def test_expanding_stats_from_integer_sums_are_the_float_ones():
    """The vectors' standardisation with the flow series' int64 copies (squares summed as int64 below
    2**26, the prefix sums given) equals the plain float path bit for bit, large values included."""
    from mbp10.vectors import _expanding_stats

    rng = np.random.default_rng(4)
    for high in (3_000, 2**27 + 1, 2**32 + 1):  # squares past 2**52, past int64: summed as floats
        ints = rng.integers(-high, high, (3, 2_000))
        x = ints.astype(np.float64)
        row, at = rng.integers(0, 3, 50), rng.integers(0, 2_000, 50)
        fast = _expanding_stats(x, row, at, sums_before(ints), ints)
        plain = _expanding_stats(x, row, at)
        for a, b in zip(fast, plain, strict=True):
            np.testing.assert_array_equal(a, b)


def test_carried_is_the_last_value_of_its_row_by_a_walk():
    """`DenseBars.carried` against a walk of each grid row: grids of several instruments, some without bars
    or starting later, values with NaN (not carried) and infinities (carried), and an all-NaN column."""
    from mbp10.episodes import DenseBars
    from mbp10.schema import BAR_NS

    rng = np.random.default_rng(5)
    for _ in range(60):
        starts = [
            (np.sort(rng.choice(80, rng.integers(0, 12), replace=False)) + rng.integers(0, 20)) * BAR_NS
            for _ in range(rng.integers(0, 5))
        ]
        dense = DenseBars.from_starts(starts)
        values = rng.normal(size=len(dense.cell))
        values[rng.random(len(values)) < 0.4] = np.nan
        values[rng.random(len(values)) < 0.1] = np.inf
        for v in (values, np.full(len(values), np.nan)):
            want = np.full((len(dense.n), dense.width), np.nan)
            pos = 0
            for i, s in enumerate(starts):
                grid = (s - s[0]) // BAR_NS if len(s) else s
                last = np.nan
                for j in range(dense.width):
                    for b in np.flatnonzero(grid == j):  # at most one bar a grid cell
                        if not np.isnan(v[pos + b]):
                            last = v[pos + b]
                    want[i, j] = last
                pos += len(s)
            assert np.array_equal(dense.carried(v), want, equal_nan=True)


def test_window_sums_from_the_cells_are_the_prefix_sums_differences(day_with_touches):
    """`compute_approach` sums most flows over each touch's window from the cells' values (`day_series` keeps
    the values, not the day's prefix sums): the same bits as the differences of `sums_before`'s prefix sums,
    also for a flow whose values are too large for exact sums (kept as prefix sums then) and on a grid of
    several instruments."""
    from mbp10.approach import FLOW, ROW_OF_CELL, day_series, prefix, values

    bars, episodes = day_with_touches
    early = [0, 1, 2, 34, 35, 36, 37, 69, 70, 71, 72, 73]  # windows and lags reaching before the grid
    bar = np.resize(np.array(early, np.int64), episodes.num_rows)
    episodes = episodes.set_column(episodes.schema.get_field_index("touch_bar"), "touch_bar", pa.array(bar))
    big = bars.set_column(
        bars.schema.get_field_index("bar5s_meta_msg_cnt_sum"),
        "bar5s_meta_msg_cnt_sum",
        pa.array(bars.column("bar5s_meta_msg_cnt_sum").to_numpy() * 2**45),
    )
    for parts in ([bars], [big], [bars.slice(0, 4_000), bars]):
        dense, s = day_series(parts)
        assert ROW_OF_CELL in s and (values("msg_cnt") in s) == (parts[0] is not big)
        prefixed = {k: v for k, v in s.items() if k != ROW_OF_CELL and not k.endswith("_rows")}
        for short in FLOW:
            if values(short) in s:
                prefixed[prefix(short)] = sums_before(dense.zero_filled(s[values(short)], np.int64))
        row = np.full(episodes.num_rows, len(parts) - 1, np.int64)
        got = compute_approach(bars, episodes, (dense, s), row)
        want = compute_approach(bars, episodes, (dense, prefixed), row)
        for a, b in zip(got, want, strict=True):
            assert a.column_names == b.column_names
            for name in a.column_names:
                np.testing.assert_array_equal(a[name].to_numpy(), b[name].to_numpy(), err_msg=name)
