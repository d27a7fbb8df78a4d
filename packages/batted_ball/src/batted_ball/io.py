"""Every file batted-ball reads or writes: rosters in; a season's tables and the play-by-play out.

Rosters are JSON (a list of ``Team.to_dict()``) or CSV (:data:`CSV_COLUMNS`). A season folder holds
``games.parquet``, ``league.json``, ``standings.json`` and, with play-by-play, ``pitches.parquet``
(one row per pitch) and ``balls_in_play.parquet`` (one row per batted ball that flew); their typed
columns are :data:`PITCH_SCHEMA` and :data:`BIP_SCHEMA`, sorted by ``(game_index, pitch_index)``.
"""

import json
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import BattedBallError
from .game.engine import BIP_FIELDS, PITCH_FIELDS
from .game.players import Batter, Pitch, Pitcher, Team, check_teams
from .parks import PARKS

#: Columns of a CSV roster: one row per player; batters have role B, pitchers SP or RP. A pitcher's
#: repertoire is ``kind/speed_mph/spin_rpm/spin_axis_deg/active_spin/usage`` items joined by ``;``.
CSV_COLUMNS = (
    "team",
    "name",
    "role",
    "position",
    "hand",
    "contact",
    "power",
    "eye",
    "speed_fts",
    "launch_deg",
    "fielding",
    "arm",
    "control",
    "stuff",
    "stamina_pitches",
    "extension_ft",
    "release_z_ft",
    "pitches",
)
_BATTER_CSV = {
    "position": "position",
    "hand": "bats",
    "contact": "contact",
    "power": "power",
    "eye": "eye",
    "speed_fts": "speed_fts",
    "launch_deg": "launch_deg",
    "fielding": "fielding",
    "arm": "arm",
}
_PITCHER_CSV = {
    "hand": "throws",
    "role": "role",
    "control": "control",
    "stuff": "stuff",
    "stamina_pitches": "stamina_pitches",
    "extension_ft": "extension_ft",
    "release_z_ft": "release_z_ft",
}


def save_teams_csv(teams: list[Team], path: str | Path) -> None:
    """Write teams as a CSV roster (see :data:`CSV_COLUMNS`)."""
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for t in teams:
            for b in t.lineup:
                w.writerow(
                    {
                        "team": t.code,
                        "name": b.name,
                        "role": "B",
                        **{col: getattr(b, attr) for col, attr in _BATTER_CSV.items()},
                    }
                )
            for p in t.rotation + t.bullpen:
                reps = ";".join(
                    f"{q.kind}/{q.speed_mph!r}/{q.spin_rpm!r}/{q.spin_axis_deg!r}/{q.active_spin!r}/{q.usage!r}"
                    for q in p.pitches
                )
                w.writerow(
                    {
                        "team": t.code,
                        "name": p.name,
                        "pitches": reps,
                        **{col: getattr(p, attr) for col, attr in _PITCHER_CSV.items()},
                    }
                )


def _teams_from_csv(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or set(CSV_COLUMNS) - set(rows[0]):
        raise BattedBallError(f"malformed roster {path}: expected the columns {', '.join(CSV_COLUMNS)}")
    teams: dict[str, dict] = {}
    for r in rows:
        t = teams.setdefault(r["team"], {"code": r["team"], "lineup": [], "rotation": [], "bullpen": []})
        if r["role"] == "B":
            b = {attr: r[col] for col, attr in _BATTER_CSV.items()}
            t["lineup"].append(
                {
                    "name": r["name"],
                    **{k: (v if k in ("position", "bats") else float(v)) for k, v in b.items()},
                }
            )
        elif r["role"] in ("SP", "RP"):
            p = {
                attr: (r[col] if attr in ("throws", "role") else float(r[col]))
                for col, attr in _PITCHER_CSV.items()
            }
            pitches = []
            for item in r["pitches"].split(";"):
                kind, *nums = item.split("/")
                speed, spin, axis, active, usage = (float(x) for x in nums)
                pitches.append(
                    {
                        "kind": kind,
                        "speed_mph": speed,
                        "spin_rpm": spin,
                        "spin_axis_deg": axis,
                        "active_spin": active,
                        "usage": usage,
                    }
                )
            t["rotation" if r["role"] == "SP" else "bullpen"].append(
                {"name": r["name"], **p, "pitches": pitches}
            )
        else:
            raise BattedBallError(f"malformed roster {path}: role must be B, SP or RP, got {r['role']!r}")
    return list(teams.values())


#: A roster of 30 teams is about 0.3 MB; anything far larger (or a device such as /dev/zero) is refused
#: before it is read into memory.
MAX_ROSTER_BYTES = 64 * 2**20


def _check_roster_file(path: Path) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        raise BattedBallError(f"cannot read roster {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BattedBallError(f"cannot read roster {path}: not a regular file")
    if st.st_size > MAX_ROSTER_BYTES:
        raise BattedBallError(
            f"roster {path} is {st.st_size:,} bytes; a roster file is at most {MAX_ROSTER_BYTES:,} bytes"
        )


def load_teams(path: str | Path) -> list[Team]:
    """Teams from a JSON file (a list of ``Team.to_dict()`` objects) or a CSV roster (:data:`CSV_COLUMNS`),
    checked (``players.check_teams``) and aimed; raises :class:`BattedBallError` on a malformed roster."""
    path = Path(path)
    _check_roster_file(path)
    try:
        raw = _teams_from_csv(path) if path.suffix.lower() == ".csv" else json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BattedBallError(f"cannot read roster {path}: {exc}") from None
    except BattedBallError:  # already names the roster
        raise
    except ValueError as exc:  # a number that is not one, a repertoire item with the wrong field count
        raise BattedBallError(f"malformed roster {path}: {exc}") from None
    try:
        teams = []
        for t in raw:
            lineup = [Batter(**b) for b in t["lineup"]]
            rotation = [
                Pitcher(**{**p, "pitches": [Pitch(**q) for q in p["pitches"]]}) for p in t["rotation"]
            ]
            bullpen = [Pitcher(**{**p, "pitches": [Pitch(**q) for q in p["pitches"]]}) for p in t["bullpen"]]
            teams.append(
                Team(
                    t["code"],
                    t.get("name") or (PARKS[t["code"]].name if t["code"] in PARKS else t["code"]),
                    lineup,
                    rotation,
                    bullpen,
                )
            )
    except (TypeError, KeyError, AttributeError) as exc:
        raise BattedBallError(f"malformed roster {path}: {exc}") from None
    check_teams(teams, path)
    return teams


# ------------------------------------------------------------------------------------ play-by-play
_KEYS = [
    ("game_index", pa.int64()),
    ("inning", pa.int16()),
    ("top", pa.bool_()),
    ("pa_index", pa.int32()),
    ("pitch_index", pa.int32()),
]
_WHO = [
    ("batting_team", pa.string()),
    ("batter", pa.string()),
    ("bat_side", pa.string()),
    ("pitcher", pa.string()),
]
#: ``pitches.parquet``: one row per pitch. ``top`` = the away side bats; ``pa_index`` and ``pitch_index``
#: count from 1 within the game; counts and outs are before the pitch; ``in_zone`` is the rule-book zone;
#: ``description`` one of ball, called_strike, swinging_strike, foul, hit_by_pitch, hit_into_play.
PITCH_SCHEMA = pa.schema(
    [
        *_KEYS,
        ("pitch_of_pa", pa.int16()),
        *_WHO,
        ("p_throws", pa.string()),
        ("balls", pa.int8()),
        ("strikes", pa.int8()),
        ("outs", pa.int8()),
        ("pitch_type", pa.string()),
        ("release_speed_mph", pa.float64()),
        ("spin_rpm", pa.float64()),
        ("spin_axis_deg", pa.float64()),
        ("plate_x_ft", pa.float64()),
        ("plate_z_ft", pa.float64()),
        ("in_zone", pa.bool_()),
        ("description", pa.string()),
    ]
)
#: ``balls_in_play.parquet``: one row per batted ball that flew, fair or foul (balls fouled straight
#: back never fly). Angles in degrees (spray + toward right field), spin in the sheet's signs,
#: landing point in the field frame (ft; +y to centre field), ``bb_type`` Statcast's by launch
#: angle, ``fielder`` the position that fielded it (null for home runs and uncaught fouls),
#: ``outcome`` Statcast's event words (single ... home_run, field_out, double_play, force_out,
#: sac_fly, field_error, foul).
BIP_SCHEMA = pa.schema(
    [
        *_KEYS,
        *_WHO,
        ("exit_velo_mph", pa.float64()),
        ("launch_angle_deg", pa.float64()),
        ("spray_angle_deg", pa.float64()),
        ("backspin_rpm", pa.float64()),
        ("sidespin_rpm", pa.float64()),
        ("landing_x_ft", pa.float64()),
        ("landing_y_ft", pa.float64()),
        ("distance_ft", pa.float64()),
        ("hang_time_s", pa.float64()),
        ("apex_ft", pa.float64()),
        ("bb_type", pa.string()),
        ("fielder", pa.string()),
        ("outcome", pa.string()),
    ]
)
assert PITCH_SCHEMA.names[1:] == list(PITCH_FIELDS) and BIP_SCHEMA.names[1:] == list(BIP_FIELDS)


def _log_table(rows: list[tuple], fields: tuple, schema: pa.Schema, game_index: int) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(fields)
    arrays = [pa.array([game_index] * len(rows), pa.int64())]
    arrays += [pa.array(col, schema.field(i + 1).type) for i, col in enumerate(columns)]
    return pa.Table.from_arrays(arrays, schema=schema)


def play_by_play_tables(game, game_index: int) -> tuple[pa.Table, pa.Table]:
    """``(pitches, balls_in_play)`` of a ``Game`` run with ``record=True``, keyed by ``game_index``."""
    if getattr(game, "pitch_log", None) is None or getattr(game, "bip_log", None) is None:
        raise BattedBallError("the game kept no play-by-play: build it with record=True and run it")
    return (
        _log_table(game.pitch_log, PITCH_FIELDS, PITCH_SCHEMA, game_index),
        _log_table(game.bip_log, BIP_FIELDS, BIP_SCHEMA, game_index),
    )


PITCHES_FILE = "pitches.parquet"
BIP_FILE = "balls_in_play.parquet"
_SCHEMA_NAMES = {PITCHES_FILE: "PITCH_SCHEMA", BIP_FILE: "BIP_SCHEMA"}


def write_play_by_play(out_dir: Path, pitches: list[pa.Table], balls: list[pa.Table]) -> dict[str, pa.Table]:
    """Concatenate per-game tables (in game order) and write them into ``out_dir``; returns the tables."""
    out = {
        PITCHES_FILE: pa.concat_tables(pitches) if pitches else PITCH_SCHEMA.empty_table(),
        BIP_FILE: pa.concat_tables(balls) if balls else BIP_SCHEMA.empty_table(),
    }
    for (name, table), schema in zip(out.items(), (PITCH_SCHEMA, BIP_SCHEMA), strict=True):
        if not table.schema.equals(schema):  # e.g. the two lists swapped: balls written as pitches.parquet
            raise BattedBallError(f"the tables for {name} do not have its schema (io.{_SCHEMA_NAMES[name]})")
    for name, table in out.items():
        pq.write_table(table, Path(out_dir) / name)
    return out


def read_balls_in_play(path: Path, columns: list[str] | None = None) -> pa.Table:
    """``balls_in_play.parquet``, or the one inside a ``game --out`` / ``season --pbp`` folder."""
    path = Path(path)
    file = path / BIP_FILE if path.is_dir() else path
    if not file.is_file():
        raise BattedBallError(
            f"cannot read balls in play from {path}: no such file (or no {BIP_FILE} in it: "
            "write one with season --pbp or game --out)"
        )
    try:
        names = pq.read_schema(file).names
        missing = set(columns or BIP_SCHEMA.names) - set(names)
        if missing:  # checked before reading: Arrow's own error would print the whole schema
            raise BattedBallError(f"{file} is not a balls_in_play table (no {', '.join(sorted(missing))})")
        return pq.read_table(file, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise BattedBallError(
            f"cannot read balls in play from {file}: {' '.join(str(exc).split())}"
        ) from None


# ------------------------------------------------------------------------------------------ season
def write_season_files(out_dir: Path, games: pa.Table, league: dict, standings: list[dict]) -> None:
    """``games.parquet``, ``league.json`` (the line, games, seed, calibration) and ``standings.json``."""
    out_dir = Path(out_dir)
    pq.write_table(games, out_dir / "games.parquet")
    (out_dir / "league.json").write_text(json.dumps(league, indent=2))
    (out_dir / "standings.json").write_text(json.dumps(standings, indent=2))
