"""The library called as a careless notebook user calls it: every bad argument is a BattedBallError that
names it, never a Numba TypingError, an out-of-bounds read, a NumPy message naming no parameter, or a
silently wrong result (each case below did one of those before 2026-12-08)."""

import numpy as np
import pyarrow as pa
import pytest
from batted_ball import io, parks, plots, season, statcast, validation
from batted_ball.errors import BattedBallError
from batted_ball.game import Game, generate_league, generate_team
from batted_ball.physics import (
    Environment,
    FlightArgs,
    aim_pitch,
    air_density_kg_m3,
    simulate_batted_ball,
    simulate_batted_balls,
    simulate_pitch,
    statcast_average_spin_rpm,
)
from batted_ball.season import new_game, write_season
from perfkit.parallel import rng_for

FENCE = (np.full(91, 400.0), np.full(91, 8.0))
ARGS = FlightArgs.of(Environment(), "fast")
LEAGUE = season.league(1)
_SIDES = ("home", "away")
GAMES = pa.table(
    {"home": ["NYY"], "away": ["BOS"], "home_runs": [5], "away_runs": [3]}
    | {
        f"{side}_{k}": [n]
        for side in _SIDES
        for k, n in zip(season.TEAM_FIELDS, (4, 38, 34, 9, 2, 0, 1, 3, 1, 8, 0, 7, 0, 150), strict=True)
    }
)

CASES = [
    # one ball: a string, an array or None where one number goes (numpy's messages named no parameter)
    ("ball: launch angle str", lambda: simulate_batted_ball(100, "28"), "launch_angle_deg must be a number"),
    (
        "ball: exit velo array",
        lambda: simulate_batted_ball([100, 90], 28),
        "exit_velo_mph must be one number",
    ),
    ("ball: spin str", lambda: simulate_batted_ball(100, 28, spin_rpm="2000"), "spin_rpm must be a number"),
    (
        "ball: hand None",
        lambda: simulate_batted_ball(100, 28, batter_hand=None),
        "batter hand must be R or L",
    ),
    ("ball: env a dict", lambda: simulate_batted_ball(100, 28, env={"temp_f": 90}), "env must be"),
    # a contact point of NaN or far above the ground never landed: its 15 s position was reported (946.9 ft)
    ("ball: contact NaN", lambda: simulate_batted_ball(100, 28, contact=(0, 0, np.nan)), "contact z"),
    ("ball: contact high", lambda: simulate_batted_ball(100, 28, contact=(0, 0, 1e6)), "contact z"),
    ("ball: contact below", lambda: simulate_batted_ball(100, 28, contact=(0, 0, -50)), "contact z"),
    (
        "ball: contact 2 values",
        lambda: simulate_batted_ball(100, 28, contact=(0, 0)),
        "contact must be three",
    ),
    # the batch: a fence's heights shorter than its distances were read past their end by the kernel
    (
        "batch: fence lengths",
        lambda: simulate_batted_balls([100], [28], fence=(FENCE[0], np.zeros(0))),
        "one length",
    ),
    (
        "batch: fence 2-D",
        lambda: simulate_batted_balls([100], [28], fence=(FENCE[0][:, None], FENCE[1][:, None])),
        "1-D",
    ),
    (
        "batch: fence NaN",
        lambda: simulate_batted_balls([100], [28], fence=(FENCE[0] * np.nan, FENCE[1])),
        "finite",
    ),
    ("batch: fence a code", lambda: simulate_batted_balls([100], [28], fence="NYY"), "fence must be"),
    ("batch: hand X taken as R", lambda: simulate_batted_balls([100], [28], batter_hand="X"), "batter hand"),
    ("batch: c0 NaN", lambda: simulate_batted_balls([100], [28], c0=np.nan), "c0"),
    ("batch: c0 negative", lambda: simulate_batted_balls([100], [28], c0=-1.0), "c0"),
    ("batch: lengths differ", lambda: simulate_batted_balls([100, 90, 80], [28, 20]), "exit_velo_mph (3,)"),
    (
        "batch: spin length",
        lambda: simulate_batted_balls([100, 90], [28, 28], backspin_rpm=[1, 2, 3]),
        "backspin_rpm",
    ),
    ("average spin: hand X", lambda: statcast_average_spin_rpm(28, 0, "X"), "batter hand"),
    # pitches: a str cd0 reached the kernel (a 69-line TypingError); angles of NaN, inf or 1e6 degrees
    ("pitch: cd0 str", lambda: simulate_pitch(95, cd0="0.3"), "cd0 must be a number"),
    ("pitch: cd0 negative", lambda: simulate_pitch(95, cd0=-5), "cd0"),
    ("pitch: velo str", lambda: simulate_pitch("95"), "velo_mph must be a number"),
    (
        "pitch: angle inf",
        lambda: simulate_pitch(95, vertical_angle_deg=0, horizontal_angle_deg=np.inf),
        "horizontal_angle_deg",
    ),
    (
        "pitch: angle huge",
        lambda: simulate_pitch(95, vertical_angle_deg=1e6, horizontal_angle_deg=0),
        "vertical_angle_deg",
    ),
    # aim_pitch (exported): NaN speed aimed at (nan, nan) silently; an Environment for FlightArgs was an AttributeError
    (
        "aim: NaN speed",
        lambda: aim_pitch(np.nan, 2400, 180, 1.0, (-2, 54, 6), 0, 2.5, ARGS),
        "velo_mph must be a finite",
    ),
    (
        "aim: env for args",
        lambda: aim_pitch(95, 2400, 180, 1.0, (-2, 54, 6), 0, 2.5, Environment()),
        "a must be FlightArgs",
    ),
    (
        "aim: release 2 values",
        lambda: aim_pitch(95, 2400, 180, 1.0, (-2, 54), 0, 2.5, ARGS),
        "release must be three",
    ),
    ("flight args: env None", lambda: FlightArgs.of(None, "fast"), "env must be"),
    # weather: a str was 'must be real number, not str' naming no field; NaN wind height was ignored
    ("env: temp str", lambda: Environment(temp_f="90"), "temp_f must be a number"),
    ("env: wind height NaN", lambda: Environment(wind_mph=10, wind_height_ft=np.nan), "wind_height_ft"),
    ("env: tau str", lambda: Environment(spin_decay_tau_s="5"), "spin_decay_tau_s must be a number"),
    ("air density: NaN", lambda: air_density_kg_m3(np.nan), "temp_f"),
    ("air density: -500 F", lambda: air_density_kg_m3(-500), "temperature"),
    # games and seasons: seed 1.5 played season 1 (perfkit's streams take int(seed)), "1" too
    ("game: seed 1.5", lambda: new_game(1.5, 0), "seed must be a whole number"),
    ("game: seed str", lambda: new_game("1", 0), "seed must be a whole number"),
    ("game: seed -1", lambda: new_game(-1, 0), "seed must be at least 0"),
    ("game: index 0.5", lambda: new_game(1, 0.5), "game_index must be a whole number"),
    ("game: index -1", lambda: new_game(1, -1), "game_index must be at least 0"),
    ("game: teams []", lambda: new_game(1, 0, teams=[]), "the roster has no team"),
    ("game: teams a path", lambda: new_game(1, 0, teams="teams.json"), "teams must be a list of Team"),
    ("league: seed -1", lambda: generate_league(-1), "seed must be at least 0"),
    # the Game class (exported) played a team against itself; a str team or an int rng: AttributeError
    ("Game: same team", lambda: Game(LEAGUE[0], LEAGUE[0], rng_for(1, "game", 0)), "the same team (ATL)"),
    ("Game: team a code", lambda: Game("NYY", LEAGUE[1], rng_for(1, "game", 0)), "must be Team objects"),
    ("Game: rng an int", lambda: Game(LEAGUE[0], LEAGUE[1], 5), "rng must be a numpy Generator"),
    ("team: unknown park", lambda: generate_team("NOPE", rng_for(1, "team", 0)), "'NOPE' is not a park code"),
    ("season: 0 games", lambda: write_season(0, 1, "."), "n_games must be at least 1"),
    # the league line and standings of a table of games: ZeroDivisionError, KeyError, AttributeError 'column'
    (
        "league line: no games",
        lambda: season.league_line(GAMES.slice(0, 0)),
        "the table of games has no rows",
    ),
    ("league line: a path", lambda: season.league_line("games.parquet"), "must be a pyarrow.Table"),
    ("league line: other table", lambda: season.league_line(pa.table({"x": [1]})), "no home_R"),
    ("standings: no games", lambda: season.standings(GAMES.slice(0, 0)), "has no rows"),
    ("schedule: game -1", lambda: season.schedule_entry(-1), "game_index must be at least 0"),
    ("schedule: 10 games as str", lambda: season.schedule("10"), "n_games must be a whole number"),
    # play-by-play I/O: the two lists swapped wrote the balls as pitches.parquet; an unrecorded game, TypeError
    (
        "io: tables swapped",
        lambda: io.write_play_by_play(".", [io.BIP_SCHEMA.empty_table()], [io.PITCH_SCHEMA.empty_table()]),
        "the tables for pitches.parquet do not have its schema",
    ),
    ("io: no record", lambda: io.play_by_play_tables(new_game(1, 0), 0), "record=True"),
    ("park: an int", lambda: parks.park(3), "3 is not a park"),
    # parks, plots, checks and the Statcast comparison: KeyError, AttributeError or ArrowInvalid before
    ("park: lower case", lambda: parks.park("nope"), "'nope' is not a park (codes: ATL"),
    (
        "plot: no trajectory",
        lambda: plots.plot_trajectories([simulate_batted_ball(100, 28)], "t.png"),
        "record_path=True",
    ),
    (
        "plot: no column",
        lambda: plots.plot_spray({"outcome": ["single"]}, "s.png"),
        "no 'landing_x_ft' column",
    ),
    ("plot: unknown park", lambda: plots.plot_spray({}, "s.png", park="Nowhere"), "is not a park"),
    (
        "checks: unknown name",
        lambda: validation.run_checks(names=["nathan_408"]),
        "no check named 'nathan_408'",
    ),
    ("statcast: 0 games", lambda: statcast.compare(".", 0, 1), "n_games must be at least 1"),
    ("season: 2.5 games", lambda: write_season(2.5, 1, "."), "n_games must be a whole number"),
]


@pytest.mark.parametrize("call, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_is_named(call, message):
    with pytest.raises(BattedBallError, match=None) as err:
        call()
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_season_checks_its_folder_before_playing(tmp_path, monkeypatch):
    """A missing out_dir was found by pyarrow after the whole season had been played."""
    import batted_ball.season as season

    monkeypatch.setattr(season, "run_games", lambda *a, **k: pytest.fail("games played"))
    with pytest.raises(BattedBallError, match="is not an existing folder"):
        write_season(2, 1, tmp_path / "missing", executor="serial")


def test_good_arguments_still_fly_the_same():
    """The checks convert, they do not change a value: numpy scalars, ints and 0-d arrays fly as floats."""
    base = simulate_batted_ball(100.0, 28.0, backspin_rpm=2000.0)
    same = simulate_batted_ball(np.int64(100), np.float32(28), backspin_rpm=np.array(2000))
    assert same.distance_ft == base.distance_ft == pytest.approx(408.56, abs=0.01)
    batch = simulate_batted_balls(
        [100, 100], [28, 28], backspin_rpm=2000, fence=(list(FENCE[0]), list(FENCE[1]))
    )
    assert batch["distance_ft"].tolist() == [base.distance_ft] * 2
    assert new_game(np.int64(1), 4.0).home.team.code == new_game(1, 4).home.team.code


def test_plots_take_a_park_by_name_and_any_frame(tmp_path):
    """``park="NYY"`` (what the CLI's --park takes) was an AttributeError; a pandas frame works like Arrow."""
    import pandas as pd

    balls = {
        "outcome": ["single", "field_out"],
        "landing_x_ft": [10.0, -50.0],
        "landing_y_ft": [200.0, 300.0],
    }
    assert plots.plot_spray(balls, tmp_path / "a.svg", park="yankees") == {"single": 1, "field_out": 1}
    assert plots.plot_spray(pd.DataFrame(balls), tmp_path / "b.svg", park=parks.park("NYY")) == {
        "single": 1,
        "field_out": 1,
    }
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert parks.park("Yankee Stadium") is parks.park("NYY") is parks.PARKS["NYY"]


def test_league_line_takes_pandas_and_polars_frames():
    """A notebook reads games.parquet with pandas or polars: the same line (was AttributeError 'column')."""
    import polars as pl

    line = season.league_line(GAMES)
    assert season.league_line(GAMES.to_pandas()) == line == season.league_line(pl.from_arrow(GAMES))
    assert season.standings(GAMES.to_pandas()) == season.standings(GAMES)


def test_read_only_fence_is_not_a_new_kernel_type():
    """A read-only fence (a frozen array, Arrow's zero-copy to_numpy) is another Numba type: fly_batch was
    compiled again for it, ~5 s, and a new entry cached. Now it is copied to a writable array first."""
    from batted_ball.physics import kernels

    dist, height = FENCE[0].copy(), FENCE[1].copy()
    simulate_batted_balls([100], [28], fence=(dist, height))
    if not hasattr(kernels.fly_batch, "signatures"):
        pytest.skip("NUMBA_DISABLE_JIT: no compiled signatures to compare")
    before = list(kernels.fly_batch.signatures)
    dist.flags.writeable = height.flags.writeable = False
    simulate_batted_balls([100], [28], fence=(dist, height))
    assert list(kernels.fly_batch.signatures) == before


def test_a_batch_too_big_for_memory_is_refused_before_allocating():
    """Two 100,000-ball inputs that broadcast to 10^10 balls: refused with the estimate (perfkit's
    check_memory, as the CLIs' sizes), not left to numpy's allocation or the OOM killer."""
    from perfkit.errors import InputError

    with pytest.raises(InputError, match="a batch of 10,000,000,000 batted balls needs about"):
        simulate_batted_balls(np.full(100_000, 100.0), np.full((100_000, 1), 28.0))
