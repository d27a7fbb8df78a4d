"""Every output loads in polars and pandas with the right dtypes and no casts: instants as timestamp[ns, UTC],
dates as dates, missing values as nulls (never NaN), bronze action/side as Databento's characters, and the
pinned bar5s feature names unchanged."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from mbp10.bar_columns import ALL_COLUMNS
from mbp10.dbn import write_dbn
from mbp10.synth import synth_header, synth_instruments

from .test_cli import invoke

SYMBOLS = ("ESH4", "ESM4")


def two_day_run(root, symbols, records: int, seed: int, *flags) -> tuple:
    """`mbp10 run` over two synthetic multi-instrument days: (output folder, {date: records})."""
    days = root / "days"
    days.mkdir()
    made = {}
    for d in (2, 3):
        date = dt.date(2024, 1, d)
        made[date.isoformat()] = rec = synth_instruments(date, records, seed, symbols)
        write_dbn(days / f"ES-{date}.dbn.zst", synth_header(date, symbols), rec)
    out = root / "out"
    r = invoke(
        "run", "--input-dir", days, "--dates", "2024-01-02..2024-01-03", "--executor", "serial", "--workers", 1,
        "--out", out, "--quiet", *flags,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return out, made


@pytest.fixture(scope="module")
def run_out(tmp_path_factory):
    return two_day_run(tmp_path_factory.mktemp("typed"), SYMBOLS, 30_000, 3, "--bronze")[0]


def outputs(out):
    return sorted(p for p in out.rglob("*.parquet"))


def test_every_output_has_typed_columns_in_polars(run_out):
    files = outputs(run_out)
    assert len(files) == 2 * 8  # bronze + seven stages, two dates
    for f in files:
        assert pq.read_schema(f).metadata[b"mbp10.format"] == b"2", f
        df = pl.read_parquet(f)
        for name, dtype in df.schema.items():
            if name.endswith("_ns") or name in ("ts_event", "ts_recv"):
                assert dtype == pl.Datetime("ns", "UTC"), (f, name, dtype)
            elif name == "date":
                assert dtype == pl.Date, (f, name, dtype)
            elif name == "symbol":
                assert dtype == pl.String, (f, name, dtype)
            elif dtype in (pl.Float64, pl.Float32):
                assert df[name].is_nan().sum() == 0, (f, name, "NaN instead of null")
        if "instrument_id" in df.columns:
            assert df.schema["instrument_id"] == pl.UInt32


def test_nulls_where_values_are_missing_and_means_are_numbers(run_out):
    bars = pl.read_parquet(run_out / "silver" / "bar5s")
    assert [c for c in ALL_COLUMNS if c not in bars.columns] == []  # pinned names kept
    vwap = bars["bar5s_trade_vwap"]
    no_trades = bars["bar5s_trade_vol_sum"] == 0
    assert no_trades.sum() > 0 and vwap.filter(no_trades).null_count() == no_trades.sum()
    assert vwap.filter(~no_trades).null_count() == 0
    assert np.isfinite(vwap.mean())  # a mean over nulls, not NaN


def test_bronze_characters_and_pandas_dtypes(run_out):
    bronze = pl.read_parquet(run_out / "bronze" / "2024-01-02.parquet")
    assert set(bronze["action"].unique()) <= set("ACMTFRN") and set(bronze["side"].unique()) <= set("ABN")
    assert set(bronze["action"].unique()) >= set("ACMT")
    for f in outputs(run_out):
        df = pd.read_parquet(f)
        for name in df.columns:
            if name.endswith("_ns") or name in ("ts_event", "ts_recv"):
                assert str(df[name].dtype) == "datetime64[ns, UTC]", (f, name, df[name].dtype)
        if "date" in df.columns:
            assert all(isinstance(x, dt.date) for x in df["date"].head(3)), f
    bars = pd.read_parquet(run_out / "silver" / "bar5s" / "2024-01-02.parquet")
    assert bars["bar5s_trade_vwap"].isna().sum() == (bars["bar5s_trade_vol_sum"] == 0).sum() > 0


def test_stage_commands_read_their_typed_inputs(run_out, tmp_path):
    """The typed files feed the next stage's command unchanged (no int64/NaN expected on input)."""
    bars = run_out / "silver" / "bar5s" / "2024-01-03.parquet"
    prev = run_out / "silver" / "bar5s" / "2024-01-02.parquet"
    r = invoke(
        "levels",
        "--bars",
        bars,
        "--prev-bars",
        prev,
        "--date",
        "2024-01-03",
        "-o",
        tmp_path / "l.parquet",
        "-q",
    )
    assert r.exit_code == 0, r.output
    mine = pq.read_table(tmp_path / "l.parquet")
    theirs = pq.read_table(run_out / "silver" / "levels" / "2024-01-03.parquet")
    assert mine.equals(theirs)


def test_run_front_month_keeps_one_outright_a_date(tmp_path):
    symbols = ("ESH4", "ESM4", "ESH4-ESM4")
    out, made = two_day_run(tmp_path, symbols, 12_000, 4, "--front-month")
    front = {}
    for d, rec in made.items():  # the outrights' traded volume, counted from the records
        trades = rec[rec["action"] == b"T"]
        volume = {
            s: int(trades["size"][trades["instrument_id"] == 4242 + k].sum())
            for k, s in enumerate(symbols[:2])
        }
        front[d] = max(volume, key=volume.get)
    for d in ("2024-01-02", "2024-01-03"):
        bars = pl.read_parquet(out / "silver" / "bar5s" / f"{d}.parquet")
        assert bars["symbol"].unique().to_list() == [front[d]]
    report = json.loads((out / "run_report.json").read_text())
    assert (
        report["config"]["front_month"] is True and report["counters"]["instruments_kept"] == 2
    )  # one a date
    assert report["counters"]["instruments_in_file"] == 6
