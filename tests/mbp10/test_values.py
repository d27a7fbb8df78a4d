"""Values against hand-computed cases: levels from hand-made bars, a vector's entries from a hand-made touch,
and the integrity counters / per-bar flags from hand-made records."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from mbp10.approach import WINDOW
from mbp10.dbn import encode_metadata, write_dbn
from mbp10.episodes import EpisodeParams
from mbp10.levels import compute_levels
from mbp10.pipeline import day_bars, day_features
from mbp10.vectors import BAR_FEATURES, DIM, LAST_BARS

from .testdata import make_records

NAN = float("nan")


def utc(day: int, hh: int, mm: int = 0) -> int:
    return int(dt.datetime(2024, 1, day, hh, mm, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def utc_ns(y: int, m: int, d: int, hh: int) -> int:
    return int(dt.datetime(y, m, d, hh, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def bars(rows: list[tuple[int, float, float, float, float]]) -> pa.Table:
    """(bar start ns, trade high, trade low, trade last, end-of-bar mid) -> a minimal bar5s table."""
    start, hi, lo, last, mid = (list(c) for c in zip(*rows, strict=True))
    return pa.table(
        {
            "instrument_id": pa.array([1] * len(rows), pa.uint32()),
            "bar_start_ns": pa.array(start, pa.int64()),
            "bar5s_trade_high_px": hi,
            "bar5s_trade_low_px": lo,
            "bar5s_trade_last_px": last,
            "bar5s_book_mid_px_eob": mid,
        }
    )


def test_levels_by_hand():
    # 2024-01-02 (EST: UTC-5): RTH 14:30-21:00 UTC. The 22:00 UTC bar (17:00 ET) is not RTH: its 4900 high
    # must not be the prior-day high.
    prev = bars(
        [
            (utc(2, 14, 30), 4810.0, 4795.0, 4800.0, 4800.0),
            (utc(2, 18), 4805.0, 4790.0, 4801.0, 4801.0),
            (utc(2, 22), 4900.0, 4899.0, 4899.5, 4899.5),
        ]
    )
    today = bars(
        [
            (utc(3, 10), 4805.0, 4795.0, 4800.0, 4801.0),  # overnight (05:00 ET)
            (utc(3, 14, 35), 4812.0, 4808.0, 4810.0, 4810.0),  # opening range (09:35 ET)
            (utc(3, 15, 10), 4830.0, 4829.0, 4830.0, 4830.0),  # after 10:00 ET: neither
        ]
    )
    lv = compute_levels(dt.date(2024, 1, 3), today, prev, dt.date(2024, 1, 2)).to_pylist()
    got = {r["level_kind"]: (r["level_price"], r["valid_from_ns"]) for r in lv if r["level_kind"] != "round"}
    d0 = utc(3, 0)
    assert got == {
        "pdh": (4810.0, d0),
        "pdl": (4790.0, d0),
        "pdc": (4801.0, d0),
        "onh": (4805.0, utc(3, 14, 30)),
        "onl": (4795.0, utc(3, 14, 30)),
        "orh": (4812.0, utc(3, 15)),
        "orl": (4808.0, utc(3, 15)),
    }
    # round numbers: multiples of 50 within 10% of the first mid (4801): 4350 .. 5250
    rounds = [r["level_price"] for r in lv if r["level_kind"] == "round"]
    assert rounds == [float(p) for p in range(4350, 5251, 50)]


def test_a_vector_by_hand():
    """One touch of a round level: the vector's distance block and signature entries, computed by hand."""
    t0 = utc(3, 16)  # 11:00 ET: after the opening range; only round levels (no trades, no previous day)
    mids = [4812.0] * 30 + [4808.0, 4805.0, 4802.0, 4800.5, 4804.0]  # far (>4), then touches 4800 from above
    n = len(mids)
    table = pa.table(
        {
            "instrument_id": pa.array([1] * n, pa.uint32()),
            "symbol": ["ESH4"] * n,
            "bar_start_ns": pa.array([t0 + i * 5_000_000_000 for i in range(n)], pa.int64()),
            **{c: pa.array([0] * n, pa.int64()) for c in _int_columns()},
            **{c: [NAN] * n for c in _float_columns()},
        }
    ).set_column(_float_index("bar5s_book_mid_px_eob", n), "bar5s_book_mid_px_eob", pa.array(mids))
    out = day_features(dt.date(2024, 1, 3), table, None, None, EpisodeParams(horizon_bars=5))
    ep = out.episodes.to_pylist()
    assert [(e["level_price"], e["direction"], e["touch_bar"]) for e in ep] == [(4800.0, 1, 33)]
    assert ep[0]["outcome"] == "bounce" and ep[0]["outcome_bars"] == 1  # 4804 - 4800 >= 4 one bar later
    assert ep[0]["decision_ns"] == t0 + 34 * 5_000_000_000
    vec = np.array(out.vectors.column("vector")[0].as_py())
    assert len(vec) == DIM
    k = len(BAR_FEATURES)
    # distance block: the last 12 bars' (mid - 4800) / reset_pts (4), oldest first
    expected = [(m - 4800.0) / 4.0 for m in mids[22:34]]
    np.testing.assert_allclose(vec[0 : LAST_BARS * k : k], expected, rtol=1e-6)
    sig = vec[LAST_BARS * k :]
    # signature: start (window of 36 bars: bar -2 is outside the day -> NaN -> 0), min, max distance / 4
    assert sig[0] == 0.0
    np.testing.assert_allclose(sig[1:3], [0.5 / 4.0, 12.0 / 4.0], rtol=1e-6)
    assert sig[-1] == 1.0  # direction
    np.testing.assert_allclose(sig[-2], 34 / WINDOW, rtol=1e-6)  # 34 bars with records in the window


def _int_columns():
    from mbp10.bar_columns import INT_COLUMNS

    return INT_COLUMNS


def _float_columns():
    from mbp10.bar_columns import FLOAT_COLUMNS

    return FLOAT_COLUMNS


def _float_index(name: str, n: int) -> int:
    return 3 + len(_int_columns()) + list(_float_columns()).index(name)


def _book(bid: float, ask: float) -> dict:
    return {"bid": [(bid, 10)], "ask": [(ask, 10)]}


def test_integrity_counters_and_flags_by_hand(tmp_path):
    s = 5_000_000_000
    rec = make_records(
        [
            {"ts": s + 1, "action": "A", "side": "B", "price": 100.0, "size": 10, "book": _book(100.0, 100.25)},
            {"ts": s + 2, "action": "A", "side": "A", "price": 99.75, "size": 10, "book": _book(100.0, 99.75)},
            {"ts": s + 3, "action": "A", "side": "A", "price": 100.0, "size": 10, "book": _book(100.0, 100.0)},
            {"ts": 2 * s + 1, "action": "C", "side": "A", "price": 100.0, "size": 10, "book": _book(100.0, 100.25)},
            {"ts": 2 * s + 2, "action": "A", "side": "B", "price": 99.0, "size": 1, "flags": 132,
             "book": _book(100.0, 100.25)},  # F_LAST | F_MAYBE_BAD_BOOK
        ]
    )  # fmt: skip
    rec["sequence"] = [10, 11, 9, 12, 13]  # one step back
    rec["ts_recv"][3] = rec["ts_recv"][2] - 5  # one ts_recv earlier than the record before it
    rec["instrument_id"] = 7
    path = tmp_path / "i.dbn"
    header = encode_metadata(dataset="GLBX.MDP3", symbol="ESH4", start_ns=0, end_ns=3 * s, instrument_id=7)
    write_dbn(path, header, rec)
    table, stats = day_bars(path)
    assert table.column("bar5s_flag_crossed_cnt_sum").to_pylist() == [1, 0]
    assert table.column("bar5s_flag_locked_cnt_sum").to_pylist() == [1, 0]
    assert stats.integrity["books_crossed_events"] == 1 and stats.integrity["books_locked_events"] == 1
    assert stats.integrity["sequence_backwards_records"] == 1
    assert stats.integrity["ts_recv_backwards_records"] == 1
    assert stats.integrity["maybe_bad_book_records"] == 1
    assert table.column("symbol").to_pylist() == ["ESH4", "ESH4"]


def test_prior_day_levels_end_at_an_early_close():
    """2023-11-24 (day after Thanksgiving): CME equity futures close at 13:00 New York (18:00 UTC); a 17:00
    UTC bar is regular hours, a 19:00 UTC one is not (its 4900 high is not the prior-day high)."""
    prev = bars(
        [
            (
                int(dt.datetime(2023, 11, 24, 15, tzinfo=dt.UTC).timestamp()) * 10**9,
                4560.0,
                4550.0,
                4555.0,
                4555.0,
            ),
            (
                int(dt.datetime(2023, 11, 24, 17, tzinfo=dt.UTC).timestamp()) * 10**9,
                4565.0,
                4552.0,
                4560.0,
                4560.0,
            ),
            (
                int(dt.datetime(2023, 11, 24, 19, tzinfo=dt.UTC).timestamp()) * 10**9,
                4900.0,
                4899.0,
                4899.0,
                4899.0,
            ),
        ]
    )
    lv = compute_levels(dt.date(2023, 11, 27), prev.slice(0, 0), prev, dt.date(2023, 11, 24)).to_pylist()
    got = {r["level_kind"]: r["level_price"] for r in lv}
    assert (got["pdh"], got["pdl"], got["pdc"]) == (4565.0, 4550.0, 4560.0)


@pytest.mark.shared
def test_real_es_file_crosses_only_in_the_pre_open():
    """The real ESH4 file (2023-12-25) has crossed consistent books only in CME's pre-open (17:39-17:59
    New York), none once the 18:00 session has opened: the flag marks auction books, not trading."""
    from .testdata import ES_REAL, shared_file

    table, stats = day_bars(shared_file(ES_REAL / "esh4-glbx-mdp3-20231225.mbp-10.derived.dbn.zst"))
    crossed = table.filter(pc.greater(table.column("bar5s_flag_crossed_cnt_sum"), 0))
    start = crossed.column("bar_start_ns").to_numpy()
    assert stats.integrity["books_crossed_events"] > 0 and len(start) > 0
    assert start.max() < utc_ns(2023, 12, 25, 23)  # 18:00 New York


def test_pandas_free_arrow_helpers_match_pyarrow():
    """`io.arrow_to_np` / `io.strings_to_arrow` (the bars path's pandas-free conversions) give what
    pyarrow's own `to_numpy` / `pa.array` give: sliced and chunked columns, nulls, non-ASCII, empty."""
    from mbp10.io import arrow_to_np, strings_to_arrow

    col = pa.chunked_array([pa.array([1, 2, 3], pa.int64()), pa.array([4, 5], pa.int64())])
    assert arrow_to_np(col).tolist() == [1, 2, 3, 4, 5]
    sliced = pa.array([0.5, 1.5, 2.5, 3.5]).slice(1, 2)
    assert arrow_to_np(sliced).tolist() == [1.5, 2.5]
    stamps = pa.array([7, 9], pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    assert (
        arrow_to_np(stamps).tolist() == [7, 9] and arrow_to_np(pa.array([], pa.uint32())).dtype == np.uint32
    )
    with pytest.raises(TypeError):
        arrow_to_np(pa.array([1, None]))
    values = ["ESH4", None, "", "ÉSM4-ESU4", None]
    built = strings_to_arrow(values)
    assert built.equals(pa.array(values, pa.string())) and built.null_count == 2
    assert strings_to_arrow([]).equals(pa.array([], pa.string()))


def test_prior_day_levels_without_regular_hours_use_that_session_only():
    """Good Friday 2024: the CME equity session ran 2024-03-28 22:00 to 03-29 13:15 UTC, before the 09:30 New
    York open, so its regular hours hold no bars. Monday's prior-day levels then come from that session's
    bars, not from the rest of the UTC-day file (its 14:00 and 23:00 UTC bars, 5000 and 4900, are no session's
    prices here)."""

    def at(hh: int, day: int = 29) -> int:
        return int(dt.datetime(2024, 3, day, hh, tzinfo=dt.UTC).timestamp()) * 10**9

    prev = bars(
        [
            (at(23, 28), 5250.0, 5240.0, 5245.0, 5245.0),
            (at(12), 5260.0, 5235.0, 5255.0, 5255.0),
            (at(14), 5000.0, 4990.0, 4995.0, 4995.0),
            (at(23), 4900.0, 4890.0, 4895.0, 4895.0),
        ]
    )
    lv = compute_levels(dt.date(2024, 4, 1), prev.slice(0, 0), prev, dt.date(2024, 3, 29)).to_pylist()
    got = {r["level_kind"]: r["level_price"] for r in lv}
    assert (got["pdh"], got["pdl"], got["pdc"]) == (5260.0, 5235.0, 5255.0)
