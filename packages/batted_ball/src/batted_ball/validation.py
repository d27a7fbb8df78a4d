"""Named physics checks against published references (``batted-ball validate`` and the tests).

Each check returns expected, got and tolerance. Checks that need the reference files of
``../shared/data/batted_ball`` report ``skipped`` (with the reason) when the folder is absent;
the others embed the published numbers they test, with their source.
"""

import csv
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import BattedBallError
from .parks import ALIASES, PARKS, park
from .physics import (
    Environment,
    SimulationMode,
    kernels,
    reference,
    simulate_batted_ball,
    simulate_batted_balls,
    simulate_pitch,
)
from .physics.constants import BALL_RADIUS_FT, MPH_TO_FTS, PLATE_FRONT_Y_FT
from .physics.flight import FlightArgs, batted_ball_state, statcast_average_spin_rpm

REFERENCE_CASES_CSV = "nathan_reference_cases.csv"
STATCAST_CSV = "statcast_batted_balls_sample.csv"


def default_data_dir() -> Path | None:
    """``../shared/data/batted_ball`` beside the project (or ``$BATTED_BALL_DATA``), if present."""
    candidates = []
    if os.environ.get("BATTED_BALL_DATA"):
        candidates.append(Path(os.environ["BATTED_BALL_DATA"]))
    candidates.append(Path.cwd().parent / "shared" / "data" / "batted_ball")
    candidates.extend(p.parent / "shared" / "data" / "batted_ball" for p in Path(__file__).resolve().parents)
    for c in candidates:
        if (c / REFERENCE_CASES_CSV).is_file():
            return c
    return None


@dataclass
class Check:
    name: str
    description: str
    expected: str
    got: str
    tolerance: str
    passed: bool | None  # None: skipped
    source: str
    details: str = ""

    def __post_init__(self) -> None:
        if self.passed is not None:
            self.passed = bool(self.passed)

    @property
    def status(self) -> str:
        return "skipped" if self.passed is None else ("pass" if self.passed else "FAIL")

    def to_dict(self) -> dict:
        return {**asdict(self), "status": self.status}


def _distance(ev, la, backspin, sidespin=0.0, spray=0.0, env=None, mode=SimulationMode.ACCURATE):
    return simulate_batted_ball(ev, la, spray, backspin, sidespin, env=env, mode=mode).distance_ft


def check_nathan_408() -> Check:
    got = _distance(100, 28, 2000)
    return Check(
        "nathan_100mph_28deg",
        "100 mph, 28 deg, 2000 rpm backspin, 70 F, sea level: carry distance",
        "408.6 ft",
        f"{got:.2f} ft",
        "0.5 ft",
        abs(got - 408.6) <= 0.5,
        "Nathan's trajectory model (issue 7; the reference cases' RK4 1 ms value is 408.56 ft)",
    )


def check_sheet_cached_case() -> Check:
    """The workbook's cached result for its own input, recomputed with its own 10 ms scheme."""
    env = Environment(temp_f=75, elevation_ft=0, humidity_pct=50)
    st = [float(v) for v in batted_ball_state(100, 30, 0, 2837, 849, contact=(0.0, 2.0, 6.0))]
    r = reference.sheet_flight(st[:6], st[6:], env.c0, dt=0.01)
    got_d, got_t = r["distance_ft"], r["hang_time_s"]
    ok = abs(got_d - 402.327) <= 0.01 and abs(got_t - 5.6230) <= 0.001
    return Check(
        "sheet_cached_case",
        "workbook input (100 mph, 30 deg, 2837/849 rpm, LHB, 75 F) with the sheet's 10 ms scheme",
        "402.327 ft, 5.6230 s",
        f"{got_d:.3f} ft, {got_t:.4f} s",
        "0.01 ft, 0.001 s",
        ok,
        "TrajectoryCalculator-new-3D-June2026.xlsx, BattedBallTrajectory-1 cached B29, B27",
    )


#: Numeric columns of the reference-case CSV that the check reads.
REFERENCE_COLUMNS = (
    "ev_mph",
    "la_deg",
    "dir_deg",
    "backspin_rpm",
    "sidespin_rpm",
    "temp_f",
    "elev_ft",
    "rh_pct",
    "z0_ft",
    "y0_ft",
    "rk4_1ms_dist_ft",
    "rk4_1ms_hang_s",
    "rk4_apex_ft",
)
STATCAST_COLUMNS = (
    "bb_type",
    "launch_speed",
    "launch_angle",
    "spray_angle_deg",
    "hit_distance_sc",
    "stand",
    "home_team",
    "events",
)


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict]:
    """The rows of a reference CSV; :class:`BattedBallError` naming the file if it is unreadable or
    lacks one of ``columns``."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BattedBallError(f"cannot read {path}: {exc}") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise BattedBallError(f"malformed {path}: no column {', '.join(missing)}")
    return rows


def check_reference_cases(data_dir: Path | None) -> Check:
    name, desc = "nathan_reference_cases", "Nathan's reference cases (distance, hang time, apex) at RK4 1 ms"
    src = f"{REFERENCE_CASES_CSV} (computed from the workbook's formulas; two cases quoted by third parties)"
    if data_dir is None:
        return Check(name, desc, "-", "-", "-", None, src, "skipped: ../shared/data/batted_ball is absent")
    worst = {"distance": 0.0, "hang": 0.0, "apex": 0.0}
    path = data_dir / REFERENCE_CASES_CSV
    rows = _read_rows(path, REFERENCE_COLUMNS)
    for line, row in enumerate(rows, start=2):
        try:
            f = {k: float(row[k]) for k in REFERENCE_COLUMNS}
            env = Environment(temp_f=f["temp_f"], elevation_ft=f["elev_ft"], humidity_pct=f["rh_pct"])
            r = simulate_batted_ball(
                f["ev_mph"],
                f["la_deg"],
                f["dir_deg"],
                f["backspin_rpm"],
                f["sidespin_rpm"],
                env=env,
                contact=(0.0, f["y0_ft"], f["z0_ft"]),
            )
        except (ValueError, TypeError) as exc:  # BattedBallError is a ValueError
            raise BattedBallError(f"malformed {path}, line {line}: {exc}") from None
        worst["distance"] = max(worst["distance"], abs(r.distance_ft - f["rk4_1ms_dist_ft"]))
        worst["hang"] = max(worst["hang"], abs(r.hang_time_s - f["rk4_1ms_hang_s"]))
        worst["apex"] = max(worst["apex"], abs(r.apex_ft - f["rk4_apex_ft"]))
    ok = worst["distance"] <= 0.05 and worst["hang"] <= 0.001 and worst["apex"] <= 0.05
    return Check(
        name,
        desc,
        f"{len(rows)} cases as tabulated",
        f"max |diff| {worst['distance']:.3f} ft, {worst['hang']:.4f} s, {worst['apex']:.3f} ft",
        "0.05 ft, 0.001 s, 0.05 ft",
        ok,
        src,
    )


def check_exit_velocity() -> Check:
    slope = (_distance(103, 28, 2000) - _distance(97, 28, 2000)) / 6.0
    return Check(
        "exit_velocity_sensitivity",
        "carry gained per +1 mph of exit speed (97 -> 103 mph, 28 deg)",
        "+5 ft/mph",
        f"{slope:+.2f} ft/mph",
        "1.0 ft/mph",
        abs(slope - 5.0) <= 1.0,
        "A. Nathan, 'The physics of baseball': ~5 ft per mph for a home-run trajectory",
    )


def check_temperature() -> Check:
    gain = (
        _distance(100, 28, 2000, env=Environment(temp_f=80))
        - _distance(100, 28, 2000, env=Environment(temp_f=60))
    ) / 2
    return Check(
        "temperature_sensitivity",
        "carry gained per +10 F (60 -> 80 F, 100 mph, 28 deg)",
        "+3.3 ft",
        f"{gain:+.2f} ft",
        "0.7 ft",
        abs(gain - 3.3) <= 0.7,
        "A. Nathan, 'Baseball at high altitude' / hardball times: ~3.3 ft per 10 F",
    )


def check_elevation() -> Check:
    gain = _distance(100, 28, 2000, env=Environment(elevation_ft=1000)) - _distance(100, 28, 2000)
    return Check(
        "elevation_sensitivity",
        "carry gained at 1000 ft above sea level (100 mph, 28 deg)",
        "+6 ft",
        f"{gain:+.2f} ft",
        "1.5 ft",
        abs(gain - 6.0) <= 1.5,
        "A. Nathan, 'Baseball at high altitude': ~6 ft per 1000 ft of elevation",
    )


def check_coors() -> Check:
    sea = _distance(103, 28, 2597, -849)
    coors = _distance(103, 28, 2597, -849, env=Environment(elevation_ft=park("COL").elevation_ft))
    gain = coors - sea
    return Check(
        "coors_field",
        "103 mph, 28 deg, Statcast-average spin: Coors Field (5190 ft) vs sea level",
        "+30 ft",
        f"{gain:+.2f} ft ({sea:.1f} -> {coors:.1f})",
        "5 ft",
        abs(gain - 30.0) <= 5.0,
        "A. Nathan, 'Baseball at high altitude' (Coors adds ~30 ft to a 400 ft fly ball)",
    )


def check_sidespin() -> Check:
    """Sidespin bends the ball toward the batter's opposite field: a right-hander's slice goes right."""
    lhb = simulate_batted_ball(100, 30, 0, 2837, 849, env=Environment(temp_f=75), contact=(0.0, 2.0, 6.0))
    rhb = simulate_batted_ball(100, 30, 0, 2837, -849, env=Environment(temp_f=75), contact=(0.0, 2.0, 6.0))
    ok = abs(lhb.bearing_deg - (-5.685)) <= 0.1 and abs(rhb.bearing_deg - 5.685) <= 0.1
    return Check(
        "sidespin_direction",
        "straight-away fly ball with a slice: LHB (+849 rpm) bends to left field, RHB (-849) to right",
        "bearing -5.685 deg (LHB), +5.685 deg (RHB)",
        f"{lhb.bearing_deg:+.3f} deg (LHB, x {lhb.landing_x_ft:+.1f} ft), {rhb.bearing_deg:+.3f} deg (RHB)",
        "0.1 deg",
        ok,
        "TrajectoryCalculator workbook, BattedBallTrajectory-1 cached bearing B28 = -5.6847 deg (10 ms scheme)",
    )


def _spin_implied_ivb_in(velo_mph, spin_rpm, plate_time_s, env, plate_speed_mph):
    """Closed form: 0.5 * c0 * CL(S) * v^2 * t^2 at the mean speed of the flight, inches."""
    v = 0.5 * (velo_mph + plate_speed_mph) * MPH_TO_FTS
    cl = reference.lift_coefficient(BALL_RADIUS_FT * spin_rpm * math.pi / 30.0 / v)
    return 12.0 * 0.5 * env.c0 * cl * v * v * plate_time_s**2


def check_fastball() -> Check:
    env = Environment()
    p = simulate_pitch(95, 2400, 180, 1.0, release_z_ft=6.0, extension_ft=6.5, target_z_ft=2.5, env=env)
    implied = _spin_implied_ivb_in(95, 2400, p.plate_time_s, env, p.plate_speed_mph)
    ok = abs(p.plate_time_s - 0.40) <= 0.02 and abs(p.ivb_in - implied) <= 0.1 * implied
    return Check(
        "fastball_95mph_2400rpm",
        "95 mph four-seamer, 2400 rpm pure backspin, released 54 ft out: time to plate and induced vertical break",
        f"0.40 s; IVB {implied:.1f} in (0.5 c0 CL(S) v^2 t^2)",
        f"{p.plate_time_s:.3f} s; IVB {p.ivb_in:.1f} in, HB {p.hb_in:+.2f} in",
        "0.02 s; 10 %",
        ok,
        "MLB pitch-tracking norms (~0.40 s for 95 mph); lift from Nathan's CL(S)",
    )


def check_pitch_sheet_case() -> Check:
    """The PitchedBallTrajectory sheet's own example (cd0 = 0.28, flag = 1), its cached summary."""
    env = Environment(temp_f=70, elevation_ft=15, humidity_pct=50)
    st = [float(v) for v in batted_ball_state(90, -3, 180, 2000, 1500, contact=(0.0, 55.0, 6.0))]
    a = FlightArgs.of(env, SimulationMode.ACCURATE)
    t, x, z, *_ = kernels.pitch(*st, a.c0, 0.28, a.cdspin, 0.0, 0.001, PLATE_FRONT_Y_FT, 3.0, False)
    y0 = 55.0
    x_mvmt = 12 * (x - (st[0] + st[3] / st[4] * (PLATE_FRONT_Y_FT - y0)))
    z_mvmt = 12 * (z - (st[2] + st[5] / st[4] * (PLATE_FRONT_Y_FT - y0)))
    ok = abs(t - 0.42711) <= 0.002 and abs(x_mvmt - 13.310) <= 0.3 and abs(z_mvmt - (-16.282)) <= 0.3
    return Check(
        "pitch_sheet_case",
        "workbook pitch (90 mph, -3 deg, 2000/1500 rpm, 55 ft): transit time and movement vs straight line",
        "0.4271 s, x +13.31 in, z -16.28 in",
        f"{t:.4f} s, x {x_mvmt:+.2f} in, z {z_mvmt:+.2f} in",
        "0.002 s, 0.3 in",
        ok,
        "TrajectoryCalculator workbook, PitchedBallTrajectory cached B27, H24, H25 (1 ms sheet scheme)",
    )


def check_modes_agree() -> Check:
    ev, la = np.meshgrid(np.arange(60.0, 116.0, 5.0), np.arange(-10.0, 61.0, 5.0))
    spray = np.zeros_like(ev) + 10.0
    base = simulate_batted_balls(ev, la, spray, mode=SimulationMode.ACCURATE)["distance_ft"]
    worst = {}
    for mode in SimulationMode:
        worst[mode.name.lower()] = float(
            np.max(np.abs(simulate_batted_balls(ev, la, spray, mode=mode)["distance_ft"] - base))
        )
    w = max(worst.values())
    return Check(
        "modes_agree",
        f"{ev.size} batted balls (60-115 mph, -10..60 deg): every mode vs ACCURATE (1 ms)",
        "|diff| <= 0.5 ft",
        f"max {w:.4f} ft ({', '.join(f'{k} {v:.4f}' for k, v in worst.items())})",
        "0.5 ft",
        w <= 0.5,
        "issue 7 (landing interpolated inside the last step)",
    )


#: Height at which an outfielder's glove takes a caught fly ball; Statcast's hit distance of a
#: ball caught in the air ends there, not on the ground.
CATCH_HEIGHT_FT = 5.0
_AIR_OUTS = {
    "field_out",
    "sac_fly",
    "double_play",
    "force_out",
    "field_error",
    "sac_fly_double_play",
    "triple_play",
}


def statcast_residuals(data_dir: Path, catch_height_ft: float = CATCH_HEIGHT_FT, spin_fit=None) -> dict:
    """Simulated minus Statcast distance for the fair fly balls and line drives of the sample; a ball
    caught in the air is flown down to ``catch_height_ft`` (0: every ball to the ground). Spin: the
    average fit (``flight.SPIN_FIT``, or ``spin_fit``). ``fit_half`` marks the balls of even
    ``game_pk``, the half the spin fit was made on (the other half validates it)."""
    rows = []
    path = data_dir / STATCAST_CSV
    for r in _read_rows(path, STATCAST_COLUMNS):
        if r["bb_type"] not in ("fly_ball", "line_drive"):
            continue
        try:
            ev, la, sp, dist = (
                float(r[k]) for k in ("launch_speed", "launch_angle", "spray_angle_deg", "hit_distance_sc")
            )
        except (ValueError, TypeError):
            continue
        if (
            not all(map(math.isfinite, (ev, la, sp, dist)))
            or abs(sp) > 50.0
            or not 0 < ev <= 150
            or abs(la) > 90
        ):
            continue
        if r["home_team"] not in PARKS and r["home_team"] not in ALIASES:
            raise BattedBallError(f"malformed {path}: unknown home_team {r['home_team']!r}")
        even = r.get("game_pk", "").isdigit() and int(r["game_pk"]) % 2 == 0
        rows.append((ev, la, sp, dist, r["stand"], r["home_team"], r["events"], r["bb_type"], even))
    if not rows:
        raise BattedBallError(f"{path} has no fair fly balls or line drives to compare with")
    res = np.empty(len(rows))
    args = {}
    for i, (ev, la, sp, dist, stand, team, event, *_) in enumerate(rows):
        back, side = statcast_average_spin_rpm(la, sp, stand, spin_fit)
        st = [float(v) for v in batted_ball_state(ev, la, sp, float(back), float(side))]
        if team not in args:
            args[team] = FlightArgs.of(Environment(elevation_ft=park(team).elevation_ft), SimulationMode.FAST)
        a = args[team]
        ground = catch_height_ft if event in _AIR_OUTS else 0.0
        r = kernels.fly(*st, *a.fly_tail(ground_z=ground))
        res[i] = math.hypot(r[1], r[2]) - dist
    bb = np.array([r[7] for r in rows])
    caught = np.array([r[6] in _AIR_OUTS for r in rows])
    la = np.array([r[1] for r in rows])
    home_run = np.array([r[6] == "home_run" for r in rows])
    fit_half = np.array([r[8] for r in rows])
    return {
        "residual": res,
        "bb_type": bb,
        "caught": caught,
        "launch_angle_deg": la,
        "home_run": home_run,
        "fit_half": fit_half,
    }


def check_statcast(data_dir: Path | None) -> Check:
    name = "statcast_distance_residual"
    desc = "Statcast sample, fair fly balls and line drives: mean of simulated minus measured distance"
    src = (
        f"{STATCAST_CSV} (Statcast 2022-24; 70 F, park elevation, average spin refitted on the even game_pk)"
    )
    if data_dir is None:
        return Check(name, desc, "-", "-", "-", None, src, "skipped: ../shared/data/batted_ball is absent")
    if not (data_dir / STATCAST_CSV).is_file():
        return Check(name, desc, "-", "-", "-", None, src, f"skipped: {data_dir} has no {STATCAST_CSV}")
    r = statcast_residuals(data_dir)
    res = r["residual"]
    mean = float(res.mean())
    parts = ", ".join(
        f"{k} {res[m].mean():+.1f} (n={int(m.sum())})"
        for k, m in (
            ("fly", r["bb_type"] == "fly_ball"),
            ("liner", r["bb_type"] == "line_drive"),
            ("caught", r["caught"]),
            ("not caught", ~r["caught"]),
            ("spin fit's half", r["fit_half"]),
            ("validation half", ~r["fit_half"]),
        )
    )
    return Check(
        name,
        desc,
        "0 ft",
        f"{mean:+.2f} ft (n={res.size}, sd {res.std():.1f})",
        "10 ft",
        abs(mean) <= 10.0,
        src,
        f"by group: {parts}; caught balls end at the glove ({CATCH_HEIGHT_FT:g} ft up)",
    )


CHECKS: dict[str, Callable[..., Check]] = {
    "nathan_100mph_28deg": check_nathan_408,
    "sheet_cached_case": check_sheet_cached_case,
    "nathan_reference_cases": check_reference_cases,
    "exit_velocity_sensitivity": check_exit_velocity,
    "temperature_sensitivity": check_temperature,
    "elevation_sensitivity": check_elevation,
    "coors_field": check_coors,
    "sidespin_direction": check_sidespin,
    "fastball_95mph_2400rpm": check_fastball,
    "pitch_sheet_case": check_pitch_sheet_case,
    "modes_agree": check_modes_agree,
    "statcast_distance_residual": check_statcast,
}
_NEEDS_DATA = {"nathan_reference_cases", "statcast_distance_residual"}


def run_checks(data_dir: Path | None = None, names: list[str] | None = None) -> list[Check]:
    """The named checks (all of :data:`CHECKS` by default), in order; ``data_dir`` holds the reference data."""
    names = [names] if isinstance(names, str) else names
    unknown = [n for n in names or () if n not in CHECKS]
    if unknown:
        raise BattedBallError(f"no check named {unknown[0]!r} (checks: {', '.join(CHECKS)})")
    data_dir = None if data_dir is None else Path(data_dir)
    out = []
    for name in names or list(CHECKS):
        fn = CHECKS[name]
        out.append(fn(data_dir) if name in _NEEDS_DATA else fn())
    return out
