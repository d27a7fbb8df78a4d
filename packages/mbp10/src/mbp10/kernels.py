"""The bar5s kernel: one pass over MBP-10 records -> per-bar features (pure: no I/O).

The kernel reads the records as they lie in a DBN stream: three views of one contiguous block of 368-byte
MBP-10 records (int64 words, uint32 words, bytes; offsets in `schema.MBP10_DTYPE`), so a decompressed block
is processed in place. Records arrive in chunks (a streaming DBN decode hands over one block at a time); all
cross-record state lives in small arrays the caller keeps between calls, so the output does not depend on
where chunks split. Definitions of every feature: docs/mbp10/features.md; the per-record Python twin is
`mbp10.reference.bars_reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mbp10.bar_columns import (
    F_ASK0,
    F_BID0,
    F_FIRST,
    F_HIGH,
    F_IMB1,
    F_IMB10,
    F_LASTPX,
    F_LOW,
    F_MICRO,
    F_MID,
    F_SPREAD,
    F_VWAP,
    F_WALL_ASK,
    F_WALL_BID,
    I_ADD,
    I_AGGBUY,
    I_AGGSELL,
    I_ASK_L1,
    I_ASK_L5,
    I_ASK_L10,
    I_BID_L1,
    I_BID_L5,
    I_BID_L10,
    I_CANCEL,
    I_CLEAR,
    I_CROSSED,
    I_EVENT,
    I_FILL,
    I_FILL_VOL,
    I_FLOW_ASK,
    I_FLOW_BID,
    I_LOCKED,
    I_MODIFY,
    I_MSG,
    I_OFI1,
    I_OFI10,
    I_TRADE_CNT,
    I_TRADE_SIGNED,
    I_TRADE_VOL,
    I_WALL_ASK_LVL,
    I_WALL_BID_LVL,
    NF,
    NI,
)
from mbp10.ofi import BOOK_ASK, BOOK_BID, BOOK_SIZES, BOOK_WORDS, ofi
from mbp10.schema import (
    ACT_ADD,
    ACT_CANCEL,
    ACT_CLEAR,
    ACT_MODIFY,
    ACT_TRADE,
    BAR_NS,
    F_BAD_TS_RECV,
    F_LAST,
    F_MAYBE_BAD_BOOK,
    N_BANDS,
    N_LEVELS,
    PRICE_SCALE,
    RECORD_LENGTH_WORDS,
    RTYPE_MBP10,
    SIDE_ASK,
    SIDE_BID,
    SIDE_NONE,
    UNDEF_PRICE,
)
from perfkit import numba_cache

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["mbp10.bar_columns", "mbp10.ofi", "mbp10.schema"])

#: Pending trades remembered inside one event while their passive fills arrive.
MAX_PENDING = 16
BAND_HI = (1 * PRICE_SCALE, 2 * PRICE_SCALE, 3 * PRICE_SCALE, 5 * PRICE_SCALE, 10 * PRICE_SCALE)

# Indices into the int64 state vector.
S_CUR_BAR = 0  # bar id (ts_event // BAR_NS) of the open row, or -1
S_NOUT = 1  # rows written (the open row included)
S_HAVE_LB = 2  # 1 once an F_LAST book was seen
S_NPEND = 3  # pending trades in the current event
S_HAVE_PREV = 4  # 1 once any record was seen (prev-record book valid)
S_SIZE = 5


def new_output(capacity):
    """`bar5s_multi`'s output for `capacity` rows: bar start ns, integer features (0), float features (NaN)."""
    return np.zeros(capacity, np.int64), np.zeros((capacity, NI), np.int64), np.full((capacity, NF), np.nan)


@njit(cache=True, inline="always")
def _size_at(px_row, sz_row, price):
    for k in range(N_LEVELS):
        if px_row[k] == price:
            return sz_row[k]
    return 0


@njit(cache=True)
def _wall(px, sz):
    """(max z-score of the non-empty level sizes, its 0-based level) or (nan, -1)."""
    n = 0
    s = 0.0
    for k in range(N_LEVELS):
        if px[k] != UNDEF_PRICE:
            n += 1
            s += sz[k]
    if n < 2:
        return np.nan, -1
    mean = s / n
    v = 0.0
    for k in range(N_LEVELS):
        if px[k] != UNDEF_PRICE:
            d = sz[k] - mean
            v += d * d
    v /= n
    if v <= 0.0:
        return np.nan, -1
    sd = np.sqrt(v)
    best = -np.inf
    lvl = -1
    for k in range(N_LEVELS):
        if px[k] != UNDEF_PRICE:
            z = (sz[k] - mean) / sd
            if z > best:
                best = z
                lvl = k
    return best, lvl


@njit(cache=True)
def _unpack_book(lbw, lb):
    """The last F_LAST book as `ofi_step` keeps it (lbw) -> the rows _close_bar reads (lb)."""
    for k in range(N_LEVELS):
        lb[0, k] = lbw[BOOK_BID + k]
        lb[1, k] = lbw[BOOK_ASK + k]
        lb[2, k] = lbw[BOOK_SIZES + k] & 0xFFFFFFFF
        lb[3, k] = (lbw[BOOK_SIZES + k] >> 32) & 0xFFFFFFFF


@njit(cache=True)
def _close_bar(row, lb, have_lb, oi, of):
    """Write the end-of-bar book features of row from the last F_LAST book."""
    if have_lb == 0:
        oi[row, I_WALL_BID_LVL] = -1
        oi[row, I_WALL_ASK_LVL] = -1
        return
    bpx = lb[0, 0]
    apx = lb[1, 0]
    bsz = lb[2, 0]
    asz = lb[3, 0]
    d5b = 0
    d10b = 0
    d5a = 0
    d10a = 0
    for k in range(N_LEVELS):
        d10b += lb[2, k]
        d10a += lb[3, k]
        if k < 5:
            d5b += lb[2, k]
            d5a += lb[3, k]
    oi[row, I_BID_L1] = bsz
    oi[row, I_ASK_L1] = asz
    oi[row, I_BID_L5] = d5b
    oi[row, I_BID_L10] = d10b
    oi[row, I_ASK_L5] = d5a
    oi[row, I_ASK_L10] = d10a
    if bpx != UNDEF_PRICE:
        of[row, F_BID0] = bpx / PRICE_SCALE
    if apx != UNDEF_PRICE:
        of[row, F_ASK0] = apx / PRICE_SCALE
    if bpx != UNDEF_PRICE and apx != UNDEF_PRICE:
        b = bpx / PRICE_SCALE
        a = apx / PRICE_SCALE
        of[row, F_SPREAD] = a - b
        of[row, F_MID] = 0.5 * (a + b)
        if bsz + asz > 0:
            of[row, F_MICRO] = (b * asz + a * bsz) / (bsz + asz)
    if bsz + asz > 0:
        of[row, F_IMB1] = (bsz - asz) / (bsz + asz)
    if d10b + d10a > 0:
        of[row, F_IMB10] = (d10b - d10a) / (d10b + d10a)
    z, lvl = _wall(lb[0], lb[2])
    of[row, F_WALL_BID] = z
    oi[row, I_WALL_BID_LVL] = lvl
    z, lvl = _wall(lb[1], lb[3])
    of[row, F_WALL_ASK] = z
    oi[row, I_WALL_ASK_LVL] = lvl


def new_slot_state(k):
    """Fresh state of `k` instruments (`bar5s_multi`), one row each: (st int64[k, S_SIZE]: the scalars below
    `S_SIZE`, st[:, S_NOUT] the instrument's open row in the output + 1 (0: none); lbw int64[k, BOOK_WORDS]:
    the last F_LAST book as `mbp10.ofi` keeps it (bid prices, ask prices, size words bid_sz | ask_sz << 32, 16
    lanes each; always current), unpacked when a bar closes on it; pb int64[k, 4, 10]: the book of the
    instrument's last record in the blocks before (rows bid_px, ask_px, bid_sz, ask_sz); pend int64[k, 3,
    MAX_PENDING]: the pending trades of the current event)."""
    st = np.zeros((k, S_SIZE), np.int64)
    st[:, S_CUR_BAR] = -1
    return (
        st,
        np.zeros((k, BOOK_WORDS), np.int64),
        np.zeros((k, 4, N_LEVELS), np.int64),
        np.zeros((k, 3, MAX_PENDING), np.int64),
    )


@njit(cache=True, inline="always")
def _park(st, cur, row, have_lb, npend):
    """Keep one instrument's scalars in its state row while `bar5s_multi` works on another."""
    st[S_CUR_BAR] = cur
    st[S_NOUT] = row + 1
    st[S_HAVE_LB] = have_lb
    st[S_NPEND] = npend


@njit(cache=True, nogil=True)
def bar5s_multi(w64, w32, b8, start, slot, keep, ip, st, lbw, pb, pend, nout, bar_start, row_slot, oi, of):
    """Fold a block of records (continuing the blocks before) into the bar rows of their instruments, in one
    pass in record order: each record goes to its instrument's state (one row of each per-instrument array)
    and its instrument's open bar row. Rows of all instruments share one output, each tagged with its
    instrument (`row_slot`), in the order they open. One instrument (`compute_bars`) is the case of one slot.

    Parameters
    ----------
    w64, w32, b8 : int64 (n, 46), uint32 (n, 92), uint8 (n, 368) views of one contiguous block of MBP-10
        records; each instrument's records in ts_event order. Fields: ts_event w64[:, 1], price w64[:, 2],
        size w32[:, 6], action b8[:, 28], side b8[:, 29], flags b8[:, 30]; level k: bid_px w64[:, 6+4k],
        ask_px w64[:, 7+4k], bid_sz w32[:, 16+8k], ask_sz w32[:, 17+8k] (the pair of sizes is the int64 word
        w64[:, 8+4k]).
    start : the record to start at (0, or where a call before stopped for room).
    slot : int64 (n,) each record's instrument slot in the file (`block_facts`).
    keep : int64 (m,) per file slot, its index k in the state arrays, or -1 (not computed: skipped).
    ip : int64 (K,) row of each instrument's previous record in this block; -1 at the start of a block.
    st, lbw, pb, pend : per-instrument state from `new_slot_state(K)` (updated in place).
    nout : int64 (1,) rows used in the output (updated).
    bar_start, row_slot : int64 (cap,), oi : int64 (cap, NI), of : float64 (cap, NF, NaN at the start): out.

    Returns the record it stopped at: n when the block is done, else the output is full (grow it and call
    again from there). Each instrument's last row stays open (closed by `bar5s_multi_finish`).
    """
    n = w64.shape[0]
    cap = bar_start.shape[0]
    r = nout[0]
    lb = np.empty((4, N_LEVELS), np.int64)  # scratch: the book a bar closes on
    ins = -1  # the instrument (state index) whose scalars are in the locals below
    cur = np.int64(-1)
    row = np.int64(-1)
    have_lb = np.int64(0)
    npend = np.int64(0)
    have_prev = np.int64(0)
    pi = np.int64(-1)
    lo = np.int64(1)
    hi = np.int64(0)
    i = start
    while i < n:
        kk = keep[slot[i]]
        if kk < 0:
            i += 1
            continue
        if kk != ins:  # another instrument: park this one's scalars, take up the other's
            if ins >= 0:
                _park(st[ins], cur, row, have_lb, npend)
                ip[ins] = pi
            ins = kk
            cur, row, have_lb = st[ins, S_CUR_BAR], st[ins, S_NOUT] - 1, st[ins, S_HAVE_LB]
            npend, have_prev, pi = st[ins, S_NPEND], st[ins, S_HAVE_PREV], ip[ins]
            lo = cur * BAR_NS if cur >= 0 else np.int64(1)
            hi = lo + BAR_NS if cur >= 0 else np.int64(0)
        t = w64[i, 1]
        if t >= hi or t < lo:
            if r == cap:
                break  # no room for the row this record opens
            b = t // BAR_NS
            if row >= 0:
                _unpack_book(lbw[ins], lb)
                _close_bar(row, lb, have_lb, oi, of)
            row = r
            r += 1
            row_slot[row] = ins
            cur = b
            lo = b * BAR_NS
            hi = lo + BAR_NS
            bar_start[row] = lo
        a = b8[i, 28]
        s = b8[i, 29]
        p = w64[i, 2]
        q = np.int64(w32[i, 6])
        oi[row, I_MSG] += 1
        if a == ACT_TRADE:
            oi[row, I_TRADE_CNT] += 1
            oi[row, I_TRADE_VOL] += q
            if s == SIDE_BID:
                oi[row, I_TRADE_SIGNED] += q
                oi[row, I_AGGBUY] += q
                ps = SIDE_ASK
            elif s == SIDE_ASK:
                oi[row, I_TRADE_SIGNED] -= q
                oi[row, I_AGGSELL] += q
                ps = SIDE_BID
            else:
                ps = SIDE_NONE
            px = p / PRICE_SCALE
            if np.isnan(of[row, F_FIRST]):
                of[row, F_FIRST] = px
                of[row, F_HIGH] = px
                of[row, F_LOW] = px
                of[row, F_VWAP] = 0.0
            of[row, F_HIGH] = max(of[row, F_HIGH], px)
            of[row, F_LOW] = min(of[row, F_LOW], px)
            of[row, F_LASTPX] = px
            of[row, F_VWAP] += px * q
            # Remember the trade so the passive fills that follow in this event are not read as cancels.
            found = False
            for k in range(npend):
                if pend[ins, 0, k] == p and pend[ins, 1, k] == ps:
                    pend[ins, 2, k] += q
                    found = True
                    break
            if not found and npend < MAX_PENDING:
                pend[ins, 0, npend] = p
                pend[ins, 1, npend] = ps
                pend[ins, 2, npend] = q
                npend += 1
        elif a in (ACT_ADD, ACT_CANCEL, ACT_MODIFY):
            if a == ACT_ADD:
                oi[row, I_ADD] += 1
                net = q
            else:
                # Change of displayed size at this price (an M carries the order's new size, not a delta).
                # Bid levels are words 6+4k / sizes 16+8k; ask levels 7+4k / 17+8k.
                px0 = 6 if s == SIDE_BID else 7
                sz0 = 16 if s == SIDE_BID else 17
                after = np.int64(0)
                before = np.int64(0)
                for k in range(N_LEVELS):
                    if w64[i, px0 + 4 * k] == p:
                        after = np.int64(w32[i, sz0 + 8 * k])
                        break
                if pi >= 0:
                    for k in range(N_LEVELS):
                        if w64[pi, px0 + 4 * k] == p:
                            before = np.int64(w32[pi, sz0 + 8 * k])
                            break
                elif have_prev == 1:
                    before = _size_at(pb[ins, px0 - 6], pb[ins, sz0 - 14], p)
                net = -q if a == ACT_CANCEL else after - before
                fill = -1
                for k in range(npend):
                    if (
                        pend[ins, 0, k] == p
                        and pend[ins, 2, k] > 0
                        and (pend[ins, 1, k] == s or pend[ins, 1, k] == SIDE_NONE)
                    ):
                        fill = k
                        break
                if fill >= 0:
                    fq = q if a == ACT_CANCEL else max(before - after, np.int64(0))
                    pend[ins, 2, fill] = max(pend[ins, 2, fill] - fq, np.int64(0))
                    oi[row, I_FILL] += 1
                    oi[row, I_FILL_VOL] += fq
                    net = 0
                    s = SIDE_NONE  # fills are executions: no net-flow attribution
                elif a == ACT_CANCEL:
                    oi[row, I_CANCEL] += 1
                else:
                    oi[row, I_MODIFY] += 1
            if have_lb == 1 and (s in (SIDE_BID, SIDE_ASK)) and p != UNDEF_PRICE:
                touch = lbw[ins, BOOK_BID] if s == SIDE_BID else lbw[ins, BOOK_ASK]
                if touch != UNDEF_PRICE:
                    dist = (touch - p) if s == SIDE_BID else (p - touch)
                    base = I_FLOW_BID if s == SIDE_BID else I_FLOW_ASK
                    for k in range(N_BANDS):
                        if dist < BAND_HI[k]:
                            oi[row, base + k] += net
                            break
        elif a == ACT_CLEAR:
            oi[row, I_CLEAR] += 1
            npend = 0
        if b8[i, 30] & F_LAST:
            oi[row, I_EVENT] += 1
            npend = 0
            # Order-flow imbalance (Cont, Kukanov & Stoikov 2014) against the last consistent book, all 10
            # levels at once (mbp10.ofi: one vector step on AVX2 targets); lbw[ins] becomes this record's book.
            e1, e10 = ofi(w64, i, lbw[ins])
            if have_lb == 1:
                oi[row, I_OFI1] += e1
                oi[row, I_OFI10] += e10
            have_lb = 1
            if lbw[ins, BOOK_BID] != UNDEF_PRICE and lbw[ins, BOOK_ASK] != UNDEF_PRICE:
                if lbw[ins, BOOK_BID] > lbw[ins, BOOK_ASK]:
                    oi[row, I_CROSSED] += 1
                elif lbw[ins, BOOK_BID] == lbw[ins, BOOK_ASK]:
                    oi[row, I_LOCKED] += 1
        pi = i
        i += 1
    if ins >= 0:
        _park(st[ins], cur, row, have_lb, npend)
        ip[ins] = pi
    nout[0] = r
    if i == n:  # each instrument's last record's book: the previous book of its first in the next block
        for k in range(ip.shape[0]):
            j = ip[k]
            if j >= 0:
                for q in range(N_LEVELS):
                    pb[k, 0, q] = w64[j, 6 + 4 * q]
                    pb[k, 1, q] = w64[j, 7 + 4 * q]
                    pb[k, 2, q] = w32[j, 16 + 8 * q]
                    pb[k, 3, q] = w32[j, 17 + 8 * q]
                st[k, S_HAVE_PREV] = 1
    return i


@njit(cache=True)
def bar5s_multi_finish(st, lbw, nout, oi, of):
    """The end of `bar5s_multi`'s rows: close each instrument's open row (its end-of-bar book), VWAP
    numerators to prices for the rows in the output; returns their number."""
    lb = np.empty((4, N_LEVELS), np.int64)
    for k in range(st.shape[0]):
        row = st[k, S_NOUT] - 1
        if row >= 0:
            _unpack_book(lbw[k], lb)
            _close_bar(row, lb, st[k, S_HAVE_LB], oi, of)
    for r in range(nout[0]):
        v = oi[r, I_TRADE_VOL]
        if v > 0:
            of[r, F_VWAP] = of[r, F_VWAP] / v
        else:
            of[r, F_VWAP] = np.nan
    return nout[0]


@njit(cache=True, nogil=True)
def closed_rows(st, nout, row_slot, oi, of, final):
    """The rows of `bar5s_multi`'s output that are final, by instrument: every row but each instrument's
    open one (all of them when `final`: after `bar5s_multi_finish`). Turns their VWAP numerators into prices
    (as `bar5s_multi_finish`; not when `final`, where it did). Returns (rows grouped by instrument, each
    one's in output order = time order; rows per instrument)."""
    k = st.shape[0]
    n = nout[0]
    counts = np.zeros(k, np.int64)
    is_open = np.zeros(n, np.bool_)
    if not final:
        for s in range(k):
            r = st[s, S_NOUT] - 1
            if r >= 0:
                is_open[r] = True
    for r in range(n):
        if not is_open[r]:
            counts[row_slot[r]] += 1
            if not final:
                v = oi[r, I_TRADE_VOL]
                of[r, F_VWAP] = of[r, F_VWAP] / v if v > 0 else np.nan
    at = np.zeros(k, np.int64)
    for s in range(1, k):
        at[s] = at[s - 1] + counts[s - 1]
    order = np.empty(n - np.sum(is_open), np.int64)
    for r in range(n):
        if not is_open[r]:
            s = row_slot[r]
            order[at[s]] = r
            at[s] += 1
    return order, counts


@njit(cache=True, nogil=True)
def take_rows(rows, bar_start, oi, of, to_start, to_i, to_f, at):
    """Copy output rows `rows` of `bar_start`/`oi`/`of` (rows) into columns `to_start`/`to_i`/`to_f` (column
    arrays: one row per feature, as Arrow wraps them) from position `at` on: a transposing gather."""
    for p in range(rows.shape[0]):
        r = rows[p]
        q = at + p
        to_start[q] = bar_start[r]
        for j in range(oi.shape[1]):
            to_i[j, q] = oi[r, j]
        for j in range(of.shape[1]):
            to_f[j, q] = of[r, j]


@njit(cache=True, nogil=True)
def keep_open_rows(st, nout, bar_start, row_slot, oi, of):
    """After `closed_rows`' rows are taken: move each instrument's open row to the front of the output (in
    output order), renumber it in the state, and clear the rows freed (0, NaN: as `new_output`)."""
    n = nout[0]
    m = 0
    for r in range(n):
        s = row_slot[r]
        if st[s, S_NOUT] - 1 == r:  # the open row of its instrument
            if m != r:
                bar_start[m] = bar_start[r]
                row_slot[m] = s
                oi[m] = oi[r]
                of[m] = of[r]
            st[s, S_NOUT] = m + 1
            m += 1
    for r in range(m, n):
        oi[r] = 0
        of[r] = np.nan
    nout[0] = m


# Indices into `block_facts`'s result.
BF_RECV_BACK = 0  # records whose ts_recv is below the record before them (the previous block's last too)
BF_MAYBE_BAD_BOOK = 1
BF_BAD_TS_RECV = 2
BF_LAST_RECV = 3
BF_BAD_RECORD = 4  # index of the first record that is not MBP-10 (rtype 0x0a, length 92 words), or -1
BF_COUNT = 5  # instruments known (slots numbered) after this block
BF_OUT_OF_ORDER = 6  # first record whose ts_event is below its instrument's record before it, or -1
BF_SEQ_BACK = 7  # records whose sequence is below their instrument's record before them
BF_SPAN_FIRST = 8  # the first and last ts_event of the instrument spanning the most time in the block
BF_SPAN_LAST = 9
BF_SIZE = 10


@njit(cache=True, nogil=True)
def block_facts(w64, w32, b8, last_recv, ids, last_ts, last_seq, m, slot):
    """One pass over the record headers of a block (the first 48 bytes of each record): record type and
    length, the integrity counts, and each record's instrument as a dense slot, numbered in order of first
    appearance in the file, checked against its instrument's record before it (in this block or an earlier
    one).

    last_recv : the previous block's last ts_recv (int64 min for the first).
    ids : uint32 (cap,) instrument_id of each slot; ids[:m] are known before this block, new ones are
        appended (the caller keeps room for one per record of the block).
    last_ts, last_seq : int64 (cap,) each slot's last ts_event and sequence (updated in place).
    slot : int64 (n,) out: each record's slot.

    Returns int64[BF_SIZE] (indices BF_*). A record out of ts_event order within its instrument does not stop
    the pass (every record's type is still checked); the caller then drops the block's slots and counts.
    """
    out = np.zeros(BF_SIZE, np.int64)
    n = w64.shape[0]
    first = np.full(ids.shape[0], -1, np.int64)  # each slot's first record in this block, or -1
    recv_back = 0
    maybe_bad = 0
    bad_recv = 0
    prev_recv = last_recv
    bad = -1
    disorder = -1
    seq_back = 0
    k = -1
    last_id = np.uint32(0)
    for i in range(n):
        if bad < 0 and (b8[i, 0] != RECORD_LENGTH_WORDS or b8[i, 1] != RTYPE_MBP10):
            bad = i
        r = w64[i, 4]
        if r < prev_recv:
            recv_back += 1
        prev_recv = r
        f = b8[i, 30]
        if f & F_MAYBE_BAD_BOOK:
            maybe_bad += 1
        if f & F_BAD_TS_RECV:
            bad_recv += 1
        iid = w32[i, 1]
        if k < 0 or iid != last_id:  # another instrument than the record before (as is every instrument's
            k = 0  # first record in the block)
            while k < m and ids[k] != iid:
                k += 1
            if k == m:
                ids[m] = iid
                last_ts[m] = np.iinfo(np.int64).min
                last_seq[m] = -1
                m += 1
            if first[k] < 0:
                first[k] = i
            last_id = iid
        slot[i] = k
        t = w64[i, 1]
        if t < last_ts[k] and disorder < 0:
            disorder = i
        last_ts[k] = t
        q = np.int64(w32[i, 11])
        if q < last_seq[k]:
            seq_back += 1
        last_seq[k] = q
    span = np.int64(-1)
    for k in range(m):  # an instrument's last ts_event now is its last in the block (in order)
        j = first[k]
        if j >= 0 and last_ts[k] - w64[j, 1] > span:
            span = last_ts[k] - w64[j, 1]
            out[BF_SPAN_FIRST] = w64[j, 1]
            out[BF_SPAN_LAST] = last_ts[k]
    out[BF_RECV_BACK] = recv_back
    out[BF_MAYBE_BAD_BOOK] = maybe_bad
    out[BF_BAD_TS_RECV] = bad_recv
    out[BF_LAST_RECV] = prev_recv
    out[BF_BAD_RECORD] = bad
    out[BF_COUNT] = m
    out[BF_OUT_OF_ORDER] = disorder
    out[BF_SEQ_BACK] = seq_back
    return out
