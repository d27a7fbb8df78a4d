"""Numba kernels: RK4 flight of one ball (batted or pitched) and a ``prange`` batch of batted balls.

Pure functions of floats and arrays, no I/O, no allocation inside the step loop. Frame (Nathan's):
origin at the point of home plate, +y toward centre field (the pitcher), +x toward the first-base /
right-field side as the catcher sees it, +z up; feet, seconds, radians per second.

The force model is the one of Nathan's TrajectoryCalculator (see ``constants``):

* drag   ``a_D = -c0 Cd |v_w| v_w`` with ``Cd = cd0 + cdspin * spin_rpm / 1000``;
* Magnus ``a_M = c0 CL |v_w| (omega x v_w) / |omega_n|`` with ``CL = 1.12 S / (0.583 + 2.333 S)``,
  ``S = r |omega_n| / |v_w|``;
* gravity ``-g z``.

``v_w`` is the velocity relative to the air (the wind acts above ``wind_h``, as in the sheet).
``omega_n`` is the whole spin for batted balls (the sheet's flag = 0) and the spin component
transverse to the velocity for pitches (flag = 1), so gyro spin produces no lift. Spin decays as
``exp(-t |v_w| / (146.7 tau))`` when ``inv_tau = 1 / (146.7 tau) > 0`` — the sheet's time constant,
given at 100 mph (146.7 ft/s) and scaled with speed. The landing (or plate crossing) is found
inside the last step by cubic Hermite interpolation of the state, so coarse steps lose nothing
there.
"""

import math

import numpy as np
from numba import njit, prange

from perfkit import numba_cache

from . import constants
from .constants import BALL_RADIUS_FT, CL0, CL1, CL2, GRAVITY_FT_S2, RAD_S_TO_RPM

# the kernels compile the constants' values in: their Numba cache entries depend on that file too
numba_cache.depend_on(__file__, [constants.__file__])

_G = GRAVITY_FT_S2
_R = BALL_RADIUS_FT
_CDSPIN_SCALE = RAD_S_TO_RPM / 1000.0  # rad/s -> thousands of rpm

#: Columns of the batch output and of :func:`fly` 's result tuple.
FLY_FIELDS = (
    "hang_time_s",
    "landing_x_ft",
    "landing_y_ft",
    "apex_ft",
    "landing_vx_fts",
    "landing_vy_fts",
    "landing_vz_fts",
    "wall_z_ft",
    "wall_height_ft",
    "wall_bearing_deg",
    "landed",
)
N_FLY = len(FLY_FIELDS)


@njit(cache=True, nogil=True, error_model="numpy")
def _accel(t, z, vx, vy, vz, wx, wy, wz, om, transverse, c0, cd0, cdspin, inv_tau, wind_x, wind_y, wind_h):
    """Acceleration (ft/s^2) of the ball at height ``z`` moving at ``(vx, vy, vz)`` at time ``t``.

    Written without data-dependent branches (selects only), so lanes of balls vectorise.
    """
    above = z >= wind_h
    rx = vx - (wind_x if above else 0.0)
    ry = vy - (wind_y if above else 0.0)
    rz = vz
    # The tiny floor only matters for a ball exactly at rest in the air (v = 0 at the apex of a
    # vertical pop-up); it is below the last bit of any real v^2.
    v2 = rx * rx + ry * ry + rz * rz + 1e-300
    v = math.sqrt(v2)
    cx = wy * rz - wz * ry
    cy = wz * rx - wx * rz
    cz = wx * ry - wy * rx
    decay = 1.0
    if inv_tau > 0.0:
        decay = math.exp(-t * v * inv_tau)
    if transverse:
        # Pitches: only the spin across the flight lifts. |omega x v| = wn v, so with
        # cw = |omega x v| the drag needs no division and the Magnus factor one:
        # c0 CL v / wn = c0 CL2 r decay v^2 / (CL0 v^2 + CL1 r decay cw).
        cw = math.sqrt(cx * cx + cy * cy + cz * cz)
        drag = c0 * (cd0 * v + cdspin * _CDSPIN_SCALE * cw * decay)
        m = c0 * CL2 * _R * decay * v2 / (CL0 * v2 + CL1 * _R * decay * cw)
    else:
        # Batted balls (the sheet's flag 0): the whole spin lifts; c0 CL v / wn with
        # CL = CL2 S / (CL0 + CL1 S), S = r wn decay / v, folded into one division (finite for
        # wn = 0, where omega x v vanishes anyway).
        spin_eff = om * decay
        drag = c0 * (cd0 + cdspin * _CDSPIN_SCALE * spin_eff) * v
        m = c0 * CL2 * _R * decay * v / (CL0 * v + CL1 * _R * spin_eff)
    ax = -drag * rx + m * cx
    ay = -drag * ry + m * cy
    az = -drag * rz + m * cz - _G
    return ax, ay, az


@njit(cache=True, nogil=True, error_model="numpy")
def _rk4_step(t, x, y, z, vx, vy, vz, dt, wx, wy, wz, om, tr, c0, cd0, cdspin, inv_tau, wx_, wy_, wh):
    """One classical RK4 step of the 6-dimensional state; returns the new state."""
    h = 0.5 * dt
    a1x, a1y, a1z = _accel(t, z, vx, vy, vz, wx, wy, wz, om, tr, c0, cd0, cdspin, inv_tau, wx_, wy_, wh)
    v2x = vx + h * a1x
    v2y = vy + h * a1y
    v2z = vz + h * a1z
    a2x, a2y, a2z = _accel(
        t + h, z + h * vz, v2x, v2y, v2z, wx, wy, wz, om, tr, c0, cd0, cdspin, inv_tau, wx_, wy_, wh
    )
    v3x = vx + h * a2x
    v3y = vy + h * a2y
    v3z = vz + h * a2z
    a3x, a3y, a3z = _accel(
        t + h, z + h * v2z, v3x, v3y, v3z, wx, wy, wz, om, tr, c0, cd0, cdspin, inv_tau, wx_, wy_, wh
    )
    v4x = vx + dt * a3x
    v4y = vy + dt * a3y
    v4z = vz + dt * a3z
    a4x, a4y, a4z = _accel(
        t + dt, z + dt * v3z, v4x, v4y, v4z, wx, wy, wz, om, tr, c0, cd0, cdspin, inv_tau, wx_, wy_, wh
    )
    s = dt / 6.0
    return (
        x + s * (vx + 2.0 * v2x + 2.0 * v3x + v4x),
        y + s * (vy + 2.0 * v2y + 2.0 * v3y + v4y),
        z + s * (vz + 2.0 * v2z + 2.0 * v3z + v4z),
        vx + s * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        vy + s * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
        vz + s * (a1z + 2.0 * a2z + 2.0 * a3z + a4z),
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _hermite(s, p0, m0, p1, m1, dt):
    """Cubic Hermite interpolant at ``s`` in [0, 1] of a value with end slopes ``m0``, ``m1`` (per s)."""
    s2 = s * s
    s3 = s2 * s
    return (
        (2.0 * s3 - 3.0 * s2 + 1.0) * p0
        + (s3 - 2.0 * s2 + s) * dt * m0
        + (-2.0 * s3 + 3.0 * s2) * p1
        + (s3 - s2) * dt * m1
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _hermite_root(p0, m0, p1, m1, dt, target):
    """Fraction ``s`` of the step where the Hermite interpolant crosses ``target`` (Newton, from linear)."""
    den = p0 - p1
    s = (p0 - target) / den if den != 0.0 else 1.0
    if s < 0.0:
        s = 0.0
    elif s > 1.0:
        s = 1.0
    for _ in range(4):
        s2 = s * s
        f = _hermite(s, p0, m0, p1, m1, dt) - target
        d = (6.0 * s2 - 6.0 * s) * p0 + (3.0 * s2 - 4.0 * s + 1.0) * dt * m0
        d += (-6.0 * s2 + 6.0 * s) * p1 + (3.0 * s2 - 2.0 * s) * dt * m1
        if d == 0.0:
            break
        s_new = s - f / d
        if s_new < 0.0:
            s_new = 0.0
        elif s_new > 1.0:
            s_new = 1.0
        if abs(s_new - s) < 1e-12:
            s = s_new
            break
        s = s_new
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def fence_at(bearing_deg, fence_dist, fence_height):
    """Fence distance and height at a bearing, linear in a profile sampled evenly from -45 to +45 deg."""
    n = fence_dist.shape[0]
    if n == 1:
        return fence_dist[0], fence_height[0]
    u = (bearing_deg + 45.0) / 90.0 * (n - 1)
    if u <= 0.0:
        return fence_dist[0], fence_height[0]
    if u >= n - 1:
        return fence_dist[n - 1], fence_height[n - 1]
    i = int(u)
    f = u - i
    return (
        fence_dist[i] + f * (fence_dist[i + 1] - fence_dist[i]),
        fence_height[i] + f * (fence_height[i + 1] - fence_height[i]),
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _apex(apex, z, vz, zn, vzn, dt):
    """Highest point so far; a turn-over inside the step is located on the Hermite interpolant."""
    if vz > 0.0 and vzn <= 0.0:
        return max(apex, _hermite(vz / (vz - vzn), z, vz, zn, vzn, dt))
    return max(apex, zn)


@njit(cache=True, nogil=True, error_model="numpy")
def _min_fence2(fence_dist):
    """Square of the shortest fence distance (the radius past which the fence is checked)."""
    if fence_dist.shape[0] == 0:
        return 0.0
    r = fence_dist[0]
    for i in range(fence_dist.shape[0]):
        r = min(r, fence_dist[i])
    return r * r


@njit(cache=True, nogil=True, error_model="numpy")
def _wall(x, y, z, xn, yn, zn, r_min2, fence_dist, fence_height):
    """If the step reaches the fence: (True, height of the ball there, fence height, bearing)."""
    r2 = xn * xn + yn * yn
    if r2 >= r_min2:
        bearing = math.degrees(math.atan2(xn, yn))
        fd, fh = fence_at(bearing, fence_dist, fence_height)
        rn = math.sqrt(r2)
        if rn >= fd:
            rp = math.sqrt(x * x + y * y)
            f = (fd - rp) / (rn - rp) if rn > rp else 1.0
            f = min(max(f, 0.0), 1.0)
            return True, z + f * (zn - z), fh, bearing
    return False, np.nan, np.nan, np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def fly(
    x0,
    y0,
    z0,
    vx0,
    vy0,
    vz0,
    wx,
    wy,
    wz,
    c0,
    cd0,
    cdspin,
    inv_tau,
    wind_x,
    wind_y,
    wind_h,
    dt,
    ground_z,
    t_max,
    fence_dist,
    fence_height,
    path,
):
    """Fly a batted ball until it comes down to ``ground_z``.

    Parameters
    ----------
    x0, y0, z0, vx0, vy0, vz0 : float
        Initial position (ft) and velocity (ft/s).
    wx, wy, wz : float
        Spin vector, rad/s (fixed direction; magnitude decays with ``inv_tau``).
    c0, cd0, cdspin, inv_tau : float
        Air factor ``0.07182 rho`` (1/ft), drag constants, ``1 / (146.7 tau)`` (0: no spin decay).
    wind_x, wind_y, wind_h : float
        Wind velocity (ft/s), acting above height ``wind_h`` (ft).
    dt, ground_z, t_max : float
        Time step (s), landing height (ft), give-up time (s).
    fence_dist, fence_height : float64[n]
        Outfield fence distance and height (ft) sampled evenly from -45 to +45 degrees of bearing
        (n may be 0: no fence check). The kernel reports the ball's height where it first reaches
        the fence distance for its bearing.
    path : float64[m, 4]
        Buffer for the trajectory ``(t, x, y, z)`` at every step (m may be 0: not recorded).

    Returns
    -------
    tuple
        The :data:`FLY_FIELDS` values (``landed`` is 1.0, or 0.0 when ``t_max`` came first) and the
        number of rows written to ``path``.
    """
    om = math.sqrt(wx * wx + wy * wy + wz * wz)
    t = 0.0
    x = x0
    y = y0
    z = z0
    vx = vx0
    vy = vy0
    vz = vz0
    apex = z0
    n_path = path.shape[0]
    k = 0
    if n_path > 0:
        path[0, 0] = t
        path[0, 1] = x
        path[0, 2] = y
        path[0, 3] = z
        k = 1
    r_min2 = _min_fence2(fence_dist)
    crossed = fence_dist.shape[0] == 0
    wall_z = np.nan
    wall_h = np.nan
    wall_b = np.nan
    while t < t_max:
        xn, yn, zn, vxn, vyn, vzn = _rk4_step(
            t,
            x,
            y,
            z,
            vx,
            vy,
            vz,
            dt,
            wx,
            wy,
            wz,
            om,
            False,
            c0,
            cd0,
            cdspin,
            inv_tau,
            wind_x,
            wind_y,
            wind_h,
        )
        apex = _apex(apex, z, vz, zn, vzn, dt)
        # The distance test of _wall, done here: a call that passes the fence arrays costs about as much
        # as the rest of a step (their reference counts), and most steps are short of the nearest fence.
        if not crossed and xn * xn + yn * yn >= r_min2:
            crossed, wall_z, wall_h, wall_b = _wall(x, y, z, xn, yn, zn, r_min2, fence_dist, fence_height)
        if zn <= ground_z and vzn < 0.0:
            s = _hermite_root(z, vz, zn, vzn, dt, ground_z)
            lx = _hermite(s, x, vx, xn, vxn, dt)
            ly = _hermite(s, y, vy, yn, vyn, dt)
            if k < n_path:
                path[k, 0] = t + s * dt
                path[k, 1] = lx
                path[k, 2] = ly
                path[k, 3] = ground_z
                k += 1
            return (
                t + s * dt,
                lx,
                ly,
                apex,
                vx + s * (vxn - vx),
                vy + s * (vyn - vy),
                vz + s * (vzn - vz),
                wall_z,
                wall_h,
                wall_b,
                1.0,
                k,
            )
        t += dt
        x = xn
        y = yn
        z = zn
        vx = vxn
        vy = vyn
        vz = vzn
        if k < n_path:
            path[k, 0] = t
            path[k, 1] = x
            path[k, 2] = y
            path[k, 3] = z
            k += 1
    return (t, x, y, apex, vx, vy, vz, wall_z, wall_h, wall_b, 0.0, k)


#: Balls integrated in lockstep by one thread of the batch kernel (structure of arrays). Alone, one
#: RK4 chain is bound by the latency of its square root and division; across lanes the stage
#: loops have no dependencies, so LLVM vectorises them (SIMD) and the CPU overlaps them.
LANES = 128
#: :func:`pitch_lanes` and a chunk's tail run a multiple of this many lanes: LLVM vectorises the lane loops 16 at a time
#: (four AVX2 registers interleaved) and leaves any remainder to scalar code (8 lanes ran no faster
#: than 8 single calls).
LANE_GROUP = 16


def chunk_size(n: int, threads: int) -> int:
    """Balls per ``prange`` unit for ``n`` balls on ``threads`` threads: one unit per thread, a whole
    number of lane groups; the caller passes it to :func:`fly_batch` (a thread count read inside a jitted
    function defeats its cache).

    Why one per thread: Numba splits a ``prange`` into equal, static parts, one per thread (its
    parallel chunk size stays 0: no work stealing), so extra units only add tails, and each unit ends
    with lanes going idle as its last balls land. Two units per thread (the rule until 2026-12-07, at
    most 2,048 balls a unit) cost 2-5 % on two threads and up to 2.5 % on one (interleaved, same
    balls, 10:30 UTC): 2,048 ACCURATE balls ran 1.73-1.79x on two threads against one, now 1.82-1.88x.
    Results never depend on it (nor on the thread count): every ball goes through exactly the
    arithmetic of :func:`fly`, so it is bit-identical to a single call.
    """
    per = -(-n // max(1, threads))
    return max(LANES, -(-per // LANES) * LANES)


# Rows of the lane state array.
_T, _X, _Y, _Z, _VX, _VY, _VZ, _WX, _WY, _WZ, _OM, _C0, _APEX, _WALLZ, _WALLH, _WALLB, _CROSSED = range(17)
_N_STATE = 17


@njit(cache=True, nogil=True, error_model="numpy")
def _load_lane(st, j, init, c0, i, no_fence):
    st[_T, j] = 0.0
    for k in range(6):
        st[_X + k, j] = init[i, k]
    st[_WX, j] = init[i, 6]
    st[_WY, j] = init[i, 7]
    st[_WZ, j] = init[i, 8]
    st[_OM, j] = math.sqrt(init[i, 6] * init[i, 6] + init[i, 7] * init[i, 7] + init[i, 8] * init[i, 8])
    st[_C0, j] = c0[i]
    st[_APEX, j] = init[i, 2]
    st[_WALLZ, j] = np.nan
    st[_WALLH, j] = np.nan
    st[_WALLB, j] = np.nan
    st[_CROSSED, j] = 1.0 if no_fence else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _fill_lanes(lanes, init, c0, start, stop, no_fence):
    """Lanes for balls ``start:stop``: state, stage and new-state arrays, each lane's ball (-1: none, and
    the lane flies a copy of the first, never read), the next ball to load and how many are loaded."""
    st = np.empty((_N_STATE, lanes))
    k = np.empty((12, lanes))
    nw = np.empty((6, lanes))
    idx = np.full(lanes, -1, np.int64)
    nxt = start
    for j in range(lanes):
        if nxt < stop:
            _load_lane(st, j, init, c0, nxt, no_fence)
            idx[j] = nxt
            nxt += 1
        else:
            _load_lane(st, j, init, c0, start, no_fence)
    return st, k, nw, idx, nxt, nxt - start


@njit(cache=True, nogil=True, error_model="numpy")
def _refill_lane(st, j, idx, init, c0, nxt, stop, no_fence):
    """Lane ``j`` 's ball is done: the lane takes ball ``nxt`` if there is one, else goes idle (-1).
    Returns the next ball to load."""
    if nxt < stop:
        _load_lane(st, j, init, c0, nxt, no_fence)
        idx[j] = nxt
        return nxt + 1
    idx[j] = -1
    return nxt


@njit(cache=True, nogil=True, error_model="numpy")
def _compact_lanes(st, idx, lanes, active):
    """The tail of a chunk: no ball is left to load and ``active`` lanes still fly. Move them, in order,
    to the front and return the lanes still worth stepping (``active`` rounded up to a lane group), so the
    idle lanes stop costing a whole RK4 step each. A ball's arithmetic does not depend on its lane, so the
    results do not change."""
    keep = max(LANE_GROUP, (active + LANE_GROUP - 1) // LANE_GROUP * LANE_GROUP)
    if keep >= lanes:
        return lanes
    dst = 0
    for j in range(lanes):
        if idx[j] >= 0:
            if j != dst:
                for r in range(_N_STATE):
                    st[r, dst] = st[r, j]
                idx[dst] = idx[j]
                idx[j] = -1
            dst += 1
    return keep


@njit(cache=True, nogil=True, error_model="numpy")
def _lane_stage(st, k, j, row, t, z, vx, vy, vz, tr, cd0, cdspin, inv_tau, wind_x, wind_y, wind_h):
    """One RK4 stage of lane ``j``: the acceleration at the given state into ``k[row:row + 3, j]``."""
    a = _accel(
        t,
        z,
        vx,
        vy,
        vz,
        st[_WX, j],
        st[_WY, j],
        st[_WZ, j],
        st[_OM, j],
        tr,
        st[_C0, j],
        cd0,
        cdspin,
        inv_tau,
        wind_x,
        wind_y,
        wind_h,
    )
    k[row, j], k[row + 1, j], k[row + 2, j] = a


@njit(cache=True, nogil=True, error_model="numpy")
def _rk4_lanes(st, k, nw, lanes, dt, tr, cd0, cdspin, inv_tau, wind_x, wind_y, wind_h):
    """One RK4 step of every lane, stage by stage (each stage loop vectorises across lanes).

    Same operations in the same order as :func:`_rk4_step`, so each lane's result is identical;
    ``tr`` as there (True: pitches, only the transverse spin lifts).
    """
    h = 0.5 * dt
    air = (tr, cd0, cdspin, inv_tau, wind_x, wind_y, wind_h)
    for j in range(lanes):
        _lane_stage(st, k, j, 0, st[_T, j], st[_Z, j], st[_VX, j], st[_VY, j], st[_VZ, j], *air)
    for j in range(lanes):
        _lane_stage(
            st,
            k,
            j,
            3,
            st[_T, j] + h,
            st[_Z, j] + h * st[_VZ, j],
            st[_VX, j] + h * k[0, j],
            st[_VY, j] + h * k[1, j],
            st[_VZ, j] + h * k[2, j],
            *air,
        )
    for j in range(lanes):
        _lane_stage(
            st,
            k,
            j,
            6,
            st[_T, j] + h,
            st[_Z, j] + h * (st[_VZ, j] + h * k[2, j]),
            st[_VX, j] + h * k[3, j],
            st[_VY, j] + h * k[4, j],
            st[_VZ, j] + h * k[5, j],
            *air,
        )
    for j in range(lanes):
        _lane_stage(
            st,
            k,
            j,
            9,
            st[_T, j] + dt,
            st[_Z, j] + dt * (st[_VZ, j] + h * k[5, j]),
            st[_VX, j] + dt * k[6, j],
            st[_VY, j] + dt * k[7, j],
            st[_VZ, j] + dt * k[8, j],
            *air,
        )
    s = dt / 6.0
    for j in range(lanes):
        for c in range(3):
            v1 = st[_VX + c, j]
            v2 = v1 + h * k[c, j]
            v3 = v1 + h * k[3 + c, j]
            v4 = v1 + dt * k[6 + c, j]
            nw[c, j] = st[_X + c, j] + s * (v1 + 2.0 * v2 + 2.0 * v3 + v4)
            nw[3 + c, j] = v1 + s * (k[c, j] + 2.0 * k[3 + c, j] + 2.0 * k[6 + c, j] + k[9 + c, j])


@njit(cache=True, nogil=True, error_model="numpy")
def _fly_chunk(
    init,
    c0,
    cd0,
    cdspin,
    inv_tau,
    wind_x,
    wind_y,
    wind_h,
    dt,
    ground_z,
    t_max,
    fence_dist,
    fence_height,
    out,
    start,
    stop,
):
    """Fly balls ``start:stop`` of the batch in lanes; a lane whose ball lands takes the next one."""
    lanes = min(LANES, max(8, (stop - start + 7) // 8 * 8))
    r_min2 = _min_fence2(fence_dist)
    no_fence = fence_dist.shape[0] == 0
    st, k, nw, idx, nxt, active = _fill_lanes(lanes, init, c0, start, stop, no_fence)
    while active > 0:
        _rk4_lanes(st, k, nw, lanes, dt, False, cd0, cdspin, inv_tau, wind_x, wind_y, wind_h)
        for j in range(lanes):
            i = idx[j]
            if i < 0:
                continue
            t = st[_T, j]
            x, y, z, vx, vy, vz = st[_X, j], st[_Y, j], st[_Z, j], st[_VX, j], st[_VY, j], st[_VZ, j]
            xn, yn, zn, vxn, vyn, vzn = nw[0, j], nw[1, j], nw[2, j], nw[3, j], nw[4, j], nw[5, j]
            st[_APEX, j] = _apex(st[_APEX, j], z, vz, zn, vzn, dt)
            if st[_CROSSED, j] == 0.0 and xn * xn + yn * yn >= r_min2:  # as in fly
                crossed, wz_, wh_, wb_ = _wall(x, y, z, xn, yn, zn, r_min2, fence_dist, fence_height)
                if crossed:
                    st[_CROSSED, j] = 1.0
                    st[_WALLZ, j] = wz_
                    st[_WALLH, j] = wh_
                    st[_WALLB, j] = wb_
            done = False
            if zn <= ground_z and vzn < 0.0:
                s = _hermite_root(z, vz, zn, vzn, dt, ground_z)
                out[i, 0] = t + s * dt
                out[i, 1] = _hermite(s, x, vx, xn, vxn, dt)
                out[i, 2] = _hermite(s, y, vy, yn, vyn, dt)
                out[i, 4] = vx + s * (vxn - vx)
                out[i, 5] = vy + s * (vyn - vy)
                out[i, 6] = vz + s * (vzn - vz)
                out[i, 10] = 1.0
                done = True
            else:
                t += dt
                st[_T, j] = t
                for c in range(6):
                    st[_X + c, j] = nw[c, j]
                if t >= t_max:
                    out[i, 0] = t
                    out[i, 1] = xn
                    out[i, 2] = yn
                    out[i, 4] = vxn
                    out[i, 5] = vyn
                    out[i, 6] = vzn
                    out[i, 10] = 0.0
                    done = True
            if done:
                out[i, 3] = st[_APEX, j]
                out[i, 7] = st[_WALLZ, j]
                out[i, 8] = st[_WALLH, j]
                out[i, 9] = st[_WALLB, j]
                nxt = _refill_lane(st, j, idx, init, c0, nxt, stop, no_fence)
                active -= idx[j] < 0
        if nxt >= stop:
            lanes = _compact_lanes(st, idx, lanes, active)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def fly_batch(
    init,
    c0,
    cd0,
    cdspin,
    inv_tau,
    wind_x,
    wind_y,
    wind_h,
    dt,
    ground_z,
    t_max,
    fence_dist,
    fence_height,
    out,
    size,
):
    """Fly many batted balls: ``prange`` over chunks of ``size`` balls, SIMD lanes within each chunk.

    Parameters
    ----------
    init : float64[n, 9]
        Per ball ``x0, y0, z0, vx0, vy0, vz0, wx, wy, wz`` (ft, ft/s, rad/s).
    c0 : float64[n]
        Air factor per ball (lets one batch mix parks and weather).
    out : float64[n, N_FLY]
        Filled with the :data:`FLY_FIELDS` of each ball — bit-identical to :func:`fly` per ball.
    size : int
        Balls per ``prange`` unit (:func:`chunk_size`); any value gives the same results.
    """
    n = init.shape[0]
    n_chunks = (n + size - 1) // size
    for c in prange(n_chunks):
        _fly_chunk(
            init,
            c0,
            cd0,
            cdspin,
            inv_tau,
            wind_x,
            wind_y,
            wind_h,
            dt,
            ground_z,
            t_max,
            fence_dist,
            fence_height,
            out,
            c * size,
            min(n, (c + 1) * size),
        )


@njit(cache=True, nogil=True, error_model="numpy")
def _pitch_flight(x0, y0, z0, vx0, vy0, vz0, wx, wy, wz, c0, cd0, cdspin, inv_tau, dt, plate_y, t_max):
    """Integrate a pitch until it crosses ``y = plate_y``; returns (t, x, z, vx, vy, vz, crossed)."""
    om = math.sqrt(wx * wx + wy * wy + wz * wz)
    t = 0.0
    x = x0
    y = y0
    z = z0
    vx = vx0
    vy = vy0
    vz = vz0
    while t < t_max:
        xn, yn, zn, vxn, vyn, vzn = _rk4_step(
            t, x, y, z, vx, vy, vz, dt, wx, wy, wz, om, True, c0, cd0, cdspin, inv_tau, 0.0, 0.0, 0.0
        )
        if yn <= plate_y:
            s = _hermite_root(y, vy, yn, vyn, dt, plate_y)
            return (
                t + s * dt,
                _hermite(s, x, vx, xn, vxn, dt),
                _hermite(s, z, vz, zn, vzn, dt),
                vx + s * (vxn - vx),
                vy + s * (vyn - vy),
                vz + s * (vzn - vz),
                1.0,
            )
        t += dt
        x = xn
        y = yn
        z = zn
        vx = vxn
        vy = vyn
        vz = vzn
    return (t, x, z, vx, vy, vz, 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def pitch(x0, y0, z0, vx0, vy0, vz0, wx, wy, wz, c0, cd0, cdspin, inv_tau, dt, plate_y, t_max, with_break):
    """Fly a pitch from release to the front of home plate.

    Returns ``(plate_time_s, plate_x_ft, plate_z_ft, vx, vy, vz, crossed, hb_ft, ivb_ft)`` where the
    breaks (ft) are the displacement at the plate relative to the same pitch flown with the same drag
    but no Magnus force — the movement its spin induces (Statcast's pfx idea); computed only when
    ``with_break`` (a second, spin-free flight).
    """
    t, x, z, vx, vy, vz, ok = _pitch_flight(
        x0, y0, z0, vx0, vy0, vz0, wx, wy, wz, c0, cd0, cdspin, inv_tau, dt, plate_y, t_max
    )
    hb = np.nan
    ivb = np.nan
    if with_break:
        # Same drag (the spin's share of Cd frozen at release), no lift.
        v0 = math.sqrt(vx0 * vx0 + vy0 * vy0 + vz0 * vz0)
        wv = (wx * vx0 + wy * vy0 + wz * vz0) / v0
        wp2 = wx * wx + wy * wy + wz * wz - wv * wv
        cd_fixed = cd0 + cdspin * _CDSPIN_SCALE * (math.sqrt(wp2) if wp2 > 0.0 else 0.0)
        _, x_ns, z_ns, _, _, _, _ = _pitch_flight(
            x0, y0, z0, vx0, vy0, vz0, 0.0, 0.0, 0.0, c0, cd_fixed, 0.0, 0.0, dt, plate_y, t_max
        )
        hb = x - x_ns
        ivb = z - z_ns
    return t, x, z, vx, vy, vz, ok, hb, ivb


#: Columns of :func:`pitch_lanes` 's output: :func:`pitch` 's first seven results.
PITCH_FIELDS = ("plate_time_s", "plate_x_ft", "plate_z_ft", "vx_fts", "vy_fts", "vz_fts", "crossed")


@njit(cache=True, nogil=True, error_model="numpy")
def pitch_lanes(init, c0, cd0, cdspin, inv_tau, dt, plate_y, t_max, out):
    """Fly many pitches to the plate in SIMD lanes on the calling thread (the pitches of several games).

    ``init`` float64[n, 9] as for :func:`fly_batch` (release point, velocity, spin), ``c0`` float64[n]
    per pitch; ``out`` float64[n, 7] gets :data:`PITCH_FIELDS` — bit-identical to :func:`pitch` (without
    the breaks) per pitch: the same operations as :func:`_pitch_flight`, lane by lane.
    """
    n = init.shape[0]
    lanes = min(LANES, max(LANE_GROUP, (n + LANE_GROUP - 1) // LANE_GROUP * LANE_GROUP))
    st, k, nw, idx, nxt, active = _fill_lanes(lanes, init, c0, 0, n, True)
    while active > 0:
        _rk4_lanes(st, k, nw, lanes, dt, True, cd0, cdspin, inv_tau, 0.0, 0.0, 0.0)
        for j in range(lanes):
            i = idx[j]
            if i < 0:
                continue
            t = st[_T, j]
            x, y, z, vx, vy, vz = st[_X, j], st[_Y, j], st[_Z, j], st[_VX, j], st[_VY, j], st[_VZ, j]
            xn, yn, zn, vxn, vyn, vzn = nw[0, j], nw[1, j], nw[2, j], nw[3, j], nw[4, j], nw[5, j]
            done = False
            if yn <= plate_y:
                s = _hermite_root(y, vy, yn, vyn, dt, plate_y)
                out[i, 0] = t + s * dt
                out[i, 1] = _hermite(s, x, vx, xn, vxn, dt)
                out[i, 2] = _hermite(s, z, vz, zn, vzn, dt)
                out[i, 3] = vx + s * (vxn - vx)
                out[i, 4] = vy + s * (vyn - vy)
                out[i, 5] = vz + s * (vzn - vz)
                out[i, 6] = 1.0
                done = True
            else:
                t += dt
                st[_T, j] = t
                for c in range(6):
                    st[_X + c, j] = nw[c, j]
                if t >= t_max:
                    out[i, 0] = t
                    out[i, 1] = xn
                    out[i, 2] = zn
                    out[i, 3] = vxn
                    out[i, 4] = vyn
                    out[i, 5] = vzn
                    out[i, 6] = 0.0
                    done = True
            if done:
                nxt = _refill_lane(st, j, idx, init, c0, nxt, n, True)
                active -= idx[j] < 0
