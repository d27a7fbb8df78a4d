"""``batted-ball plot``: trajectories, spray chart, EV/LA chart — PNG and SVG, same bytes for the same
inputs, claimed through perfkit.job, bad inputs refused in one line."""

import xml.etree.ElementTree as ET

import pytest
from batted_ball.cli import main
from batted_ball.season import write_season
from click.testing import CliRunner

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def season_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("season")
    write_season(2, 5, out, executor="serial", pbp=True)
    return out


def _run(*args):
    return CliRunner().invoke(main, ["plot", *map(str, args)])


def _check_picture(path, fmt):
    data = path.read_bytes()
    if fmt == "png":
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    else:
        root = ET.fromstring(data)
        assert root.tag.endswith("svg") and b"<dc:date>" not in data


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_every_plot_in_both_formats(season_dir, tmp_path, fmt):
    commands = {
        "traj": ["trajectory", "--ball", "100,28,0,2000,0", "--ball", "105,32,-20", "--park", "NYY", "--mode", "fast"],
        "spray": ["spray", "--from", season_dir, "--park", "Fenway Park"],
        "evla": ["ev-la", "--from", season_dir / "balls_in_play.parquet"],
        "axis": ["spin-axis"],
    }  # fmt: skip
    again = ("", "2") if fmt == "svg" else ("",)  # same bytes twice: checked on SVG (text, ids, dates)
    for name, args in commands.items():
        for k in again:
            r = _run(*args, "--out", tmp_path / f"{name}{k}.{fmt}")
            assert r.exit_code == 0, r.output
        _check_picture(tmp_path / f"{name}.{fmt}", fmt)
        if len(again) == 2:
            assert (tmp_path / f"{name}.{fmt}").read_bytes() == (tmp_path / f"{name}2.{fmt}").read_bytes(), (
                name
            )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}{k}.{fmt}" for n in commands for k in again
    )  # nothing else written, no temporaries


def test_trajectory_plot_reports_the_flights(tmp_path):
    """Each flight with the spin it flew: as given, or the Statcast average (which curves it) named as such."""
    r = _run("trajectory", "--ball", "100,28,0,2000,0", "--ball", "100,28", "--out", tmp_path / "t.svg")
    assert r.exit_code == 0, r.output
    given, default = r.output.strip().split(": ", 1)[1].split(", ", 1)
    assert given == "408.6 ft (spin 2000/0 rpm)", r.output
    assert default.startswith("400.") and default.endswith("rpm, Statcast avg RHB)"), r.output
    svg = (tmp_path / "t.svg").read_text()  # the legend says the same (matplotlib keeps text as text here)
    assert "spin 2000/0 rpm: 409 ft" in svg and "Statcast avg RHB: 400 ft" in svg


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trajectory", "--ball", "100,28", "--out", "t.jpg"], "a picture is .png or .svg, not '.jpg'"),
        (["trajectory", "--ball", "100", "--out", "t.png"], "give EV,LA"),
        (["trajectory", "--ball", "100,nan", "--out", "t.png"], "'nan' is not a finite number"),
        (["trajectory", "--ball", "300,28", "--out", "t.png"], "exit velocity 300 mph is out of range"),
        (["trajectory", "--ball", "100,28", "--park", "XYZ", "--out", "t.png"], "--park 'XYZ' is not a park"),
        (["spray", "--from", "nope", "--out", "s.png"], "no such file"),
        (["ev-la", "--from", "bad.parquet", "--out", "s.png"], "cannot read balls in play from bad.parquet"),
    ],
)
def test_bad_plot_input_is_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    r = CliRunner().invoke(main, ["plot", *args])
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet"]


@pytest.fixture(scope="module")
def odd_tables(season_dir, tmp_path_factory):
    """A table of no balls, of one ball (a home run, drawn past the fence), and a Parquet file that is
    not a balls-in-play table, cut from the season's."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("odd")
    balls = pq.read_table(season_dir / "balls_in_play.parquet")
    pq.write_table(balls.slice(0, 0), folder / "empty.parquet")
    pq.write_table(balls.filter(pc.equal(balls["outcome"], "home_run")).slice(0, 1), folder / "one.parquet")
    return folder


@pytest.mark.parametrize("kind", ["spray", "ev-la"])
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_one_ball_is_a_picture(odd_tables, tmp_path, kind, fmt):
    out = tmp_path / f"one.{fmt}"
    r = _run(kind, "--from", odd_tables / "one.parquet", "--out", out)
    assert r.exit_code == 0 and r.stderr == "", r.output
    assert r.output.strip() == f"wrote {out}: 1 batted ball"
    _check_picture(out, fmt)


@pytest.mark.parametrize("kind", ["spray", "ev-la"])
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("empty.parquet", "empty.parquet: no batted balls to plot"),  # was exit 0, a blank chart, a warning
        ("games.parquet", "games.parquet is not a balls_in_play table (no "),  # was Arrow's whole schema
        ("season", "no balls_in_play.parquet in it: write one with season --pbp or game --out"),
    ],
)
def test_odd_plot_sources_are_one_line(odd_tables, season_dir, tmp_path, kind, source, message):
    path = season_dir / source if source == "games.parquet" else odd_tables / source
    if source == "season":
        path = tmp_path / "season"
        path.mkdir()
        write_season(1, 5, path, executor="serial")  # no --pbp: no balls_in_play.parquet
    out = tmp_path / "x.png"
    r = _run(kind, "--from", path, "--out", out)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert len(lines[0]) < 300 and not out.exists()
