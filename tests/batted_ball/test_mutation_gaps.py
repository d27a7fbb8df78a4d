"""Cases the rest of the suite let through: each test here fails on a bug that survived every other
batted_ball test in a mutation probe (session 2026-12-07/08, /work/brief/report-tests.md), and passes on the
real code. Expected values come from the documented model (``Environment``'s docstring: the wind acts above
``wind_height_ft``; ``spin_decay_tau_s`` is the time constant at 100 mph), not from the code under test."""

from __future__ import annotations

import math

import pytest
from batted_ball.physics import Environment, simulate_batted_ball

MPH_TO_FTS = 1.467  # the workbook's conversion (sheet cell D6)


def test_wind_above_the_flight_does_not_move_the_ball():
    """A 28-degree drive peaks near 87 ft: a 20 mph wind that starts at 150 ft never touches it, while the same
    wind from the ground carries it well over 20 ft further."""
    calm = simulate_batted_ball(100, 28, 0, 2000, 0)
    assert calm.apex_ft < 150
    high = simulate_batted_ball(100, 28, 0, 2000, 0, env=Environment(wind_mph=20, wind_height_ft=150))
    low = simulate_batted_ball(100, 28, 0, 2000, 0, env=Environment(wind_mph=20, wind_height_ft=0))
    assert high.distance_ft == calm.distance_ft and high.hang_time_s == calm.hang_time_s
    assert low.distance_ft > calm.distance_ft + 20


def test_spin_decay_time_constant_is_at_100_mph():
    """tau is the e-folding time of the spin for a ball at 100 mph: the rate per ft/s of speed is
    1 / (100 mph * tau). A tau of 10,000 s is no decay over a 5-s flight (well under a tenth of a foot)."""
    assert Environment(spin_decay_tau_s=25.0).inv_tau == pytest.approx(
        1.0 / (100 * MPH_TO_FTS * 25.0), rel=1e-12
    )
    none = simulate_batted_ball(100, 28, 0, 2000, 0).distance_ft
    slow = simulate_batted_ball(100, 28, 0, 2000, 0, env=Environment(spin_decay_tau_s=10_000.0)).distance_ft
    assert math.isclose(slow, none, abs_tol=0.1) and slow < none
