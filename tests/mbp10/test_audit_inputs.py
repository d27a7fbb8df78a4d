"""Inputs that do not belong together are refused (issue 14's user audit, M2-M5, M7): prior-day levels from
a file that is not the previous session's, stage inputs of different dates, a file whose name says another
date than its bars, dates outside the supported range. Each case gave exit 0 and a wrong answer before."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from click.testing import CliRunner
from mbp10.cli import main
from mbp10.dbn import write_dbn
from mbp10.synth import synth_day, synth_header

RECORDS = 20_000


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def refused(r, *words):
    assert r.exit_code == 2, r.output
    line = r.output.strip()
    assert "\n" not in line and line.startswith("error:"), line
    for w in words:
        assert str(w) in line, (w, line)


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Synthetic days (UTC days, as Databento's daily files) in days/; a two-date run in out/."""
    root = tmp_path_factory.mktemp("audit")
    (root / "days").mkdir()
    for d in ("2024-01-02", "2024-01-03", "2024-03-28", "2024-04-01"):
        date = dt.date.fromisoformat(d)
        write_dbn(root / "days" / f"ES-{d}.dbn.zst", synth_header(date), synth_day(date, RECORDS, seed=3))
    r = invoke(
        "run", "--input-dir", root / "days", "--dates", "2024-01-02..2024-01-03", "--out", root / "out",
        "--executor", "serial", "-q",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    for d in ("2024-03-28", "2024-04-01"):
        r = invoke("bars", root / "days" / f"ES-{d}.dbn.zst", "-o", root / f"bars-{d}.parquet", "-q")
        assert r.exit_code == 0, r.output
    return root


def silver(root, stage, date):
    sub = "gold" if stage == "vectors" else "silver"
    return root / "out" / sub / stage / f"{date}.parquet"


def test_levels_prev_bars_must_be_the_previous_session(days, tmp_path):
    b2, b3 = silver(days, "bar5s", "2024-01-02"), silver(days, "bar5s", "2024-01-03")
    out = tmp_path / "l.parquet"
    # M2: the day's own bars as prior-day bars (pdh/pdl/pdc were the same day's high/low/last)
    refused(
        invoke("levels", "--bars", b3, "--prev-bars", b3, "--date", "2024-01-03", "-o", out), b3, "--bars"
    )
    copy = tmp_path / "copy.parquet"
    shutil.copy(b3, copy)
    refused(
        invoke("levels", "--bars", b3, "--prev-bars", copy, "--date", "2024-01-03", "-o", out),
        copy, "2024-01-02 session", "2024-01-03 (",
    )  # fmt: skip
    # M3: --prev-date after --date; Thursday's file for a Monday whose previous session is Good Friday
    refused(
        invoke("levels", "--bars", b3, "--prev-bars", b2, "--date", "2024-01-03", "--prev-date", "2024-01-05",
               "-o", out),
        "--prev-date 2024-01-05", "2024-01-03",
    )  # fmt: skip
    refused(
        invoke("levels", "--bars", days / "bars-2024-04-01.parquet", "--prev-bars",
               days / "bars-2024-03-28.parquet", "--date", "2024-04-01", "-o", out),
        "bars-2024-03-28.parquet", "2024-03-29 session", "2024-03-28 (",
    )  # fmt: skip
    # --bars of another date than --date (its last hour is in 01-03's session: not enough)
    refused(invoke("levels", "--bars", b2, "--date", "2024-01-03", "-o", out), b2, "2024-01-03 session")
    assert not out.exists()
    # the right pair still works, with the previous session's levels
    ok = invoke("levels", "--bars", b3, "--prev-bars", b2, "--date", "2024-01-03", "-o", out, "-q")
    assert ok.exit_code == 0, ok.output


def test_stage_inputs_of_different_dates_are_refused(days, tmp_path):
    bars2 = silver(days, "bar5s", "2024-01-02")
    ep3, lv3 = silver(days, "episodes", "2024-01-03"), silver(days, "levels", "2024-01-03")
    ap3, sig3 = silver(days, "approach", "2024-01-03"), silver(days, "approach_signature", "2024-01-03")
    ap2 = silver(days, "approach", "2024-01-02")
    import pyarrow.parquet as pq

    assert pq.read_table(ep3).num_rows > 0 and pq.read_table(silver(days, "episodes", "2024-01-02")).num_rows
    o, s = tmp_path / "o.parquet", tmp_path / "s.parquet"
    refused(invoke("episodes", "--bars", bars2, "--levels", lv3, "-o", o), bars2, lv3, "2024-01-03 session")
    refused(
        invoke("approach", "--bars", bars2, "--episodes", ep3, "-o", o, "--signature-out", s),
        ep3, bars2, "2024-01-03",
    )  # fmt: skip
    v = ("vectors", "--bars", silver(days, "bar5s", "2024-01-03"), "--episodes", ep3)
    refused(invoke(*v, "--approach", ap2, "--signature", sig3, "-o", o), ap2, ep3, "2024-01-03")
    refused(
        invoke("vectors", "--bars", bars2, "--episodes", ep3, "--approach", ap3, "--signature", sig3, "-o", o),
        ep3, bars2,
    )  # fmt: skip
    assert not o.exists() and not s.exists()
    ok = invoke(*v, "--approach", ap3, "--signature", sig3, "-o", o, "-q")
    assert ok.exit_code == 0, ok.output
    assert pq.read_table(o).equals(pq.read_table(silver(days, "vectors", "2024-01-03")))


def test_run_refuses_a_file_whose_bars_are_of_another_date(days, tmp_path):
    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(days / "days" / "ES-2024-01-02.dbn.zst", odd / "ES-2024-01-05.dbn.zst")
    r = invoke(
        "run", "--input-dir", odd, "--dates", "2024-01-05", "--out", tmp_path / "o", "--executor", "serial"
    )
    refused(r, "ES-2024-01-05.dbn.zst", "2024-01-05 session", "2024-01-02 (")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("synth", "--date", "1960-01-01", "--records", "100", "--out", "{t}/s.dbn.zst"),
        ("synth", "--date", "2300-01-01", "--records", "100", "--out", "{t}/s.dbn.zst"),
        ("run", "--input-dir", "{days}", "--dates", "0001-01-01..9999-12-31", "--out", "{t}/r"),
        ("levels", "--bars", "{t}/b.parquet", "--date", "1960-01-01", "-o", "{t}/l.parquet"),
    ],
)
def test_dates_outside_the_supported_range(args, days, tmp_path):
    r = invoke(*(a.format(t=tmp_path, days=days / "days") for a in args))
    refused(r, "supported dates 1970-01-01..2261-12-31")


def test_similar_without_candidates_says_so(days):
    import json

    vec = days / "out" / "gold" / "vectors"
    first = pq_touch(silver(days, "vectors", "2024-01-02"))  # no session before 2024-01-02 in the library
    r = CliRunner().invoke(main, ["similar", "--vectors", str(vec), "--touch-id", str(first)])
    assert r.exit_code == 0 and r.stdout == "", r.output
    assert r.stderr.startswith("no candidates:") and r.stderr.count("\n") == 1, r.stderr
    r = CliRunner().invoke(main, ["similar", "--vectors", str(vec), "--touch-id", str(first), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["neighbours"] == [], r.output
    assert "no candidates" in r.stderr
    later = pq_touch(silver(days, "vectors", "2024-01-03"))
    r = CliRunner().invoke(main, ["similar", "--vectors", str(vec), "--touch-id", str(later)])
    assert r.exit_code == 0 and r.stderr == "" and len(r.stdout.splitlines()) > 1, r.output


def pq_touch(path) -> int:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["touch_id"]).column(0)[0].as_py()
