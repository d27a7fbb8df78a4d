"""Public physics API: batted balls (one or a batch) and pitches, over the Numba kernels.

These wrappers validate input, build the initial state in Nathan's frame (see ``kernels``) and call
the jitted kernels. The game calls the kernels directly with prepared arguments (``FlightArgs``)
to keep per-ball overhead to one call.
"""

import math
from dataclasses import asdict, dataclass, field

import numba
import numpy as np

from ..errors import BattedBallError
from . import kernels
from .constants import (
    CD0,
    CD_SPIN,
    MPH_TO_FTS,
    PLATE_FRONT_Y_FT,
    RPM_TO_RAD_S,
    RUBBER_TO_PLATE_FT,
)
from .environment import Environment, SimulationMode

#: Contact point of a batted ball: over the plate, 3 ft up (the reference cases' x0, y0, z0).
DEFAULT_CONTACT = (0.0, 0.0, 3.0)
#: Give up on a flight after this long (a 120 mph pop-up straight up stays up < 9 s).
MAX_FLIGHT_S = 15.0
MAX_PITCH_S = 3.0
#: An aimed pitch that crosses the plate farther than this from its target is refused (aiming diverged).
AIM_TOLERANCE_FT = 0.1
_NO_FENCE = np.empty(0)
#: Nathan's Statcast spin fit as the sheet gives it (cells G4, G5): backspin = b0 + b_la LA +
#: b_spray phi s, sidespin = s0 s + s_spray phi (rpm; phi spray angle in deg, s = +1 right-handed batter).
SHEET_SPIN_FIT = (-763.0, 120.0, 21.0, -849.0, -94.0)
#: The package's average spin: the sheet's fit with the backspin's intercept b0 and launch-angle slope
#: b_la refitted to the hit distances of Statcast 2022-24 (fitted on half the shared sample, validated
#: on the other half: ``benchmarks/batted_ball_spin_fit.py``, docs/batted_ball.md "Against the real
#: game"); the sheet's spray and sidespin terms are kept.
SPIN_FIT = (-1410.0, 132.0, 21.0, -849.0, -94.0)
#: Limits of the default (fitted) backspin, rpm.
BACKSPIN_CLAMP_RPM = (-2500.0, 4500.0)
SIDESPIN_CLAMP_RPM = 3000.0
_NO_PATH = np.empty((0, 4))
#: Peak bytes a ball of :func:`simulate_batted_balls` holds: its inputs and spins, the nine state arrays and
#: their stacked copy, the air factor, the kernel's output row and the distance and bearing (measured with
#: tracemalloc on 200,000 balls: 208 B a ball from arrays, 288 from lists, 2026-12-08). Batches above :data:`BATCH_CHECK_BALLS` are checked against the available memory first
#: (below it the check's /proc read would cost more than it can save).
BATCH_BYTES_PER_BALL = 320
BATCH_CHECK_BALLS = 1_000_000


def statcast_average_spin_rpm(launch_angle_deg, spray_angle_deg, batter_hand="R", fit=None):
    """Backspin and sidespin (rpm) of an average MLB batted ball (:data:`SPIN_FIT` unless ``fit``).

    The form of Nathan's sheet (cells G4, G5): backspin = b0 + b_la LA + b_spray phi s, sidespin =
    s0 s + s_spray phi, with phi the spray angle (deg, + toward right field) and s = +1 for a
    right-handed batter, -1 for a left-handed one. Works on scalars and arrays.
    """
    sign = np.where(_check_hand(batter_hand) == "L", -1.0, 1.0)
    b0, b_la, b_spray, s0, s_spray = SPIN_FIT if fit is None else fit
    # The fit is linear in LA; outside the launch angles it was fitted on it is clamped to the
    # range of measured batted-ball backspin (topped grounders to pop-ups).
    backspin = np.clip(b0 + b_la * launch_angle_deg + b_spray * spray_angle_deg * sign, *BACKSPIN_CLAMP_RPM)
    sidespin = np.clip(s0 * sign + s_spray * spray_angle_deg, -SIDESPIN_CLAMP_RPM, SIDESPIN_CLAMP_RPM)
    return backspin, sidespin


def average_spin_rpm(
    launch_angle_deg: float, spray_angle_deg: float, right_handed: bool
) -> tuple[float, float]:
    """Scalar :func:`statcast_average_spin_rpm` for hot loops (same fit, same clamps)."""
    sign = 1.0 if right_handed else -1.0
    b0, b_la, b_spray, s0, s_spray = SPIN_FIT
    back = b0 + b_la * launch_angle_deg + b_spray * spray_angle_deg * sign
    side = s0 * sign + s_spray * spray_angle_deg
    lo, hi = BACKSPIN_CLAMP_RPM
    return min(max(back, lo), hi), min(max(side, -SIDESPIN_CLAMP_RPM), SIDESPIN_CLAMP_RPM)


#: The spin axis of pure backspin (the ball lifts), batted ball or pitch.
SPIN_AXIS_BACKSPIN_DEG = 180.0


def spin_from_axis(spin_rpm, spin_axis_deg):
    """Backspin and sidespin (rpm, the sheet's signs) of a batted ball with spin rate and axis.

    One axis convention for batted balls and pitches, Statcast's: the spin pushes the ball toward
    ``(sin a, -cos a)`` in (x toward the first-base / right-field side, z up), as seen from behind
    home plate. 180 = pure backspin (lift), 0 = topspin, 90 = toward right field (negative sidespin:
    a right-handed batter's slice), 270 = toward left field (positive sidespin). The same axis on
    a pitch (:func:`pitch_spin_vector`) pushes the pitch the same way.
    """
    a = np.radians(spin_axis_deg)
    # Rounded to 1e-9 rpm so that 180 deg is exactly (rpm, 0), not a sidespin of -2e-13.
    return np.round(-spin_rpm * np.cos(a), 9) + 0.0, np.round(-spin_rpm * np.sin(a), 9) + 0.0


def batted_ball_state(
    exit_velo_mph, launch_angle_deg, spray_angle_deg, backspin_rpm, sidespin_rpm, contact=None
):
    """Initial ``(x, y, z, vx, vy, vz, wx, wy, wz)`` of a batted ball (sheet cells D7-D12, gyro = 0).

    Works on scalars or equal-shape arrays (returns a tuple of 9 of them). Positive sidespin (the
    sheet's convention) curves the ball toward the left-field side (-x): a right-handed batter's
    slice toward right field has negative sidespin.
    """
    x0, y0, z0 = DEFAULT_CONTACT if contact is None else contact
    th = np.radians(launch_angle_deg)
    ph = np.radians(spray_angle_deg)
    v0 = np.asarray(exit_velo_mph, dtype=float) * MPH_TO_FTS
    cth, sth, cph, sph = np.cos(th), np.sin(th), np.cos(ph), np.sin(ph)
    wb = np.asarray(backspin_rpm, dtype=float) * RPM_TO_RAD_S
    ws = np.asarray(sidespin_rpm, dtype=float) * RPM_TO_RAD_S
    return (
        x0 + 0.0 * v0,
        y0 + 0.0 * v0,
        z0 + 0.0 * v0,
        v0 * cth * sph,
        v0 * cth * cph,
        v0 * sth,
        wb * cph - ws * sth * sph,
        -wb * sph - ws * sth * cph,
        ws * cth,
    )


def _number(name, value) -> float:
    """``value`` as a float, or :class:`BattedBallError` naming the parameter (a notebook user passes a
    string, None or an array to a one-ball function; numpy's own message would name neither)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise BattedBallError(f"{name} must be a number, got {value!r}")
    if np.ndim(value) != 0:
        raise BattedBallError(f"{name} must be one number, got an array of shape {np.shape(value)}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BattedBallError(f"{name} must be a number, got {value!r}") from None


def _check_env(env) -> Environment:
    if env is None:
        return Environment()
    if not isinstance(env, Environment):
        raise BattedBallError(f"env must be a batted_ball.physics.Environment, got {type(env).__name__}")
    return env


def _check_hand(batter_hand) -> np.ndarray:
    """Batter hands (R/L, any case) as an upper-case array; anything else is refused, not taken as R."""
    hands = np.char.upper(np.asarray(batter_hand, dtype=str))
    bad = hands[(hands != "R") & (hands != "L")]
    if bad.size:
        raise BattedBallError(f"batter hand must be R or L, got {str(bad.flat[0])!r}")
    return hands


def _fits(name, shape, target) -> None:
    """Refuse an input whose shape does not broadcast to the balls' shape ``target``."""
    try:
        ok = np.broadcast_shapes(shape, target) == target
    except ValueError:
        ok = False
    if not ok:
        raise BattedBallError(f"{name} has shape {shape}, which does not fit the balls' shape {target}")


def _broadcast(*named, shape=None) -> list[np.ndarray]:
    """Named inputs as float arrays broadcast together (or to ``shape``), or :class:`BattedBallError`."""
    arrays = []
    for name, value in named:
        try:
            arrays.append(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise BattedBallError(f"{name} must be numbers, got {value!r:.80}") from None
    if shape is not None:
        for (name, _), arr in zip(named, arrays, strict=True):
            _fits(name, arr.shape, shape)
        return [np.broadcast_to(arr, shape) for arr in arrays]
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{name} {arr.shape}" for (name, _), arr in zip(named, arrays, strict=True))
        raise BattedBallError(f"inputs of different shapes: {shapes}") from None


def _check_fence(fence) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, heights)``: two 1-D float arrays of one length (both empty: no fence), finite, distances
    > 0. The kernel reads both at the same index and does not check bounds: a shorter heights array would be
    read past its end."""
    if isinstance(fence, (str, bytes)) or not hasattr(fence, "__len__") or len(fence) != 2:
        raise BattedBallError(
            "fence must be (distances_ft, heights_ft): two arrays sampled from -45 to +45 deg"
        )
    arrays = []
    for name, value in (("fence distances", fence[0]), ("fence heights", fence[1])):
        try:
            # writable too: a read-only array is another Numba type, and fly_batch compiled anew (~5 s)
            arrays.append(np.require(value, dtype=float, requirements=["C", "W"]))
        except (TypeError, ValueError):
            raise BattedBallError(f"{name} must be numbers, got {value!r:.80}") from None
    dist, height = arrays
    if dist.ndim != 1 or dist.shape != height.shape:
        raise BattedBallError(
            f"fence distances and heights must be 1-D arrays of one length, got shapes {dist.shape} and {height.shape}"
        )
    if not (np.all(np.isfinite(dist)) and np.all(np.isfinite(height)) and np.all(dist > 0.0)):
        raise BattedBallError("fence distances must be finite and > 0, heights finite")
    return dist, height


def _check_range(name, value, lo, hi, unit):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise BattedBallError(f"{name} must be a finite number")
    if np.any(arr < lo) or np.any(arr > hi):
        flat = np.atleast_1d(arr)
        bad = float(flat[(flat < lo) | (flat > hi)][0])
        u = f" {unit}" if unit else ""
        raise BattedBallError(f"{name} {bad:g}{u} is out of range ({lo:g} to {hi:g}{u})")


#: Where a batted ball may start (ft): over the plate's neighbourhood, on or above the ground.
CONTACT_LIMITS_FT = ((-10.0, 10.0), (-10.0, 10.0), (0.0, 10.0))


def _check_contact(contact):
    """The contact point as three floats in :data:`CONTACT_LIMITS_FT` (a NaN or a point below the ground
    would fly a ball that never lands, reported at its 15 s position as if it had)."""
    if contact is None:
        return None
    if isinstance(contact, (str, bytes)) or np.shape(contact) != (3,):
        raise BattedBallError(f"contact must be three numbers (x, y, z ft), got {contact!r}")
    point = tuple(_number("contact", v) for v in contact)
    for name, v, (lo, hi) in zip(
        ("contact x", "contact y", "contact z"), point, CONTACT_LIMITS_FT, strict=True
    ):
        _check_range(name, v, lo, hi, "ft")
    return point


def check_batted_ball(exit_velo_mph, launch_angle_deg, spray_angle_deg, backspin_rpm, sidespin_rpm):
    """Raise :class:`BattedBallError` on a physically meaningless batted ball."""
    ev = np.asarray(exit_velo_mph, dtype=float)
    if np.any(ev <= 0.0):
        bad = float(np.atleast_1d(ev)[np.atleast_1d(ev) <= 0.0][0])
        raise BattedBallError(f"exit velocity must be positive, got {bad:g} mph")
    _check_range("exit velocity", ev, 0.0, 150.0, "mph")
    _check_range("launch angle", launch_angle_deg, -90.0, 90.0, "deg")
    _check_range("spray angle", spray_angle_deg, -90.0, 90.0, "deg")
    _check_range("backspin", backspin_rpm, -6000.0, 6000.0, "rpm")
    _check_range("sidespin", sidespin_rpm, -6000.0, 6000.0, "rpm")


@dataclass(frozen=True)
class FlightArgs:
    """Everything a kernel call needs besides the ball's own state, prepared once per environment."""

    c0: float
    inv_tau: float
    wind_x: float
    wind_y: float
    wind_h: float
    dt: float
    cd0: float = CD0
    cdspin: float = CD_SPIN

    @classmethod
    def of(cls, env: Environment, mode: SimulationMode) -> "FlightArgs":
        if not isinstance(env, Environment):
            raise BattedBallError(f"env must be a batted_ball.physics.Environment, got {type(env).__name__}")
        wx, wy = env.wind_xy_fts
        return cls(env.c0, env.inv_tau, wx, wy, env.wind_height_ft, SimulationMode.parse(mode).dt_s)

    def fly_tail(self, fence=None, path=None, ground_z: float = 0.0, t_max: float = MAX_FLIGHT_S) -> tuple:
        """The arguments of :func:`kernels.fly` after the ball's nine state values."""
        fd, fh = (_NO_FENCE, _NO_FENCE) if fence is None else fence
        return (
            self.c0,
            self.cd0,
            self.cdspin,
            self.inv_tau,
            self.wind_x,
            self.wind_y,
            self.wind_h,
            self.dt,
            ground_z,
            t_max,
            fd,
            fh,
            _NO_PATH if path is None else path,
        )


@dataclass
class BattedBallResult:
    """Where and when a batted ball comes down, in Nathan's frame (ft, s, degrees)."""

    exit_velo_mph: float
    launch_angle_deg: float
    spray_angle_deg: float
    backspin_rpm: float
    sidespin_rpm: float
    spin_source: str
    mode: str
    distance_ft: float
    hang_time_s: float
    apex_ft: float
    landing_x_ft: float
    landing_y_ft: float
    bearing_deg: float
    landing_speed_mph: float
    air_density_kg_m3: float
    trajectory: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        traj = d.pop("trajectory")
        if traj is not None:
            d["trajectory"] = {
                k: np.round(traj[:, i], 4).tolist() for i, k in enumerate(("t_s", "x_ft", "y_ft", "z_ft"))
            }
        return d


def simulate_batted_ball(
    exit_velo_mph: float,
    launch_angle_deg: float,
    spray_angle_deg: float = 0.0,
    backspin_rpm: float | None = None,
    sidespin_rpm: float | None = None,
    *,
    spin_rpm: float | None = None,
    spin_axis_deg: float | None = None,
    batter_hand: str = "R",
    env: Environment | None = None,
    mode: SimulationMode | str = SimulationMode.ACCURATE,
    contact: tuple[float, float, float] | None = None,
    record_path: bool = False,
) -> BattedBallResult:
    """Fly one batted ball and report distance, hang time, apex and landing point.

    Spin is given as backspin/sidespin, or as ``spin_rpm`` with ``spin_axis_deg`` (the one axis
    convention of the package, Statcast's: see :func:`spin_from_axis`). A spin component that is
    not given is 0 when the other one is; only a ball given no spin at all gets the average spin
    (:data:`SPIN_FIT`) for its launch and spray angles (``spin_source`` says which was used).
    """
    env = _check_env(env)
    mode = SimulationMode.parse(mode)
    if not isinstance(batter_hand, str) or batter_hand.upper() not in ("R", "L"):
        raise BattedBallError(f"batter hand must be R or L, got {batter_hand!r}")
    exit_velo_mph = _number("exit_velo_mph", exit_velo_mph)
    launch_angle_deg = _number("launch_angle_deg", launch_angle_deg)
    spray_angle_deg = _number("spray_angle_deg", spray_angle_deg)
    backspin_rpm, sidespin_rpm, spin_rpm, spin_axis_deg = (
        None if v is None else _number(n, v)
        for n, v in (
            ("backspin_rpm", backspin_rpm),
            ("sidespin_rpm", sidespin_rpm),
            ("spin_rpm", spin_rpm),
            ("spin_axis_deg", spin_axis_deg),
        )
    )
    contact = _check_contact(contact)
    if spin_rpm is not None:
        if backspin_rpm is not None or sidespin_rpm is not None:
            raise BattedBallError("give either backspin/sidespin or spin rate + axis, not both")
        _check_range("spin rate", spin_rpm, 0.0, 6000.0, "rpm")
        axis = SPIN_AXIS_BACKSPIN_DEG if spin_axis_deg is None else spin_axis_deg
        _check_range("spin axis", axis, -360.0, 360.0, "deg")
        backspin_rpm, sidespin_rpm = spin_from_axis(spin_rpm, axis)
        source = "rate_axis"
    elif spin_axis_deg is not None:
        raise BattedBallError("a spin axis needs a spin rate (spin_rpm)")
    elif backspin_rpm is None and sidespin_rpm is None:
        avg_back, avg_side = statcast_average_spin_rpm(launch_angle_deg, spray_angle_deg, batter_hand)
        backspin_rpm, sidespin_rpm = avg_back, avg_side
        source = f"statcast_average_{batter_hand.upper()}HB"
    else:
        source = "given"
    backspin_rpm = float(0.0 if backspin_rpm is None else backspin_rpm)
    sidespin_rpm = float(0.0 if sidespin_rpm is None else sidespin_rpm)
    check_batted_ball(exit_velo_mph, launch_angle_deg, spray_angle_deg, backspin_rpm, sidespin_rpm)
    state = [
        float(v)
        for v in batted_ball_state(
            exit_velo_mph, launch_angle_deg, spray_angle_deg, backspin_rpm, sidespin_rpm, contact
        )
    ]
    a = FlightArgs.of(env, mode)
    path = np.empty((int(MAX_FLIGHT_S / a.dt) + 2, 4)) if record_path else _NO_PATH
    r = kernels.fly(*state, *a.fly_tail(path=path))
    hang, lx, ly, apex, lvx, lvy, lvz = r[:7]
    if r[10] != 1.0:  # the position at MAX_FLIGHT_S is no landing point (not reached from the checked inputs)
        raise BattedBallError(f"the ball did not come down within {MAX_FLIGHT_S:g} s")
    return BattedBallResult(
        exit_velo_mph=float(exit_velo_mph),
        launch_angle_deg=float(launch_angle_deg),
        spray_angle_deg=float(spray_angle_deg),
        backspin_rpm=backspin_rpm,
        sidespin_rpm=sidespin_rpm,
        spin_source=source,
        mode=mode.name.lower(),
        distance_ft=math.hypot(lx, ly),
        hang_time_s=hang,
        apex_ft=apex,
        landing_x_ft=lx,
        landing_y_ft=ly,
        bearing_deg=math.degrees(math.atan2(lx, ly)),
        landing_speed_mph=math.sqrt(lvx * lvx + lvy * lvy + lvz * lvz) / MPH_TO_FTS,
        air_density_kg_m3=env.air_density_kg_m3,
        trajectory=path[: r[-1]].copy() if record_path else None,
    )


def simulate_batted_balls(
    exit_velo_mph,
    launch_angle_deg,
    spray_angle_deg=0.0,
    backspin_rpm=None,
    sidespin_rpm=None,
    *,
    batter_hand="R",
    env: Environment | None = None,
    c0=None,
    mode: SimulationMode | str = SimulationMode.ACCURATE,
    fence: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Fly a batch of batted balls in parallel (Numba ``prange``); arrays broadcast together.

    Spin as for one ball: without backspin and sidespin the Statcast average; a component not given is 0.

    ``c0`` (per ball, 1/ft) overrides ``env``'s air density, so one batch can mix parks and weather.
    Returns a dict of float64 arrays: the kernel's :data:`kernels.FLY_FIELDS` plus ``distance_ft``
    and ``bearing_deg``.
    """
    env = _check_env(env)
    mode = SimulationMode.parse(mode)
    hands = _check_hand(batter_hand)
    ev, la, sp = _broadcast(
        ("exit_velo_mph", exit_velo_mph),
        ("launch_angle_deg", launch_angle_deg),
        ("spray_angle_deg", spray_angle_deg),
    )
    if ev.size > BATCH_CHECK_BALLS:  # a size the caller chose (or a broadcast) that cannot fit: refused
        from perfkit.limits import check_memory

        check_memory(ev.size * BATCH_BYTES_PER_BALL, f"a batch of {ev.size:,} batted balls")
    if backspin_rpm is None and sidespin_rpm is None:  # no spin given: the Statcast average
        _fits("batter_hand", hands.shape, ev.shape)
        back, side = statcast_average_spin_rpm(la, sp, batter_hand)
    else:  # a component not given is 0, as for one ball
        back, side = (
            _broadcast((n, 0.0 if v is None else v), shape=ev.shape)[0]
            for n, v in (("backspin_rpm", backspin_rpm), ("sidespin_rpm", sidespin_rpm))
        )
    check_batted_ball(ev, la, sp, back, side)
    init = np.ascontiguousarray(np.stack(batted_ball_state(ev, la, sp, back, side), axis=-1).reshape(-1, 9))
    n = init.shape[0]
    a = FlightArgs.of(env, mode)
    c0_arr = np.ascontiguousarray(_broadcast(("c0", a.c0 if c0 is None else c0), shape=ev.shape)[0].ravel())
    if not np.all(np.isfinite(c0_arr)) or np.any(c0_arr < 0.0):
        raise BattedBallError("c0 (the air factor per ball, 1/ft) must be finite and >= 0")
    fd, fh = (_NO_FENCE, _NO_FENCE) if fence is None else _check_fence(fence)
    out = np.empty((n, kernels.N_FLY))
    kernels.fly_batch(
        init,
        c0_arr,
        a.cd0,
        a.cdspin,
        a.inv_tau,
        a.wind_x,
        a.wind_y,
        a.wind_h,
        a.dt,
        0.0,
        MAX_FLIGHT_S,
        fd,
        fh,
        out,
        kernels.chunk_size(n, numba.get_num_threads()),
    )
    res = {name: out[:, j].reshape(ev.shape) for j, name in enumerate(kernels.FLY_FIELDS)}
    res["distance_ft"] = np.hypot(res["landing_x_ft"], res["landing_y_ft"])
    res["bearing_deg"] = np.degrees(np.arctan2(res["landing_x_ft"], res["landing_y_ft"]))
    return res


# ----------------------------------------------------------------------------------------------- pitches


def pitch_spin_vector(v_dir, spin_rpm, spin_axis_deg, active_spin):
    """Spin vector (rad/s) of a pitch moving along unit vector ``v_dir``.

    ``spin_axis_deg`` is Statcast's: the direction of the spin-induced movement seen from the
    catcher is ``(sin a, -cos a)`` in (x toward first base, z up) — 180 = pure backspin (rise),
    0 = topspin, 90 = movement toward first base. ``active_spin`` is the fraction of the spin
    transverse to the flight; the rest is gyro spin along the velocity (no Magnus force).
    """
    a = math.radians(spin_axis_deg)
    # Transverse unit vector for flight along -y, made exactly perpendicular to v_dir.
    tx, ty, tz = math.cos(a), 0.0, math.sin(a)
    dot = tx * v_dir[0] + ty * v_dir[1] + tz * v_dir[2]
    tx, ty, tz = tx - dot * v_dir[0], ty - dot * v_dir[1], tz - dot * v_dir[2]
    norm = math.sqrt(tx * tx + ty * ty + tz * tz)
    w = spin_rpm * RPM_TO_RAD_S
    act = w * active_spin / norm
    gyro = w * math.sqrt(max(0.0, 1.0 - active_spin * active_spin))
    return act * tx + gyro * v_dir[0], act * ty + gyro * v_dir[1], act * tz + gyro * v_dir[2]


def pitch_velocity(velo_mph, vertical_angle_deg, horizontal_angle_deg):
    """Release velocity (ft/s) toward the plate (-y); angles + up and + toward first base."""
    v = velo_mph * MPH_TO_FTS
    th = math.radians(vertical_angle_deg)
    ps = math.radians(horizontal_angle_deg)
    return v * math.cos(th) * math.sin(ps), -v * math.cos(th) * math.cos(ps), v * math.sin(th)


def check_pitch(
    velo_mph,
    spin_rpm,
    active_spin,
    extension_ft,
    release_z_ft,
    *,
    spin_axis_deg=180.0,
    release_x_ft=0.0,
    target_x_ft=0.0,
    target_z_ft=2.5,
):
    """Raise :class:`BattedBallError` on a pitch no pitcher could throw (or aim)."""
    if velo_mph <= 0:
        raise BattedBallError(f"pitch speed must be positive, got {velo_mph:g} mph")
    _check_range("pitch speed", velo_mph, 30.0, 110.0, "mph")
    _check_range("spin rate", spin_rpm, 0.0, 4500.0, "rpm")
    _check_range("spin axis", spin_axis_deg, -360.0, 360.0, "deg")
    _check_range("active spin fraction", active_spin, 0.0, 1.0, "")
    _check_range("extension", extension_ft, 3.0, 9.0, "ft")
    _check_range("release height", release_z_ft, 1.0, 8.0, "ft")
    _check_range("release side", release_x_ft, -6.0, 6.0, "ft")
    _check_range("target side", target_x_ft, -5.0, 5.0, "ft")
    _check_range("target height", target_z_ft, -2.0, 8.0, "ft")


@dataclass
class PitchResult:
    velo_mph: float
    spin_rpm: float
    spin_axis_deg: float
    active_spin: float
    vertical_angle_deg: float
    horizontal_angle_deg: float
    mode: str
    plate_time_s: float
    plate_x_ft: float
    plate_z_ft: float
    plate_speed_mph: float
    ivb_in: float
    hb_in: float

    def to_dict(self) -> dict:
        return asdict(self)


def _fly_pitch(
    velo_mph, spin_rpm, spin_axis_deg, active_spin, release, vang, hang, a: FlightArgs, with_break
):
    vx, vy, vz = pitch_velocity(velo_mph, vang, hang)
    v = velo_mph * MPH_TO_FTS
    wx, wy, wz = pitch_spin_vector((vx / v, vy / v, vz / v), spin_rpm, spin_axis_deg, active_spin)
    return kernels.pitch(
        release[0],
        release[1],
        release[2],
        vx,
        vy,
        vz,
        wx,
        wy,
        wz,
        a.c0,
        a.cd0,
        a.cdspin,
        a.inv_tau,
        a.dt,
        PLATE_FRONT_Y_FT,
        MAX_PITCH_S,
        with_break,
    )


def aim_pitch(
    velo_mph,
    spin_rpm,
    spin_axis_deg,
    active_spin,
    release,
    target_x_ft,
    target_z_ft,
    a: FlightArgs,
    iterations=4,
):
    """Release angles (vertical, horizontal; deg) that put the pitch on the target at the plate."""
    if not isinstance(a, FlightArgs):
        raise BattedBallError(f"a must be FlightArgs (FlightArgs.of(env, mode)), got {type(a).__name__}")
    if isinstance(release, (str, bytes)) or np.shape(release) != (3,):
        raise BattedBallError(f"release must be three numbers (x, y, z ft), got {release!r}")
    named = (
        ("velo_mph", velo_mph),
        ("spin_rpm", spin_rpm),
        ("spin_axis_deg", spin_axis_deg),
        ("active_spin", active_spin),
        ("release", release[0]),
        ("release", release[1]),
        ("release", release[2]),
        ("target_x_ft", target_x_ft),
        ("target_z_ft", target_z_ft),
    )
    for name, value in named:  # a NaN aimed NaN angles without a word
        _check_range(name, _number(name, value), -math.inf, math.inf, "")
    dy = release[1] - PLATE_FRONT_Y_FT
    vang = math.degrees(math.atan2(target_z_ft - release[2], dy))
    hang = math.degrees(math.atan2(target_x_ft - release[0], dy))
    for _ in range(iterations):
        r = _fly_pitch(velo_mph, spin_rpm, spin_axis_deg, active_spin, release, vang, hang, a, False)
        # Small-angle correction: a miss of d ft at the plate needs d / distance radians.
        vang += math.degrees((target_z_ft - r[2]) / dy)
        hang += math.degrees((target_x_ft - r[1]) / dy)
    return vang, hang


def simulate_pitch(
    velo_mph: float,
    spin_rpm: float = 2200.0,
    spin_axis_deg: float = 180.0,
    active_spin: float = 1.0,
    *,
    release_x_ft: float = -2.0,
    release_z_ft: float = 6.0,
    extension_ft: float = 6.5,
    vertical_angle_deg: float | None = None,
    horizontal_angle_deg: float | None = None,
    target_x_ft: float = 0.0,
    target_z_ft: float = 2.5,
    env: Environment | None = None,
    mode: SimulationMode | str = SimulationMode.ACCURATE,
    cd0: float = CD0,
) -> PitchResult:
    """Fly one pitch from the release point to the front of home plate.

    Without release angles the pitch is aimed (a few iterations of the flight) at the target. The
    release point is ``(release_x_ft, 60.5 - extension_ft, release_z_ft)``.
    """
    env = _check_env(env)
    mode = SimulationMode.parse(mode)
    velo_mph, spin_rpm, spin_axis_deg, active_spin = (
        _number(n, v)
        for n, v in (
            ("velo_mph", velo_mph),
            ("spin_rpm", spin_rpm),
            ("spin_axis_deg", spin_axis_deg),
            ("active_spin", active_spin),
        )
    )
    release_x_ft, release_z_ft, extension_ft, target_x_ft, target_z_ft, cd0 = (
        _number(n, v)
        for n, v in (
            ("release_x_ft", release_x_ft),
            ("release_z_ft", release_z_ft),
            ("extension_ft", extension_ft),
            ("target_x_ft", target_x_ft),
            ("target_z_ft", target_z_ft),
            ("cd0", cd0),
        )
    )
    # Release angles as given (not aimed): one a pitcher could throw toward the plate.
    for name, angle in (
        ("vertical_angle_deg", vertical_angle_deg),
        ("horizontal_angle_deg", horizontal_angle_deg),
    ):
        if angle is not None:
            _check_range(name, _number(name, angle), -45.0, 45.0, "deg")
    _check_range("cd0", cd0, 0.0, 2.0, "")
    check_pitch(
        velo_mph,
        spin_rpm,
        active_spin,
        extension_ft,
        release_z_ft,
        spin_axis_deg=spin_axis_deg,
        release_x_ft=release_x_ft,
        target_x_ft=target_x_ft,
        target_z_ft=target_z_ft,
    )
    a = FlightArgs.of(env, mode)
    if cd0 != CD0:
        a = FlightArgs(a.c0, a.inv_tau, a.wind_x, a.wind_y, a.wind_h, a.dt, cd0=cd0)
    release = (release_x_ft, RUBBER_TO_PLATE_FT - extension_ft, release_z_ft)
    if vertical_angle_deg is None or horizontal_angle_deg is None:
        vang, hang = aim_pitch(
            velo_mph, spin_rpm, spin_axis_deg, active_spin, release, target_x_ft, target_z_ft, a
        )
        vang = vang if vertical_angle_deg is None else vertical_angle_deg
        hang = hang if horizontal_angle_deg is None else horizontal_angle_deg
    else:
        vang, hang = vertical_angle_deg, horizontal_angle_deg
    t, x, z, vx, vy, vz, ok, hb, ivb = _fly_pitch(
        velo_mph, spin_rpm, spin_axis_deg, active_spin, release, vang, hang, a, True
    )
    if not ok:
        raise BattedBallError("the pitch never reached home plate")
    aimed = vertical_angle_deg is None and horizontal_angle_deg is None
    if aimed and math.hypot(x - target_x_ft, z - target_z_ft) > AIM_TOLERANCE_FT:
        raise BattedBallError(
            f"cannot aim a {velo_mph:g} mph pitch at ({target_x_ft:g}, {target_z_ft:g}) ft: "
            f"it crosses the plate at ({x:.2f}, {z:.2f}) ft"
        )
    return PitchResult(
        velo_mph=float(velo_mph),
        spin_rpm=float(spin_rpm),
        spin_axis_deg=float(spin_axis_deg),
        active_spin=float(active_spin),
        vertical_angle_deg=vang,
        horizontal_angle_deg=hang,
        mode=mode.name.lower(),
        plate_time_s=t,
        plate_x_ft=x,
        plate_z_ft=z,
        plate_speed_mph=math.sqrt(vx * vx + vy * vy + vz * vz) / MPH_TO_FTS,
        ivb_in=12.0 * ivb,
        hb_in=12.0 * hb,
    )
