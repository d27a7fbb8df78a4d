"""The game: determinism, box-score bookkeeping, game rules, rosters, the game CLI."""

import json

import pytest
from batted_ball.cli import main
from batted_ball.errors import BattedBallError
from batted_ball.game.lockstep import play_together
from batted_ball.io import load_teams
from batted_ball.physics import kernels
from batted_ball.season import league, new_game, play_game, schedule
from click.testing import CliRunner

SEED = 11


@pytest.fixture(scope="module")
def boxes():
    return [play_game(SEED, i) for i in range(40)]


def test_same_seed_same_game_and_seeds_differ():
    a, b = play_game(SEED, 3), play_game(SEED, 3)
    assert a == b
    assert play_game(SEED, 4) != a


def test_kernel_games_are_the_reference_games_played_together(monkeypatch):
    """The twins agree game by game, to the bit: the reference :class:`Game` (plain Python), its
    games played together (their pitches flown side by side in SIMD lanes), gives the box scores,
    play-by-play, pitch and ball-in-play logs and pitch tallies of the :class:`KernelGame` (its pitch
    in one ``nogil`` kernel) played alone. Every kernel game finds its uniforms' block empty at the
    first pitch (the temperature drew only a normal) and replays that pitch after the refill; game 0
    is played with a pitch-row scratch of one row, so every pitch returns from the pitch loop."""
    from collections import Counter

    from batted_ball.game import Game
    from batted_ball.game import kernels as game_kernels

    in_lanes = []

    def pitch_lanes(init, *args):
        in_lanes.append(len(init))
        return lanes(init, *args)

    lanes = kernels.pitch_lanes
    monkeypatch.setattr(kernels, "pitch_lanes", pitch_lanes)
    games = [new_game(SEED, i, pbp=True, record=True, game_class=Game) for i in range(12)]
    for g in games:
        g.tally = Counter()
    together = play_together(games)
    assert max(in_lanes) == 12 and sum(in_lanes) > 2000  # most pitches went through the lanes
    for i, (game, box) in enumerate(zip(games, together, strict=True)):
        # Game 0 with one pitch row a kernel call: every pitch returns to Python (ROWS_FULL).
        monkeypatch.setattr(game_kernels, "MAX_ROWS", 1 if i == 0 else 64)
        alone = new_game(SEED, i, pbp=True, record=True)
        assert type(alone).__name__ == "KernelGame"
        alone.tally = Counter()
        assert box == alone.run()
        assert (game.pitch_log, game.bip_log, game.pbp, game.tally) == (
            alone.pitch_log,
            alone.bip_log,
            alone.pbp,
            alone.tally,
        )


def test_kernel_games_the_kernel_cannot_hold_are_replayed_by_the_engine(monkeypatch):
    """A team with two pitchers of one name (the engine keys pitching lines by name), or a game whose
    rows outgrow the kernel's arrays, is played by the engine from the game's starting generator state:
    the same game as the reference twin's."""
    import copy

    from batted_ball.game import Game, fast

    replays = []
    replay = fast.KernelGame._replay
    monkeypatch.setattr(fast.KernelGame, "_replay", lambda game: replays.append(1) or replay(game))
    teams = [copy.deepcopy(t) for t in league(SEED)[:2]]
    teams[0].bullpen[1].name = teams[0].bullpen[2].name
    kernel = new_game(SEED, 0, pbp=True, record=True, teams=teams)
    reference = new_game(SEED, 0, pbp=True, record=True, teams=teams, game_class=Game)
    assert kernel.run() == reference.run()
    assert (kernel.pitch_log, kernel.bip_log, kernel.pbp) == (
        reference.pitch_log,
        reference.bip_log,
        reference.pbp,
    )
    monkeypatch.setattr(fast, "MAX_EVENTS", 5)  # an event array too small for any game
    kernel = new_game(SEED, 1, pbp=True, record=True)
    reference = new_game(SEED, 1, pbp=True, record=True, game_class=Game)
    assert kernel.run() == reference.run()
    assert (kernel.pitch_log, kernel.bip_log, kernel.pbp) == (
        reference.pitch_log,
        reference.bip_log,
        reference.pbp,
    )
    assert len(replays) == 2


def test_box_scores_add_up(boxes):
    for box in boxes:
        for side in ("home", "away"):
            s = box[side]
            t = s["totals"]
            assert sum(s["line"]) == s["runs"] == t["R"]
            assert t["H"] == s["hits"]
            assert t["PA"] == t["AB"] + t["BB"] + t["HBP"] + t["SF"]
            assert t["H"] >= t["2B"] + t["3B"] + t["HR"]
            other = box["away" if side == "home" else "home"]
            assert sum(p["outs"] for p in other["pitching"]) >= 3 * (len(s["line"]) - 1)
            assert sum(p["R"] for p in other["pitching"]) == s["runs"]
            assert sum(p["pitches"] for p in other["pitching"]) == other["pitches"]
        assert box["home"]["runs"] != box["away"]["runs"]
        assert box["pitches"] == box["home"]["pitches"] + box["away"]["pitches"]


def test_game_rules(boxes):
    for box in boxes:
        home, away = box["home"], box["away"]
        assert len(away["line"]) == box["innings"] >= 9
        if len(home["line"]) < len(away["line"]):  # home team did not need its last turn
            assert home["runs"] > away["runs"] and box["innings"] == 9
        if box["innings"] > 9:  # extra innings were tied after every complete inning before the last
            assert sum(home["line"][:-1]) == sum(away["line"][:-1])
    assert any(b["innings"] > 9 for b in boxes), "40 games with no extra innings is very unlikely"
    assert any(len(b["home"]["pitching"]) > 1 and len(b["away"]["pitching"]) > 1 for b in boxes)


def test_walk_off_stops_the_game(boxes):
    for box in boxes:
        home, away = box["home"], box["away"]
        if len(home["line"]) == box["innings"] and home["runs"] > away["runs"]:
            before = sum(home["line"][:-1])
            # The winning half-inning ends once the home side leads (a home run may bring in more).
            assert before <= sum(away["line"])
            assert home["runs"] - sum(away["line"]) <= 4


def test_schedule_is_a_balanced_season():
    games = schedule(2430)
    played, home = [0] * 30, [0] * 30
    for h, a, _, _ in games:
        played[h] += 1
        played[a] += 1
        home[h] += 1
        assert h != a
    assert set(played) == {162} and set(home) == {81}


def test_roster_round_trip_and_malformed_roster(tmp_path):
    teams = league(SEED)[:2]
    path = tmp_path / "roster.json"
    path.write_text(json.dumps([t.to_dict() for t in teams]))
    loaded = load_teams(path)
    assert [t.code for t in loaded] == [t.code for t in teams]
    bad = tmp_path / "bad.json"
    raw = [t.to_dict() for t in teams]
    del raw[0]["lineup"][0]["speed_fts"]
    bad.write_text(json.dumps(raw))
    with pytest.raises(BattedBallError, match="malformed roster"):
        load_teams(bad)
    r = CliRunner().invoke(main, ["game", "--seed", "1", "--roster", str(bad)])
    assert r.exit_code == 2 and r.output.startswith("error: malformed roster")
    r = CliRunner().invoke(main, ["game", "--seed", "1", "--roster", str(path), "--json", "--pbp"])
    assert r.exit_code == 0, r.output
    box = json.loads(r.output)
    assert {box["home"]["team"], box["away"]["team"]} == {t.code for t in teams}
    assert len(box["play_by_play"]) > 60


def test_game_cli_json_matches_the_season_game():
    r = CliRunner().invoke(main, ["game", "--seed", str(SEED), "--game-index", "3", "--json"])
    assert r.exit_code == 0, r.output
    box = json.loads(r.output)
    assert box == json.loads(json.dumps(play_game(SEED, 3)))
    text = CliRunner().invoke(main, ["game", "--seed", str(SEED)])
    assert text.exit_code == 0 and " R  H  E" in text.output


def test_game_cli_bad_mode():
    r = CliRunner().invoke(main, ["game", "--seed", "1", "--mode", "warp"])
    assert r.exit_code == 2 and "'--mode': 'warp' is not one of 'accurate'" in r.output


def test_pitch_level_rates_are_mlb_like():
    """Share of pitches that are balls, called strikes, whiffs, fouls and balls in play, against MLB
    2023-24 pitch-level rates (Baseball Savant: ~36 %, 17 %, 11 %, 18 %, 17 %), on ~8,000 pitches."""
    from collections import Counter

    from batted_ball.game.fast import KernelGame
    from perfkit.parallel import rng_for

    teams = league(SEED)
    tally = Counter()
    for i in range(30):
        g = KernelGame(teams[i % 30], teams[(i + 1) % 30], rng_for(SEED, "tally", i))
        g.tally = tally
        g.run()
    p = tally["pitch"]
    swings = tally["swing_z"] + tally["swing_o"]
    contact = tally["contact_z"] + tally["contact_o"]
    rates = {
        "ball": tally["ball"] / p,
        "called": tally["called"] / p,
        "whiff": (swings - contact) / p,
        "foul": (contact - tally["in_play"]) / p,
        "in_play": tally["in_play"] / p,
    }
    mlb = {"ball": 0.36, "called": 0.17, "whiff": 0.11, "foul": 0.18, "in_play": 0.17}
    assert p > 6000
    for k, v in mlb.items():
        assert abs(rates[k] - v) < 0.03, (k, rates[k])


def test_csv_roster_round_trip_and_errors(tmp_path):
    from batted_ball.io import save_teams_csv

    teams = league(SEED)[2:4]
    path = tmp_path / "roster.csv"
    save_teams_csv(list(teams), path)
    loaded = load_teams(path)
    assert [t.to_dict() for t in loaded] == [t.to_dict() for t in teams]
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text().replace(",B,", ",X,", 1))
    with pytest.raises(BattedBallError, match="role must be B, SP or RP"):
        load_teams(bad)
    bad.write_text("team,name\nNYY,someone\n")
    with pytest.raises(BattedBallError, match="expected the columns"):
        load_teams(bad)
    r = CliRunner().invoke(main, ["game", "--seed", "2", "--roster", str(path), "--json"])
    assert r.exit_code == 0, r.output


def test_games_played_in_passes_are_the_games_played_alone():
    """``play_games`` (a season task's way: the games' Python in passes around the kernel calls) gives
    each game's own box score; without ``lines`` the same box score with the players' lines None, and a
    season's row from the kernel's counts (``season.kernel_row``) is the row of its box score."""
    from batted_ball import season
    from batted_ball.game.fast import play_games

    alone = [new_game(SEED, i, pbp=True).run() for i in range(3)]
    games = [new_game(SEED, i, pbp=True) for i in range(3)]
    play_games(games)
    assert [g.finish() for g in games] == alone
    games = [new_game(SEED, i) for i in range(3)]
    play_games(games)
    for i, (game, full) in enumerate(zip(games, alone, strict=True)):
        row = season.kernel_row(game, i)
        box = game.finish(lines=False)
        assert row == season.game_row(season._keyed(dict(box), game, SEED, i))
        for side in ("home", "away"):
            assert box[side].pop("batting") is None and box[side].pop("pitching") is None
            del full[side]["batting"], full[side]["pitching"]
        del full["play_by_play"]
        assert box == full
