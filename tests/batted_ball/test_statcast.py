"""``validate --statcast``: the comparison's numbers recomputed independently from the CSV (csv module,
an empirical-CDF Kolmogorov-Smirnov distance written here), its files, and its exit code."""

import csv
import json

import numpy as np
import pytest
from batted_ball.cli import main
from batted_ball.statcast import compare
from batted_ball.validation import check_statcast
from click.testing import CliRunner

GAMES = 12


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the two empirical CDFs, evaluated at every observed value."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    return float(
        np.max(
            np.abs(np.searchsorted(a, grid, "right") / a.size - np.searchsorted(b, grid, "right") / b.size)
        )
    )


@pytest.fixture(scope="module")
def comparison(bb_data):
    return compare(bb_data, GAMES, 7)


def test_statcast_side_read_independently(bb_data, comparison):
    report, sim, _, _ = comparison
    with open(bb_data / "statcast_batted_balls_sample.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["events"] != "sac_bunt"]
    ev = np.array([float(r["launch_speed"]) for r in rows])
    la = np.array([float(r["launch_angle"]) for r in rows])
    assert report["balls_in_play"]["statcast"] == len(rows) == 2282  # 2,284 less the two bunts
    hits = sum(r["events"] in ("single", "double", "triple", "home_run") for r in rows)
    assert report["hit_rate"]["statcast"] == pytest.approx(hits / len(rows))
    ev_ks, la_ks, _ = report["distributions"]
    assert ev_ks["ks_statistic"] == pytest.approx(_ks_distance(sim["ev"], ev), abs=1e-12)
    assert la_ks["ks_statistic"] == pytest.approx(_ks_distance(sim["la"], la), abs=1e-12)
    assert ev_ks["mean_statcast"] == pytest.approx(ev.mean())


def test_cells_partition_the_balls(bb_data, comparison):
    report, sim, real, _ = comparison
    cells = report["hit_rate_by_cell"]
    # The sample's balls are typed by launch angle like the game's (< 10 ground, < 25 liner, <= 50 fly),
    # not by Statcast's own bb_type column; counted here from the CSV.
    with open(bb_data / "statcast_batted_balls_sample.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["events"] != "sac_bunt"]
    la = np.array([float(r["launch_angle"]) for r in rows])
    ev = np.array([float(r["launch_speed"]) for r in rows])
    kind = np.where(
        la < 10, "ground_ball", np.where(la < 25, "line_drive", np.where(la <= 50, "fly_ball", "popup"))
    )
    for c in cells:
        hi = c["ev_mph"][1] if c["ev_mph"][1] is not None else np.inf
        assert c["n_statcast"] == np.sum((kind == c["bb_type"]) & (ev >= c["ev_mph"][0]) & (ev < hi))
    assert sum(c["n_simulated"] for c in cells) == sim["ev"].size == report["balls_in_play"]["simulated"]
    assert sum(c["n_statcast"] for c in cells) == real["ev"].size
    judged = [c for c in cells if c["judged"]]
    assert report["verdict"]["cells_judged"] == len(judged)
    for c in cells:  # the docs: judged where the sample and the simulation each have >= 30 balls
        assert c["judged"] == (c["n_statcast"] >= 30 and c["n_simulated"] >= 30), c
    assert [d["tolerance"] for d in report["distributions"]] == [0.10] * 3  # the docs' D <= 0.10
    assert report["ground_residual"]["tolerance_ft"] == 10.0  # the docs' |mean| <= 10 ft
    for c in judged:  # the rule the docs state
        limit = 0.10 + 2 * c["standard_error"]
        assert c["within"] == (abs(c["hit_rate_simulated"] - c["hit_rate_statcast"]) <= limit)


def test_ground_residual_is_measured_to_the_ground(bb_data, comparison):
    """Every ball is flown to the ground (no glove height): at least as far as the check that stops
    caught balls 5 ft up, and the same balls."""
    report, *_ = comparison
    ground = report["ground_residual"]
    glove = check_statcast(bb_data)
    assert f"n={ground['n']}," in glove.got
    assert ground["mean_ft"] > float(glove.got.split()[0])
    assert ground["by_group"]["not_caught"]["n"] + ground["by_group"]["caught"]["n"] == ground["n"]
    # The average spin was fitted on the even game_pk half; the other half is judged on its own too.
    fit, val = ground["by_group"]["spin_fit_half"], ground["by_group"]["validation_half"]
    assert fit["n"] + val["n"] == ground["n"] and min(fit["n"], val["n"]) > 400
    assert abs(val["mean_ft"]) <= ground["tolerance_ft"]
    assert sum(b["n"] for b in ground["by_launch_angle"]) == ground["n"]
    weighted = sum(b["n"] * b["mean_ft"] for b in ground["by_launch_angle"]) / ground["n"]
    assert weighted == pytest.approx(ground["mean_ft"])


def test_cli_writes_json_and_picture_and_exits_on_the_verdict(bb_data, tmp_path):
    out = tmp_path / "st"
    r = CliRunner().invoke(
        main, ["validate", "--statcast", "--games", "6", "--data-dir", str(bb_data), "--out", str(out)]
    )
    report = json.loads((out / "statcast.json").read_text())
    assert r.exit_code == (0 if report["verdict"]["passed"] else 1), r.output
    assert (out / "statcast.png").read_bytes().startswith(b"\x89PNG")
    assert "KS exit_velo_mph" in r.output and "distance residual to the ground" in r.output
    bad = CliRunner().invoke(main, ["validate", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "go with --statcast" in bad.stderr
