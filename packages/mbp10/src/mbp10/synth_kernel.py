"""Numba kernel of the synthetic ES-like MBP-10 day (pure: no I/O, no clocks).

A price-time book on a dense tick grid is driven by a latent fair value (an Ornstein-Uhlenbeck walk): adds,
cancels and modifies lean with the gap between fair value and mid, trades lift/hit the touch and are followed
in the same event by the passive side's fills (C records, the last one sometimes an M for a partial fill).
Every record carries the top-10 book after it, as MBP-10 does. A counter-based splitmix64 stream keeps the
output a pure function of the seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mbp10.schema import F_LAST, F_PUBLISHER_SPECIFIC, F_SNAPSHOT, UNDEF_PRICE
from perfkit import numba_cache

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["mbp10.schema"])

GRID = 8192
CENTER = GRID // 2
SCAN = 400  # ticks scanned from the touch when snapshotting 10 levels
FLAG_LAST = F_LAST | F_PUBLISHER_SPECIFIC  # 130, what CME MBP-10 carries on the last record of an event

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _next_u64(state):
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _uniform(state):
    # 53 random bits -> [0, 1); never exactly 0 so log() is safe.
    return (float(_next_u64(state) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _geometric(state, p):
    """1, 2, 3, ... with P(k) = p (1-p)^(k-1)."""
    return 1 + int(np.floor(np.log(_uniform(state)) / np.log(1.0 - p)))


@njit(cache=True)
def _normal(state):
    u1 = _uniform(state)
    u2 = _uniform(state)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def _level_size(state):
    # Resting size at a price: ES levels hold tens to a few hundred contracts.
    return 5 + _geometric(state, 0.03)


@njit(cache=True)
def _emit(out, n, action, side, price_units, size, depth, flags, book, bb, ba, p0, tick):
    """Write record n: its header fields and the top-10 book after it.

    out = (int64, uint32, byte) views of the record buffer; book = (bid sizes, bid counts, ask sizes, ask
    counts) on the tick grid; bb, ba = best bid / ask grid index.
    """
    w64, w32, b8 = out
    bsz, bct, asz, act = book
    w64[n, 2] = price_units
    w32[n, 6] = size
    b8[n, 28] = action
    b8[n, 29] = side
    b8[n, 30] = flags
    b8[n, 31] = depth
    k = 0
    i = bb
    while k < 10 and i >= 0 and bb - i < SCAN:
        if bsz[i] > 0:
            w64[n, 6 + 4 * k] = p0 + (i - CENTER) * tick
            w32[n, 16 + 8 * k] = bsz[i]
            w32[n, 18 + 8 * k] = bct[i]
            k += 1
        i -= 1
    while k < 10:
        w64[n, 6 + 4 * k] = UNDEF_PRICE
        w32[n, 16 + 8 * k] = 0
        w32[n, 18 + 8 * k] = 0
        k += 1
    k = 0
    i = ba
    while k < 10 and i < GRID and i - ba < SCAN:
        if asz[i] > 0:
            w64[n, 7 + 4 * k] = p0 + (i - CENTER) * tick
            w32[n, 17 + 8 * k] = asz[i]
            w32[n, 19 + 8 * k] = act[i]
            k += 1
        i += 1
    while k < 10:
        w64[n, 7 + 4 * k] = UNDEF_PRICE
        w32[n, 17 + 8 * k] = 0
        w32[n, 19 + 8 * k] = 0
        k += 1


@njit(cache=True)
def _depth_of(sz, best, i, is_bid):
    """0-based level of price index i on a side (count of non-empty levels strictly better)."""
    d = 0
    if is_bid:
        j = best
        while j > i:
            if sz[j] > 0:
                d += 1
            j -= 1
    else:
        j = best
        while j < i:
            if sz[j] > 0:
                d += 1
            j += 1
    return d


@njit(cache=True)
def _nth_level(sz, best, n, is_bid):
    """Price index of the n-th non-empty level from the touch, or -1."""
    k = 0
    j = best
    while 0 <= j < GRID and abs(j - best) < SCAN:
        if sz[j] > 0:
            if k == n:
                return j
            k += 1
        j = j - 1 if is_bid else j + 1
    return -1


@njit(cache=True)
def _best_bid(bsz, start):
    j = start
    while j > 0 and bsz[j] == 0:
        j -= 1
    return j


@njit(cache=True)
def _best_ask(asz, start):
    j = start
    while j < GRID - 1 and asz[j] == 0:
        j += 1
    return j


# cursor slots of `simulate_chunk`: where the simulation stands between two calls
C_REC, C_EV, C_CLEAR_EVENT, C_NEED_SNAPSHOT, C_BB, C_BA = range(6)
CHUNK_RECORDS = 200_000  # ~0.1-0.3 s a call: Ctrl-C is acted on between calls, never inside one


def new_book() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Empty book on the tick grid: (bid sizes, bid counts, ask sizes, ask counts)."""
    return tuple(np.zeros(GRID, np.int64) for _ in range(4))


def new_cursor() -> tuple[np.ndarray, np.ndarray]:
    """Start of a day: (cursor int64[6] -- record, event, clear event, snapshot pending, best bid, best ask;
    fair value float64[1])."""
    cursor = np.zeros(6, np.int64)
    cursor[C_CLEAR_EVENT] = -1
    cursor[C_NEED_SNAPSHOT] = 1
    cursor[C_BB] = CENTER - 1
    cursor[C_BA] = CENTER
    return cursor, np.array([float(CENTER) - 0.5])


def simulate(w64, w32, b8, event_id, state, p0, tick, n_clear_at, fv_sigma, fv_kappa, chunk=CHUNK_RECORDS):
    """Fill records 0..n-1 of a record buffer (int64 / uint32 / byte views of the same rows).

    Runs :func:`simulate_chunk` about ``chunk`` records at a time; the output does not depend on
    ``chunk`` (a chunk ends between two events, and every piece of state is carried over).

    Parameters
    ----------
    w64, w32, b8 : int64 (n, 46), uint32 (n, 92), uint8 (n, 368) views of one MBP-10 record buffer.
    event_id : int64 (n,) out: the event each record belongs to (records of an event share ts_event).
    state : uint64 (1,) the splitmix64 state.
    p0 : int64, price units of grid index CENTER (the day's anchor price).
    tick : int64, tick size in price units.
    n_clear_at : record index after which the book is cleared (R) and rebuilt (the daily halt).
    fv_sigma, fv_kappa : fair-value walk step (ticks) and mean reversion per event.

    Returns
    -------
    (n_events, clear_event) : events written, and the event index of the R record (-1 if none).
    """
    n = w64.shape[0]
    book = new_book()
    cursor, fv = new_cursor()
    while cursor[C_REC] < n:
        stop = min(int(cursor[C_REC]) + chunk, n)
        simulate_chunk(
            w64, w32, b8, event_id, state, *book, cursor, fv, stop, p0, tick, n_clear_at, fv_sigma, fv_kappa
        )
    # The final record always closes its event.
    b8[n - 1, 30] |= np.uint8(F_LAST)
    return int(cursor[C_EV]), int(cursor[C_CLEAR_EVENT])


@njit(cache=True)
def simulate_chunk(
    w64,
    w32,
    b8,
    event_id,
    state,
    bsz,
    bct,
    asz,
    act,
    cursor,
    fv_state,
    stop,
    p0,
    tick,
    n_clear_at,
    fv_sigma,
    fv_kappa,
):
    """Simulate whole events from record ``cursor[C_REC]`` until at least record ``stop`` is reached.

    Events never stop at ``stop``: only at the end of the buffer (``w64.shape[0]``), exactly as one call
    over the whole buffer does. The book (bsz, bct, asz, act), ``cursor``, ``fv_state`` (the fair value)
    and ``state`` (the RNG) are updated in place for the next call.
    """
    n = w64.shape[0]
    bb = cursor[C_BB]
    ba = cursor[C_BA]
    fv = fv_state[0]
    rec = cursor[C_REC]
    ev = cursor[C_EV]
    clear_event = cursor[C_CLEAR_EVENT]
    need_snapshot = cursor[C_NEED_SNAPSHOT] != 0
    out = (w64, w32, b8)
    book = (bsz, bct, asz, act)
    while rec < stop:
        if need_snapshot:
            # Book (re)build: 10 adds per side flagged SNAPSHOT, the last one also LAST.
            mid_i = int(np.floor(fv + 0.5))
            bb = mid_i - 1
            ba = mid_i
            for j in range(GRID):
                bsz[j] = 0
                asz[j] = 0
                bct[j] = 0
                act[j] = 0
            for k in range(60):
                bsz[bb - k] = _level_size(state)
                bct[bb - k] = 1 + bsz[bb - k] // 8
                asz[ba + k] = _level_size(state)
                act[ba + k] = 1 + asz[ba + k] // 8
            for k in range(20):
                if rec >= n:
                    break
                is_bid = k % 2 == 0
                lvl = k // 2
                i = bb - lvl if is_bid else ba + lvl
                fl = F_SNAPSHOT | (FLAG_LAST if (k == 19 or rec == n - 1) else 0)
                sz = bsz[i] if is_bid else asz[i]
                _emit(
                    out,
                    rec,
                    65,
                    66 if is_bid else 65,
                    p0 + (i - CENTER) * tick,
                    sz,
                    lvl,
                    fl,
                    book,
                    bb,
                    ba,
                    p0,
                    tick,
                )
                event_id[rec] = ev
                rec += 1
            ev += 1
            need_snapshot = False
            continue
        if clear_event < 0 and rec >= n_clear_at:
            # The daily halt: one R record (book empty after it), then a snapshot rebuild.
            for j in range(GRID):
                bsz[j] = 0
                asz[j] = 0
            _emit(out, rec, 82, 78, UNDEF_PRICE, 0, 0, FLAG_LAST, book, bb, ba, p0, tick)
            event_id[rec] = ev
            clear_event = ev
            rec += 1
            ev += 1
            need_snapshot = True
            continue

        fv += fv_sigma * _normal(state) - fv_kappa * (fv - CENTER)
        if fv < SCAN + 100:
            fv = SCAN + 100.0
        if fv > GRID - SCAN - 100:
            fv = GRID - SCAN - 100.0
        mid = 0.5 * (bb + ba)
        pressure = np.tanh((fv - mid) / 2.0)  # > 0: buyers in control
        u = _uniform(state)
        if u < 0.075:
            # Trade event: T at the touch, then the passive side's fills; a sweep walks up to 3 levels.
            buy = _uniform(state) < 0.5 + 0.45 * pressure
            q = _geometric(state, 0.3)
            if _uniform(state) < 0.01:
                q += _geometric(state, 0.02)
            if abs(fv - mid) > 1.5 and _uniform(state) < 0.3:
                q += asz[ba] if buy else bsz[bb]  # clear the touch: the price has to move
            levels = 0
            while q > 0 and rec < n and levels < 3:
                i = ba if buy else bb
                avail = asz[i] if buy else bsz[i]
                if avail <= 0:
                    break
                tq = min(q, avail)
                px = p0 + (i - CENTER) * tick
                _emit(out, rec, 84, 66 if buy else 65, px, tq, 0, 0, book, bb, ba, p0, tick)
                event_id[rec] = ev
                rec += 1
                rem = tq
                while rem > 0 and rec < n:
                    f = min(rem, _geometric(state, 0.45))
                    rem -= f
                    if buy:
                        asz[i] -= f
                        if asz[i] == 0:
                            act[i] = 0
                            ba = _best_ask(asz, i)
                        elif act[i] > 1 and (rem > 0 or _uniform(state) < 0.7):
                            act[i] -= 1
                    else:
                        bsz[i] -= f
                        if bsz[i] == 0:
                            bct[i] = 0
                            bb = _best_bid(bsz, i)
                        elif bct[i] > 1 and (rem > 0 or _uniform(state) < 0.7):
                            bct[i] -= 1
                    last = (rem == 0 and (q - tq == 0 or levels == 2)) or rec == n - 1
                    left = asz[i] if buy else bsz[i]
                    # A partial fill of the last order shows as M (its new, smaller size); others as C.
                    is_mod = rem == 0 and left > 0 and _uniform(state) < 0.3
                    _emit(
                        out,
                        rec,
                        77 if is_mod else 67,
                        65 if buy else 66,
                        px,
                        (1 + left % 5) if is_mod else f,
                        0,
                        FLAG_LAST if last else 0,
                        book,
                        bb,
                        ba,
                        p0,
                        tick,
                    )
                    event_id[rec] = ev
                    rec += 1
                q -= tq
                levels += 1
            # The event must end with LAST (a sweep that stopped early may not have set it).
            if rec > 0 and event_id[rec - 1] == ev and (b8[rec - 1, 30] & F_LAST) == 0:
                b8[rec - 1, 30] = FLAG_LAST
            ev += 1
            continue
        if u < 0.43:
            # Add: leans to the side fair value pulls towards; may improve a wide spread.
            is_bid = _uniform(state) < 0.5 + 0.3 * pressure
            # Quotes are placed relative to the opposite touch, so a side that was traded through refills
            # from the inside and a wide spread closes.
            d = _geometric(state, 0.3) - 1
            i = (ba - 1 - d) if is_bid else (bb + 1 + d)
            if i <= 0 or i >= GRID - 1:
                continue
            q = _geometric(state, 0.25)
            if is_bid:
                bsz[i] += q
                bct[i] += 1
                if i > bb:
                    bb = i
                dep = _depth_of(bsz, bb, i, True)
            else:
                asz[i] += q
                act[i] += 1
                if i < ba:
                    ba = i
                dep = _depth_of(asz, ba, i, False)
            if dep >= 10:
                continue  # beyond the 10 visible levels: no MBP-10 record
            _emit(
                out,
                rec,
                65,
                66 if is_bid else 65,
                p0 + (i - CENTER) * tick,
                q,
                dep,
                FLAG_LAST,
                book,
                bb,
                ba,
                p0,
                tick,
            )
            event_id[rec] = ev
            rec += 1
            ev += 1
            continue
        # Cancel or modify at one of the 10 visible levels, leaning against fair value.
        is_cancel = u < 0.76
        is_bid = _uniform(state) < 0.5 - 0.3 * pressure
        lvl = min(_geometric(state, 0.45) - 1, 9)
        sz = bsz if is_bid else asz
        ct = bct if is_bid else act
        best = bb if is_bid else ba
        i = _nth_level(sz, best, lvl, is_bid)
        if i < 0:
            continue
        if _nth_level(sz, best, 3, is_bid) < 0:
            continue  # keep at least a few visible levels per side
        if is_cancel:
            q = min(sz[i], _geometric(state, 0.35))
            sz[i] -= q
            if sz[i] == 0:
                ct[i] = 0
            elif ct[i] > 1:
                ct[i] -= 1
            new_size = q
        else:
            delta = _geometric(state, 0.4) * (1 if _uniform(state) < 0.45 else -1)
            if sz[i] + delta < 1:
                delta = 1 - sz[i]
            sz[i] += delta
            new_size = 1 + _geometric(state, 0.3)
        if is_bid:
            bb = _best_bid(bsz, bb)
        else:
            ba = _best_ask(asz, ba)
        _emit(
            out,
            rec,
            67 if is_cancel else 77,
            66 if is_bid else 65,
            p0 + (i - CENTER) * tick,
            new_size,
            lvl,
            FLAG_LAST,
            book,
            bb,
            ba,
            p0,
            tick,
        )
        event_id[rec] = ev
        rec += 1
        ev += 1
    cursor[C_BB] = bb
    cursor[C_BA] = ba
    fv_state[0] = fv
    cursor[C_REC] = rec
    cursor[C_EV] = ev
    cursor[C_CLEAR_EVENT] = clear_event
    cursor[C_NEED_SNAPSHOT] = 1 if need_snapshot else 0
