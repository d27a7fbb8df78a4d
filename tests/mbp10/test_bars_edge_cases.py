"""Edge cases of bar5s, pinned: empty levels, no trades, R mid-day, crossed books inside an event, a bar with
one record, fills vs cancels, and records out of ts order."""

from __future__ import annotations

import math

import numpy as np
from mbp10.bars import compute_bars
from mbp10.reference import bars_reference

from .test_bars_parity import assert_bars_equal, fast_bars
from .testdata import DATABENTO, make_records, shared_file

S = 1_000_000_000  # one second in ns
BOOK = {"bid": [(100.0, 10), (99.75, 20)], "ask": [(100.25, 5), (100.5, 30)]}


def both(records):
    fast, ref = fast_bars(records), bars_reference(records)
    assert_bars_equal(fast, ref)
    return fast.to_pydict()


def test_all_levels_empty():
    rec = make_records([{"ts": 10 * S, "action": "T", "side": "N", "price": 100.0, "size": 2}])
    bars = both(rec)
    assert bars["bar5s_trade_vol_sum"] == [2]
    assert math.isnan(bars["bar5s_book_bid_px_00_eob"][0])
    assert math.isnan(bars["bar5s_book_mid_px_eob"][0]) and math.isnan(bars["bar5s_depth_imbal_l1_eob"][0])
    assert bars["bar5s_depth_bid_l10_eob"] == [0]
    assert math.isnan(bars["bar5s_wall_bid_maxz_eob"][0]) and bars["bar5s_wall_bid_maxz_level_eob"] == [-1]


def test_brn_sample_all_levels_empty():
    from mbp10.dbn import read_dbn

    rec = read_dbn(shared_file(DATABENTO / "IFEU.IMPACT__test_data.mbp-10.dbn.zst")).records
    bars = both(rec)
    assert sum(bars["bar5s_trade_cnt_sum"]) == 4
    assert all(math.isnan(x) for x in bars["bar5s_book_mid_px_eob"])


def test_one_sided_book_and_empty_deep_levels():
    rec = make_records(
        [{"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 3, "book": {"bid": [(100.0, 3)]}}]
    )
    bars = both(rec)
    assert bars["bar5s_book_bid_px_00_eob"] == [100.0]
    assert math.isnan(bars["bar5s_book_ask_px_00_eob"][0]) and math.isnan(
        bars["bar5s_book_spread_pts_eob"][0]
    )
    assert bars["bar5s_depth_imbal_l1_eob"] == [1.0]


def test_day_with_no_trades(small_day):
    quiet = small_day[:12_000][small_day[:12_000]["action"] != b"T"]
    bars = both(quiet)
    assert sum(bars["bar5s_trade_cnt_sum"]) == 0 and sum(bars["bar5s_trade_vol_sum"]) == 0
    assert all(math.isnan(v) for v in bars["bar5s_trade_vwap"])
    assert sum(bars["bar5s_meta_fill_cnt_sum"]) == 0


def test_clear_mid_day(small_day, small_day_bars):
    fast, ref = small_day_bars
    assert_bars_equal(fast, ref)
    bars = fast.to_pydict()
    (row,) = [i for i, c in enumerate(bars["bar5s_meta_clear_cnt_sum"]) if c]
    assert 0 < row < len(bars["bar_start_ns"]) - 1
    r_ts = int(small_day["ts_event"][small_day["action"] == b"R"][0])
    assert bars["bar_start_ns"][row] == r_ts - r_ts % (5 * S)


def test_clear_empties_the_end_of_bar_book():
    rec = make_records(
        [
            {"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 10, "book": BOOK},
            {"ts": 6 * S, "action": "R", "book": {}},
        ]
    )
    bars = both(rec)
    assert bars["bar5s_book_mid_px_eob"][0] == 100.125
    assert math.isnan(bars["bar5s_book_mid_px_eob"][1]) and bars["bar5s_meta_clear_cnt_sum"] == [0, 1]


def test_crossed_book_inside_an_event_is_never_read():
    crossed = {"bid": [(100.5, 4), (100.0, 10)], "ask": [(100.25, 5)]}
    rec = make_records(
        [
            {"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 10, "book": BOOK},
            # a new bar whose only records are inside an unfinished event with a crossed book
            {"ts": 6 * S, "action": "A", "side": "B", "price": 100.5, "size": 4, "flags": 0, "book": crossed},
            {
                "ts": 11 * S,
                "action": "A",
                "side": "B",
                "price": 100.5,
                "size": 4,
                "flags": 0,
                "book": crossed,
            },
            {"ts": 11 * S, "action": "C", "side": "B", "price": 100.5, "size": 4, "flags": 130, "book": BOOK},
        ]
    )
    bars = both(rec)
    assert bars["bar5s_book_bid_px_00_eob"] == [100.0, 100.0, 100.0]
    assert bars["bar5s_book_ask_px_00_eob"] == [100.25, 100.25, 100.25]
    assert all(s > 0 for s in bars["bar5s_book_spread_pts_eob"])
    assert bars["bar5s_meta_event_cnt_sum"] == [1, 0, 1]


def test_a_bar_with_one_record():
    rec = make_records(
        [
            {"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 10, "book": BOOK},
            {"ts": 7 * S, "action": "T", "side": "B", "price": 100.25, "size": 2, "flags": 0, "book": BOOK},
        ]
    )
    bars = both(rec)
    assert bars["bar_start_ns"] == [0, 5 * S]
    assert bars["bar5s_meta_msg_cnt_sum"] == [1, 1]
    assert bars["bar5s_trade_vwap"][1] == bars["bar5s_trade_high_px"][1] == 100.25
    assert bars["bar5s_trade_aggbuy_vol_sum"] == [0, 2] and bars["bar5s_trade_signed_vol_sum"] == [0, 2]


def test_passive_fills_count_as_fills_not_cancels():
    after = {"bid": [(100.0, 10), (99.75, 20)], "ask": [(100.25, 2), (100.5, 30)]}
    after2 = {"bid": [(100.0, 10), (99.75, 20)], "ask": [(100.25, 1), (100.5, 30)]}
    rec = make_records(
        [
            {"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 10, "book": BOOK},
            {"ts": 2 * S, "action": "T", "side": "B", "price": 100.25, "size": 4, "flags": 0, "book": BOOK},
            {"ts": 2 * S, "action": "C", "side": "A", "price": 100.25, "size": 3, "flags": 0, "book": after},
            {
                "ts": 2 * S,
                "action": "M",
                "side": "A",
                "price": 100.25,
                "size": 2,
                "flags": 130,
                "book": after2,
            },
            # a genuine cancel after the event: same price, but the trade is consumed
            {
                "ts": 3 * S,
                "action": "C",
                "side": "A",
                "price": 100.25,
                "size": 1,
                "flags": 130,
                "book": {"bid": after["bid"], "ask": [(100.5, 30)]},
            },
        ]
    )
    bars = both(rec)
    assert bars["bar5s_meta_fill_cnt_sum"] == [2]
    assert bars["bar5s_trade_fill_vol_sum"] == [4]
    assert bars["bar5s_meta_cancel_cnt_sum"] == [1] and bars["bar5s_meta_modify_cnt_sum"] == [0]
    # net flow: +10 on the bid touch; -1 (the real cancel) on the ask touch; fills do not count
    assert bars["bar5s_flow_net_vol_ask_p0_1_sum"] == [-1]
    assert bars["bar5s_flow_net_vol_bid_p0_1_sum"] == [0]  # the first add precedes any consistent book


def test_flow_bands_measure_distance_from_the_touch():
    rows = [{"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 1, "book": BOOK}]
    for px, sz in ((99.0, 2), (98.5, 3), (97.0, 4), (95.0, 5), (89.0, 6), (100.5, 7)):
        rows.append({"ts": 2 * S, "action": "A", "side": "B", "price": px, "size": sz, "book": BOOK})
    bars = both(make_records(rows))
    got = [bars[f"bar5s_flow_net_vol_bid_{b}_sum"][0] for b in ("p0_1", "p1_2", "p2_3", "p3_5", "p5_10")]
    # 100.5 improves the touch (counted in p0_1); 89.0 is 11 points away (no band)
    assert got == [7, 2 + 3, 0, 4, 5]


def test_ofi_matches_the_definition():
    b2 = {"bid": [(100.0, 15), (99.75, 20)], "ask": [(100.25, 5), (100.5, 30)]}
    b3 = {"bid": [(100.0, 15), (99.75, 20)], "ask": [(100.5, 30)]}
    rec = make_records(
        [
            {"ts": 1 * S, "action": "A", "side": "B", "price": 100.0, "size": 10, "book": BOOK},
            {"ts": 2 * S, "action": "A", "side": "B", "price": 100.0, "size": 5, "book": b2},
            {"ts": 3 * S, "action": "C", "side": "A", "price": 100.25, "size": 5, "book": b3},
        ]
    )
    bars = both(rec)
    # e1 (bid size up 5) = +5; e2: ask moved up from 100.25 x5 to 100.5 x30 -> +5 at L1
    assert bars["bar5s_ofi_l1_sum"] == [10]


def test_out_of_order_records_are_sorted(small_day):
    part = small_day[:4_000].copy()
    part[[100, 2_000]] = part[[2_000, 100]]
    fast = fast_bars(part)
    assert_bars_equal(fast, bars_reference(part))
    # A swap inside one bar sorts back to the same bars as the ordered input, up to the event split.
    ordered = compute_bars(np.ascontiguousarray(small_day[:4_000]))
    np.testing.assert_array_equal(
        fast.column("bar5s_meta_msg_cnt_sum").to_numpy(), ordered.column("bar5s_meta_msg_cnt_sum").to_numpy()
    )
