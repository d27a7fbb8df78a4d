"""Players, repertoires and teams: generated deterministically from a seed, or loaded from JSON.

Ratings are z-scores (0 = league average, +-1 = one standard deviation) except where a unit is in
the name. A pitcher's release angles for each of his pitches are solved once (aimed at the middle
of the zone with the full flight model) and reused for every pitch he throws.
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BattedBallError, whole_number
from ..parks import PARKS, park_code
from ..physics import Environment, FlightArgs, SimulationMode, aim_pitch
from ..physics.constants import MPH_TO_FTS, RUBBER_TO_PLATE_FT
from ..physics.flight import pitch_spin_vector, pitch_velocity

POSITIONS = ("C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH")

#: Pitch types: (speed below the pitcher's fastball mph, spin rpm, Statcast spin axis for a
#: right-hander, active-spin fraction, whiff propensity (logit), launch-angle shift deg).
#: Typical MLB values (Baseball Savant pitch-type averages, rounded).
PITCH_TYPES = {
    "FF": (0.0, 2300.0, 210.0, 0.92, 0.00, 2.0),
    "SI": (0.8, 2150.0, 230.0, 0.88, -0.25, -6.0),
    "SL": (8.0, 2450.0, 80.0, 0.35, 0.45, -1.0),
    "CH": (8.5, 1750.0, 235.0, 0.90, 0.35, -3.0),
    "CU": (13.0, 2550.0, 30.0, 0.75, 0.40, -2.0),
}
#: Aim point the release angles are solved for (middle of the zone), ft.
ZONE_CENTER_Z_FT = 2.5


@dataclass
class Pitch:
    kind: str
    speed_mph: float
    spin_rpm: float
    spin_axis_deg: float
    active_spin: float
    usage: float
    # Solved once: release angles to the middle of the zone, spin vector (rad/s).
    vang_deg: float = 0.0
    hang_deg: float = 0.0
    spin_vec: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class Pitcher:
    name: str
    throws: str
    role: str  # SP or RP
    control: float
    stuff: float
    stamina_pitches: float
    extension_ft: float
    release_z_ft: float
    pitches: list[Pitch] = field(default_factory=list)

    @property
    def release(self) -> tuple[float, float, float]:
        x = -2.0 if self.throws == "R" else 2.0
        return (x, RUBBER_TO_PLATE_FT - self.extension_ft, self.release_z_ft)

    def prepare(self) -> None:
        """Solve each pitch's release angles to the zone centre at standard air (once per pitcher)."""
        args = FlightArgs.of(
            Environment(), SimulationMode.EXTREME
        )  # a solve: the 10 ms flight agrees to 1e-5 ft
        for p in self.pitches:
            p.vang_deg, p.hang_deg = aim_pitch(
                p.speed_mph,
                p.spin_rpm,
                p.spin_axis_deg,
                p.active_spin,
                self.release,
                0.0,
                ZONE_CENTER_Z_FT,
                args,
                iterations=3,
            )
            vx, vy, vz = pitch_velocity(p.speed_mph, p.vang_deg, p.hang_deg)
            v = p.speed_mph * MPH_TO_FTS
            p.spin_vec = pitch_spin_vector(
                (vx / v, vy / v, vz / v), p.spin_rpm, p.spin_axis_deg, p.active_spin
            )


@dataclass
class Batter:
    name: str
    position: str
    bats: str  # R, L or S
    contact: float
    power: float
    eye: float
    speed_fts: float
    launch_deg: float
    fielding: float
    arm: float


@dataclass
class Team:
    code: str
    name: str
    lineup: list[Batter]
    rotation: list[Pitcher]
    bullpen: list[Pitcher]

    def prepare(self) -> None:
        for p in self.rotation + self.bullpen:
            p.prepare()

    def to_dict(self) -> dict:
        return asdict(self)


def _pitcher(rng: np.random.Generator, name: str, role: str) -> Pitcher:
    throws = "R" if rng.random() < 0.72 else "L"
    fb = float(rng.normal(93.3 if role == "SP" else 94.3, 2.2))
    kinds = ["FF" if rng.random() < 0.7 else "SI"]
    second = ["SL", "CH", "CU"]
    rng.shuffle(second)
    kinds += second[: 2 if role == "SP" or rng.random() < 0.4 else 1]
    usage = rng.dirichlet([5.0] + [2.5] * (len(kinds) - 1))
    pitches = []
    for kind, u in zip(kinds, usage, strict=True):
        dv, spin, axis, active, _, _ = PITCH_TYPES[kind]
        axis = axis if throws == "R" else 360.0 - axis
        pitches.append(
            Pitch(
                kind,
                fb - dv,
                float(spin * rng.normal(1.0, 0.06)),
                float(axis + rng.normal(0, 8)),
                float(min(1.0, active * rng.normal(1.0, 0.05))),
                float(u),
            )
        )
    return Pitcher(
        name=name,
        throws=throws,
        role=role,
        control=float(rng.normal()),
        stuff=float(rng.normal()),
        stamina_pitches=float(rng.normal(96, 8) if role == "SP" else rng.normal(26, 5)),
        extension_ft=float(rng.normal(6.4, 0.3)),
        release_z_ft=float(rng.normal(5.8, 0.3)),
        pitches=pitches,
    )


def _batter(rng: np.random.Generator, name: str, position: str) -> Batter:
    u = rng.random()
    return Batter(
        name=name,
        position=position,
        bats="R" if u < 0.58 else ("L" if u < 0.9 else "S"),
        contact=float(rng.normal()),
        power=float(rng.normal()),
        eye=float(rng.normal()),
        speed_fts=float(rng.normal(27.0, 1.1)),
        launch_deg=float(rng.normal(0.0, 4.0)),
        fielding=float(rng.normal()),
        arm=float(rng.normal()),
    )


def generate_team(code: str, rng: np.random.Generator) -> Team:
    """A team for the park ``code`` (its players drawn from ``rng``; :func:`generate_league` keys one stream
    per team)."""
    if code not in PARKS:  # the team is named for its park, and plays there
        raise BattedBallError(f"{code!r} is not a park code (codes: {', '.join(sorted(PARKS))})")
    if not isinstance(rng, np.random.Generator):
        raise BattedBallError(
            f"rng must be a numpy Generator (perfkit.rng_for(seed, 'team', i)), got {rng!r}"
        )
    lineup = [_batter(rng, f"{code} {pos}", pos) for pos in POSITIONS]
    rotation = [_pitcher(rng, f"{code} SP{i + 1}", "SP") for i in range(5)]
    bullpen = [_pitcher(rng, f"{code} RP{i + 1}", "RP") for i in range(8)]
    # Bullpen best first: the closer is the best reliever.
    bullpen.sort(key=lambda p: -(p.stuff + 0.5 * p.control))
    return Team(code, PARKS[code].name, lineup, rotation, bullpen)


def generate_league(seed: int) -> list[Team]:
    """30 teams (one per park), each from its own stream keyed by (seed, team code)."""
    from perfkit.parallel import rng_for

    seed = whole_number("seed", seed)
    teams = [generate_team(code, rng_for(seed, "team", i)) for i, code in enumerate(sorted(PARKS))]
    for t in teams:
        t.prepare()
    return teams


#: Ranges of a loaded roster's numbers. Generated ratings are z-scores (normal, mean 0, sd 1), the rest
#: MLB units; a value outside these is a typo or garbage, and NaN would flow into every probability.
BATTER_RANGES = {
    **dict.fromkeys(("contact", "power", "eye", "fielding", "arm"), (-6.0, 6.0)),
    "speed_fts": (15.0, 35.0),
    "launch_deg": (-30.0, 30.0),
}
PITCHER_RANGES = {
    **dict.fromkeys(("control", "stuff"), (-6.0, 6.0)),
    "stamina_pitches": (1.0, 200.0),
    "extension_ft": (3.0, 9.0),
    "release_z_ft": (1.0, 8.0),
}
PITCH_RANGES = {
    "speed_mph": (50.0, 105.0),
    "spin_rpm": (0.0, 4500.0),
    "spin_axis_deg": (-720.0, 720.0),
    "active_spin": (0.0, 1.0),
    "usage": (0.0, 1e6),
}


def _check_numbers(obj, ranges: dict, who: str, path: Path) -> None:
    for name, (lo, hi) in ranges.items():
        value = getattr(obj, name)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not lo <= value <= hi:
            raise BattedBallError(
                f"malformed roster {path}: {who}: {name} {value!r} is not a number in {lo:g}..{hi:g}"
            )


def _check_ranges(team: Team, path: Path) -> None:
    for b in team.lineup:
        if b.bats not in ("R", "L", "S"):
            raise BattedBallError(f"malformed roster {path}: batter {b.name!r}: bats must be R, L or S")
        _check_numbers(b, BATTER_RANGES, f"batter {b.name!r}", path)
    for p in team.rotation + team.bullpen:
        _check_numbers(p, PITCHER_RANGES, f"pitcher {p.name!r}", path)
        for q in p.pitches:
            _check_numbers(q, PITCH_RANGES, f"pitcher {p.name!r} {q.kind}", path)
        if sum(q.usage for q in p.pitches) <= 0:
            raise BattedBallError(f"malformed roster {path}: pitcher {p.name!r}: pitch usage sums to 0")


def check_teams(teams: list[Team], source: Path | str) -> None:
    """Refuse (``BattedBallError`` naming ``source``) teams a game cannot be played with, then aim them."""
    path = source
    if not teams:
        raise BattedBallError(f"malformed roster {path}: no teams")
    for t in teams:
        if len(t.lineup) != 9 or not t.rotation or not t.bullpen:
            raise BattedBallError(
                f"malformed roster {path}: team {t.code} needs 9 batters, starters and relievers"
            )
        if t.code not in PARKS:
            raise BattedBallError(f"malformed roster {path}: unknown team/park code {t.code!r}")
        for p in t.rotation + t.bullpen:
            if (
                not p.pitches
                or any(q.kind not in PITCH_TYPES for q in p.pitches)
                or p.throws not in ("R", "L")
            ):
                raise BattedBallError(f"malformed roster {path}: pitcher {p.name!r} has a bad repertoire")
            if any(not (50 <= q.speed_mph <= 105) or not math.isfinite(q.usage) for q in p.pitches):
                raise BattedBallError(f"malformed roster {path}: pitcher {p.name!r} has a bad pitch speed")
        _check_ranges(t, path)
        t.prepare()


def find_team(teams, query: str, option: str) -> Team:
    """The team whose code or name (any case) is ``query``, or whose park's code, park or club name
    it is (``parks.park_code``: ``ARI``, ``Yankees``, ``New York Yankees``); else ``BattedBallError``
    listing the codes."""
    q = query.strip().lower()
    code = park_code(query)
    for t in teams:
        if q in (t.code.lower(), t.name.lower()):
            return t
    for t in teams:
        if code is not None and t.code == code:
            return t
    codes = ", ".join(t.code for t in teams)
    raise BattedBallError(f"{option} {query!r} is not a team here (codes or names of: {codes})")
