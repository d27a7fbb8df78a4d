"""Cases the rest of the suite let through: each test here fails on a bug that survived every other perfkit
test in a mutation probe (session 2026-12-07/08, /work/brief/report-tests.md), and passes on the real code.

Inputs are typed in by hand; expected values come from the documented contract, not from the code under test.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from perfkit.determinism import combine_digests, digest_table

from perfkit import gate

from ._cli_helpers import invoke


# -- receipts: content that differs must give different receipts -----------------------------------------
def test_a_null_and_a_zero_have_different_receipts():
    """A null's slot is hashed as zero, so its position must be hashed too: [1, null] is not [1, 0]."""
    assert digest_table(pa.table({"v": pa.array([1, None], pa.int64())})) != digest_table(
        pa.table({"v": pa.array([1, 0], pa.int64())})
    )
    assert digest_table(pa.table({"s": pa.array(["a", None])})) != digest_table(
        pa.table({"s": pa.array(["a", ""])})
    )


def test_where_strings_and_lists_split_is_content():
    """The same bytes cut into rows differently are different tables."""
    assert digest_table(pa.table({"s": ["ab", "c"]})) != digest_table(pa.table({"s": ["a", "bc"]}))
    assert digest_table(pa.table({"b": pa.array([b"ab", b"c"])})) != digest_table(
        pa.table({"b": pa.array([b"a", b"bc"])})
    )
    assert digest_table(pa.table({"l": [[1], [2, 3]]})) != digest_table(pa.table({"l": [[1, 2], [3]]}))


def test_the_same_bytes_under_another_type_are_another_receipt():
    """int64 and float64 columns holding the same 8 bytes per row, or timestamps in s vs ms, are different data."""
    bits = np.array([1.5, -2.0, 3.25])
    as_float = pa.table({"v": pa.array(bits)})
    as_int = pa.table({"v": pa.array(bits.view(np.int64))})
    assert digest_table(as_float) != digest_table(as_int)
    ts = np.array([1, 2, 3], dtype=np.int64)
    assert digest_table(pa.table({"t": pa.array(ts, pa.timestamp("s"))})) != digest_table(
        pa.table({"t": pa.array(ts, pa.timestamp("ms"))})
    )


def test_combined_receipt_keeps_item_boundaries():
    """["ab"] and ["a", "b"] are different lists of per-file receipts."""
    assert combine_digests(["ab"], "x") != combine_digests(["a", "b"], "x")


# -- safe output: the fallback swap where renameat2(RENAME_EXCHANGE) is not available -------------------------
def test_folder_replaced_without_an_atomic_exchange_leaves_nothing_behind(tmp_path, monkeypatch):
    """Where the kernel or file system has no RENAME_EXCHANGE, the old output is moved aside, the new one
    renamed in, and the old one removed: no `.pk-*` folder may remain beside the output."""
    import perfkit.outputs as outputs_mod
    from perfkit.outputs import MARKER, Outputs

    monkeypatch.setattr(outputs_mod, "_exchange", lambda a, b: False)
    folder = tmp_path / "out"
    first = Outputs()
    (first.directory(folder) / "v1.parquet").write_text("v1")
    first.commit()
    second = Outputs(force=True)
    (second.directory(folder) / "v2.parquet").write_text("v2")
    second.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([MARKER, "v2.parquet"])


def test_report_dir_refuses_a_users_run_report_json_that_perfkit_did_not_write(tmp_path):
    """A `run_report.json` of the user's own (no perfkit schema_version) is not replaced, even if it names a
    pipeline."""
    from perfkit.errors import InputError
    from perfkit.outputs import Outputs

    (tmp_path / "run_report.json").write_text(json.dumps({"pipeline": "my notes"}))
    with pytest.raises(InputError, match="not a perfkit report"):
        Outputs(force=True).report_dir(tmp_path)
    assert json.loads((tmp_path / "run_report.json").read_text()) == {"pipeline": "my notes"}


# -- history: directions and the baseline window ---------------------------------------------------------
def test_a_size_in_bytes_is_better_lower():
    from perfkit.history import direction

    assert direction("fast.output_bytes") == -1
    assert direction("container_bytes") == -1


def test_the_baseline_is_the_latest_runs_of_the_window_not_the_oldest(tmp_path):
    """Ten runs at 10 s, then ten at 5 s (a speed-up merged long ago), latest 5 s: with a window of 10 the
    baseline is the ten most recent runs (5 s), so the latest is within noise, not an 'improvement'."""
    from perfkit.history import load_history

    lines = []
    for i, seconds in enumerate([10.0] * 10 + [5.0] * 10 + [5.0]):
        lines.append(json.dumps({"timestamp": f"2026-01-{i + 1:02d}", "pipeline": "seg1b", "name": "s1",
                                 "data": {"wall_s": seconds + 0.01 * (i % 3)}}))  # fmt: skip
    (tmp_path / "seg1b.jsonl").write_text("\n".join(lines) + "\n")
    h = load_history("seg1b", tmp_path, window=10)
    (s,) = [s for s in h.series if s.figure == "wall_s"]
    assert s.baseline == pytest.approx(5.01)
    assert s.status == "within noise"


# -- gate: the CLI's verdict and --update ------------------------------------------------------------------
def test_gate_update_overwrites_the_old_count_of_the_same_workload(tmp_path):
    path = tmp_path / "baseline.json"
    gate.write_baseline(path, gate.compare({"mbp10": (123, 1.0)}, {"mbp10": 100}, 0.03), {"mbp10": 100})
    assert gate.read_baseline(path) == {"mbp10": 123}


@pytest.mark.parametrize(("count", "code"), [(1_100_000, 1), (1_010_000, 0)])
def test_gate_command_exits_1_when_a_workload_needs_more_instructions(tmp_path, monkeypatch, count, code):
    """`perfkit gate` is CI's last step: a workload 10 % over its baseline must fail it (exit 1), 1 % must not.
    The counting (valgrind, minutes) is replaced by fixed counts."""
    workloads = tmp_path / "benchmarks" / "gate" / "workloads.json"
    workloads.parent.mkdir(parents=True)
    workloads.write_text(json.dumps({"workloads": {"w": {"command": ["true"]}}}))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"instructions": {"w": 1_000_000}}))
    monkeypatch.setattr(gate, "run_gate", lambda *a, **k: {"w": (count, 1.0)})
    result = invoke("gate", "--workloads", workloads, "--baseline", baseline)
    assert result.exit_code == code, result.output


# -- exit codes: an interrupt that library code swallowed still ends the command -----------------------------
def test_a_swallowed_ctrl_c_still_ends_a_command_that_returns_normally_with_130():
    """Someone else's code catches the KeyboardInterrupt and the command returns as if it succeeded: the CLI
    must still report the interrupt (exit 130, one line), not exit 0 over work that was cut short."""
    import contextlib
    import signal

    import click
    from click.testing import CliRunner
    from perfkit.clitools import handle_errors

    @click.command()
    @handle_errors()
    def swallowing():
        with contextlib.suppress(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        click.echo("done")

    result = CliRunner().invoke(swallowing, [])
    assert result.exit_code == 130 and result.stderr.strip() == "interrupted"


def test_the_order_of_an_rng_key_is_part_of_the_stream():
    """rng_for(seed, a, b) and rng_for(seed, b, a) are different work items."""
    from perfkit.parallel import rng_for, seed_for

    assert seed_for(7, 1, 2) != seed_for(7, 2, 1)
    assert not (rng_for(7, "USA", 3).random(4) == rng_for(7, 3, "USA").random(4)).any()


# -- bench: the figures performance claims are made of --------------------------------------------------------
def test_bench_ratio_is_the_median_pair_ratio_and_rates_use_the_median_time():
    """docs: the ratio is the median of the per-pair ratios reference/fast (one slow outlier pair must not move
    it), and a rate is units over the *median* steady-state time, not the best one."""
    from perfkit.bench import Comparison, Timing

    c = Comparison("x", Timing([1.0, 2.0, 30.0]), Timing([1.0, 1.0, 1.0]), units=8.0)
    assert c.pair_ratios == [1.0, 2.0, 30.0] and c.ratio == 2.0
    assert Timing([1.0, 2.0, 4.0]).to_dict(units=8.0)["items_per_s"] == 4.0


def test_a_folder_output_is_swapped_in_with_one_atomic_exchange_where_the_kernel_has_it(
    tmp_path, monkeypatch
):
    """docs/perfkit.md: an existing folder output is replaced with renameat2(RENAME_EXCHANGE) where available, so
    no reader ever finds the output missing; the move-aside fallback is only for kernels without it."""
    import perfkit.outputs as outputs_mod
    from perfkit.outputs import Outputs

    calls = []
    real = outputs_mod._exchange

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(outputs_mod, "_exchange", spy)
    folder = tmp_path / "out"
    first = Outputs()
    (first.directory(folder) / "v1").write_text("1")
    first.commit()
    assert calls == []  # nothing to exchange with
    second = Outputs(force=True)
    staged = second.directory(folder)
    (staged / "v2").write_text("2")
    second.commit()
    assert calls == [(staged, folder)] and (folder / "v2").read_text() == "2"


def test_the_bootstrap_interval_is_the_central_95_percent_not_the_extremes():
    """history's 95 % interval: a deviation drawn in ~2 % of the resamples (one odd run in fifty) lies outside
    it. A 2x-slow outlier among 49 steady runs, latest steady: the upper bound stays near 0, not at +0.5."""
    from perfkit.history import effect_interval

    lo, hi = effect_interval([1.0] * 49 + [2.0], 1.0, -1)
    assert lo <= 0.0 <= hi < 0.25


def test_a_size_needing_most_of_the_free_memory_is_refused_before_allocating(monkeypatch):
    """`check_memory` refuses work estimated above 80 % of the available memory (the rest is for the system,
    the other stages and the estimate's error): 90 % is refused, 70 % is not."""
    from perfkit.errors import InputError

    from perfkit import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 1_000_000_000)
    with pytest.raises(InputError, match="more than 80% of the"):
        limits.check_memory(900_000_000, "--count 9")
    limits.check_memory(700_000_000, "--count 7")


def test_the_same_hex_under_another_digest_version_is_another_receipt():
    """`perfkit diff` compares whole receipts: v1:<hex> and v2:<hex> were made by different definitions."""
    from perfkit.diff import diff_reports

    hexdigest = "ab" * 32
    for v1, v2 in (
        ({"digest": f"blake2b-256/v1:{hexdigest}"}, {"digest": f"blake2b-256/v2:{hexdigest}"}),
        (f"blake2b-256/v1:{hexdigest}", f"blake2b-256/v2:{hexdigest}"),  # a receipt given as its digest alone
    ):
        a, b = ({"status": "ok", "receipts": {"tiles": r}} for r in (v1, v2))
        assert diff_reports(a, b).results_differ and not diff_reports(a, a).results_differ
