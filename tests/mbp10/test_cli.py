"""The mbp10 command line: every stage end to end on small synthetic days, and bad input -> exit 2."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from mbp10.cli import main
from mbp10.dbn import write_dbn
from mbp10.synth import synth_day, synth_header

from .testdata import ES_REAL, shared_file, trades_dbn


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_every_command_has_help_with_an_example():
    for name, cmd in main.commands.items():
        assert cmd.help and "Example:" in cmd.help, name
        assert invoke(name, "--help").exit_code == 0


def test_synth_ingest_bars_round_trip(tmp_path, small_day_file):
    r = invoke("ingest", small_day_file, "--out", tmp_path / "bronze", "--quiet")
    assert r.exit_code == 0, r.output
    bronze = tmp_path / "bronze" / "2024-01-02.parquet"
    # a folder output keeps its report inside
    assert json.loads((tmp_path / "bronze" / "run_report.json").read_text())["status"] == "ok"
    t = pq.read_table(bronze)
    assert t.num_rows == 30_000 and t.schema.field("price").type == "int64"
    assert pq.ParquetFile(bronze).metadata.row_group(0).column(0).compression == "ZSTD"
    r = invoke("bars", small_day_file, "-o", tmp_path / "a.parquet", "--quiet")
    assert r.exit_code == 0, r.output
    # a one-file output keeps no report beside it (no `a.parquet.report/`) unless --report-dir is given
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "bronze"]
    r = invoke("bars", bronze, "-o", tmp_path / "b.parquet", "--report-dir", tmp_path / "rep", "--quiet")
    assert r.exit_code == 0, r.output
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert a.num_rows > 1000 and a.column_names == b.column_names
    for c in a.column_names:
        np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy(), err_msg=c)
    report = json.loads((tmp_path / "rep" / "run_report.json").read_text())
    assert report["status"] == "ok" and report["counters"]["records"] == 30_000
    assert "compile" in report["stages"] and "decode+bar5s" in report["stages"]
    assert report["receipts"]["bar5s"]["digest"].startswith("blake2b-256")
    starts = a["bar_start_ns"].cast("int64").to_numpy()
    assert (np.diff(starts) > 0).all() and (starts % 5_000_000_000 == 0).all()


def test_out_of_order_input_is_sorted_and_counted(tmp_path, small_day):
    rec = small_day[:5_000].copy()
    rec[[10, 3_000]] = rec[[3_000, 10]]
    src = tmp_path / "shuffled.dbn.zst"
    write_dbn(src, synth_header(dt.date(2024, 1, 2)), rec)
    r = invoke("bars", src, "-o", tmp_path / "bars.parquet", "--report-dir", tmp_path / "rep", "--quiet")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "rep" / "run_report.json").read_text())
    assert report["counters"]["out_of_order_records"] > 0


def _bad_inputs(tmp_path, small_day_file):
    not_dbn = tmp_path / "notes.dbn"
    not_dbn.write_text("hello, this is not DBN\n")
    raw = small_day_file.read_bytes()
    cut_zst = tmp_path / "cut.dbn.zst"
    cut_zst.write_bytes(raw[: len(raw) // 2])
    plain = tmp_path / "plain.dbn"
    rec = synth_day(dt.date(2024, 1, 2), 100, seed=1)
    plain.write_bytes(synth_header(dt.date(2024, 1, 2)) + rec.tobytes()[:-100])
    missing_cols = tmp_path / "thin.parquet"
    pq.write_table(
        pq.read_table(_any_parquet(tmp_path, small_day_file)).select(["ts_event", "price"]), missing_cols
    )
    return {
        "not DBN": not_dbn,
        "trades schema": trades_dbn(tmp_path / "trades.dbn"),
        "truncated zst": cut_zst,
        "truncated record": plain,
        "missing columns": missing_cols,
        "no such file": tmp_path / "absent.dbn.zst",
    }


def _any_parquet(tmp_path, small_day_file):
    out = tmp_path / "bronze-src"
    invoke("ingest", small_day_file, "--out", out, "--quiet")
    return out / "2024-01-02.parquet"


@pytest.mark.parametrize("command", ["bars", "ingest"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, small_day_file, command):
    for what, path in _bad_inputs(tmp_path, small_day_file).items():
        out = tmp_path / f"out-{command}-{what.replace(' ', '-')}"
        args = [
            command,
            path,
            "-o" if command == "bars" else "--out",
            out / "x.parquet" if command == "bars" else out,
        ]
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 2, (what, r.output)
        lines = [x for x in r.output.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (what, r.output)
        assert not out.exists() or not any(out.iterdir()), what


@pytest.mark.shared
def test_mbo_schema_is_rejected(tmp_path):
    mbo = shared_file(ES_REAL / "esh4-glbx-mdp3-20231225.mbo.dbn.zst")
    r = CliRunner().invoke(main, ["bars", str(mbo), "-o", str(tmp_path / "o" / "b.parquet")])
    assert r.exit_code == 2 and "schema is mbo" in r.output
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def three_days(tmp_path_factory):
    d = tmp_path_factory.mktemp("days")
    for day in (2, 3, 5):
        date = dt.date(2024, 1, day)
        rec = synth_day(date, 25_000, seed=11)
        write_dbn(d / f"ES-{date:%Y%m%d}.dbn.zst", synth_header(date), rec)
    return d


@pytest.mark.slow
def test_run_receipts_do_not_depend_on_workers(tmp_path, three_days):
    reports = {}
    for workers, executor in ((1, "serial"), (2, "processes")):
        out = tmp_path / f"w{workers}"
        r = invoke(
            "run",
            "--input-dir",
            three_days,
            "--dates",
            "2024-01-01..2024-01-05",
            "--workers",
            workers,
            "--executor",
            executor,
            "--out",
            out,
            "--bronze",
            "--quiet",
        )
        assert r.exit_code == 0, r.output
        reports[workers] = json.loads((out / "run_report.json").read_text())
        assert not (out / "_staging").exists()
    a, b = reports[1], reports[2]
    assert a["receipts"] == b["receipts"] and a["counters"] == b["counters"]
    assert set(a["items"]) == {"2024-01-02", "2024-01-03", "2024-01-05"}
    # 2024-01-01 is a holiday (no CME session): of the sessions 01-02..01-05 only 01-04 is missing
    assert a["counters"]["sessions_expected"] == 4 and a["counters"]["sessions_missing"] == 1
    assert a["metrics"]["missing_sessions"] == ["2024-01-04"] and a["counters"]["records"] == 75_000
    assert set(a["receipts"]) >= {"bronze", "bar5s", "levels", "episodes", "approach", "vectors"}
    assert pq.read_table(tmp_path / "w2" / "bronze").num_rows == 75_000
    # levels: the first date has no previous bars, later dates have prior-day levels
    lv = pq.read_table(tmp_path / "w1" / "silver" / "levels").to_pydict()
    kinds = {(d.isoformat(), k) for d, k in zip(lv["date"], lv["level_kind"], strict=True)}
    assert ("2024-01-02", "pdh") not in kinds and ("2024-01-03", "pdh") in kinds
    assert (
        "2024-01-05",
        "pdh",
    ) not in kinds  # its previous session (01-04) is missing: no older day's levels
    vec = pq.read_table(tmp_path / "w1" / "gold" / "vectors")
    assert vec.num_rows == a["counters"]["episodes_rows"] > 0
    # the last touch, with the cut at its decision time: every other touch decided by then is a candidate
    last = max(vec.to_pylist(), key=lambda v: (v["decision_ns"], v["touch_id"]))
    before = sum(v["decision_ns"] <= last["decision_ns"] for v in vec.to_pylist()) - 1
    as_of = last["decision_ns"].isoformat()
    vectors = tmp_path / "w1" / "gold" / "vectors"
    r = invoke("similar", "--vectors", vectors, "--touch-id", last["touch_id"], "--k", 3, "--as-of", as_of)
    assert r.exit_code == 0, r.output
    assert len(r.output.splitlines()) == 1 + min(3, before)
    assert all(str(last["touch_id"]) not in line for line in r.output.splitlines()[1:])


def test_stage_commands_chain(tmp_path, small_day_file):
    b = tmp_path / "bars.parquet"
    assert invoke("bars", small_day_file, "-o", b, "--quiet").exit_code == 0
    lv = tmp_path / "levels.parquet"
    assert invoke("levels", "--bars", b, "--date", "2024-01-02", "-o", lv, "--quiet").exit_code == 0
    ep = tmp_path / "ep.parquet"
    r = invoke(
        "episodes",
        "--bars",
        b,
        "--levels",
        lv,
        "-o",
        ep,
        "--quiet",
        "--approach-pts",
        "2",
        "--reset-pts",
        "3",
    )
    assert r.exit_code == 0, r.output
    ap, sig = tmp_path / "ap.parquet", tmp_path / "sig.parquet"
    r = invoke("approach", "--bars", b, "--episodes", ep, "-o", ap, "--signature-out", sig, "--quiet")
    assert r.exit_code == 0, r.output
    v = tmp_path / "v.parquet"
    r = invoke(
        "vectors", "--bars", b, "--episodes", ep, "--approach", ap, "--signature", sig, "-o", v, "--quiet"
    )
    assert r.exit_code == 0, r.output
    assert pq.read_table(v).num_rows == pq.read_table(ep).num_rows


def test_ingest_parquet_sorts_and_counts(tmp_path, small_day_file):
    from mbp10.records import out_of_order_count

    first = tmp_path / "b1"
    assert invoke("ingest", small_day_file, "--out", first, "--quiet").exit_code == 0
    table = pq.read_table(first / "2024-01-02.parquet")
    # swap two records whose timestamps are unique, so a stable sort restores the original order
    ts0 = table["ts_event"].to_numpy()
    unique = np.nonzero((ts0[1:-1] > ts0[:-2]) & (ts0[1:-1] < ts0[2:]))[0] + 1
    i, j = int(unique[10]), int(unique[40])
    order = np.arange(table.num_rows)
    order[[i, j]] = order[[j, i]]
    shuffled = table.take(order)
    n_bad = out_of_order_count(shuffled["ts_event"].to_numpy())
    assert n_bad > 0
    src = tmp_path / "shuffled-2024-01-02.parquet"
    pq.write_table(shuffled, src)
    r = invoke("ingest", src, "--out", tmp_path / "b2", "--report-dir", tmp_path / "rep", "--quiet")
    assert r.exit_code == 0, r.output
    again = pq.read_table(tmp_path / "b2" / "shuffled-2024-01-02.parquet")
    report = json.loads((tmp_path / "rep" / "run_report.json").read_text())
    assert report["counters"]["out_of_order_records"] == n_bad
    ts = again["ts_event"].to_numpy()
    assert (np.diff(ts) >= 0).all() and again.equals(table)
    # bars straight from the shuffled Parquet equal bars from the sorted bronze
    for src_path, name in ((src, "shuffled"), (first / "2024-01-02.parquet", "sorted")):
        r = invoke(
            "bars", src_path, "-o", tmp_path / f"{name}.parquet", "--report-dir", tmp_path / name, "--quiet"
        )
        assert r.exit_code == 0, r.output
    a, b = pq.read_table(tmp_path / "shuffled.parquet"), pq.read_table(tmp_path / "sorted.parquet")
    for c in a.column_names:
        np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy(), err_msg=c)
    shuffled_report = json.loads((tmp_path / "shuffled" / "run_report.json").read_text())
    assert shuffled_report["counters"]["out_of_order_records"] == n_bad


def test_run_with_a_truncated_day_fails_cleanly(tmp_path, three_days):
    days = tmp_path / "days"
    days.mkdir()
    for f in sorted(three_days.iterdir()):
        (days / f.name).write_bytes(f.read_bytes())
    bad = sorted(days.iterdir())[1]
    bad.write_bytes(bad.read_bytes()[:-5000])
    out = tmp_path / "out"
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--input-dir",
            str(days),
            "--dates",
            "2024-01-01..2024-01-05",
            "--workers",
            "1",
            "--executor",
            "serial",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert r.exit_code == 2, r.output
    assert r.output.strip().startswith("error: ") and "truncated" in r.output
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_real_sample_out_of_ts_order_is_counted(tmp_path):
    from .testdata import DATABENTO

    src = shared_file(DATABENTO / "IFEU.IMPACT__test_data.mbp-10.dbn.zst")
    r = invoke("bars", src, "-o", tmp_path / "b.parquet", "--report-dir", tmp_path / "rep", "--quiet")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "rep" / "run_report.json").read_text())
    # the first record's ts_event is later than the three after it
    assert report["counters"]["out_of_order_records"] == 3 and report["counters"]["records"] == 4
