"""The Numba kernels against the plain-Python reference twin, in every simulation mode, over many random
balls. The reference's inputs are built here from the geometry (numpy cross products), not with the
package's ``batted_ball_state``: backspin turns about the horizontal axis across the flight, sidespin
about the axis perpendicular to that and to the velocity (Nathan's sheet, cells D10-D12)."""

import math

import numpy as np
import pytest
from batted_ball.physics import Environment, SimulationMode, kernels, reference, simulate_batted_balls
from batted_ball.physics.flight import FlightArgs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MPH = 1.467  # ft/s per mph as the workbook converts (5280/3600 rounded; constants.MPH_TO_FTS)
RPM = math.pi / 30.0
#: Reference flights per mode: a 1 ms flight costs the reference ~5,000 RK4 steps, a 10 ms one ~500.
EXAMPLES = {"accurate": 25, "fast": 40, "ultra_fast": 60, "extreme": 120}


def geometric_state(ev, la, spray, back, side, contact=(0.0, 0.0, 3.0)):
    """(x, y, z, vx, vy, vz) and omega (rad/s) of a batted ball, from the definitions of the angles and spins."""
    th, ph = math.radians(la), math.radians(spray)
    direction = np.array([math.cos(th) * math.sin(ph), math.cos(th) * math.cos(ph), math.sin(th)])
    across = np.cross([math.sin(ph), math.cos(ph), 0.0], [0.0, 0.0, 1.0])  # horizontal, across the flight
    omega = back * RPM * across + side * RPM * np.cross(across, direction)
    return (*contact, *(ev * MPH * direction)), tuple(omega)


balls = st.tuples(
    st.floats(30, 120),  # exit velocity, mph
    st.floats(-20, 75),  # launch angle
    st.floats(-50, 50),  # spray
    st.floats(-2500, 4500),  # backspin
    st.floats(-3000, 3000),  # sidespin
    st.floats(0, 25),  # wind, mph
    st.floats(0, 360),  # wind direction
    st.sampled_from([0.0, 5.0, 30.0]),  # spin-decay tau, s (0: none)
    st.floats(-10, 100),  # temperature, F
)


def _check(mode: str, ball) -> None:
    ev, la, spray, back, side, wind, wind_dir, tau, temp = ball
    env = Environment(
        temp_f=temp, elevation_ft=600, wind_mph=wind, wind_dir_deg=wind_dir, spin_decay_tau_s=tau or None
    )
    a = FlightArgs.of(env, mode)
    state, omega = geometric_state(ev, la, spray, back, side)
    ref = reference.fly(
        state,
        omega,
        env.c0,
        SimulationMode.parse(mode).dt_s,
        wind=(a.wind_x, a.wind_y, 0.0),
        inv_tau=a.inv_tau,
    )
    batch = simulate_batted_balls(ev, la, spray, back, side, env=env, mode=mode)
    assert float(batch["distance_ft"]) == pytest.approx(ref["distance_ft"], abs=1e-6)
    assert float(batch["hang_time_s"]) == pytest.approx(ref["hang_time_s"], abs=1e-9)
    assert float(batch["apex_ft"]) == pytest.approx(ref["apex_ft"], abs=1e-6)
    assert float(batch["landing_x_ft"]) == pytest.approx(ref["landing_x_ft"], abs=1e-6)


@pytest.mark.parametrize("mode", list(EXAMPLES))
def test_every_mode_matches_the_reference(mode):
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=False,
    )
    @given(ball=balls)
    def check(ball):
        _check(mode, ball)

    check()


def test_single_kernel_is_the_batch_kernel_and_the_reference_for_a_pitch():
    """Pitch: the kernel with the transverse-spin lift against the reference, from a state built here."""
    a = FlightArgs.of(Environment(), SimulationMode.ACCURATE)
    speed, vang, hang = 93 * MPH, math.radians(-2.5), math.radians(1.0)
    v = (
        speed * math.cos(vang) * math.sin(hang),
        -speed * math.cos(vang) * math.cos(hang),
        speed * math.sin(vang),
    )
    omega = (150.0, 40.0, 180.0)  # rad/s, partly along the flight (gyro)
    start = (-1.8, 54.0, 5.9, *v)
    t, x, z, *_ = kernels.pitch(*start, *omega, a.c0, a.cd0, a.cdspin, 0.0, a.dt, 17 / 12, 3.0, False)
    rt, rx, rz = reference.pitch(start, omega, a.c0, a.dt, 17 / 12)
    assert (t, x, z) == pytest.approx((rt, rx, rz), abs=1e-9)
