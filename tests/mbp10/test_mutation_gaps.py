"""Cases the rest of the suite let through: each test here fails on a bug that survived every other mbp10
test in a mutation probe (session 2026-12-07/08, /work/brief/report-tests.md), and passes on the real code.

Inputs are typed in by hand; expected values come from docs/mbp10.md ("Integrity", `similar --as-of`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from mbp10.dbn import encode_metadata, write_dbn
from mbp10.pipeline import day_bars
from mbp10.vectors import nearest

from .test_point_in_time import library as vectors_library
from .testdata import make_records

F_LAST, F_BAD_TS_RECV = 128, 8  # DBN record flags


def _book(bid: float, ask: float) -> dict:
    return {"bid": [(bid, 5)], "ask": [(ask, 5)]}


def test_integrity_counts_steps_back_not_repeats_and_passes_on_bad_ts_recv(tmp_path):
    """docs/mbp10.md "Integrity": a `sequence` *below* the instrument's previous one and a `ts_recv` *earlier*
    than the record before count as steps back; equal values (several book updates of one venue message share
    its sequence and receive time) do not. A record flagged F_BAD_TS_RECV is counted."""
    s = 5_000_000_000
    rec = make_records(
        [
            {"ts": s + 1, "action": "A", "side": "B", "price": 100.0, "size": 1, "book": _book(100.0, 100.25)},
            {"ts": s + 2, "action": "A", "side": "B", "price": 99.75, "size": 1, "book": _book(100.0, 100.25)},
            {"ts": s + 3, "action": "A", "side": "A", "price": 100.5, "size": 1, "book": _book(100.0, 100.25),
             "flags": F_LAST | F_BAD_TS_RECV},
            {"ts": 2 * s + 1, "action": "C", "side": "A", "price": 100.5, "size": 1, "book": _book(100.0, 100.25)},
        ]
    )  # fmt: skip
    rec["sequence"] = [10, 11, 11, 12]  # a repeat, never a step back
    rec["ts_recv"][2] = rec["ts_recv"][1]  # the same receive time twice, never earlier
    rec["instrument_id"] = 7
    _, stats = day_bars(_dbn_file(tmp_path / "i.dbn", rec, 7, end_ns=3 * s))
    assert stats.integrity["sequence_backwards_records"] == 0
    assert stats.integrity["ts_recv_backwards_records"] == 0
    assert stats.integrity["bad_ts_recv_records"] == 1
    assert stats.integrity["maybe_bad_book_records"] == 0


def _dbn_file(path, rec, instrument_id: int, end_ns: int = 10**11):
    """``rec`` written to ``path`` as a GLBX.MDP3 ESH4 file whose metadata maps the symbol to ``instrument_id``."""
    metadata = encode_metadata(
        dataset="GLBX.MDP3", symbol="ESH4", start_ns=0, end_ns=end_ns, instrument_id=instrument_id
    )
    write_dbn(path, metadata, rec)
    return path


def _ns(day: int, hh: int, mm: int = 0) -> int:
    return int(dt.datetime(2024, 1, day, hh, mm, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def test_as_of_hides_an_outcome_known_only_after_the_as_of_time():
    """`similar --as-of T`: an outcome counts as known at T, not at the query's (later) decision time. The
    candidate was decided on the 2nd and its outcome became known at 10:00 on the 3rd; the query is decided
    at 15:00 on the 3rd. As of 09:00 on the 3rd that outcome was not known yet."""
    q = 2024010300000
    rows = [  # touch_id, date, decision, outcome, outcome known at, vector
        (q, "2024-01-03", _ns(3, 15), "break", _ns(3, 15, 5), [0.0, 0.0]),
        (2024010200000, "2024-01-02", _ns(2, 12), "bounce", _ns(3, 10), [1.0, 0.0]),
        (2024010200001, "2024-01-02", _ns(2, 13), "break", _ns(2, 13, 5), [2.0, 0.0]),
    ]
    library = vectors_library(rows)
    early = nearest(library, q, k=10, as_of_ns=_ns(3, 9)).to_pylist()
    assert [(h["touch_id"], h["outcome"], h["outcome_known"]) for h in early] == [
        (2024010200000, None, False),
        (2024010200001, "break", True),
    ]
    later = nearest(library, q, k=10, as_of_ns=_ns(3, 11)).to_pylist()
    assert [h["outcome"] for h in later] == ["bounce", "break"]


def _bars(vol: list[int], cnt: list[int]) -> pa.Table:
    return pa.table(
        {"bar5s_trade_vol_sum": pa.array(vol, pa.int64()), "bar5s_trade_cnt_sum": pa.array(cnt, pa.int64())}
    )


def test_front_month_is_the_outright_with_the_most_contracts_traded():
    """`--front-month` keeps "the one outright with the largest traded volume" (contracts, not trades; ties:
    the lower instrument id); a calendar spread is never the front month however much it trades."""
    from mbp10.bars import front_month
    from mbp10.symbology import SymbolMap

    symmap = SymbolMap({1: [(0, 99999, "ESH4")], 2: [(0, 99999, "ESM4")], 3: [(0, 99999, "ESH4-ESM4")],
                        4: [(0, 99999, "NQH4")], 5: [(0, 99999, "NQM4")]})  # fmt: skip
    tables = {1: _bars([5, 5], [10, 10]), 2: _bars([30], [3]), 3: _bars([100], [50])}
    assert front_month(symmap, tables) == 2  # most contracts; ESH4 has more trades, the spread more of both
    assert front_month(symmap, {4: _bars([7], [1]), 5: _bars([7], [1])}) == 4  # a tie: the lower id


def test_an_outcome_is_known_when_its_bar_ends_a_chop_when_the_horizon_has_passed():
    """Point in time (docs/mbp10.md): a touch is decided when its bar ends; a bounce or break is known when the
    bar that shows it ends, a chop only once the whole horizon has passed. Bars by hand, as in test_values'
    vector case: far above 4800, then a touch at bar 33; a bounce or a break at bar 34, or a chop over 5 bars."""
    from mbp10.episodes import EpisodeParams
    from mbp10.pipeline import day_features

    from .test_values import NAN, _float_columns, _float_index, _int_columns, utc

    t0, bar = utc(3, 16), 5_000_000_000

    def episode(mids):
        n = len(mids)
        table = pa.table(
            {
                "instrument_id": pa.array([1] * n, pa.uint32()),
                "symbol": ["ESH4"] * n,
                "bar_start_ns": pa.array([t0 + i * bar for i in range(n)], pa.int64()),
                **{c: pa.array([0] * n, pa.int64()) for c in _int_columns()},
                **{c: [NAN] * n for c in _float_columns()},
            }
        ).set_column(_float_index("bar5s_book_mid_px_eob", n), "bar5s_book_mid_px_eob", pa.array(mids))
        out = day_features(dt.date(2024, 1, 3), table, None, None, EpisodeParams(horizon_bars=5))
        (ep,) = out.episodes.to_pylist()
        return ep

    approach = [4812.0] * 30 + [4808.0, 4805.0, 4802.0, 4800.5]  # the touch: bar 33, decided at its end
    bounce = episode([*approach, 4804.0])
    assert (bounce["outcome"], bounce["touch_bar"]) == ("bounce", 33)
    assert bounce["decision_ns"] == t0 + 34 * bar
    assert bounce["outcome_known_ns"] == t0 + 35 * bar  # bar 34 shows the bounce; it ends at 35
    brk = episode([*approach, 4798.0])  # exactly break_pts (2) through the level: a break
    assert (brk["outcome"], brk["outcome_bars"], brk["outcome_known_ns"]) == ("break", 1, t0 + 35 * bar)
    chop = episode([*approach, *[4801.0] * 6])
    assert chop["outcome"] == "chop"
    assert chop["outcome_known_ns"] == t0 + (34 + 5) * bar


def test_a_stream_cut_inside_its_checksum_is_refused(tmp_path):
    """docs/mbp10.md "Integrity": a zstd frame without its last block *or checksum* is a cut file (exit 2). A
    frame written with a checksum and cut 2 bytes short of its end is such a file; the whole frame passes."""
    import pytest
    import zstandard
    from mbp10.dbn import check_zstd_frames
    from mbp10.errors import Mbp10Error

    whole = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(b"mbp10 day bytes " * 500)
    (tmp_path / "whole.dbn.zst").write_bytes(whole)
    assert check_zstd_frames(tmp_path / "whole.dbn.zst") == 1
    (tmp_path / "cut.dbn.zst").write_bytes(whole[:-2])
    with pytest.raises(Mbp10Error, match="truncated or corrupt zstd stream"):
        check_zstd_frames(tmp_path / "cut.dbn.zst")


def test_level_windows_at_their_exact_boundaries():
    """Which 5-s bar belongs to which level window, at the edges (2024-01-02/03, EST = UTC-5): the overnight
    range ends with the bar that *ends* at 09:30 ET (its high/low are known at the open, when the level
    starts to hold); the 09:30:00 bar is the opening range's first, the 09:59:55 bar its last, the 10:00 bar is
    in neither. The prior day's regular hours are 09:30 <= bar start < 16:00 ET: its close is the 15:59:55 bar's
    last trade."""
    from mbp10.levels import compute_levels

    from .test_values import bars, utc

    s = 5_000_000_000
    prev = bars(
        [
            (utc(2, 14, 30) - s, 4900.0, 4700.0, 4800.0, 4800.0),  # 09:29:55 ET: before regular hours
            (utc(2, 14, 30), 4810.0, 4795.0, 4800.0, 4800.0),
            (utc(2, 21) - s, 4850.0, 4840.0, 4845.0, 4845.0),  # 15:59:55 ET: the last regular bar
            (utc(2, 21), 4950.0, 4650.0, 4900.0, 4900.0),  # 16:00 ET: after the close
        ]
    )
    today = bars(
        [
            (utc(3, 14, 30) - s, 4805.0, 4795.0, 4800.0, 4800.0),  # 09:29:55 ET: ends at the open
            (utc(3, 14, 30), 4820.0, 4790.0, 4810.0, 4810.0),  # 09:30:00 ET: opening range
            (utc(3, 15) - s, 4825.0, 4815.0, 4820.0, 4820.0),  # 09:59:55 ET: ends at 10:00
            (utc(3, 15), 4840.0, 4780.0, 4830.0, 4830.0),  # 10:00 ET: neither
        ]
    )
    lv = compute_levels(dt.date(2024, 1, 3), today, prev, dt.date(2024, 1, 2)).to_pylist()
    got = {r["level_kind"]: (r["level_price"], r["valid_from_ns"]) for r in lv if r["level_kind"] != "round"}
    d0 = utc(3, 0)
    assert got == {
        "pdh": (4850.0, d0),
        "pdl": (4795.0, d0),
        "pdc": (4845.0, d0),
        "onh": (4805.0, utc(3, 14, 30)),
        "onl": (4795.0, utc(3, 14, 30)),
        "orh": (4825.0, utc(3, 15)),
        "orl": (4790.0, utc(3, 15)),
    }


def test_a_disordered_file_is_sorted_stably_records_of_one_instant_keep_their_file_order(tmp_path):
    """docs/mbp10.md "Integrity": records out of ts_event order are sorted *stably*, so records sharing a
    ts_event (one venue message's updates) keep their file order, as the per-record reference does: the last
    book of the instant is the file's last. 900 records, three per instant, one record moved earlier (which
    sends the whole file through the sort); bars must equal the reference's."""
    from mbp10.reference import bars_reference

    from .test_bars_parity import assert_bars_equal

    rows = []
    for i in range(900):
        bid = 4800.0 + 0.25 * ((i * 7) % 13)
        rows.append({"ts": 1_000_000_000 + (i // 3) * 50_000_000, "action": "T" if i % 5 == 0 else "A",
                     "side": "B" if i % 2 else "A", "price": bid + 0.25 * (i % 3), "size": 1 + i % 4,
                     "book": {"bid": [(bid, 1 + i % 9)], "ask": [(bid + 0.25 + 0.25 * (i % 2), 2 + i % 5)]}})  # fmt: skip
    rows[400]["ts"] = rows[10]["ts"]  # one record out of order
    rec = make_records(rows)
    rec["instrument_id"] = 7
    rec["sequence"] = np.arange(len(rec))
    table, stats = day_bars(_dbn_file(tmp_path / "d.dbn", rec, 7))
    assert stats.out_of_order == 1
    assert_bars_equal(table, bars_reference(rec))


def test_out_of_order_counts_records_disordered_within_their_own_instrument(tmp_path):
    """`out_of_order_records` counts records out of ts_event order *within their instrument*: two instruments
    interleaved by receive time may disagree on ts_event order without either being disordered. Here the
    second instrument's stamps trail the first's by 1 ms throughout, and one record of the first is moved back."""
    rows = []
    for i in range(40):
        t = 1_000_000_000 + i * 100_000_000
        for iid, ts in ((1, t), (2, t - 1_000_000)):
            rows.append({"ts": ts, "action": "A", "side": "B", "price": 4800.0, "size": 1, "iid": iid,
                         "book": {"bid": [(4800.0, 1)], "ask": [(4800.25, 1)]}})  # fmt: skip
    rows[20]["ts"] = rows[2]["ts"]  # instrument 1's 11th record stamped as its 2nd: the one disorder
    rec = make_records(rows)
    rec["instrument_id"] = [r["iid"] for r in rows]
    _, stats = day_bars(_dbn_file(tmp_path / "two.dbn", rec, 1))
    assert stats.out_of_order == 1


def test_run_uses_the_episode_parameters_it_is_given(tmp_path):
    """`mbp10 run` with episode parameters (closer approach/reset bands, 0.5-point break/bounce, a 2-bar horizon)
    uses them: on this synthetic pair of days they give touches decided within 2 bars, where the defaults give
    no touch at all."""
    import pyarrow.parquet as pq
    from mbp10.synth import synth_day, synth_header

    from .test_cli import invoke

    days = tmp_path / "days"
    days.mkdir()
    for day in (2, 3):
        date = dt.date(2024, 1, day)
        write_dbn(days / f"ES-{date:%Y%m%d}.dbn.zst", synth_header(date), synth_day(date, 20_000, seed=11))
    r = invoke("run", "--input-dir", days, "--dates", "2024-01-02..2024-01-03", "--executor", "serial",
               "--approach-pts", "2", "--reset-pts", "2.5", "--break-pts", "0.5", "--bounce-pts", "0.5",
               "--horizon-bars", "2", "--out", tmp_path / "out", "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    ep = pq.read_table(tmp_path / "out" / "silver" / "episodes").to_pydict()
    assert ep["outcome_bars"] and set(ep["outcome_bars"]) <= {-1, 1, 2}


def test_similar_returns_k_neighbours(tmp_path):
    """`mbp10 similar --k 1` lists the one nearest setup, not the default ten (the library of
    test_point_in_time: two candidates before the query's session)."""
    import json

    import pyarrow.parquet as pq

    from .test_cli import invoke
    from .test_point_in_time import Q, library

    pq.write_table(library(), tmp_path / "v.parquet")
    r = invoke("similar", "--vectors", tmp_path / "v.parquet", "--touch-id", Q, "--k", 1, "--json")
    assert r.exit_code == 0, r.output
    assert [h["touch_id"] for h in json.loads(r.output)["neighbours"]] == [2024010200000]
