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
``buf[start:end]`` into ``out``, ``DECODE`` fills ``buf[start:end]`` from ``src``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.cm.tables import DT, NEXT, PRIORITY, SQUASH, STRETCH

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.cm.tables"])

PRIME, ENCODE, DECODE = 0, 1, 2
N_CTX = 7  # hashed contexts
N_IN = N_CTX + 3  # + order 0, match, bias
N_MIX_SETS = 4 * 256  # match state x partial byte
SLOT_BITS = 4  # 16-byte slots
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
def _find(ht, ctx, h, slot_mask):
    """Offset of the slot for hash ``h`` in context table ``ctx``: one of two candidates holding its
    checksum, else the one whose first state has seen fewer bits, cleared."""
    chk = (h >> 24) & 255
    i = (h & slot_mask) << SLOT_BITS
    if ht[ctx, i] == chk:
        return i
    j = i ^ 16
    if ht[ctx, j] == chk:
        return j
    k = i if PRIORITY[ht[ctx, i + 1]] <= PRIORITY[ht[ctx, j + 1]] else j
    for t in range(16):
        ht[ctx, k + t] = 0
    ht[ctx, k] = chk
    return k


@njit(cache=True, nogil=True)
def _sm_update(sm, idx, y, limit):
    t = np.int64(sm[idx])
    n = t & 1023
    p = t >> 10
    if n < limit:
        t += 1
    t += ((((y << 22) - p) >> 3) * DT[n]) & -1024
    sm[idx] = t & M32


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
def code(mode, buf, start, end, src, out, ht, sm, o0, mm_table, mm_sm, mix, apm1, apm2, sc, ac):
    """Run the model over ``buf[start:end]`` (see the module docstring for ``mode``); the model arrays, the
    scalars ``sc`` and the arithmetic coder's state ``ac`` (:func:`coder_state`) are updated in place, so a
    chunk can be coded in slices (each call returns to Python, which can then act on a signal) with the same
    bytes as in one call; ``ac[AC_FINAL]`` set makes this call flush the encoder. Returns the bytes written
    to ``out`` so far (``ENCODE``; -1 when ``out`` is too small), the bytes of ``src`` consumed
    (``DECODE``), else 0."""
    slot_mask = (ht.shape[1] >> SLOT_BITS) - 1
    mm_mask = mm_table.shape[0] - 1
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
    st = np.zeros(N_CTX, np.int64)
    x = np.zeros(N_IN, np.int64)
    x1 = ac[AC_X1]
    x2 = ac[AC_X2]
    xd = ac[AC_XD]
    op = ac[AC_OP]
    ip = ac[AC_IP]
    if mode == DECODE and ip == 0:
        for _ in range(4):
            b = np.int64(src[ip]) if ip < src.shape[0] else np.int64(255)
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
        above = np.int64(buf[prevline + col]) if prevline + col < line else np.int64(0)
        hh[6] = _hash(7, above | (c1 << 8))
        for i in range(N_CTX):
            slot[i] = _find(ht, i, hh[i], slot_mask)
        c0 = np.int64(1)
        for bit in range(8):
            if bit == 4:
                for i in range(N_CTX):
                    slot[i] = _find(ht, i, _hash(hh[i], c0), slot_mask)
            j = c0 if bit < 4 else ((1 << (bit - 4)) | (c0 & ((1 << (bit - 4)) - 1)))
            for i in range(N_CTX):
                s = np.int64(ht[i, slot[i] + j])
                st[i] = s
                x[i] = STRETCH[sm[i, s] >> 20]
            x[N_CTX] = STRETCH[o0[c0] >> 20]
            mctx = -1
            if mlen > 0:
                eb = np.int64(buf[mptr])
                if ((eb + 256) >> (8 - bit)) == c0:
                    mctx = _match_bucket(mlen) * 2 + ((eb >> (7 - bit)) & 1)
                    x[N_CTX + 1] = STRETCH[mm_sm[mctx] >> 20]
                else:
                    mlen = 0
            if mctx < 0:
                x[N_CTX + 1] = 0
            x[N_CTX + 2] = 256
            msel = 0 if mlen == 0 else (1 if mlen < 16 else (2 if mlen < 32 else 3))
            ws = msel * 256 + c0
            dot = np.int64(0)
            for k in range(N_IN):
                dot += x[k] * mix[ws, k]
            dot >>= 16
            if dot > 2047:
                dot = 2047
            elif dot < -2047:
                dot = -2047
            pm = np.int64(SQUASH[dot + 2048])
            # APM / SSE stages
            s1 = (np.int64(STRETCH[pm]) + 2048) * 23
            w1 = s1 & 0xFFF
            b1 = c0 * 24 + (s1 >> 12)
            p1 = (np.int64(apm1[b1]) * (4096 - w1) + np.int64(apm1[b1 + 1]) * w1) >> 16
            i1 = b1 + (w1 >> 11)
            b2 = (c0 | (c1 << 8)) * 24 + (s1 >> 12)
            p2 = (np.int64(apm2[b2]) * (4096 - w1) + np.int64(apm2[b2 + 1]) * w1) >> 16
            i2 = b2 + (w1 >> 11)
            p = (pm + p1 + 2 * p2 + 2) >> 2
            if p < 1:
                p = 1
            elif p > 4095:
                p = 4095
            # code the bit
            if mode == DECODE:
                xmid = x1 + ((x2 - x1) >> 12) * p
                y = np.int64(1) if xd <= xmid else np.int64(0)
            else:
                y = np.int64((buf[pos] >> (7 - bit)) & 1)
                xmid = x1 + ((x2 - x1) >> 12) * p
            if mode != PRIME:
                if y:
                    x2 = xmid
                else:
                    x1 = xmid + 1
                while ((x1 ^ x2) & 0xFF000000) == 0:
                    if mode == ENCODE:
                        if op >= out.shape[0]:
                            return -1
                        out[op] = x2 >> 24
                        op += 1
                    else:
                        b = np.int64(src[ip]) if ip < src.shape[0] else np.int64(255)
                        ip += 1
                        xd = ((xd << 8) & M32) | b
                    x1 = (x1 << 8) & M32
                    x2 = ((x2 << 8) & M32) | 255
            # update
            err = ((y << 12) - pm) * lr
            for k in range(N_IN):
                w = np.int64(mix[ws, k]) + ((x[k] * err) >> 16)
                if w > 0x3FFFFFFF:
                    w = 0x3FFFFFFF
                elif w < -0x3FFFFFFF:
                    w = -0x3FFFFFFF
                mix[ws, k] = w
            for i in range(N_CTX):
                _sm_update(sm[i], st[i], y, 1023)
                ht[i, slot[i] + j] = NEXT[st[i], y]
            _sm_update(o0, c0, y, 255)
            if mctx >= 0:
                _sm_update(mm_sm, mctx, y, 1023)
            g = (y << 16) + (y << APM_RATE) - y - y
            apm1[i1] = np.int64(apm1[i1]) + ((g - np.int64(apm1[i1])) >> APM_RATE)
            apm2[i2] = np.int64(apm2[i2]) + ((g - np.int64(apm2[i2])) >> APM_RATE)
            c0 = (c0 << 1) | y
        c = c0 & 255
        if mode == DECODE:
            buf[pos] = c
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
        mh = (mh * (8 * 997) + c + 1) & mm_mask
        if mlen > 0:
            if mlen < MATCH_MAX:
                mlen += 1
            mptr += 1
        else:
            cand = np.int64(mm_table[mh])
            if cand > 0:
                n = 0  # verified backwards at most MATCH_VERIFY bytes: no quadratic scans
                while (
                    n < MATCH_VERIFY and n <= pos and cand - n - 1 >= 0 and buf[cand - n - 1] == buf[pos - n]
                ):
                    n += 1
                if n > 0:
                    mlen = n
                    mptr = cand
        mm_table[mh] = pos + 1
    if mode == ENCODE and ac[AC_FINAL]:
        if op >= out.shape[0]:
            return -1
        out[op] = x1 >> 24
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
