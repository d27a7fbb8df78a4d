"""CLI: trajectory / pitch / validate output, and one-line errors with exit 2 on bad input."""

import json

import pytest
from batted_ball.cli import main
from click.testing import CliRunner


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_trajectory_json():
    r = run(
        "trajectory",
        "--exit-velo",
        "100",
        "--launch-angle",
        "28",
        "--backspin",
        "2000",
        "--sidespin",
        "0",
        "--json",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["distance_ft"] == pytest.approx(408.56, abs=0.01)
    assert {"hang_time_s", "apex_ft", "landing_x_ft", "landing_y_ft"} <= set(data)


def _traj(*extra: str) -> dict:
    r = run("trajectory", "--exit-velo", "100", "--launch-angle", "28", "--mode", "fast", "--json", *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_trajectory_spin_rate_and_axis_equal_backspin_and_sidespin():
    """Axis 210 (Statcast's clock): the spin pushes the ball toward (sin 210, -cos 210) = (-1/2, +0.87),
    i.e. up and toward left field: backspin 2000 cos 30 and + sidespin 1000 (Nathan's sign)."""
    a = _traj("--spin-rpm", "2000", "--spin-axis", "210")
    b = _traj("--backspin", str(2000 * 0.8660254037844387), "--sidespin", "1000")
    assert a["spin_source"] == "rate_axis" and b["spin_source"] == "given"
    assert a["distance_ft"] == pytest.approx(b["distance_ft"], abs=1e-6)
    assert a["landing_x_ft"] < -5  # + sidespin curves toward left field
    both = run(
        "trajectory", "--exit-velo", "100", "--launch-angle", "28", "--spin-rpm", "2000", "--backspin", "1"
    )
    assert both.exit_code == 2


def test_explicit_backspin_alone_means_no_sidespin():
    """The README's command: --backspin 2000 alone flies Nathan's 408.6 ft straight away (it used to add
    the Statcast-average sidespin -849 and land 400.5 ft at 6.5 deg); no spin at all is the average."""
    given = _traj("--backspin", "2000")
    assert given["sidespin_rpm"] == 0.0 and given["spin_source"] == "given"
    assert given["distance_ft"] == pytest.approx(408.6, abs=0.5) and abs(given["bearing_deg"]) < 1e-9
    side_only = _traj("--sidespin", "-500")
    assert side_only["backspin_rpm"] == 0.0
    average = _traj()
    assert average["spin_source"] == "statcast_average_RHB"
    # Backspin: the refit to Statcast distances (docs "Against the real game"; the sheet's G4 gives
    # -763 + 120 LA); sidespin: the sheet's G5.
    assert average["backspin_rpm"] == -1410 + 132 * 28 and average["sidespin_rpm"] == -849
    lefty = _traj("--batter-hand", "L")
    assert lefty["spin_source"] == "statcast_average_LHB" and lefty["sidespin_rpm"] == 849


@pytest.mark.parametrize(("axis", "side"), [(90, 1), (270, -1), (180, 0)])
def test_one_spin_axis_convention_for_batted_balls_and_pitches(axis, side):
    """The same --spin-axis moves a pitch and a batted ball the same way across the field (x toward the
    first-base / right-field side): 90 toward first base, 270 toward third, 180 neither (pure lift)."""
    ball = _traj("--spin-rpm", "2000", "--spin-axis", str(axis))
    r = run("pitch", "--velo", "90", "--spin", "2000", "--spin-axis", str(axis), "--json")
    assert r.exit_code == 0, r.output
    pitch = json.loads(r.output)
    if side == 0:
        assert ball["landing_x_ft"] == 0.0 and abs(pitch["hb_in"]) < 0.5 and pitch["ivb_in"] > 10
    else:
        assert side * ball["landing_x_ft"] > 20 and side * pitch["hb_in"] > 10


def test_path_without_json_is_a_table():
    r = run("trajectory", "--exit-velo", "100", "--launch-angle", "28", "--backspin", "2000", "--path")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    head = lines.index(next(ln for ln in lines if ln.split() == ["t_s", "x_ft", "y_ft", "z_ft"]))
    rows = [[float(x) for x in ln.split()] for ln in lines[head + 1 :]]
    assert 50 <= len(rows) <= 60 and len(r.output) < 5000  # one row per 0.1 s of a 5.3 s flight
    assert rows[0] == [0.0, 0.0, 0.0, 3.0] and rows[-1][3] == 0.0
    assert rows[-1][2] == pytest.approx(408.56, abs=0.01)


def test_pitch_json():
    r = run("pitch", "--velo", "95", "--spin", "2400", "--json", "--mode", "fast")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["plate_time_s"] == pytest.approx(0.40, abs=0.02)
    assert {"ivb_in", "hb_in", "plate_x_ft", "plate_z_ft"} <= set(data)


@pytest.mark.parametrize(
    "args",
    [
        ["trajectory", "--exit-velo", "-3", "--launch-angle", "20"],
        ["trajectory", "--exit-velo", "100", "--launch-angle", "120"],
        ["trajectory", "--exit-velo", "100", "--launch-angle", "20", "--mode", "warp"],
        ["trajectory", "--exit-velo", "100", "--launch-angle", "20", "--humidity", "150"],
        ["pitch", "--velo", "0"],
        ["validate", "--data-dir", "/nonexistent-folder"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_validate_runs_and_passes(tmp_path):
    r = run("validate", "--report-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "passed" in r.output
    report = json.loads((tmp_path / "run_report.json").read_text())
    assert report["status"] == "ok"
    assert all(v in ("pass", "skipped") for v in report["results"]["checks"].values())


def test_every_command_has_help_with_an_example():
    for name, cmd in main.commands.items():
        assert cmd.help and "Example:" in cmd.help, name


def test_serial_season_with_one_worker_says_serial(tmp_path):
    """``--executor serial --workers 1`` is consistent (accepted); the summary names no worker count."""
    out = tmp_path / "s"
    args = [
        "season",
        "--games",
        "1",
        "--seed",
        "1",
        "--executor",
        "serial",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "(serial)" in r.output.splitlines()[-1], r.output


def test_statcast_without_the_sample_says_where_it_is_looked_for(tmp_path):
    from batted_ball.validation import REFERENCE_CASES_CSV

    (tmp_path / REFERENCE_CASES_CSV).write_text("no statcast sample beside me\n")
    r = run("validate", "--statcast", "--data-dir", str(tmp_path))
    assert r.exit_code == 2, r.output
    assert r.stderr.strip().splitlines() == [
        "error: --statcast needs statcast_batted_balls_sample.csv "
        "(in --data-dir, $BATTED_BALL_DATA or ../shared/data/batted_ball)"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["trajectory", "--exit-velo", "100", "--launch-angle", "28"],
        ["pitch", "--velo", "95"],
        ["game", "--seed", "1"],
    ],
)
def test_quiet_prints_only_errors_and_json_when_asked(args):
    """``--quiet`` ("only errors") used to change nothing for these; ``--json`` is still printed."""
    quiet = run(*args, "--quiet")
    assert quiet.exit_code == 0 and quiet.output == "", quiet.output
    as_json = run(*args, "--quiet", "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout), as_json.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["trajectory", "--exit-velo", "100", "--launch-angle", "28", "--path"], "--path"),
        (["game", "--seed", "1", "--pbp"], "--pbp"),
    ],
)
def test_quiet_with_an_option_that_only_prints_more_is_refused(args, option):
    r = run(*args, "-q")
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.strip().splitlines() == [
        f"error: {option} prints more and --quiet prints nothing; add --json or drop one"
    ]
    assert run(*args, "-q", "--json").exit_code == 0
