"""Play-by-play as data: ``pitches.parquet`` and ``balls_in_play.parquet`` from ``game --out`` and
``season --pbp`` — typed, one row per pitch / flown ball, consistent with the box scores, and the same
bytes for any worker count and executor."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from batted_ball.cli import main
from batted_ball.io import BIP_SCHEMA, PITCH_SCHEMA
from batted_ball.season import write_season
from click.testing import CliRunner

from perfkit import digest_table

GAMES = 6


@pytest.fixture(scope="module")
def serial_season(tmp_path_factory):
    """``season --pbp`` as the CLI runs it (serial), with its run report."""
    out = tmp_path_factory.mktemp("serial") / "s"
    args = ["season", "--games", str(GAMES), "--seed", "3", "--pbp", "--quiet", "--executor", "serial"]
    r = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_tables_are_typed_and_agree_with_the_box_scores(serial_season):
    out = serial_season
    games = pq.read_table(out / "games.parquet").to_pylist()
    pitches = pq.read_table(out / "pitches.parquet")
    balls = pq.read_table(out / "balls_in_play.parquet")
    assert pitches.schema.equals(PITCH_SCHEMA) and balls.schema.equals(BIP_SCHEMA)
    p = pitches.to_pandas()
    b = balls.to_pandas()
    for g in games:
        gp, gb = p[p.game_index == g["game_index"]], b[b.game_index == g["game_index"]]
        # every pitch of the game, numbered 1..n in order; counts per side as in games.parquet
        assert list(gp.pitch_index) == list(range(1, len(gp) + 1))
        assert (gp.top.sum(), (~gp.top).sum()) == (g["away_pitches"], g["home_pitches"])
        assert len(gb) == g["batted_balls"]
        # plate appearances: one per PA of the box score, each ending on its last pitch
        assert gp.pa_index.nunique() == g["home_PA"] + g["away_PA"]
        ends = gp.groupby("pa_index").description.last()
        assert (ends == "hit_by_pitch").sum() == g["home_HBP"] + g["away_HBP"]
        hits = gb[gb.outcome.isin(["single", "double", "triple", "home_run"])]
        assert len(hits) == g["home_H"] + g["away_H"]
        assert (gb.outcome == "home_run").sum() == g["home_HR"] + g["away_HR"]
        # a flown ball is a pitch hit into play or fouled in the air, at the same key
        keyed = gp.set_index("pitch_index").description
        assert set(keyed[gb.pitch_index]) <= {"hit_into_play", "foul"}
        assert (keyed == "hit_into_play").sum() == (gb.outcome != "foul").sum()
    assert set(p.description) <= {
        "ball",
        "called_strike",
        "swinging_strike",
        "foul",
        "hit_by_pitch",
        "hit_into_play",
    }
    assert (b.bb_type == "ground_ball").eq(b.launch_angle_deg < 10).all()
    assert (
        b.fielder[b.outcome == "field_out"].notna().all() and b.fielder[b.outcome == "home_run"].isna().all()
    )
    assert (
        abs(b.distance_ft**2 - b.landing_x_ft**2 - b.landing_y_ft**2) < 1e-6 * b.distance_ft**2 + 1e-9
    ).all()


def test_receipts_cover_the_play_by_play(serial_season):
    out = serial_season
    report = json.loads((out / "run_report.json").read_text())
    pitches = pq.read_table(out / "pitches.parquet")
    assert report["receipts"]["pitches"]["digest"] == digest_table(pitches)
    assert report["receipts"]["balls_in_play"]["digest"] == digest_table(
        pq.read_table(out / "balls_in_play.parquet")
    )
    assert report["receipts"]["games"]["digest"] == digest_table(pq.read_table(out / "games.parquet"))
    assert report["counters"]["pitches"] == pitches.num_rows
    assert report["counters"]["balls_in_play"] == pq.read_metadata(out / "balls_in_play.parquet").num_rows


@pytest.mark.parametrize(("executor", "workers"), [("threads", 2), ("processes", 2)])
def test_same_bytes_for_any_worker_count(serial_season, tmp_path, executor, workers):
    out = serial_season
    write_season(GAMES, 3, tmp_path, executor=executor, workers=workers, pbp=True)
    for name in ("games.parquet", "pitches.parquet", "balls_in_play.parquet"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_game_out_is_the_seasons_game(serial_season, tmp_path):
    """``game --seed S --game-index i --out`` writes exactly game i's rows of the season's tables."""
    out = serial_season
    r = CliRunner().invoke(main, ["game", "--seed", "3", "--game-index", "4", "--out", str(tmp_path / "g")])
    assert r.exit_code == 0, r.output
    for name in ("pitches.parquet", "balls_in_play.parquet"):
        season = pq.read_table(out / name).to_pandas()
        one = pq.read_table(tmp_path / "g" / name).to_pandas()
        expected = season[season.game_index == 4].reset_index(drop=True)
        assert len(one) > 0 and one.equals(expected), name


def test_home_away_without_roster_are_honoured():
    r = CliRunner().invoke(main, ["game", "--seed", "1", "--home", "nyy", "--away", "Fenway Park", "--json"])
    assert r.exit_code == 0, r.output
    box = json.loads(r.output)
    assert (box["home"]["team"], box["away"]["team"], box["park"]) == ("NYY", "BOS", "NYY")
    # Game 0 of season 1 is WSH at ATL: naming only one side keeps the other, or swaps if it is the same team.
    r = CliRunner().invoke(main, ["game", "--seed", "1", "--away", "ATL", "--json"])
    box = json.loads(r.output)
    assert (box["home"]["team"], box["away"]["team"]) == ("WSH", "ATL")


@pytest.mark.parametrize(
    ("home", "away"),
    [("Yankees", "red sox"), ("New York Yankees", "Boston  Red Sox"), ("nyy", "BOS")],
)
def test_teams_by_club_name_or_nickname(home, away):
    r = CliRunner().invoke(main, ["game", "--seed", "1", "--home", home, "--away", away, "--json"])
    assert r.exit_code == 0, r.output
    box = json.loads(r.output)
    assert (box["home"]["team"], box["away"]["team"]) == ("NYY", "BOS")


def test_older_team_codes_and_club_names_name_teams_and_parks():
    from batted_ball.game.players import find_team
    from batted_ball.parks import CLUBS, PARKS, park_code
    from batted_ball.season import league

    teams = league(1)
    assert find_team(teams, "ARI", "--home").code == "AZ"  # Statcast's older code
    assert find_team(teams, "Diamondbacks", "--home").code == "AZ"
    assert set(CLUBS) == set(PARKS)
    for code, (city, nickname) in CLUBS.items():
        assert park_code(f"{city} {nickname}".lower()) == park_code(nickname) == code
    assert park_code("Sox") is None and park_code("New York") is None


def test_tables_load_in_polars_and_pandas_typed_and_join_the_games_table(serial_season):
    """What a Statcast user does first: read each table with polars and with pandas (no casts) and
    join it to games.parquet on game_index; the batting side is the away team in the top half."""
    import polars as pl

    out = serial_season
    games = pl.read_parquet(out / "games.parquet")
    for name, schema in (("pitches", PITCH_SCHEMA), ("balls_in_play", BIP_SCHEMA)):
        table = pl.read_parquet(out / f"{name}.parquet")
        arrow = {f.name: str(f.type) for f in schema}
        polars_of = {"int64": pl.Int64, "int32": pl.Int32, "int16": pl.Int16, "int8": pl.Int8,
                     "double": pl.Float64, "bool": pl.Boolean, "string": pl.String}  # fmt: skip
        assert dict(table.schema) == {k: polars_of[v] for k, v in arrow.items()}, name
        pandas_of = {"double": "float64", "string": "object"}
        frame = pd.read_parquet(out / f"{name}.parquet")
        got = {
            k: ("object" if str(v) in ("str", "object", "string") else str(v))
            for k, v in frame.dtypes.items()
        }
        assert got == {k: pandas_of.get(v, v) for k, v in arrow.items()}, name
        joined = table.join(games, on="game_index", how="left")
        assert joined.height == table.height and joined["home"].null_count() == 0, name
        batting = pl.when(pl.col("top")).then(pl.col("away")).otherwise(pl.col("home"))
        assert joined.select((pl.col("batting_team") == batting).all()).item(), name
        assert table.select(["game_index", "pitch_index"]).is_unique().all(), name


def test_docs_list_every_column_with_its_type():
    """docs/batted_ball.md's two column tables (and the keys' sentence) name every column, typed as stored."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "batted_ball.md").read_text()
    section = doc[doc.index("### Play-by-play as data") : doc.index("A ball fouled straight back")]
    doc_type = {}
    for cells in re.findall(r"^\| (.+?) \| (\w+) \|", section, re.M):
        for col in re.findall(r"`(\w+)`", cells[0]):
            doc_type[col] = cells[1]
    keys = re.search(r"Keys in both: (.+?)\n\n", section, re.S).group(1)
    for col, typ in re.findall(r"`(\w+)` \((\w+)", keys):
        doc_type[col] = typ
    for col in re.findall(r"`(\w+)`", keys.split("then", 1)[1]):
        doc_type.setdefault(col, "string")
    doc_type.update({"pa_index": "int32"})  # "`pa_index` and `pitch_index` (int32, ...)"
    named = {"double": "float64"}
    for schema in (PITCH_SCHEMA, BIP_SCHEMA):
        for f in schema:
            assert doc_type.get(f.name) == named.get(str(f.type), str(f.type)), f.name
