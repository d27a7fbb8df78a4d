"""Seasons: identical results for any executor and worker count; outputs; calibration to MLB."""

import json

import pyarrow.parquet as pq
import pytest
from batted_ball.cli import main
from batted_ball.season import (
    CYCLE_DAYS,
    GAMES_PER_DAY,
    GAMES_PER_SEASON,
    MLB_LINE,
    check_season_size,
    league_line,
    league_line_se,
    run_games,
    schedule,
    schedule_entry,
    write_season,
)
from click.testing import CliRunner
from perfkit.errors import InputError

SEED = 21


@pytest.fixture(scope="module")
def serial_table():
    return run_games(10, SEED, executor="serial")


@pytest.mark.parametrize(("executor", "workers"), [("threads", 1), ("threads", 2), ("processes", 2)])
def test_any_executor_gives_the_same_games(serial_table, executor, workers):
    table = run_games(10, SEED, executor=executor, workers=workers)
    assert table.equals(serial_table)


@pytest.mark.slow
def test_dask_gives_the_same_games(serial_table):
    assert run_games(10, SEED, executor="dask", workers=2).equals(serial_table)


def test_season_cli_writes_outputs(tmp_path):
    out = tmp_path / "season"
    r = CliRunner().invoke(
        main,
        [
            "season",
            "--games",
            "8",
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--executor",
            "threads",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    games = pq.read_table(out / "games.parquet")
    assert games.num_rows == 8 and games.column("game_index").to_pylist() == list(range(8))
    lg = json.loads((out / "league.json").read_text())
    assert set(MLB_LINE) <= set(lg) and all(lg[k] > 0 for k in MLB_LINE)
    assert lg["K_pct"] < 1 and lg["BB_pct"] < 1  # fractions, not percents
    report = json.loads((out / "run_report.json").read_text())
    assert report["status"] == "ok" and "games" in report["receipts"]
    assert len(report["items"]) == 8
    assert "BABIP" in r.output and "receipt" in r.output
    standings = json.loads((out / "standings.json").read_text())
    assert sum(s["W"] for s in standings) == 8


def test_season_bad_input(tmp_path):
    r = CliRunner().invoke(
        main, ["season", "--games", "5", "--seed", "1", "--mode", "warp", "--out", str(tmp_path)]
    )
    assert r.exit_code == 2 and "'--mode': 'warp' is not one of 'accurate'" in r.output
    assert not (tmp_path / "games.parquet").exists()


def test_calibration_to_the_mlb_line(tmp_path):
    """240 games (1/10 of a season). Each stat must sit within the issue's tolerance of the MLB line
    plus three standard errors of a 240-game sample (from game-to-game variation): the full-season
    table, where the sampling error is ~3x smaller, is in docs/perf/batted_ball.md."""
    result = write_season(240, SEED, tmp_path, executor="serial")
    line, se = result["line"], league_line_se(result["table"])
    assert line == league_line(result["table"])
    misses = {
        k: (round(line[k], 4), mlb, tol, round(3 * se[k], 4))
        for k, (mlb, tol) in MLB_LINE.items()
        if abs(line[k] - mlb) > tol + 3 * se[k]
    }
    assert not misses, misses


def test_schedule_entry_is_the_schedule_in_constant_time():
    """Game i of any schedule long enough to hold it, without building the schedule (the 58-day cycle)."""
    games = schedule(2 * GAMES_PER_SEASON + 7)
    assert [schedule_entry(i) for i in range(len(games))] == games
    cycle = CYCLE_DAYS * GAMES_PER_DAY
    far = 99_999_999_999
    home, away, home_n, away_n = schedule_entry(far)
    assert (home, away) == schedule_entry(far % cycle)[:2]
    assert home_n == away_n == far // GAMES_PER_DAY


def test_season_size_is_checked_against_memory():
    with pytest.raises(InputError, match=r"1,000,000,000,000 games .* needs about .* of memory"):
        check_season_size(10**12)
    check_season_size(GAMES_PER_SEASON)
