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


def test_trajectory_spin_rate_and_axis_equal_backspin_and_sidespin():
    a = json.loads(
        run(
            "trajectory",
            "--exit-velo",
            "100",
            "--launch-angle",
            "28",
            "--spin-rpm",
            "2000",
            "--spin-axis",
            "30",
            "--json",
            "--mode",
            "fast",
        ).output
    )
    b = json.loads(
        run(
            "trajectory",
            "--exit-velo",
            "100",
            "--launch-angle",
            "28",
            "--backspin",
            str(2000 * 0.8660254037844387),
            "--sidespin",
            "1000",
            "--json",
            "--mode",
            "fast",
        ).output
    )
    assert a["distance_ft"] == pytest.approx(b["distance_ft"], abs=1e-6)
    assert a["landing_x_ft"] < -5  # + sidespin curves toward left field
    both = run(
        "trajectory", "--exit-velo", "100", "--launch-angle", "28", "--spin-rpm", "2000", "--backspin", "1"
    )
    assert both.exit_code == 2


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
