"""The receipts of a small `mbp10 run`, pinned: every other mbp10 receipt test compares two runs of the same
code (workers, executors, resume, Dask), so a change that moves every receipt alike (a column added to a
stage, a dtype, the Parquet content hashed, a constant shared by the fast and the reference path) passed them
all, and "a refactor must not change a receipt" had nothing to hold it to.

Recorded on 2026-12-08 with the mbp10 of main at 62edd4a (before that session's library-user audit) and
equal with the audit's changes in. If a receipt has to change on purpose, update it here and say so in the
commit. ~1.5 s: two synthetic days of three instruments (two outrights and a spread, kept with --spreads),
25,000 records each, every stage (34 touches).
"""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from mbp10.cli import main
from mbp10.dbn import write_dbn
from mbp10.synth import synth_header, synth_instruments

SYMBOLS = ("ESH4", "ESM4", "ESH4-ESM4")
RECEIPTS = {
    "bar5s": "785bd861adfcbaebee51bf3b78afcccd3268040881f116df643314f0e0273804",
    "levels": "2d22df68a3268625142fe90fbd9da184e7217f874ddd0b5816581692e438e900",
    "episodes": "ca9764447b3c69a3e6df9eee3becab7331d7246d37d082c2f4211886c00d4ab4",
    "episode_bars": "66986c5f1aa5179c3aa073a6703e81fa90253a81d504ed4d2a30e0e22053b969",
    "approach": "066047781a39d30c4fbb7a7383aa3309509c77ebcafb9c20928fe4da671ab06c",
    "approach_signature": "109eafa266b0987b77900fb98acb6b9653c5e370807e36a3c67664c692f62492",
    "vectors": "0bb3a78a1e43d2215ceb2463262a0380ffcd82707a40773d08959e133d06dd48",
}


def test_a_small_run_gives_the_recorded_receipts(tmp_path):
    days = tmp_path / "days"
    days.mkdir()
    for d in (2, 3):
        date = dt.date(2024, 1, d)
        rec = synth_instruments(date, 25_000, 5, SYMBOLS)
        write_dbn(days / f"ES.FUT-{date}.dbn.zst", synth_header(date, SYMBOLS, parent="ES.FUT"), rec)
    episode = ["--approach-pts", "0.25", "--reset-pts", "1", "--break-pts", "0.5", "--bounce-pts", "1"]
    args = ["run", "--input-dir", str(days), "--dates", "2024-01-02..2024-01-03", "--executor", "serial"]
    r = CliRunner().invoke(main, [*args, *episode, "--spreads", "--out", str(tmp_path / "out"), "--quiet"])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "out" / "run_report.json").read_text())
    got = {name: receipt["digest"] for name, receipt in report["receipts"].items()}
    assert got == {name: f"blake2b-256/v1:{digest}" for name, digest in RECEIPTS.items()}
    counters = report["counters"]
    assert (counters["records"], counters["bars"], counters["vectors_rows"]) == (49_996, 31_126, 34)
