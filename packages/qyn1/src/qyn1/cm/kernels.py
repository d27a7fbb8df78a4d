"""The context-mixing bit coder (Numba): one kernel for priming, encoding and decoding.

Per byte, seven hashed contexts -- orders 1, 2, 3, 4 and 6, the current and previous word (letters, digits and
``_``: identifiers and keywords in source, words in prose) and the byte above in the previous line with the
byte before (indentation, aligned tables) -- each select a 16-byte slot (a checksum byte and 15 bit-history
states for one nibble, re-selected at the nibble boundary; lpaq1's layout). A state is mapped to a probability
by an adaptive StateMap per context; an order-0 map and a match model (the longest earlier occurrence of the
last ~7 bytes, in the priming text or the chunk, predicts the next bit, its confidence learned per match length)
add two more inputs. A gated linear mixer in the logistic domain (weights chosen by the match state and the
bits of the byte so far) combines them, two APM/SSE stages refine the result (by the partial byte, and by it
with the previous byte), and a 32-bit binary arithmetic coder codes the bit with that 12-bit probability.

Decoding runs the same model, so it is as fast as encoding. All arithmetic is on integers: the coded bytes
depend on nothing but the input and the model's starting state (``qyn1.cm.model``).

Modes: ``PRIME`` updates the model over bytes without coding (the shipped priming text), ``ENCODE`` codes
``buf[start:end]`` into ``out``, ``DECODE`` fills ``buf[start:end]`` from ``src``. One compiled kernel serves
all three: a kernel per mode (the mode a constant, no encoder branches in the decoder) measured no faster and
compiled in 14.8 s instead of 4.6.

Speed without changing a bit (the same bytes as the one-kernel coder before; ``benchmarks/qyn1_cm_speed.py``
checks it, ``tests/qyn1/test_cm_pinned.py`` pins them): the tables are indexed flat with unsigned indices
(``U``), because Numba adds a negative-index wrap-around to every signed index; the table sizes are constants
(``code`` checks the arrays); each bit's row of the 3 MB second APM table is prefetched as soon as the partial
byte is known, and the second nibble's context slots (but order 1's) for both values of bit 3 while bit 3 is
coded; the mixer's two loops are explicit vector code (``qyn1.cm.mixer``) on inputs handed over as a tuple
(built in registers: stored and read back as one vector, they cannot be forwarded from the stores), and so are
a bit's eight StateMap updates (``qyn1.cm.statemap``: the values read for the prediction, on eight lanes); the
match model's bucket and mixer set are worked out once per byte.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy import uint64 as U

from perfkit import numba_cache
from qyn1.cm.mixer import mix_dot, mix_update
from qyn1.cm.statemap import update8
from qyn1.cm.tables import DT, NEXT, PRIORITY, SQUASH, STRETCH
from qyn1.rans.prefetch import prefetch

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(
    __file__, modules=["qyn1.cm.mixer", "qyn1.cm.statemap", "qyn1.cm.tables", "qyn1.rans.prefetch"]
)

PRIME, ENCODE, DECODE = 0, 1, 2
N_CTX = 7  # hashed contexts
N_IN = N_CTX + 3  # + order 0, match, bias
N_MIX_SETS = 4 * 256  # match state x partial byte
TABLE_BITS = 20  # bytes per context table: 1 MiB, 65,536 slots (22 bits: 0.3-1.7 % smaller at 4x the memory)
MATCH_BITS = 18
SLOT_BITS = 4  # 16-byte slots
SLOT_MASK = (1 << (TABLE_BITS - SLOT_BITS)) - 1
MM_MASK = (1 << MATCH_BITS) - 1
MATCH_MAX = 65535
MATCH_VERIFY = 64
MATCH_BUCKETS = 32
APM_RATE = 7
M32 = 0xFFFFFFFF
# scalar state kept between calls (``sc``)
SC_C4, SC_C8, SC_WORD, SC_PREVWORD, SC_LINE, SC_PREVLINE, SC_MLEN, SC_MPTR, SC_MHASH, SC_LR = range(10)
N_SCALARS = 10
# the arithmetic coder's state between calls (``ac``)
AC_X1, AC_X2, AC_XD, AC_OP, AC_IP, AC_FINAL = range(6)
NEXT_FLAT = NEXT.reshape(-1)  # NEXT[s, y] at 2 * s + y


def coder_state() -> np.ndarray:
    """A fresh arithmetic coder: the range [0, 2**32), nothing read or written."""
    ac = np.zeros(6, np.int64)
    ac[AC_X2] = M32
    return ac


@njit(cache=True, nogil=True)
def _hash(a, b):
    h = (a * 0x2F0B4ED3 + b * 0x6F4F2A35 + 0x9E3779B1) & M32
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & M32
    h ^= h >> 13
    return h


@njit(cache=True, nogil=True)
def _find(ht, i, h):
    """Offset in the flat context tables ``ht`` of the slot for hash ``h``, whose first candidate is ``i``:
    one of two candidates holding its checksum, else the one whose first state has seen fewer bits, cleared."""
    chk = (h >> 24) & 255
    if ht[U(i)] == chk:
        return i
    j = i ^ 16
    if ht[U(j)] == chk:
        return j
    k = i if PRIORITY[ht[U(i + 1)]] <= PRIORITY[ht[U(j + 1)]] else j
    for t in range(16):
        ht[U(k + t)] = 0
    ht[U(k)] = chk
    return k


@njit(cache=True, nogil=True)
def _sm_update(sm, idx, y, limit):
    t = np.int64(sm[U(idx)])
    n = t & 1023
    p = t >> 10
    if n < limit:
        t += 1
    t += ((((y << 22) - p) >> 3) * DT[n]) & -1024
    sm[U(idx)] = t & M32


@njit(cache=True, nogil=True)
def _match_bucket(n):
    if n < 16:
        return n
    if n < 32:
        return 16 + ((n - 16) >> 2)
    if n < 64:
        return 20 + ((n - 32) >> 3)
    return 24 + min((n - 64) >> 6, 7)


@njit(cache=True, nogil=True)
def _is_word(c):
    return (c >= 97 and c <= 122) or (c >= 65 and c <= 90) or (c >= 48 and c <= 57) or c == 95 or c >= 128


@njit(cache=True, nogil=True)
def _code(mode, buf, start, end, src, out, ht2, sm2, o0, mm_table, mm_sm, mix2, apm1, apm2, sc, ac):
    """The model and coder (:func:`code` checks the arrays and calls it)."""
    ht = ht2.reshape(N_CTX << TABLE_BITS)
    sm = sm2.reshape(N_CTX * 256)
    mix = mix2.reshape(N_MIX_SETS * N_IN)
    c4 = sc[SC_C4]
    c8 = sc[SC_C8]
    word = sc[SC_WORD]
    prevword = sc[SC_PREVWORD]
    line = sc[SC_LINE]
    prevline = sc[SC_PREVLINE]
    mlen = sc[SC_MLEN]
    mptr = sc[SC_MPTR]
    mh = sc[SC_MHASH]
    lr = sc[SC_LR]
    hh = np.zeros(N_CTX, np.int64)
    slot = np.zeros(N_CTX, np.int64)
    hn = np.zeros(2 * N_CTX, np.int64)  # the second nibble's hashes (contexts 1-6), for either value of bit 3
    st = np.zeros(N_CTX, np.int64)
    # the StateMap entries read for a bit's prediction (the seven contexts', then order 0's), updated together
    tv = np.zeros(8, np.uint32)
    limits = np.full(8, 1023, np.int32)
    limits[N_CTX] = 255
    x1 = ac[AC_X1]
    x2 = ac[AC_X2]
    xd = ac[AC_XD]
    op = ac[AC_OP]
    ip = ac[AC_IP]
    if mode == DECODE and ip == 0:
        for _ in range(4):
            b = np.int64(src[U(ip)]) if ip < src.shape[0] else np.int64(255)
            ip += 1
            xd = (xd << 8) | b
    for pos in range(start, end):
        c1 = c4 & 255
        hh[0] = _hash(1, c1)
        hh[1] = _hash(2, c4 & 0xFFFF)
        hh[2] = _hash(3, c4 & 0xFFFFFF)
        hh[3] = _hash(4, c4)
        hh[4] = _hash(_hash(5, c4), c8 & 0xFFFF)
        hh[5] = _hash(_hash(6, word if word != 0 else c1), prevword)
        col = pos - line
        above = np.int64(buf[U(prevline + col)]) if prevline + col < line else np.int64(0)
        hh[6] = _hash(7, above | (c1 << 8))
        # the match model's inputs for this byte while its prediction holds (mlen is set to 0 when it fails)
        eb = np.int64(buf[U(mptr)]) if mlen > 0 else np.int64(0)
        mbucket = _match_bucket(mlen) * 2
        mselect = 1 if mlen < 16 else (2 if mlen < 32 else 3)
        c0 = np.int64(1)
        for nibble in range(2):
            for i in range(N_CTX):  # the seven slots of this nibble
                if nibble == 0:
                    h = hh[i]
                elif i == 0:
                    h = _hash(hh[i], c0)
                else:
                    h = hn[U((c0 & 1) * N_CTX + i)]
                slot[i] = _find(ht, (i << TABLE_BITS) + ((h & SLOT_MASK) << SLOT_BITS), h)
            # the bits of this nibble so far behind a leading 1: the state's index in the slot
            j = np.int64(1)
            for bit in range(nibble * 4, nibble * 4 + 4):
                a2 = (c0 | (c1 << 8)) * 24  # this bit's APM row (3 MB table): requested before it is needed
                prefetch(apm2, U(a2))
                prefetch(apm2, U(a2 + 23))
                if bit == 3:  # the next nibble's slots for either value of this bit, requested a bit ahead
                    for yy in range(2):
                        for i in range(1, N_CTX):  # order 1's few slots stay in the cache
                            h = _hash(hh[i], (c0 << 1) | yy)
                            hn[U(yy * N_CTX + i)] = h
                            prefetch(ht, U((i << TABLE_BITS) + ((h & SLOT_MASK) << SLOT_BITS)))
                for i in range(N_CTX):
                    s = np.int64(ht[U(slot[i] + j)])
                    st[i] = s
                    tv[i] = sm[U((i << 8) + s)]
                tv[N_CTX] = o0[U(c0)]
                mctx = -1
                xm = np.int32(0)
                if mlen > 0:
                    if ((eb + 256) >> (8 - bit)) == c0:
                        mctx = mbucket + ((eb >> (7 - bit)) & 1)
                        xm = STRETCH[mm_sm[U(mctx)] >> 20]
                    else:
                        mlen = 0
                # the mixer's inputs: seven contexts, order 0, the match model, the bias
                x = (
                    STRETCH[tv[0] >> 20],
                    STRETCH[tv[1] >> 20],
                    STRETCH[tv[2] >> 20],
                    STRETCH[tv[3] >> 20],
                    STRETCH[tv[4] >> 20],
                    STRETCH[tv[5] >> 20],
                    STRETCH[tv[6] >> 20],
                    STRETCH[tv[7] >> 20],
                    xm,
                    np.int32(256),
                )
                msel = mselect if mlen > 0 else 0
                ws = (msel * 256 + c0) * N_IN
                dot = mix_dot(mix, U(ws), x) >> 16
                if dot > 2047:
                    dot = 2047
                elif dot < -2047:
                    dot = -2047
                pm = np.int64(SQUASH[U(dot + 2048)])
                # APM / SSE stages
                s1 = (np.int64(STRETCH[U(pm)]) + 2048) * 23
                w1 = s1 & 0xFFF
                b1 = c0 * 24 + (s1 >> 12)
                p1 = (np.int64(apm1[U(b1)]) * (4096 - w1) + np.int64(apm1[U(b1 + 1)]) * w1) >> 16
                i1 = b1 + (w1 >> 11)
                b2 = (c0 | (c1 << 8)) * 24 + (s1 >> 12)
                p2 = (np.int64(apm2[U(b2)]) * (4096 - w1) + np.int64(apm2[U(b2 + 1)]) * w1) >> 16
                i2 = b2 + (w1 >> 11)
                p = (pm + p1 + 2 * p2 + 2) >> 2
                if p < 1:
                    p = 1
                elif p > 4095:
                    p = 4095
                # code the bit
                xmid = x1 + ((x2 - x1) >> 12) * p
                if mode == DECODE:
                    y = np.int64(1) if xd <= xmid else np.int64(0)
                else:
                    y = np.int64((buf[U(pos)] >> (7 - bit)) & 1)
                if mode != PRIME:
                    if y:
                        x2 = xmid
                    else:
                        x1 = xmid + 1
                    while ((x1 ^ x2) & 0xFF000000) == 0:
                        if mode == ENCODE:
                            if op >= out.shape[0]:
                                return -1
                            out[U(op)] = x2 >> 24
                            op += 1
                        else:
                            b = np.int64(src[U(ip)]) if ip < src.shape[0] else np.int64(255)
                            ip += 1
                            xd = ((xd << 8) & M32) | b
                        x1 = (x1 << 8) & M32
                        x2 = ((x2 << 8) & M32) | 255
                # update
                err = ((y << 12) - pm) * lr
                mix_update(mix, U(ws), x, err)
                update8(tv, y, limits)
                for i in range(N_CTX):
                    sm[U((i << 8) + st[i])] = tv[i]
                    ht[U(slot[i] + j)] = NEXT_FLAT[U(2 * st[i] + y)]
                o0[U(c0)] = tv[N_CTX]
                if mctx >= 0:
                    _sm_update(mm_sm, mctx, y, 1023)
                g = (y << 16) + (y << APM_RATE) - y - y
                apm1[U(i1)] = np.int64(apm1[U(i1)]) + ((g - np.int64(apm1[U(i1)])) >> APM_RATE)
                apm2[U(i2)] = np.int64(apm2[U(i2)]) + ((g - np.int64(apm2[U(i2)])) >> APM_RATE)
                c0 = (c0 << 1) | y
                j = (j << 1) | y
        c = c0 & 255
        if mode == DECODE:
            buf[U(pos)] = c
        c8 = ((c8 << 8) | (c4 >> 24)) & M32
        c4 = ((c4 << 8) | c) & M32
        if _is_word(c):
            word = _hash(word + 1, c)
        elif word != 0:
            prevword = word
            word = 0
        if c == 10:
            prevline = line
            line = pos + 1
        # match model: extend the current match or look the last ~7 bytes up
        mh = (mh * (8 * 997) + c + 1) & MM_MASK
        if mlen > 0:
            if mlen < MATCH_MAX:
                mlen += 1
            mptr += 1
        else:
            cand = np.int64(mm_table[U(mh)])
            if cand > 0:
                n = 0  # verified backwards at most MATCH_VERIFY bytes: no quadratic scans
                while (
                    n < MATCH_VERIFY
                    and n <= pos
                    and cand - n - 1 >= 0
                    and buf[U(cand - n - 1)] == buf[U(pos - n)]
                ):
                    n += 1
                if n > 0:
                    mlen = n
                    mptr = cand
        mm_table[U(mh)] = pos + 1
    if mode == ENCODE and ac[AC_FINAL]:
        if op >= out.shape[0]:
            return -1
        out[U(op)] = x1 >> 24
        op += 1
    ac[AC_X1] = x1
    ac[AC_X2] = x2
    ac[AC_XD] = xd
    ac[AC_OP] = op
    ac[AC_IP] = ip
    sc[SC_C4] = c4
    sc[SC_C8] = c8
    sc[SC_WORD] = word
    sc[SC_PREVWORD] = prevword
    sc[SC_LINE] = line
    sc[SC_PREVLINE] = prevline
    sc[SC_MLEN] = mlen
    sc[SC_MPTR] = mptr
    sc[SC_MHASH] = mh
    if mode == ENCODE:
        return op
    if mode == DECODE:
        return ip
    return 0


_SHAPES = (
    (N_CTX, 1 << TABLE_BITS),
    (N_CTX, 256),
    (256,),
    (1 << MATCH_BITS,),
    (2 * MATCH_BUCKETS,),
    (N_MIX_SETS, N_IN),
    (256 * 24,),
    (65536 * 24,),
)


def code(mode, buf, start, end, src, out, ht, sm, o0, mm_table, mm_sm, mix, apm1, apm2, sc, ac):
    """Run the model over ``buf[start:end]`` (see the module docstring for ``mode``); the model arrays, the
    scalars ``sc`` and the arithmetic coder's state ``ac`` (:func:`coder_state`) are updated in place, so a
    chunk can be coded in slices (each call returns to Python, which can then act on a signal) with the same
    bytes as in one call; ``ac[AC_FINAL]`` set makes this call flush the encoder. Returns the bytes written
    to ``out`` so far (``ENCODE``; -1 when ``out`` is too small), the bytes of ``src`` consumed
    (``DECODE``), else 0. The kernels index without bounds checks: the arrays must have the model's shapes
    (checked here) and ``start`` / ``end`` must lie in ``buf``."""
    arrays = (ht, sm, o0, mm_table, mm_sm, mix, apm1, apm2)
    if any(a.shape != s or not a.flags.c_contiguous for a, s in zip(arrays, _SHAPES, strict=True)):
        raise ValueError("cm model arrays of the wrong shape")
    if not 0 <= start <= end <= buf.shape[0]:
        raise ValueError("cm slice out of the buffer")
    if not 0 <= sc[SC_LR] <= 256:  # the mixer's int32 update is exact up to this rate (qyn1.cm.mixer)
        raise ValueError("cm learning rate out of range")
    return _code(mode, buf, start, end, src, out, ht, sm, o0, mm_table, mm_sm, mix, apm1, apm2, sc, ac)
