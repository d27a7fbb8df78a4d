"""The S1 and S6 receipts of a small run, pinned: receipts are compared across sessions and machines
(docs/perf/seg1b.md quotes them; "a refactor must not change a receipt"), and every other seg1b receipt test
compares two runs of the same code, so a change that moves every receipt alike (the dataset label, the column
set hashed, a constant of the draw shared by the fast and the reference path) passed them all.

The values were recorded on 2026-12-08 from main at 3c35277 (whose world 150" receipts equal the recorded
ones in docs/perf/seg1b.md). If a receipt has to change on purpose, update it here and say so in the commit.
~1.5 s: S1 of five 1:110m countries at 1 degree (Russia in row bands, Fiji across the antimeridian), a
3,000-site plan, S6.
"""

from __future__ import annotations

import json

from seg1b.s1.pipeline import S1Params, run_s1
from seg1b.s6.pipeline import S6Params, run_s6
from seg1b.sites import generate_plan

S1_RECEIPT = "blake2b-256/v1:34dd632938a573569403d297e6754babcf8f1b17a8057db7ffc55f624c849ed7"
S6_RECEIPT = "blake2b-256/v1:cb845a350965bf050e3985ddbf7cef25c0b7955b90cb991b408107c1a769c8c6"


def test_small_s1_and_s6_runs_give_the_recorded_receipts(tmp_path):
    countries = ("FJI", "RUS", "JAM", "FRA", "CHL")
    run_s1(S1Params(out=str(tmp_path / "s1"), countries="ne110m", resolution_arcsec=3600, only=countries,
                    max_unit_cells=300, executor="serial", workers=1, quiet=True))  # fmt: skip
    report = json.loads((tmp_path / "s1" / "run_report.json").read_text())
    assert report["receipts"]["tiles"]["digest"] == S1_RECEIPT
    generate_plan(tmp_path / "s1", 3000, 7, tmp_path / "plan.parquet")
    summary = run_s6(S6Params(tiles=str(tmp_path / "s1"), sites=str(tmp_path / "plan.parquet"), seed=20261208,
                              out=str(tmp_path / "s6"), countries="ne110m", workers=1, quiet=True))  # fmt: skip
    assert summary["receipt"] == S6_RECEIPT
