"""Hostile input for every batted-ball command, as a careless or hostile user would type it.

Each row runs the real console script in a scratch folder (``tests/hostile.py``): expected exit code,
exactly one stderr line naming the option, file or value, no traceback, every file that was there
before untouched, no perfkit temporaries left. Value sweeps over every numeric option of the
one-shot commands run in process (no subprocess each), with the same one-line rule.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
from batted_ball.cli import FLOAT, main
from click.testing import CliRunner

from tests.hostile import Case, check_case, run, snapshot, temporaries

BB = "batted-ball"
TRAJ = [BB, "trajectory", "--exit-velo", "100", "--launch-angle", "28"]
SEASON_1 = [BB, "season", "--games", "1", "--executor", "serial", "--quiet"]
ROOT = os.geteuid() == 0


# -- setups ---------------------------------------------------------------------------------------
_scratch: dict[str, Path] = {}


def _scratch_dir() -> Path:
    if "dir" not in _scratch:
        _scratch["dir"] = Path(tempfile.mkdtemp(prefix="bb-hostile-"))
    return _scratch["dir"]


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    if "dir" in _scratch:
        shutil.rmtree(_scratch.pop("dir"), ignore_errors=True)


@functools.cache
def _prior_season() -> Path:
    """A real ``season`` output (1 game, seed 1), written once through ``perfkit.job`` like the CLI does."""
    from batted_ball.season import write_season
    from perfkit.job import job

    out = _scratch_dir() / "season"
    with job("batted_ball", "season", config={"games": 1, "seed": 1}, directories=[out]) as j:
        write_season(1, 1, j.path(out), run=j.run, executor="serial")
    return out


@functools.cache
def _roster_text() -> str:
    """Two generated teams as a JSON roster."""
    from batted_ball.season import league

    return json.dumps([t.to_dict() for t in league(1)[:2]])


def copy_season(name: str = "s"):
    def setup(folder: Path) -> None:
        shutil.copytree(_prior_season(), folder / name)

    return setup


def write(name: str, data: str | bytes):
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return setup


def roster(name: str = "r.json"):
    def setup(folder: Path) -> None:
        (folder / name).write_text(_roster_text())

    return setup


def both(*setups):
    def setup(folder: Path) -> None:
        for s in setups:
            s(folder)

    return setup


def readonly_dir(folder: Path) -> None:
    (folder / "ro").mkdir()
    (folder / "ro").chmod(0o555)


# root writes through a 0555 folder; /sys refuses new files even to root
READONLY_PROFILE = "/sys/x.pstats" if ROOT else "ro/x.pstats"
LONG_NAME = "p" * 240 + ".pstats"  # a legal name (255 bytes max) whose temporary must not be too long

CASES = [
    # -- values: refused by click, before any import --
    Case("traj-spin-rpm-nan", [*TRAJ, "--spin-rpm", "nan"], 2, "'--spin-rpm': 'nan' is not a finite"),
    Case("traj-spin-axis-inf", [*TRAJ, "--spin-rpm", "2000", "--spin-axis", "inf"], 2, "'--spin-axis': 'inf'"),
    Case("traj-temp-overflow", [*TRAJ, "--temp-f", "1e400"], 2, "'--temp-f': '1e400' is not a finite"),
    Case("traj-not-a-number", [BB, "trajectory", "--exit-velo", "fast", "--launch-angle", "28"], 2, "--exit-velo"),
    Case("pitch-velo-nan", [BB, "pitch", "--velo", "nan"], 2, "'--velo': 'nan'"),
    Case("game-seed-negative", [BB, "game", "--seed", "-1"], 2, "'--seed': -1"),
    Case("game-index-negative", [BB, "game", "--seed", "1", "--game-index", "-1"], 2, "'--game-index': -1"),
    Case("game-home-unknown", [BB, "game", "--seed", "1", "--home", "NOPE"], 2, "--home 'NOPE' is not a team here (codes or names of: ATL, AZ,"),
    Case("game-home-equals-away", [BB, "game", "--seed", "1", "--home", "NYY", "--away", "yankee stadium"], 2, "the same team (NYY)"),
    Case("traj-workers-not-offered", [*TRAJ, "--workers", "2"], 2, "No such option '--workers'"),
    Case("game-workers-not-offered", [BB, "game", "--seed", "1", "--workers", "2"], 2, "No such option '--workers'"),
    Case("traj-axis-without-rate", [*TRAJ, "--spin-axis", "90"], 2, "a spin axis needs a spin rate"),
    Case("game-index-int64-overflow", [BB, "game", "--seed", "1", "--game-index", "9" * 30], 2, "--game-index"),
    Case("season-pbp-huge", [BB, "season", "--seed", "1", "--games", "10" * 5, "--pbp", "--out", "s"], 2, "of memory"),
    Case("season-seed-negative", [BB, "season", "--seed", "-1", "--out", "s"], 2, "'--seed': -1"),
    Case("season-games-zero", [BB, "season", "--seed", "1", "--games", "0", "--out", "s"], 2, "'--games': 0"),
    Case("season-workers-10000", [*SEASON_1, "--seed", "1", "--workers", "10000", "--out", "s"], 2, "--workers"),
    Case("season-mode-unknown", [BB, "season", "--seed", "1", "--mode", "warp", "--out", "s"], 2, "'--mode': 'warp' is not one of"),
    Case("game-mode-unknown", [BB, "game", "--seed", "1", "--mode", "warp"], 2, "'--mode': 'warp' is not one of"),
    Case("season-typo-option", [BB, "season", "--gmaes", "3", "--seed", "1", "--out", "s"], 2, "--gmaes"),
    # -- values the library refuses (one per command; the rest run in process below) --
    Case("traj-exit-velo-negative", [BB, "trajectory", "--exit-velo", "-5", "--launch-angle", "28"], 2, "-5 mph"),
    Case("season-games-huge", [BB, "season", "--seed", "1", "--games", "10" * 6, "--out", "s"], 2, "of memory"),
    Case("roster-missing", [BB, "game", "--seed", "1", "--roster", "nope.json"], 2, "cannot read roster nope.json"),
    Case("validate-data-dir-missing", [BB, "validate", "--data-dir", "nope"], 2, "nope has no"),
    Case("validate-data-dir-garbage", [BB, "validate", "--data-dir", "d"], 2, "cannot read d/nathan", write("d/nathan_reference_cases.csv", b"\xff\xfe\x00")),
    # -- outputs against inputs and against what is there --
    Case("roster-as-profile", [BB, "game", "--seed", "1", "--roster", "r.json", "--profile", "r.json"], 2, "is the input", roster()),
    Case("report-dir-is-data-dir", [BB, "validate", "--data-dir", "d", "--report-dir", "d"], 2, "is the input", write("d/nathan_reference_cases.csv", "x")),
    Case("season-out-foreign", [*SEASON_1, "--seed", "1", "--out", "s"], 2, "exists; pass --force", write("s/notes.txt", "mine")),
    Case("season-out-foreign-force", [*SEASON_1, "--seed", "1", "--out", "s", "--force"], 2, "did not write (notes.txt)", write("s/notes.txt", "mine")),
    Case("season-out-existing", [*SEASON_1, "--seed", "1", "--out", "s"], 2, "pass --force", copy_season()),
    Case("season-out-grown", [*SEASON_1, "--seed", "1", "--out", "s", "--force"], 2, "did not write (plot.png)", both(copy_season(), write("s/plot.png", b"\x89PNG"))),
    Case("season-out-is-file", [*SEASON_1, "--seed", "1", "--out", "s"], 2, "'s' is a file", write("s", "a file")),
    Case("season-out-under-file", [*SEASON_1, "--seed", "1", "--out", "f/s"], 2, "not a folder", write("f", "a file")),
    Case("profile-parent-is-file", [*TRAJ, "--profile", "f/x.pstats"], 2, "not a folder", write("f", "a file")),
    Case("profile-in-proc", [*TRAJ, "--profile", "/proc/x.pstats"], 2, "/proc/x.pstats"),
    Case("profile-read-only", [*TRAJ, "--profile", READONLY_PROFILE], 2, "x.pstats", None if ROOT else readonly_dir),
    Case("profile-is-folder", [*TRAJ, "--profile", "d"], 2, "'d' is a directory", write("d/x", "mine")),
    Case("report-dir-foreign-report", [*TRAJ, "--report-dir", "d"], 2, "not a perfkit report", write("d/run_report.json", "{}")),
    Case("report-dir-is-file", [*TRAJ, "--report-dir", "d"], 2, "'d' is a file", write("d", "a file")),
    Case("plot-out-exists", [BB, "plot", "trajectory", "--ball", "100,28", "--out", "t.png"], 2, "pass --force", write("t.png", b"\x89PNG mine")),
    Case("plot-out-not-a-picture", [BB, "plot", "trajectory", "--ball", "100,28", "--out", "t.pdf"], 2, "a picture is .png or .svg"),
    Case("plot-from-over-out", [BB, "plot", "ev-la", "--from", "b.parquet", "--out", "b.parquet"], 2, "a picture is .png or .svg", write("b.parquet", "x")),
    Case("plot-ball-inf", [BB, "plot", "trajectory", "--ball", "100,inf", "--out", "t.png"], 2, "--ball '100,inf': 'inf' is not a finite number"),
    # -- a Dask cluster named where it cannot be used (refused before anything is claimed) --
    Case("season-scheduler-with-threads", [BB, "season", "--seed", "1", "--executor", "threads", "--scheduler", "tcp://127.0.0.1:1", "--out", "s"], 2, "--scheduler tcp://127.0.0.1:1 runs on a Dask cluster; it cannot be used with --executor threads"),
    Case("season-scheduler-env-with-threads", [BB, "season", "--seed", "1", "--executor", "threads", "--out", "s"], 2, "it cannot be used with --executor threads", env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:1"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case: Case, tmp_path: Path):
    check_case(case, tmp_path)


# Rows that wait for a timeout (perfkit gives a scheduler 10 s to answer).
SLOW_CASES = [
    Case("season-scheduler-unreachable", [BB, "season", "--games", "1", "--seed", "1", "--scheduler", "tcp://127.0.0.1:1", "--out", "s"], 2, "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=[c.id for c in SLOW_CASES])
def test_hostile_slow(case: Case, tmp_path: Path):
    check_case(case, tmp_path)


# -- hostile but legal: the command runs and touches nothing it does not own ----------------------
def test_report_dir_with_foreign_files_and_odd_names(tmp_path: Path):
    """``--report-dir`` is a folder with someone's files and a name full of quotes, spaces and
    non-ASCII; ``--profile`` a 244-byte name: both written, nothing else touched or left behind."""
    odd = "ré port ☃ 'x' \"y\" $z"
    case = Case(
        "report-dir-odd",
        [*TRAJ, "--report-dir", odd, "--profile", f"{odd}/{LONG_NAME}"],
        0,
        setup=write(f"{odd}/notes.txt", "mine"),
    )
    check_case(case, tmp_path)
    assert (tmp_path / odd / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / odd / "run_report.json").read_text())["status"] == "ok"
    assert {p.name for p in (tmp_path / odd).iterdir()} == {
        "notes.txt", "run_report.json", "events.jsonl", LONG_NAME, "p" * 240 + ".top.json"
    }  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == [odd]  # single runs write nothing else


def test_game_index_far_out_is_quick(tmp_path: Path):
    """The issue's ``--game-index 99999999999`` (1.3 GB, a minute): now a normal game."""
    result = check_case(
        Case("game-index-huge", [BB, "game", "--seed", "1", "--game-index", "99999999999", "--json"], 0),
        tmp_path,
    )
    box = json.loads(result.stdout)
    assert box["innings"] >= 9 and not list(tmp_path.iterdir())


def test_season_force_replaces_its_own_output(tmp_path: Path):
    copy_season()(tmp_path)
    old = snapshot(tmp_path / "s")
    result = run([*SEASON_1, "--seed", "2", "--out", "s", "--force"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "s") != old
    assert json.loads((tmp_path / "s" / "league.json").read_text())["seed"] == 2
    assert pq.read_table(tmp_path / "s" / "games.parquet").num_rows == 1
    assert json.loads((tmp_path / "s" / "run_report.json").read_text())["config"]["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"] and not temporaries(tmp_path)


# -- values the library refuses, in process (one import for all rows) --------------------------------
LIBRARY = [
    (["trajectory", "--exit-velo", "1e300", "--launch-angle", "28"], "exit velocity 1e+300 mph is out of range"),
    ([*TRAJ[1:], "--spin-rpm", "1e9"], "spin rate 1e+09 rpm"),
    ([*TRAJ[1:], "--spin-rpm", "-2000"], "spin rate -2000 rpm"),
    ([*TRAJ[1:], "--spin-rpm", "2000", "--backspin", "1000"], "not both"),
    ([*TRAJ[1:], "--spin-decay-s", "1e-320"], "spin decay time constant 1e-320"),
    ([*TRAJ[1:], "--humidity", "-1"], "relative humidity -1.0 %"),
    ([*TRAJ[1:], "--wind-mph", "10", "--wind-dir", "1e300"], "wind direction 1e+300 deg is outside -360..360 deg"),
    ([*TRAJ[1:], "--batter-hand", "X"], "batter hand must be R or L"),
    (["pitch", "--velo", "95", "--target-z", "1e300"], "target height 1e+300"),
    (["pitch", "--velo", "95", "--release-x", "-1e9"], "release side -1e+09"),
    (["pitch", "--velo", "30", "--target-z", "8"], "cannot aim a 30 mph pitch at (0, 8) ft"),
    (["pitch", "--velo", "95", "--spin-axis", "1e300"], "spin axis 1e+300"),
    # options that would be ignored: refused even when the value equals the default
    (["validate", "--seed", "2026"], "--games, --seed and --out go with --statcast"),
    # a path option given another option as its value (the path forgotten): not a folder named --pbp
    (["season", "--seed", "1", "--out", "--pbp"], "'--pbp' is an option, not a path (for a file of that name write ./--pbp)"),
    (["game", "--seed", "1", "--out", "-q"], "'-q' is an option, not a path"),
    (["game", "--seed", "1", "--roster", "-h"], "'-h' is an option, not a path"),
    (["plot", "spray", "--from", "--force", "--out", "x.png"], "'--force' is an option, not a path"),
    (["validate", "--data-dir", "--json"], "'--json' is an option, not a path"),
    (["validate", "--games", "240"], "--games, --seed and --out go with --statcast"),
    ([*TRAJ[1:], "--backspin", "2000", "--batter-hand", "R"], "--batter-hand only chooses the Statcast-average spin; it has no effect with --backspin"),
    ([*TRAJ[1:], "--spin-rpm", "2000", "--batter-hand", "L"], "no effect with --spin-rpm"),
    (["season", "--seed", "1", "--executor", "serial", "--workers", "2", "--out", "s"], "--workers 2 has no meaning with --executor serial"),
    (["season", "--seed", "1", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2", "--out", "s"], "--workers 2 has no meaning with --scheduler tcp://127.0.0.1:1"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), LIBRARY, ids=[" ".join(a[1:]) for a, _ in LIBRARY])
def test_library_refusals(args: list[str], message: str, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a refusal that regressed writes its output here, not in the checkout
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not list(tmp_path.iterdir())


def _batter(field, value):
    return lambda teams: teams[0]["lineup"][0].__setitem__(field, value)


def _pitcher(field, value):
    return lambda teams: teams[1]["rotation"][0].__setitem__(field, value)


def _pitch(field, value):
    return lambda teams: teams[1]["bullpen"][0]["pitches"][0].__setitem__(field, value)


ROSTERS = [
    ("binary", b"\xff\x00" * 64, "cannot read roster"),
    ("not-a-list", b'{"a": 1}', "malformed roster"),
    ("empty-list", b"[]", "malformed roster"),
    ("csv-garbage", b"a,b\n1,2\n", "malformed roster"),
    ("device", "/dev/zero", "not a regular file"),
    ("home-nope", None, "--home 'NOPE' is not a team here (codes or names of: ATL, AZ)"),
    ("nan-rating", _batter("contact", float("nan")), "contact nan is not a number"),
    ("string-rating", _batter("power", "strong"), "power 'strong' is not a number"),
    ("huge-launch", _batter("launch_deg", 1e300), "launch_deg 1e+300"),
    ("negative-stamina", _pitcher("stamina_pitches", -5), "stamina_pitches -5"),
    ("inf-extension", _pitcher("extension_ft", float("inf")), "extension_ft inf"),
    ("nan-pitch-speed", _pitch("speed_mph", float("nan")), "bad pitch speed"),
    ("negative-usage", _pitch("usage", -1), "usage -1"),
    ("one-team", lambda teams: teams.pop(), "the roster has one team (ATL); a game needs two"),
    ("csv-empty", b"", "r.csv: expected the columns team, name"),
]


@pytest.mark.parametrize(("kind", "data", "message"), ROSTERS, ids=[r[0] for r in ROSTERS])
def test_roster_refusals(kind: str, data, message: str, tmp_path: Path):
    """Every roster number is checked (NaN used to flow into the game, strings and huge values to
    crash it with an internal error); a device such as /dev/zero is never read."""
    path = tmp_path / ("r.csv" if kind.startswith("csv") else "r.json")
    if isinstance(data, str):
        path = Path(data)
    elif isinstance(data, bytes):
        path.write_bytes(data)
    else:
        teams = json.loads(_roster_text())
        if data is not None:
            data(teams)
        path.write_text(json.dumps(teams))
    args = ["game", "--seed", "1", "--roster", str(path)]
    if kind == "home-nope":
        args += ["--home", "NOPE"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert lines[0].count("malformed roster") <= 1, lines[0]  # not "malformed roster r: malformed roster r"


def test_modes_are_the_physics_modes():
    from batted_ball.cli import GAME_MODE, MODES
    from batted_ball.game.engine import GAME_MODE as ENGINE_GAME_MODE
    from batted_ball.physics import SimulationMode

    assert tuple(m.name.lower() for m in SimulationMode) == MODES
    assert ENGINE_GAME_MODE.name.lower() == GAME_MODE


# -- every numeric option of the one-shot commands, in process --------------------------------------
def _numeric_options(command: str) -> list[str]:
    params = main.commands[command].params
    return [p.opts[0] for p in params if isinstance(p, click.Option) and p.type is FLOAT]


def test_every_float_option_refuses_nan_and_infinity():
    """No command has a plain ``float`` option left (those accept nan and inf)."""
    plain = [
        f"{name} {opt}"
        for name, cmd in main.commands.items()
        for p in cmd.params
        if isinstance(p, click.Option) and p.type is click.FLOAT
        for opt in p.opts[:1]
    ]
    assert not plain


SWEEP_VALUES = ["nan", "-inf", "-1e308", "-1", "0", "1e308"]
BASE = {"trajectory": {"--exit-velo": "100", "--launch-angle": "28"}, "pitch": {"--velo": "95"}}
SWEEP = [(cmd, opt) for cmd in BASE for opt in _numeric_options(cmd)]


@pytest.mark.parametrize(("command", "option"), SWEEP, ids=[f"{c} {o}" for c, o in SWEEP])
def test_numeric_option_sweep(command: str, option: str):
    """Every value is either refused in one line (exit 2), or flies to a finite answer (exit 0):
    never an internal error, never NaN or infinity in the output."""
    runner = CliRunner()
    for value in SWEEP_VALUES:
        options = {**BASE[command], option: value}
        if command == "trajectory" and option == "--spin-axis":
            options["--spin-rpm"] = "2000"
        args = [command, *(f"{k}={v}" for k, v in options.items()), "--json"]
        result = runner.invoke(main, args)
        where = " ".join(args)
        assert result.exit_code in (0, 2), f"{where}: exit {result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output, where
        if result.exit_code == 2:
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), f"{where}: {result.output}"
            if value in ("nan", "-inf"):
                assert f"'{option}'" in lines[0], f"{where}: {lines[0]}"
        else:
            numbers = [v for v in json.loads(result.output).values() if isinstance(v, float)]
            assert all(math.isfinite(v) for v in numbers), f"{where}: {result.output}"


def test_out_containing_the_roster_is_refused_a_report_beside_it_is_not(tmp_path: Path, monkeypatch):
    """As the docs state: ``--out`` may not contain an input (it is replaced whole); ``--report-dir``
    beside the roster only adds its two files (never emptied)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    roster("sub/r.json")(tmp_path)
    before = snapshot(tmp_path)
    refused = CliRunner().invoke(
        main, ["game", "--seed", "1", "--roster", "sub/r.json", "--out", "sub", "-q"]
    )
    assert refused.exit_code == 2 and "would contain the input sub/r.json" in refused.stderr, refused.output
    assert snapshot(tmp_path) == before
    beside = CliRunner().invoke(
        main, ["game", "--seed", "1", "--roster", "sub/r.json", "--report-dir", "sub", "-q"]
    )
    assert beside.exit_code == 0, beside.output
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == [
        "events.jsonl",
        "r.json",
        "run_report.json",
    ]
    assert (tmp_path / "sub" / "r.json").read_text() == _roster_text()
