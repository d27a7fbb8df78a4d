"""perfkit history: trends from what perfkit.bench.record wrote, per machine, regressions outside the noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from perfkit.history import direction, load_history

from perfkit import bench

from ._cli_helpers import invoke, one_error_line


def _comparison(ref_s: float, fast_s: float) -> dict:
    """A bench.compare result with the given steady-state medians (real Comparison, fixed times)."""
    comp = bench.Comparison(
        "s1_index",
        reference=bench.Timing([ref_s] * 3, [ref_s * 2]),
        fast=bench.Timing([fast_s] * 3, [fast_s * 5]),
        units=1000,
        unit_name="tiles",
    )
    return comp.to_dict()


def _record_series(results_dir, fast_times, ref_s=1.0, pipeline="seg1b"):
    for fast_s in fast_times:
        bench.record(pipeline, "s1_index", _comparison(ref_s, fast_s), results_dir=results_dir)


def test_steady_history_has_no_regression(tmp_path):
    _record_series(tmp_path, [0.100, 0.103, 0.098, 0.101, 0.102])
    h = load_history("seg1b", tmp_path)
    assert h.records == 5 and h.regressions == []
    fast = next(s for s in h.series if s.figure == "fast.median_s")
    assert fast.values == pytest.approx([0.100, 0.103, 0.098, 0.101, 0.102])
    assert fast.baseline == pytest.approx(0.1005)  # median of the four previous runs
    assert fast.status == "within noise"
    # raw samples and warm-up are not headline figures
    assert not any(s.figure.endswith(("times", "iqr_s", "min_s")) or "warmup" in s.figure for s in h.series)


def test_slower_latest_run_is_flagged(tmp_path):
    _record_series(tmp_path, [0.100, 0.101, 0.099, 0.100, 0.130])  # +30 % on the fast path
    h = load_history("seg1b", tmp_path, threshold=0.1)
    flagged = {s.figure for s in h.regressions}
    # fast median rose, the speed-up ratio and the fast rate fell; the reference did not move
    assert flagged == {"fast.median_s", "ratio", "fast.tiles_per_s"}
    assert next(s for s in h.series if s.figure == "fast.median_s").change == pytest.approx(0.3)
    # a looser threshold absorbs it
    assert load_history("seg1b", tmp_path, threshold=0.5).regressions == []


def test_faster_latest_run_is_an_improvement(tmp_path):
    _record_series(tmp_path, [0.100, 0.101, 0.099, 0.070])
    h = load_history("seg1b", tmp_path)
    assert h.regressions == []
    assert next(s for s in h.series if s.figure == "fast.median_s").status == "improved"


def test_one_noisy_old_run_does_not_move_the_baseline(tmp_path):
    # the median baseline ignores the single 0.5 s outlier among earlier runs
    _record_series(tmp_path, [0.100, 0.500, 0.100, 0.100, 0.105])
    h = load_history("seg1b", tmp_path)
    fast = next(s for s in h.series if s.figure == "fast.median_s")
    assert fast.baseline == pytest.approx(0.100) and fast.status == "within noise"


def test_a_rate_per_cpu_second_that_falls_is_a_regression(tmp_path):
    # records_per_cpu_s ends in "_s" like a duration: a 39 % fall was printed as hours and called "improved"
    for rate in (44.6e6, 44.0e6, 45.1e6, 44.8e6, 27.2e6):
        bench.record("mbp10", "kernel", {"records_per_cpu_s": rate, "cpu_s": 1.0}, results_dir=tmp_path)
    h = load_history("mbp10", tmp_path, threshold=0.1)
    assert {s.figure for s in h.regressions} == {"records_per_cpu_s"}
    result = invoke("history", "mbp10", "--results-dir", tmp_path)
    row = next(line for line in result.stdout.splitlines() if "records_per_cpu_s" in line)
    assert "REGRESSION" in row and " h " not in row and "27,200,000" in row, row


def test_a_speed_ratio_rounded_to_a_whole_number_is_not_a_workload(tmp_path):
    # qyn1's crypto_fast_vs_ref (1376, 1452, ...) and its chunk counts per coder made every run a workload of
    # its own: no run of its main benchmark was ever compared with another
    for i, speed in enumerate((5.0, 5.1, 4.9, 5.0, 3.0)):
        data = {
            "files": 1790,
            "crypto_fast_vs_ref": 1400 + 17 * i,
            "pack_mb_s": speed,
            "codecs": {"cm": 36 + i},
        }
        bench.record("qyn1", "stdlib", data, results_dir=tmp_path)
    h = load_history("qyn1", tmp_path, threshold=0.1)
    pack = next(s for s in h.series if s.figure == "pack_mb_s")
    assert pack.comparable == 4 and pack.status == "REGRESSION"
    assert not any(s.figure.startswith("codecs") for s in h.series)


def test_direction_from_names():
    assert direction("fast.median_s") == -1 and direction("peak_rss_bytes") == -1
    assert direction("ratio") == 1 and direction("fast.tiles_per_s") == 1
    assert direction("tiles_per_s_end_to_end") == 1 and direction("worker_idle_fraction") == -1
    assert direction("peak_rss_main_mb") == -1
    assert direction("tiles") == 0
    assert direction("kernel.records_per_cpu_s") == 1 and direction("pack_mb_s_per_core") == 1
    assert direction("games_per_hour_core") == 1 and direction("kernel_cpu_s") == -1
    assert direction("crypto_fast_vs_ref") == 1 and direction("crypto.fast_over_reference") == 1
    assert direction("figures.worker_pss_mib") == -1 and direction("worker_rss_mib") == -1
    # a ratio of two measurements goes the way its words say, else nowhere (bbox_vs_plain is a cost: the
    # write time with the column against without; fast_vs_game_mode compares two modes)
    assert direction("season_2430_threads_2_vs_1") == 1 and direction("pbp_overhead_ratio") == -1
    assert direction("bbox_vs_plain") == 0 and direction("season_2430_fast_vs_game_mode") == 0


def test_cli_history_table_and_exit_codes(tmp_path):
    _record_series(tmp_path, [0.100, 0.100, 0.100, 0.140])
    result = invoke("history", "seg1b", "--results-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert (
        "s1_index" in result.stdout and "REGRESSION" in result.stdout and "3 regression(s)" in result.stdout
    )
    result = invoke("history", "seg1b", "--results-dir", tmp_path, "--fail-on-regression")
    assert result.exit_code == 1
    result = invoke(
        "history", "seg1b", "--results-dir", tmp_path, "--threshold", "0.5", "--fail-on-regression"
    )
    assert result.exit_code == 0 and "no regressions outside the noise" in result.stdout
    doc = json.loads(invoke("history", "seg1b", "--results-dir", tmp_path, "--json").stdout)
    assert doc["records"] == 4 and {s["status"] for s in doc["series"]} >= {"REGRESSION", "within noise"}


def test_cli_history_default_dir_is_where_record_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PERFKIT_RESULTS_DIR", raising=False)
    bench.record("qyn1", "pack", _comparison(1.0, 0.2))
    result = invoke("history", "qyn1")
    assert result.exit_code == 0, result.output
    assert "pack" in result.stdout and "new" in result.stdout


def test_torn_line_is_skipped_and_reported(tmp_path):
    _record_series(tmp_path, [0.1, 0.1])
    with open(tmp_path / "seg1b.jsonl", "a") as fh:
        fh.write('{"timestamp": "2026-11-21T19:00:00Z", "name": "s1_in')  # an interrupted append
    result = invoke("history", "seg1b", "--results-dir", tmp_path)
    assert result.exit_code == 0
    assert "skipped 1 unreadable line(s)" in result.stdout


def test_unknown_pipeline_is_one_line_exit_2(tmp_path):
    result = invoke("history", "seg2b", "--results-dir", tmp_path)
    assert result.exit_code == 2
    assert (
        one_error_line(result) == "error: unknown pipeline 'seg2b' (known: seg1b, mbp10, qyn1, batted_ball)"
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--threshold", "nan", "threshold must be a finite number >= 0, got nan"),
        ("--threshold", "inf", "threshold must be a finite number >= 0, got inf"),
        ("--threshold", "-0.1", "threshold must be a finite number >= 0, got -0.1"),
        ("--window", "0", "window must be >= 1, got 0"),
    ],
)
def test_bad_threshold_or_window_is_one_line_exit_2(tmp_path, option, value, message):
    """NaN compares false with everything: unchecked it would silently flag nothing."""
    _record_series(tmp_path, [0.1, 0.1])
    result = invoke("history", "seg1b", "--results-dir", tmp_path, option, value)
    assert (result.exit_code, one_error_line(result)) == (2, f"error: {message}")


def test_a_table_cut_short_by_its_reader_stops_quietly_with_141(tmp_path):
    """`perfkit history | head -1`: rich's console would exit 1 on the closed pipe; perfkit's commands all
    stop the Unix way (no message, status 141)."""
    _record_series(tmp_path, [0.1, 0.1, 0.1])
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [str(Path(sys.executable).with_name("perfkit")), "history", "seg1b", "--results-dir", str(tmp_path)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_no_history_is_one_line_exit_2(tmp_path):
    result = invoke("history", "batted-ball", "--results-dir", tmp_path)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "no benchmark history for batted_ball" in line and "make bench-batted-ball" in line
    (tmp_path / "mbp10.jsonl").write_text("\n")
    result = invoke("history", "mbp10", "--results-dir", tmp_path)
    assert result.exit_code == 2 and "holds no records" in one_error_line(result)


def test_only_runs_with_the_same_workload_form_the_baseline(tmp_path):
    """A run at another resolution is not a regression: it is a different benchmark."""
    for res, tiles, wall in [
        (90, 212_676, 0.20),
        (90, 212_676, 0.21),
        (30, 387_361, 0.60),
        (30, 387_361, 0.62),
    ]:
        bench.record(
            "seg1b", "s1", {"resolution_arcsec": res, "tiles": tiles, "wall_s": wall}, results_dir=tmp_path
        )
    h = load_history("seg1b", tmp_path)
    wall = next(s for s in h.series if s.figure == "wall_s")
    assert wall.comparable == 1 and wall.baseline == pytest.approx(0.60) and wall.status == "too few runs"
    assert {s.figure for s in h.series if s.workload} == {"resolution_arcsec", "tiles"}
    # the first run at a new workload has nothing to compare with
    bench.record(
        "seg1b", "s1", {"resolution_arcsec": 10, "tiles": 3_486_249, "wall_s": 5.0}, results_dir=tmp_path
    )
    wall = next(s for s in load_history("seg1b", tmp_path).series if s.figure == "wall_s")
    assert wall.status == "new workload" and wall.baseline is None


def test_comparison_units_are_part_of_the_workload(tmp_path):
    small = bench.Comparison("k", bench.Timing([1.0] * 3), bench.Timing([0.1] * 3), units=1000)
    big = bench.Comparison("k", bench.Timing([10.0] * 3), bench.Timing([1.0] * 3), units=10_000)
    for comp in (small, small, big):
        bench.record("mbp10", "k", comp.to_dict(), results_dir=tmp_path)
    h = load_history("mbp10", tmp_path)
    assert h.regressions == []  # 10x the time for 10x the units is not a regression
    assert next(s for s in h.series if s.figure == "fast.median_s").status == "new workload"


def test_the_same_change_is_noise_on_a_noisy_benchmark_and_a_regression_on_a_steady_one(tmp_path):
    noisy, steady = tmp_path / "noisy", tmp_path / "steady"
    _record_series(noisy, [0.100, 0.118, 0.086, 0.112, 0.088, 0.100, 0.095, 0.120, 0.112])
    _record_series(steady, [0.100, 0.101, 0.099, 0.100, 0.101, 0.099, 0.100, 0.101, 0.112])
    n = next(s for s in load_history("seg1b", noisy).series if s.figure == "fast.median_s")
    t = next(s for s in load_history("seg1b", steady).series if s.figure == "fast.median_s")
    assert n.change == pytest.approx(t.change, abs=0.01) and n.change > 0.1  # the same +11-12 %
    assert n.status == "within noise" and n.interval[0] < 0 < n.interval[1] and n.noise > 0.05
    assert t.status == "REGRESSION" and t.interval[1] < 0 and t.noise < 0.02
    assert t.effect == pytest.approx(-t.change)  # lower is better: a rise is a negative effect


def test_too_few_runs_are_never_flagged(tmp_path):
    _record_series(tmp_path, [0.100, 0.100, 0.300])
    fast = next(s for s in load_history("seg1b", tmp_path).series if s.figure == "fast.median_s")
    assert fast.status == "too few runs" and fast.change == pytest.approx(2.0)


def test_runs_are_compared_only_within_one_machine(tmp_path, monkeypatch):
    import perfkit.bench

    path = tmp_path / "seg1b.jsonl"
    legacy = {"timestamp": "2026-01-01T00:00:00Z", "pipeline": "seg1b", "name": "s1_index",
              "git_revision": "a" * 40, "host": {}, "data": _comparison(1.0, 0.100)}  # fmt: skip
    path.write_text("".join(json.dumps(legacy) + "\n" for _ in range(4)))
    fast_box = {
        "cpu_model": "Fast CPU",
        "cores": 64,
        "memory_gib": 256,
        "python": "3.11.7",
        "numba": "0.68.1",
    }
    monkeypatch.setattr(perfkit.bench, "describe", lambda: dict(fast_box))
    _record_series(tmp_path, [0.010, 0.010, 0.011, 0.010])
    slow_box = dict(fast_box, cpu_model="Slow CPU", cores=2)
    monkeypatch.setattr(perfkit.bench, "describe", lambda: dict(slow_box))
    _record_series(tmp_path, [0.500])  # 50x slower than the fast machine: another machine, not a regression
    h = load_history("seg1b", tmp_path)
    assert h.regressions == []
    assert len(h.machines) == 3 and "unknown/legacy" in h.machines
    by_machine = {s.machine: s for s in h.series if s.figure == "fast.median_s"}
    assert by_machine["unknown/legacy"].values == [0.100] * 4
    assert sorted(len(s.values) for s in by_machine.values()) == [1, 4, 4]
    assert next(s for s in by_machine.values() if s.values == [0.500]).status == "new"
    out = invoke("history", "seg1b", "--results-dir", tmp_path).stdout
    assert "Fast CPU" in out and "Slow CPU" in out and "unknown/legacy" in out


def test_history_prints_full_values(tmp_path):
    for ratio in (1.850212345, 1.850212399, 1.850212311, 1.850212377):
        bench.record("mbp10", "k", {"ratio": ratio, "units": 10}, results_dir=tmp_path)
    out = invoke("history", "mbp10", "--results-dir", tmp_path).stdout
    assert "1.850212377" in out and "…" not in out and "..." not in out


def test_history_html_draws_each_figure_across_runs(tmp_path):
    _record_series(tmp_path, [0.100, 0.101, 0.099, 0.130])
    bench.record("qyn1", "pack", _comparison(1.0, 0.2), results_dir=tmp_path)
    out = tmp_path / "history.html"
    result = invoke("history", "seg1b", "qyn1", "--results-dir", tmp_path, "--html", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    h = load_history("seg1b", tmp_path)
    drawn = [s for s in h.series if not s.workload and direction(s.figure) != 0]
    assert page.count("<svg") == len(drawn)  # qyn1 has one run each: a table row, no chart
    assert '<section id="seg1b">' in page and '<section id="qyn1">' in page
    assert page.count('class="REGRESSION"') == len(h.regressions) > 0
    assert "<script" not in page


def test_json_cut_short_by_its_reader_is_never_a_success(tmp_path):
    """`perfkit history --json | head -c 100`: the JSON is larger than a pipe holds, so the reader leaves
    mid-write; a short write must not end in exit 0 with the JSON cut (the auditor's P4), but in 141."""
    _record_series(tmp_path, [0.1 + 0.001 * i for i in range(400)])
    perfkit = Path(sys.executable).with_name("perfkit")
    size = len(invoke("history", "seg1b", "--results-dir", tmp_path, "--json").stdout)
    assert size > 1 << 17, size  # more than a pipe buffer holds
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; '{perfkit}' history seg1b --results-dir '{tmp_path}' --json | head -c 100 >/dev/null"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (141, "")
