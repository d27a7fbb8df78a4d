"""Edge cases of bar5s, pinned: empty levels, no trades, R mid-day, crossed books inside an event, a bar with
one record, fills vs cancels, and records out of ts order."""

from __future__ import annotations

import math

import numpy as np
from mbp10.bars import compute_bars
from mbp10.ofi import BOOK_WORDS, ofi_scalar, ofi_step
from mbp10.reference import bars_reference
from mbp10.schema import PRICE_SCALE, UNDEF_PRICE
from numba import njit

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


@njit(cache=True)
def _ofi_both_ways(w64, vector_book, scalar_book):
    out = np.empty((w64.shape[0], 4), np.int64)
    for i in range(w64.shape[0]):
        e1, e10 = ofi_step(w64, i, vector_book)
        s1, s10 = ofi_scalar(w64, i, scalar_book)
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = e1, e10, s1, s10
    return out


def test_ofi_vector_step_equals_the_scalar_loop():
    """The kernel's OFI step is a vector intrinsic on AVX2 targets and a scalar loop elsewhere (perfkit gate's
    generic target): both give the same OFI and keep the same book, on books with empty levels (UNDEF_PRICE),
    equal and crossing prices, sizes up to 2^32 - 1 and runs of unchanged levels."""
    rng = np.random.default_rng(7)
    n = 3_000
    w64 = np.zeros((n, 46), np.int64)
    prices = np.array([UNDEF_PRICE, 99 * PRICE_SCALE, 100 * PRICE_SCALE, 101 * PRICE_SCALE], np.int64)
    for k in range(10):
        bid, ask = rng.choice(prices, n), rng.choice(prices, n)
        sizes = rng.choice([0, 1, 7, 2**31, 2**32 - 1], (n, 2)).astype(np.uint64)
        same = rng.random(n) < 0.6  # most levels unchanged from the record before
        for i in np.flatnonzero(same)[1:]:
            bid[i], ask[i], sizes[i] = bid[i - 1], ask[i - 1], sizes[i - 1]
        w64[:, 6 + 4 * k], w64[:, 7 + 4 * k] = bid, ask
        w64[:, 8 + 4 * k] = (sizes[:, 0] | (sizes[:, 1] << np.uint64(32))).view(np.int64)
    vector_book, scalar_book = np.zeros(BOOK_WORDS, np.int64), np.zeros(BOOK_WORDS, np.int64)
    out = _ofi_both_ways(w64, vector_book, scalar_book)
    np.testing.assert_array_equal(out[:, :2], out[:, 2:])
    np.testing.assert_array_equal(vector_book, scalar_book)
    assert np.count_nonzero(out[:, 1]) > n // 2  # the OFI is not trivially zero
