"""perfkit diff: result differences fail (exit 1), performance differences are only reported (exit 0)."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
from perfkit.diff import MISSING, diff_reports

import perfkit

from ._cli_helpers import (
    GOLDEN,
    REPORT_A,
    REPORT_B_PERF,
    REPORT_C_RESULT,
    REPORT_SCHEMA2,
    invoke,
    load,
    one_error_line,
    write,
)


def test_identical_reports_exit_0():
    result = invoke("diff", REPORT_A, REPORT_A)
    assert result.exit_code == 0
    assert "verdict: identical" in result.stdout


def test_performance_only_difference_exits_0_and_lists_what_moved():
    result = invoke("diff", REPORT_A, REPORT_B_PERF)
    assert result.exit_code == 0, result.output
    assert "results: no differences" in result.stdout
    assert "stages.index.wall_s: 16.9 -> 12.1" in result.stdout
    assert "metrics.tiles_per_s" in result.stdout
    assert "verdict: same results; only performance figures differ" in result.stdout


def test_result_difference_exits_1_and_names_each_result_change():
    result = invoke("diff", REPORT_A, REPORT_C_RESULT)
    assert result.exit_code == 1
    out = result.stdout
    assert "receipts.tiles:" in out
    assert "counters.tiles: 2886 -> 2887" in out
    assert "items[PRT]: only in B" in out
    assert "items[USA].counters.tiles: 512 -> 513" in out
    assert "results.per_country_tiles.USA: 512 -> 513" in out
    assert "verdict: RESULTS DIFFER" in out
    # the performance change is reported too, in its own section
    assert "wall_s: 19.4 -> 19.9" in out.split("performance:")[1]


@pytest.mark.parametrize(
    ("b", "golden"),
    [
        ("report_b_perf_only.json", "diff_a_b_perf_only.txt"),
        ("report_c_result_change.json", "diff_a_c_result.txt"),
    ],
)
def test_diff_output_matches_golden_text(monkeypatch, b, golden):
    """Pins the diff text format (regenerate with PERFKIT_UPDATE_GOLDEN=1 after a deliberate change)."""
    monkeypatch.chdir(GOLDEN)
    result = invoke("diff", "report_a.json", b)
    if os.environ.get("PERFKIT_UPDATE_GOLDEN"):
        (GOLDEN / golden).write_text(result.stdout)
    assert result.stdout == (GOLDEN / golden).read_text()


def test_json_output_carries_both_kinds():
    result = invoke("diff", "--json", REPORT_A, REPORT_C_RESULT)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["results_differ"] is True
    paths = {c["path"] for c in doc["result"]}
    assert {"receipts.tiles", "counters.tiles", "items[PRT]"} <= paths
    assert [c["path"] for c in doc["performance"]] == ["wall_s"]
    prt = next(c for c in doc["result"] if c["path"] == "items[PRT]")
    assert prt["only_in"] == "B"


def test_limit_truncates_listing_but_not_the_verdict():
    result = invoke("diff", "--limit", "2", REPORT_A, REPORT_C_RESULT)
    assert result.exit_code == 1
    assert "... and 5 more" in result.stdout


@pytest.mark.parametrize(
    ("section", "mutate"),
    [
        ("status", lambda r: r.update(status="failed", error="boom")),
        ("receipts", lambda r: r["receipts"].pop("sites")),
        ("receipts", lambda r: r["receipts"]["sites"].update(digest_version=2)),
        ("counters", lambda r: r["counters"].update(new_counter=0)),
        ("results", lambda r: r["results"]["per_country_tiles"].update(FRA=65)),
        ("items", lambda r: r["items"].pop("LUX")),
        ("items", lambda r: r["items"]["LUX"]["counters"].update(tiles=3)),
        ("histograms", lambda r: r["histograms"]["tiles_per_country"].update(counts=[7, 4, 1])),
    ],
)
def test_every_result_section_fails_the_diff(section, mutate):
    a = load(REPORT_A)
    b = copy.deepcopy(a)
    mutate(b)
    d = diff_reports(a, b)
    assert d.results_differ
    assert all(c.kind == "result" for c in d.result)
    assert any(c.path.startswith(section) for c in d.result), [c.path for c in d.result]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r["stages"].update(extra={"wall_s": 1.0, "cpu_s": 1.0, "calls": 1}),
        lambda r: r["histograms"]["attempts"].update(p90=4),  # a performance histogram
        lambda r: r["host"].update(cpu_count=64),
        lambda r: r["config"].update(workers=8),
        lambda r: r.update(peak_rss_bytes=1, git_revision=None),
        lambda r: r["items"]["LUX"].update(elapsed_s=99.0, worker="pid-7"),
        lambda r: r["metrics"].pop("tiles_per_s"),
        lambda r: r.update(pipeline="mbp10"),  # context: the results sections say whether outputs differ
    ],
)
def test_performance_and_context_changes_never_fail(mutate):
    a = load(REPORT_A)
    b = copy.deepcopy(a)
    mutate(b)
    d = diff_reports(a, b)
    assert not d.results_differ, [c.describe() for c in d.result]


def test_item_time_changes_show_in_quantiles_not_per_item():
    a = load(REPORT_A)
    b = copy.deepcopy(a)
    b["items"]["LUX"]["elapsed_s"] = 99.0
    assert diff_reports(a, b).performance == []  # per-item times are summarised by item_time_quantiles


def test_missing_values_are_marked_per_side():
    a = load(REPORT_A)
    b = copy.deepcopy(a)
    del b["receipts"]["sites"]
    (change,) = diff_reports(a, b).result
    assert change.b is MISSING and change.a.startswith("blake2b-256/v1:")
    assert change.describe().startswith("receipts.sites: only in A")


def test_bad_report_is_one_line_exit_2(tmp_path):
    result = invoke("diff", REPORT_A, REPORT_SCHEMA2)
    assert result.exit_code == 2
    assert "schema_version 2" in one_error_line(result)
    result = invoke("diff", tmp_path / "absent.json", REPORT_A)
    assert result.exit_code == 2
    assert "not found" in one_error_line(result)


def _real_run(out_dir, tiles: int, extra_stage: bool):
    with perfkit.Run("seg1b", out_dir, config={"resolution_arcsec": 300}) as run:
        with run.stage("index"):
            data = np.arange(tiles, dtype=np.int64)
            if extra_stage:
                np.sort(np.random.default_rng(0).random(20_000))  # different performance, same results
        for key in ("FRA", "USA"):
            with run.item(key, tiles=0) as item:
                item["tiles"] += tiles
        run.count("tiles", 2 * tiles)
        run.metric("tiles_per_s", 1000.0 if extra_stage else 900.0)
        run.receipt("tiles", perfkit.digest_array(data))
    return out_dir / "run_report.json"


def test_real_run_reports_diff_by_results(tmp_path):
    a = _real_run(tmp_path / "a", 10, extra_stage=False)
    b = _real_run(tmp_path / "b", 10, extra_stage=True)
    _real_run(tmp_path / "c", 11, extra_stage=False)
    same = invoke("diff", a, b)
    assert same.exit_code == 0, same.output
    assert "metrics.tiles_per_s: 900 -> 1000" in same.stdout
    changed = invoke("diff", tmp_path / "a", tmp_path / "c")  # a run's directory works too
    assert changed.exit_code == 1
    assert "receipts.tiles" in changed.stdout and "items[USA].counters.tiles: 10 -> 11" in changed.stdout


def test_failed_real_run_differs_from_ok_run(tmp_path):
    ok = _real_run(tmp_path / "ok", 5, extra_stage=False)
    with pytest.raises(RuntimeError), perfkit.Run("seg1b", tmp_path / "bad", config={}) as run:
        run.count("tiles", 10)
        raise RuntimeError("disk full")
    result = invoke("diff", ok, tmp_path / "bad" / "run_report.json")
    assert result.exit_code == 1
    assert 'status: "ok" -> "failed"' in result.stdout
    assert "RuntimeError: disk full" in result.stdout


def test_config_differences_are_named_first(tmp_path):
    a = load(REPORT_A)
    b = copy.deepcopy(load(REPORT_C_RESULT))
    b["config"] = {**(a.get("config") or {}), "resolution_arcsec": 600, "out": "/elsewhere"}
    result = invoke("diff", REPORT_A, write(tmp_path / "b.json", b))
    lines = result.stdout.splitlines()[2:]  # after the A:/B: lines
    assert lines[0].startswith("config: the runs were asked for different things (1 option(s))")
    assert "config.resolution_arcsec" in lines[1] and "-> 600" in lines[1]
    assert lines[2].startswith("config, where/how the runs reported") and "config.out" in lines[3]
    assert "the configs differ" in lines[-1] and result.exit_code == 1
    doc = json.loads(invoke("diff", "--json", REPORT_A, tmp_path / "b.json").stdout)
    assert doc["config_differs"] and {c["path"] for c in doc["config"]} >= {"config.resolution_arcsec"}
    assert not any(c["path"].startswith("config") for c in doc["performance"])
