"""The same trajectory model in plain Python, written for clarity, not speed.

This is the obviously-correct twin of ``kernels``: scalar floats and the ``math`` module (what the
simulator this package replaces did per step, at about the same speed), forces as functions, RK4 as
in a textbook, the landing found on the same cubic Hermite interpolant inside the last step (by
bisection here). Tests compare the kernels with it, and the benchmark measures the speed ratio
against it.

``sheet_flight`` reproduces the spreadsheet's own integration scheme (10 ms, position
``x + v dt + a dt^2 / 2``, linear interpolation of the landing) so the cached spreadsheet values
can be checked exactly.
"""

import math

from .constants import BALL_RADIUS_FT, CD0, CD_SPIN, CL0, CL1, CL2, GRAVITY_FT_S2, RAD_S_TO_RPM


def drag_coefficient(spin_rpm: float) -> float:
    return CD0 + CD_SPIN * spin_rpm / 1000.0


def lift_coefficient(spin_factor: float) -> float:
    return CL2 * spin_factor / (CL0 + CL1 * spin_factor)


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a) -> float:
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def acceleration(
    t,
    position,
    velocity,
    omega,
    c0,
    wind=(0.0, 0.0, 0.0),
    wind_h=0.0,
    inv_tau=0.0,
    transverse=False,
    cd0=CD0,
    cdspin=CD_SPIN,
):
    """Drag + Magnus + gravity (ft/s^2) on a ball; see ``kernels`` for the model."""
    if position[2] >= wind_h:
        v_rel = (velocity[0] - wind[0], velocity[1] - wind[1], velocity[2])
    else:
        v_rel = tuple(velocity)
    v = _norm(v_rel)
    omega_mag = _norm(omega)
    omega_n = omega_mag
    if transverse and v > 0:
        along = (omega[0] * v_rel[0] + omega[1] * v_rel[1] + omega[2] * v_rel[2]) / v
        omega_n = math.sqrt(max(omega_mag * omega_mag - along * along, 0.0))
    decay = math.exp(-t * v * inv_tau) if inv_tau > 0 else 1.0
    cd = cd0 + cdspin * omega_n * decay * RAD_S_TO_RPM / 1000.0
    a = [-c0 * cd * v * v_rel[i] for i in range(3)]
    a[2] -= GRAVITY_FT_S2
    if omega_n > 0 and v > 0:
        cl = lift_coefficient(BALL_RADIUS_FT * omega_n * decay / v)
        magnus = _cross(omega, v_rel)
        for i in range(3):
            a[i] += c0 * cl * v * magnus[i] / omega_n
    return a


def rk4_step(t, state, dt, deriv):
    def add(s, k, h):
        return [s[i] + h * k[i] for i in range(6)]

    k1 = deriv(t, state)
    k2 = deriv(t + dt / 2, add(state, k1, dt / 2))
    k3 = deriv(t + dt / 2, add(state, k2, dt / 2))
    k4 = deriv(t + dt, add(state, k3, dt))
    return [state[i] + dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) for i in range(6)]


def hermite(s, p0, m0, p1, m1, dt):
    return (
        (2 * s**3 - 3 * s**2 + 1) * p0
        + (s**3 - 2 * s**2 + s) * dt * m0
        + (-2 * s**3 + 3 * s**2) * p1
        + (s**3 - s**2) * dt * m1
    )


def crossing_fraction(p0, m0, p1, m1, dt, target):
    """Where in [0, 1] the Hermite interpolant crosses ``target``: bisection (slow and sure)."""
    lo, hi = 0.0, 1.0
    f_lo = hermite(lo, p0, m0, p1, m1, dt) - target
    for _ in range(60):
        mid = (lo + hi) / 2
        f_mid = hermite(mid, p0, m0, p1, m1, dt) - target
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def fly(state0, omega, c0, dt, wind=(0.0, 0.0, 0.0), wind_h=0.0, inv_tau=0.0, ground_z=0.0, t_max=15.0):
    """Fly a batted ball from ``state0 = (x, y, z, vx, vy, vz)``; returns a dict like the kernel's."""
    omega = [float(w) for w in omega]

    def deriv(t, s):
        return [s[3], s[4], s[5], *acceleration(t, s[:3], s[3:], omega, c0, wind, wind_h, inv_tau)]

    state = [float(v) for v in state0]
    t, apex = 0.0, state[2]
    while t < t_max:
        new = rk4_step(t, state, dt, deriv)
        if state[5] > 0 >= new[5]:
            apex = max(apex, hermite(state[5] / (state[5] - new[5]), state[2], state[5], new[2], new[5], dt))
        apex = max(apex, new[2])
        if new[2] <= ground_z and new[5] < 0:
            s = crossing_fraction(state[2], state[5], new[2], new[5], dt, ground_z)
            x = hermite(s, state[0], state[3], new[0], new[3], dt)
            y = hermite(s, state[1], state[4], new[1], new[4], dt)
            return {
                "hang_time_s": t + s * dt,
                "landing_x_ft": x,
                "landing_y_ft": y,
                "apex_ft": apex,
                "distance_ft": math.hypot(x, y),
            }
        state, t = new, t + dt
    raise RuntimeError("the ball did not land")


def pitch(state0, omega, c0, dt, plate_y, cd0=CD0, t_max=3.0):
    """Fly a pitch to ``y = plate_y``; returns (time, x, z) at the plate."""
    omega = [float(w) for w in omega]

    def deriv(t, s):
        return [s[3], s[4], s[5], *acceleration(t, s[:3], s[3:], omega, c0, transverse=True, cd0=cd0)]

    state = [float(v) for v in state0]
    t = 0.0
    while t < t_max:
        new = rk4_step(t, state, dt, deriv)
        if new[1] <= plate_y:
            s = crossing_fraction(state[1], state[4], new[1], new[4], dt, plate_y)
            return (
                t + s * dt,
                hermite(s, state[0], state[3], new[0], new[3], dt),
                hermite(s, state[2], state[5], new[2], new[5], dt),
            )
        state, t = new, t + dt
    raise RuntimeError("the pitch did not reach the plate")


def sheet_flight(state0, omega, c0, dt=0.01, ground_z=0.0):
    """The spreadsheet's scheme: x += v dt + a dt^2/2, v += a dt; linear landing interpolation."""
    omega = [float(w) for w in omega]
    s = [float(v) for v in state0]
    t = 0.0
    while True:
        a = acceleration(t, s[:3], s[3:], omega, c0)
        new = [s[i] + s[3 + i] * dt + 0.5 * a[i] * dt * dt for i in range(3)] + [
            s[3 + i] + a[i] * dt for i in range(3)
        ]
        if new[2] < ground_z:
            f = (new[2] - ground_z) / (new[2] - s[2])
            x, y = new[0] - f * (new[0] - s[0]), new[1] - f * (new[1] - s[1])
            return {"distance_ft": math.hypot(x, y), "hang_time_s": t + dt - f * dt}
        s, t = new, t + dt
