"""The same trajectory model in plain Python, written for clarity, not speed.

This is the obviously-correct twin of ``kernels``: a fair scalar-Python implementation — floats and
the ``math`` module, one plain function for the forces returning a tuple, RK4 as in a textbook with
its four stages written out (no closures, lists or comprehensions inside the step), the landing found
on the same cubic Hermite interpolant inside the last step (by bisection here, once per flight).
Tests compare the kernels with it, and the benchmark measures the speed ratio against it.

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


def acceleration(
    t, z, vx, vy, vz, wx, wy, wz, c0, wind_x=0.0, wind_y=0.0, wind_h=0.0, inv_tau=0.0, transverse=False,
    cd0=CD0, cdspin=CD_SPIN,
):  # fmt: skip
    """Drag + Magnus + gravity (ft/s^2) on a ball at height ``z`` moving at ``(vx, vy, vz)`` with spin
    ``(wx, wy, wz)`` rad/s, written as the model reads (see ``kernels``): scalars in, a 3-tuple out."""
    if z >= wind_h:
        rx, ry = vx - wind_x, vy - wind_y
    else:
        rx, ry = vx, vy
    rz = vz
    v = math.sqrt(rx * rx + ry * ry + rz * rz)
    omega = math.sqrt(wx * wx + wy * wy + wz * wz)
    omega_n = omega  # batted balls: the whole spin lifts (the sheet's flag = 0)
    if transverse and v > 0:  # pitches: only the spin across the flight
        along = (wx * rx + wy * ry + wz * rz) / v
        omega_n = math.sqrt(max(omega * omega - along * along, 0.0))
    decay = math.exp(-t * v * inv_tau) if inv_tau > 0 else 1.0
    cd = cd0 + cdspin * omega_n * decay * RAD_S_TO_RPM / 1000.0
    ax = -c0 * cd * v * rx
    ay = -c0 * cd * v * ry
    az = -c0 * cd * v * rz - GRAVITY_FT_S2
    if omega_n > 0 and v > 0:
        cl = lift_coefficient(BALL_RADIUS_FT * omega_n * decay / v)
        k = c0 * cl * v / omega_n
        ax += k * (wy * rz - wz * ry)
        ay += k * (wz * rx - wx * rz)
        az += k * (wx * ry - wy * rx)
    return ax, ay, az


def rk4_step(t, state, spin, dt, forces):
    """One classical RK4 step of ``state = (x, y, z, vx, vy, vz)``; ``forces`` are the arguments of
    :func:`acceleration` after the spin, as a tuple. Plain scalars, one acceleration call per stage."""
    x, y, z, vx, vy, vz = state
    wx, wy, wz = spin
    h = 0.5 * dt
    a1x, a1y, a1z = acceleration(t, z, vx, vy, vz, wx, wy, wz, *forces)
    v2x, v2y, v2z = vx + h * a1x, vy + h * a1y, vz + h * a1z
    a2x, a2y, a2z = acceleration(t + h, z + h * vz, v2x, v2y, v2z, wx, wy, wz, *forces)
    v3x, v3y, v3z = vx + h * a2x, vy + h * a2y, vz + h * a2z
    a3x, a3y, a3z = acceleration(t + h, z + h * v2z, v3x, v3y, v3z, wx, wy, wz, *forces)
    v4x, v4y, v4z = vx + dt * a3x, vy + dt * a3y, vz + dt * a3z
    a4x, a4y, a4z = acceleration(t + dt, z + dt * v3z, v4x, v4y, v4z, wx, wy, wz, *forces)
    sixth = dt / 6.0
    return (
        x + sixth * (vx + 2.0 * v2x + 2.0 * v3x + v4x),
        y + sixth * (vy + 2.0 * v2y + 2.0 * v3y + v4y),
        z + sixth * (vz + 2.0 * v2z + 2.0 * v3z + v4z),
        vx + sixth * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        vy + sixth * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
        vz + sixth * (a1z + 2.0 * a2z + 2.0 * a3z + a4z),
    )


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
    spin = tuple(float(w) for w in omega)
    forces = (c0, wind[0], wind[1], wind_h, inv_tau)
    state = tuple(float(v) for v in state0)
    t, apex = 0.0, state[2]
    while t < t_max:
        new = rk4_step(t, state, spin, dt, forces)
        z0, vz0, z1, vz1 = state[2], state[5], new[2], new[5]
        if vz0 > 0 >= vz1:
            apex = max(apex, hermite(vz0 / (vz0 - vz1), z0, vz0, z1, vz1, dt))
        apex = max(apex, z1)
        if z1 <= ground_z and vz1 < 0:
            s = crossing_fraction(z0, vz0, z1, vz1, dt, ground_z)
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
    spin = tuple(float(w) for w in omega)
    forces = (c0, 0.0, 0.0, 0.0, 0.0, True, cd0)
    state = tuple(float(v) for v in state0)
    t = 0.0
    while t < t_max:
        new = rk4_step(t, state, spin, dt, forces)
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
    wx, wy, wz = (float(w) for w in omega)
    x, y, z, vx, vy, vz = (float(v) for v in state0)
    t = 0.0
    while True:
        ax, ay, az = acceleration(t, z, vx, vy, vz, wx, wy, wz, c0)
        nx, ny, nz = (
            x + vx * dt + 0.5 * ax * dt * dt,
            y + vy * dt + 0.5 * ay * dt * dt,
            z + vz * dt + 0.5 * az * dt * dt,
        )
        if nz < ground_z:
            f = (nz - ground_z) / (nz - z)
            lx, ly = nx - f * (nx - x), ny - f * (ny - y)
            return {"distance_ft": math.hypot(lx, ly), "hang_time_s": t + dt - f * dt}
        x, y, z, vx, vy, vz, t = nx, ny, nz, vx + ax * dt, vy + ay * dt, vz + az * dt, t + dt
