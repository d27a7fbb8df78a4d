"""perfkit CLI: digest, verify, bench-summary, and help text for every command."""

from __future__ import annotations

import copy
import json

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from perfkit.cli import main

import perfkit
from perfkit import bench

from ._cli_helpers import REPORT_A, REPORT_C_RESULT, REPORT_FAILED, invoke, load, one_error_line, write

# --- digest ------------------------------------------------------------------------------------------


def test_digest_npy_prints_the_library_receipt(tmp_path):
    arr = np.arange(1000, dtype=np.int32).reshape(100, 10)
    np.save(tmp_path / "a.npy", arr)
    result = invoke("digest", tmp_path / "a.npy")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{perfkit.digest_array(arr)}  {tmp_path / 'a.npy'}\n"
    doc = json.loads(invoke("digest", "--json", tmp_path / "a.npy").stdout)
    assert doc["digest"].startswith("blake2b-256/v1:")


def test_digest_parquet_ignores_row_groups_and_codec_but_not_values(tmp_path):
    table = pa.table({"tile_id": np.arange(5000, dtype=np.int64), "x": np.linspace(0, 1, 5000)})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=5000, compression="snappy")
    (tmp_path / "split").mkdir()
    pq.write_table(
        table.slice(0, 1200), tmp_path / "split" / "part-0.parquet", row_group_size=300, compression="zstd"
    )
    pq.write_table(table.slice(1200), tmp_path / "split" / "part-1.parquet", compression="none")
    changed = table.set_column(1, "x", pa.array(np.r_[np.linspace(0, 1, 5000)[:-1], 2.0]))
    pq.write_table(changed, tmp_path / "changed.parquet")
    one = invoke("digest", tmp_path / "one.parquet").stdout.split()[0]
    split = invoke("digest", tmp_path / "split").stdout.split()[0]
    other = invoke("digest", tmp_path / "changed.parquet").stdout.split()[0]
    assert one == split != other


def test_digest_bad_input_one_line_exit_2(tmp_path):
    result = invoke("digest", tmp_path / "absent.parquet")
    assert result.exit_code == 2 and "not found" in one_error_line(result)
    (tmp_path / "notes.txt").write_text("hello")
    result = invoke("digest", tmp_path / "notes.txt")
    assert result.exit_code == 2 and "unsupported file type" in one_error_line(result)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    result = invoke("digest", tmp_path / "broken.parquet")
    assert result.exit_code == 2 and "cannot digest" in one_error_line(result)


# --- verify ------------------------------------------------------------------------------------------


def test_verify_matching_receipts_exit_0():
    result = invoke("verify", REPORT_A, REPORT_A)
    assert result.exit_code == 0
    assert "2/2 receipts match" in result.stdout


def test_verify_mismatch_exit_1():
    result = invoke("verify", REPORT_A, REPORT_C_RESULT)
    assert result.exit_code == 1
    assert "MISMATCH" in result.stdout and "1/2 receipts match; 1 differ" in result.stdout


def test_verify_missing_receipt_is_a_failure(tmp_path):
    b = load(REPORT_A)
    del b["receipts"]["sites"]
    result = invoke("verify", REPORT_A, write(tmp_path / "b.json", b))
    assert result.exit_code == 1 and "only in A" in result.stdout


def test_verify_real_runs(tmp_path):
    def run(out, values):
        with perfkit.Run("qyn1", out, config={}) as r:
            r.receipt("container", perfkit.digest_array(np.asarray(values)))
        return out / "run_report.json"

    a, b, c = run(tmp_path / "a", [1, 2, 3]), run(tmp_path / "b", [1, 2, 3]), run(tmp_path / "c", [1, 2, 4])
    assert invoke("verify", a, b).exit_code == 0
    assert invoke("verify", a, c).exit_code == 1


def test_verify_without_receipts_is_an_error():
    result = invoke("verify", REPORT_FAILED, REPORT_FAILED)
    assert result.exit_code == 2 and "nothing to verify" in one_error_line(result)


# --- bench-summary -----------------------------------------------------------------------------------


def test_bench_summary_reads_summary_rows_and_marks_missing_pipelines(tmp_path):
    bench.summary_row("seg1b", "s1 index", summary_dir=tmp_path, ratio=41.7, fast_median_s=0.021, tiles=2886)
    bench.summary_row("seg1b", "s6 jitter", summary_dir=tmp_path, ratio=12.0)
    bench.summary_row("seg1b", "s1 index", summary_dir=tmp_path, ratio=42.5, fast_median_s=0.02, tiles=2886)
    result = invoke("bench-summary", "seg1b", "mbp10", "qyn1", "batted_ball", "--summary-dir", tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "benchmark summary" in out
    assert "s1 index" in out and "s6 jitter" in out and "42.5" in out and "41.7" not in out  # row replaced
    assert "20.0 ms" in out  # *_s figures shown as times
    assert out.count("not built yet") == 3


def test_bench_summary_defaults_to_all_pipelines_and_env_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFKIT_SUMMARY_DIR", str(tmp_path))
    bench.summary_row("qyn1", "pack", ratio=3.0)
    result = invoke("bench-summary")
    assert result.exit_code == 0
    assert result.stdout.count("not built yet") == 3 and "pack" in result.stdout


def test_bench_summary_default_dir_is_where_summary_row_writes(tmp_path, monkeypatch):
    """`make bench` runs both from the repo root: ./reports/bench-summary."""
    monkeypatch.delenv("PERFKIT_SUMMARY_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    bench.summary_row("mbp10", "bars 1 day", ratio=8.5)
    assert (tmp_path / "reports" / "bench-summary" / "mbp10.json").exists()
    result = invoke("bench-summary", "seg1b", "mbp10", "qyn1", "batted_ball")
    assert result.exit_code == 0 and "bars 1 day" in result.stdout and "8.5" in result.stdout


def test_bench_summary_unreadable_file_does_not_hide_the_rest(tmp_path):
    (tmp_path / "mbp10.json").write_text("{not json")
    bench.summary_row("seg1b", "s1", summary_dir=tmp_path, ratio=2.0)
    result = invoke("bench-summary", "seg1b", "mbp10", "--summary-dir", tmp_path)
    assert result.exit_code == 0
    assert "unreadable" in result.stdout and "s1" in result.stdout


def test_bench_summary_unknown_pipeline_one_line_exit_2(tmp_path):
    result = invoke("bench-summary", "seg1b", "nope", "--summary-dir", tmp_path)
    assert result.exit_code == 2
    assert "unknown pipeline 'nope'" in one_error_line(result)


# --- every command -----------------------------------------------------------------------------------

COMMANDS = sorted(main.commands)


def test_the_documented_commands_exist():
    assert set(COMMANDS) == {
        "bench-summary",
        "diff",
        "digest",
        "gate",
        "history",
        "profile",
        "pyspy",
        "show",
        "verify",
    }


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert "Example: perfkit " + name in " ".join(result.stdout.split())
    assert isinstance(main.commands[name], click.Command)


def test_show_tolerates_an_odd_top_items_entry(tmp_path):
    # a top_items list holding a non-object is odd but valid JSON: the view shows the rest
    report = load(REPORT_A)
    report["top_items"] = [*copy.deepcopy(report["top_items"]), "junk"]
    result = invoke("show", write(tmp_path / "r.json", report))
    assert result.exit_code == 0, result.output


def test_bench_summary_rows_carry_their_own_time_and_commit_and_old_rows_are_stale(tmp_path):
    old = {"name": "old row", "ratio": 9.0, "timestamp": "2026-01-01T00:00:00Z", "git_revision": "a" * 40}
    (tmp_path / "mbp10.json").write_text(
        json.dumps({"pipeline": "mbp10", "updated": "2026-12-06T00:00:00Z", "rows": [old]})
    )
    bench.summary_row("mbp10", "new row", summary_dir=tmp_path, ratio=8.0)
    row = json.loads((tmp_path / "mbp10.json").read_text())["rows"][-1]
    assert row["timestamp"].endswith("Z") and set(row) >= {"git_revision", "timestamp"}
    result = invoke("bench-summary", "mbp10", "--summary-dir", tmp_path, "--since", "2026-06-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2026-01-01T00:00:00Z" in out and "aaaaaaaaaaaa" in out  # the old row's own stamp, not "updated"
    assert out.count("stale") == 1 and out.index("old row") < out.index("stale") < out.index("new row")
    assert row["timestamp"] in out


def test_bench_summary_failed_pipeline_is_shown_and_exits_1(tmp_path):
    bench.summary_row("qyn1", "pack", summary_dir=tmp_path, ratio=3.0)
    result = invoke(
        "bench-summary", "qyn1", "--summary-dir", tmp_path, "--failed", "qyn1", "--failed", "seg1b"
    )
    assert result.exit_code == 1
    assert result.stdout.count("FAILED in this run") == 2
    assert "benchmark(s) failed: qyn1, seg1b" in result.stderr
    bad = invoke("bench-summary", "--summary-dir", tmp_path, "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in one_error_line(bad)


def test_verify_names_config_differences_before_the_receipts(tmp_path):
    a, b = load(REPORT_A), load(REPORT_C_RESULT)
    b["config"] = {**(a.get("config") or {}), "seed": 2}
    result = invoke("verify", REPORT_A, write(tmp_path / "b.json", b))
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("config: the runs were asked for different things") and "config.seed" in out
    assert out.index("config.seed") < out.index("receipts")
    assert "the runs' configs differ" in out.splitlines()[-1]
    same = invoke("verify", REPORT_A, REPORT_C_RESULT).stdout
    assert "config" not in same.splitlines()[0] and "configs differ" not in same


@pytest.mark.parametrize("rate", ["0", "-5"])
def test_pyspy_rate_below_one_is_one_line_exit_2(rate, tmp_path):
    # --rate 0 started py-spy, which then sampled nothing and never ended
    result = invoke("pyspy", "--rate", rate, "-o", tmp_path / "z.json", "--", "python", "-c", "1")
    assert result.exit_code == 2 and "--rate" in result.output and rate in result.output
    assert list(tmp_path.iterdir()) == []


def test_diff_limit_below_zero_is_one_line_exit_2():
    result = invoke("diff", REPORT_A, REPORT_A, "--limit", "-1")
    assert result.exit_code == 2 and "--limit" in result.output and "-1" in result.output


# --- inputs that never end or do not fit ------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "/dev/zero"],
        ["diff", "/dev/zero", str(REPORT_A)],
        ["verify", str(REPORT_A), "/dev/zero"],
        ["digest", "/dev/zero"],
        ["gate", "--baseline", "/dev/zero"],
        ["show", str(REPORT_A), "--html", "{tmp}/r.html", "--pstats", "/dev/zero"],
        ["show", str(REPORT_A), "--html", "{tmp}/r.html", "--speedscope", "/dev/zero"],
    ],
)
def test_a_device_as_an_input_is_one_line_exit_2_not_a_read_that_never_ends(argv, tmp_path):
    """`perfkit show /dev/zero` read until the machine ran out of memory (24 GB, then the OOM killer)."""
    result = invoke(*[a.format(tmp=tmp_path) for a in argv])
    assert result.exit_code == 2
    assert "/dev/zero is a device or socket, not a file" in one_error_line(result)
    assert not (tmp_path / "r.html").exists()


def test_a_report_larger_than_the_read_limit_is_refused_in_one_line(tmp_path, monkeypatch):
    from perfkit import reports

    monkeypatch.setattr(reports, "READ_LIMIT", 1 << 20)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * (1 << 20)}))
    result = invoke("show", big)
    assert result.exit_code == 2 and "larger than 1 MiB: not a report" in one_error_line(result)


@pytest.mark.parametrize("option", ["--pstats", "--speedscope"])
def test_show_refuses_an_html_only_option_without_html(option, tmp_path):
    """They were silently ignored: the user believed the profile was drawn."""
    extra = tmp_path / "p.pstats"
    extra.write_bytes(b"x")
    result = invoke("show", REPORT_A, option, extra)
    assert result.exit_code == 2 and "add --html" in one_error_line(result)
