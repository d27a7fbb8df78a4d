"""The fused decoder's names stream: :func:`qyn1.python.names._decode_names_kernel` (the staged decoder's, the
reference this one is tested against through ``tests/qyn1/test_decode_fused.py``) with each rank symbol found by
vector compares over its padded row (:mod:`qyn1.rans.search`) instead of a binary search: ~1.3x faster on the
names stream, a fifth of a chunk's decode (docs/perf/qyn1-decode.md, round 6). The move-to-front bookkeeping is
the reference's own helpers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.python.names import _live_above, _live_stamp
from qyn1.rans.kernels import RANS_L
from qyn1.rans.search import LANES, count_le

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.python.names", "qyn1.rans.kernels", "qyn1.rans.search"])


@njit(cache=True, nogil=True)
def _rank(buf, pos, x, mask, sb, L, m, cfl, ncum, row):
    """One rANS decode step in row ``row`` of the flat padded ``cum`` (``cfl``, rows of ``ncum``, a multiple
    of ``LANES``): (symbol, new state, new position; -1 on underflow), as ``names._decode_rank``."""
    slot = x & mask
    base = row * ncum
    cnt = 0
    for b in range(ncum // np.uint64(LANES)):
        cnt += count_le(cfl, base + np.uint64(b * LANES), slot)
    s = np.uint64(cnt - 1)
    lo = np.uint64(cfl[base + s])
    x = (np.uint64(cfl[base + s + np.uint64(1)]) - lo) * (x >> sb) + slot - lo
    while x < L:
        if pos >= m:
            return np.int64(s), x, -1
        x = (x << np.uint64(8)) | np.uint64(buf[pos])
        pos += 1
    return np.int64(s), x, pos


@njit(cache=True, nogil=True)
def _decode_names_kernel(
    buf,
    pos,
    x0_in,
    x1_in,
    n,
    ext,
    roles,
    nroles,
    nflag,
    ctxmap,
    cum,
    scale_bits,
    bits,
    rank_direct,
    succ_sym,
    esc_sym,
    window,
    out,
    isnew,
):
    """:func:`qyn1.python.names._decode_names_kernel` with the rank symbols looked up by :func:`_rank`: the
    same arguments, except ``cum``, whose rows are padded (:func:`qyn1.rans.search.padded_rows`), and the
    same results. Returns (bytes consumed, x0, x1, bits consumed); consumed is -1 on malformed input."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    cfl = cum.ravel()
    ncum = np.uint64(cum.shape[1])
    nctx = cum.shape[0]
    nmap = ctxmap.shape[0]
    nbits_total = bits.shape[0]
    # The move-to-front lists are kept as time stamps instead of arrays shifted on every use (a name sat ~200
    # places deep on average, and each use scanned and shifted that far in the list of all names and again in
    # its role's list). Name i of the stream is stamped i; a list is the bitmap of its names' latest stamps
    # ("live"), so a name's place is the number of live stamps above its own and the name of a rank is found
    # by counting live stamps down from the newest, 64 per word (a stream of n names has n / 64 words).
    nw = (n >> 6) + 1
    nf = n + 1
    glive = np.zeros(nw, dtype=np.uint64)  # all names
    rlive = np.zeros(nroles * nw, dtype=np.uint64)  # role r at offset r * nw
    glast = np.empty(nf, dtype=np.int64)  # latest stamp of each name seen
    rlast = np.zeros(nroles * nf, dtype=np.int32)  # latest stamp + 1 of name v in role r (0: never)
    who = np.empty(n, dtype=np.int32)  # the name of each stamp
    rsize = np.zeros(nroles, dtype=np.int64)
    succ1 = np.full(nf, -1, dtype=np.int32)
    succ2 = np.full(nf, -1, dtype=np.int32)
    one = np.uint64(1)
    size = 0
    p = -1
    bp = 0
    t = 0  # symbols decoded (the interleaved state is chosen by symbol, as in the encoder)
    for i in range(n):
        r = roles[i]
        if r < 0 or r >= nroles:
            return -1, x0, x1, bp
        roff = r * nw
        top_word = (i - 1) >> 6  # stamps 0..i-1 so far (-1 before the first)
        c1 = -1
        c2 = -1
        if p >= 0:
            c1 = succ1[p]
            c2 = succ2[p]
        b = 0
        if c1 >= 0:
            j = _live_above(glive, 0, glast[c1], top_word, window)  # c1's place in the list of all names
            b = 4 if j >= window else (1 if j == 0 else (2 if j < 4 else 3))
        flag = b * 2 + (1 if c2 >= 0 else 0)
        v = -1
        in_role = True
        isnew_i = False
        for step in range(2):
            c = np.int64(ext[i]) * nflag + flag
            if c < 0 or c >= nmap:
                return -1, x0, x1, bp
            c = ctxmap[c]
            if c < 0 or c >= nctx:
                return -1, x0, x1, bp
            row = np.uint64(c)
            if t & 1:
                s, x1, pos = _rank(buf, pos, x1, mask, sb, L, m, cfl, ncum, row)
            else:
                s, x0, pos = _rank(buf, pos, x0, mask, sb, L, m, cfl, ncum, row)
            t += 1
            if pos < 0:
                return -1, x0, x1, bp
            if step == 0 and s == 0:
                v = size
                size += 1
                isnew_i = True
                break
            if step == 0 and (s == succ_sym or s == succ_sym + 1):
                v = c1 if s == succ_sym else c2
                if v < 0:
                    return -1, x0, x1, bp
                break
            if step == 0 and s == esc_sym:
                in_role = False
                flag = nflag - 1
                continue
            if s == 0 or s >= succ_sym:
                return -1, x0, x1, bp
            if s <= rank_direct:
                rank = s - 1
            else:
                k = s - 1 - rank_direct
                e = k // 4 + 5
                nb = e - 2
                if bp + nb > nbits_total:
                    return -1, x0, x1, bp
                rank = (1 << e) + ((k & 3) << nb)
                low = 0
                for q in range(nb):
                    low = (low << 1) | bits[bp + q]
                bp += nb
                rank += low
            if in_role:
                if rank >= rsize[r]:
                    return -1, x0, x1, bp
                st = _live_stamp(rlive, roff, top_word, rank)
            else:
                if rank >= size:
                    return -1, x0, x1, bp
                st = _live_stamp(glive, 0, top_word, rank)
            if st < 0:
                return -1, x0, x1, bp
            v = who[st]
            break
        out[i] = v
        who[i] = v
        bit = one << np.uint64(i & 63)
        if isnew_i:
            isnew[i] = 1
        else:
            st = glast[v]
            glive[st >> 6] ^= one << np.uint64(st & 63)
        glive[i >> 6] |= bit
        glast[v] = i
        st = rlast[r * nf + v] - 1
        if st >= 0:
            rlive[roff + (st >> 6)] ^= one << np.uint64(st & 63)
        else:
            rsize[r] += 1
        rlive[roff + (i >> 6)] |= bit
        rlast[r * nf + v] = i + 1
        if p >= 0 and c1 != v:
            succ2[p] = c1
            succ1[p] = v
        p = v
    return pos, x0, x1, bp
