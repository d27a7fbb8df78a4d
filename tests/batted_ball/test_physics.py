"""Physics: published numbers, the reference twin, batch vs single, modes, pitches."""

import numba
import numpy as np
import pytest
from batted_ball.errors import BattedBallError
from batted_ball.physics import (
    Environment,
    SimulationMode,
    kernels,
    reference,
    simulate_batted_ball,
    simulate_batted_balls,
    simulate_pitch,
)
from batted_ball.physics.flight import FlightArgs, batted_ball_state, statcast_average_spin_rpm

# Nathan's model, 100 mph / 28 deg / 2000 rpm backspin, 70 F, sea level, contact 3 ft up over the
# plate: 408.6 ft (issue 7; the reference cases' RK4 1 ms value is 408.56 ft, hang 5.3126 s, apex 86.61 ft).
NATHAN_100_28_DISTANCE_FT = 408.56
NATHAN_100_28_HANG_S = 5.3126
NATHAN_100_28_APEX_FT = 86.61


def test_nathan_100mph_28deg_published_distance():
    r = simulate_batted_ball(100, 28, 0, 2000, 0)
    assert r.distance_ft == pytest.approx(NATHAN_100_28_DISTANCE_FT, abs=0.01)
    assert r.hang_time_s == pytest.approx(NATHAN_100_28_HANG_S, abs=1e-4)
    assert r.apex_ft == pytest.approx(NATHAN_100_28_APEX_FT, abs=0.01)
    assert abs(r.distance_ft - 408.6) <= 0.5


@pytest.mark.parametrize("mode", list(SimulationMode))
def test_every_mode_within_half_a_foot(mode):
    ev, la = np.meshgrid(np.arange(50.0, 120.0, 7.0), np.arange(-20.0, 75.0, 6.0))
    spray = np.linspace(-40, 40, ev.size).reshape(ev.shape)
    base = simulate_batted_balls(ev, la, spray, mode=SimulationMode.ACCURATE)
    other = simulate_batted_balls(ev, la, spray, mode=mode)
    assert np.max(np.abs(other["distance_ft"] - base["distance_ft"])) <= 0.5
    assert np.max(np.abs(other["hang_time_s"] - base["hang_time_s"])) <= 0.01


def _random_balls(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(30, 118, n), rng.uniform(-40, 85, n), rng.uniform(-50, 50, n)


def test_batch_is_bit_identical_to_single_calls_with_fence():
    ev, la, sp = _random_balls(700, 3)
    fence = (np.linspace(330, 400, 91), np.full(91, 9.0))
    batch = simulate_batted_balls(ev, la, sp, mode="fast", fence=fence)
    back, side = statcast_average_spin_rpm(la, sp)
    state = np.stack(batted_ball_state(ev, la, sp, back, side), axis=-1)
    a = FlightArgs.of(Environment(), "fast")
    for i in range(len(ev)):
        r = kernels.fly(
            *state[i],
            a.c0,
            a.cd0,
            a.cdspin,
            a.inv_tau,
            0.0,
            0.0,
            0.0,
            a.dt,
            0.0,
            15.0,
            fence[0],
            fence[1],
            np.empty((0, 4)),
        )
        got = [batch[name][i] for name in kernels.FLY_FIELDS]
        np.testing.assert_array_equal(np.array(got), np.array(r[:11]))


def test_batch_does_not_depend_on_thread_count():
    ev, la, sp = _random_balls(3000, 4)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate_batted_balls(ev, la, sp, mode="extreme")
        numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS))
        many = simulate_batted_balls(ev, la, sp, mode="extreme")
    finally:
        numba.set_num_threads(before)
    for k in one:
        np.testing.assert_array_equal(one[k], many[k])


def test_a_batch_is_one_unit_per_thread():
    """Numba splits a prange statically, one equal part per thread, so a batch is cut into one unit per
    thread (each a whole number of lane groups); one thread flies the batch as one unit. A 2,048-ball
    batch was once one unit (the second thread idle), then two per thread (extra tails)."""
    lanes = kernels.LANES
    assert kernels.chunk_size(2048, 1) == 2048 and kernels.chunk_size(20_480, 1) == 20_480
    assert kernels.chunk_size(0, 2) == lanes and kernels.chunk_size(5, 2) == lanes
    for n in (2048, 3000, 20_480, 81_920):
        for threads in (2, 3, 4, 8):
            size = kernels.chunk_size(n, threads)
            assert size % lanes == 0
            assert -(-n // size) == threads  # every thread one unit, none idle
            assert size - -(-n // threads) < lanes  # the units as equal as lane groups allow


def test_pitch_lanes_are_bit_identical_to_single_pitches():
    """Pitches flown side by side (``pitch_lanes``, as the games of a season task fly them) land where
    each flown alone lands, to the bit, including one that never reaches the plate in time."""
    rng = np.random.default_rng(5)
    n = 37  # two full groups of 16 lanes and a part-filled one
    speed = rng.uniform(70.0, 102.0, n) * 1.467
    init = np.column_stack(
        [
            rng.uniform(-3.0, 3.0, n),
            rng.uniform(53.0, 55.0, n),
            rng.uniform(4.5, 7.0, n),
            rng.normal(0.0, 3.0, n),
            -speed,
            rng.normal(-2.0, 4.0, n),
            rng.normal(0.0, 200.0, (n, 3)),
        ]
    )
    init[0, 4] = -20.0  # a lob that is still in the air after t_max
    c0 = rng.uniform(0.0048, 0.0058, n)
    args = (0.3008, 0.0292, 0.0, 0.002, 17 / 12, 1.2)
    out = np.empty((n, len(kernels.PITCH_FIELDS)))
    kernels.pitch_lanes(init, c0, *args, out)
    assert out[0, 6] == 0.0 and out[1:, 6].all()
    for i in range(n):
        one = kernels.pitch(*init[i], c0[i], *args, False)
        np.testing.assert_array_equal(out[i], np.array(one[:7]))


def test_pitch_kernel_matches_the_reference_twin():
    a = FlightArgs.of(Environment(), SimulationMode.ACCURATE)
    st_ = [float(v) for v in batted_ball_state(93, -2.5, 181, 1800, 1200, contact=(-1.8, 54.0, 5.9))]
    t, x, z, *_ = kernels.pitch(*st_, a.c0, a.cd0, a.cdspin, 0.0, a.dt, 17 / 12, 3.0, False)
    rt, rx, rz = reference.pitch(st_[:6], st_[6:], a.c0, a.dt, 17 / 12)
    assert (t, x, z) == pytest.approx((rt, rx, rz), abs=1e-9)


def test_sheet_scheme_reproduces_the_workbook_cached_value():
    # TrajectoryCalculator workbook, BattedBallTrajectory-1: cached B29 = 402.327 ft, B27 = 5.6230 s.
    env = Environment(temp_f=75)
    st_ = [float(v) for v in batted_ball_state(100, 30, 0, 2837, 849, contact=(0.0, 2.0, 6.0))]
    r = reference.sheet_flight(st_[:6], st_[6:], env.c0, dt=0.01)
    assert r["distance_ft"] == pytest.approx(402.327, abs=0.01)
    assert r["hang_time_s"] == pytest.approx(5.6230, abs=0.001)


def test_sidespin_and_spray_directions():
    straight = simulate_batted_ball(100, 30, 0, 2500, 0)
    rhb_slice = simulate_batted_ball(100, 30, 0, 2500, -1000)
    lhb_slice = simulate_batted_ball(100, 30, 0, 2500, 1000)
    assert abs(straight.landing_x_ft) < 1e-9
    assert rhb_slice.landing_x_ft > 10 and lhb_slice.landing_x_ft < -10
    assert simulate_batted_ball(100, 25, 30).landing_x_ft > 100


def test_air_and_wind_change_carry_the_right_way():
    d = lambda **kw: simulate_batted_ball(100, 28, 0, 2000, 0, env=Environment(**kw)).distance_ft  # noqa: E731
    assert d(temp_f=90) > d(temp_f=70) > d(temp_f=50)
    assert d(elevation_ft=5190) - d() == pytest.approx(30, abs=6)
    assert d(humidity_pct=90) > d(humidity_pct=10)  # humid air is lighter
    assert d(wind_mph=10, wind_dir_deg=0) > d() + 20 > d(wind_mph=10, wind_dir_deg=180) + 20
    assert d(spin_decay_tau_s=5) < d()


def test_fastball_time_break_and_aim():
    p = simulate_pitch(95, 2400, 180, 1.0, target_x_ft=0.3, target_z_ft=2.2)
    assert p.plate_time_s == pytest.approx(0.40, abs=0.02)
    assert (p.plate_x_ft, p.plate_z_ft) == pytest.approx((0.3, 2.2), abs=0.01)
    assert 15 < p.ivb_in < 25 and abs(p.hb_in) < 0.5
    gyro = simulate_pitch(95, 2400, 180, 0.5)
    assert 0.4 * p.ivb_in < gyro.ivb_in < 0.75 * p.ivb_in  # CL(S) is concave: half the spin, ~2/3 the lift
    slider = simulate_pitch(85, 2500, 90, 0.9)  # axis 90: movement toward first base
    assert slider.hb_in > 5 and abs(slider.ivb_in) < 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exit_velo_mph": -5, "launch_angle_deg": 20}, "exit velocity must be positive"),
        ({"exit_velo_mph": 100, "launch_angle_deg": 95}, "launch angle"),
        ({"exit_velo_mph": 100, "launch_angle_deg": 20, "mode": "warp"}, "unknown mode"),
        ({"exit_velo_mph": float("nan"), "launch_angle_deg": 20}, "finite"),
    ],
)
def test_bad_batted_ball_input(kwargs, message):
    with pytest.raises(BattedBallError, match=message):
        simulate_batted_ball(**kwargs)


def test_bad_environment_and_pitch_input():
    with pytest.raises(BattedBallError, match="humidity"):
        Environment(humidity_pct=140)
    with pytest.raises(BattedBallError, match="pitch speed"):
        simulate_pitch(-90)
    with pytest.raises(BattedBallError, match="active spin"):
        simulate_pitch(90, active_spin=1.5)


def test_full_trajectory_is_recorded():
    r = simulate_batted_ball(100, 28, 0, 2000, 0, mode="fast", record_path=True)
    traj = r.trajectory
    assert traj.shape[1] == 4 and traj[0, 3] == pytest.approx(3.0)
    assert traj[-1, 0] == pytest.approx(r.hang_time_s) and traj[-1, 3] == 0.0
    assert traj[:, 3].max() <= r.apex_ft + 1e-9


def test_a_unitless_range_error_reads_cleanly():
    from batted_ball.physics import simulate_pitch

    with pytest.raises(BattedBallError) as err:
        simulate_pitch(95, 2200, 180, 1.5)
    assert str(err.value) == "active spin fraction 1.5 is out of range (0 to 1)"
