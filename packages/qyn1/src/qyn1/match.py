"""The order-k match model over any symbol stream (used for the Python kinds, text, spelled bytes and
string kinds): the prediction for a symbol is the one that followed the last earlier occurrence of the ``k``
symbols before it. Encoder (:func:`match_symbols`) and decoder (:func:`decode_match`) side by side; the hash
is part of the format.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.errors import CodecError
from qyn1.rans.coder import StreamDecoder, _ext_array
from qyn1.rans.kernels import RANS_L
from qyn1.rans.model import Model

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.rans.kernels", "qyn1.rans.coder", "qyn1.rans.model"])

# ---------------------------------------------------------------- match model (order-k repeat prediction)
MATCH_HASH_BITS = 16  # at most; a stream of n symbols uses min(16, max(10, bit_length(n) + 4)) bits
MATCH_NFLAG = 8  # match flag: 0 no prediction, 1..6 how long the current match has held (see _match_flag)


@njit(cache=True, nogil=True)
def _match_hash_bits(n):
    """Hash table size (bits) for a stream of ``n`` symbols: small chunks do not clear a 64k-entry table."""
    b = 0
    while (n >> b) > 0:
        b += 1
    return min(MATCH_HASH_BITS, max(10, b + 4))


# The k-gram hash of syms[i - k + 1 .. i] (part of the format: it decides which earlier position predicts):
# g = sum over t < k of (syms[i - t] + 1) * _MATCH_MULT**(k - 1 - t) mod 2**32, then the top hb bits of
# g * _MATCH_FINAL mod 2**32. Both sides roll g forward one symbol at a time (drop the oldest term, divide by
# the odd, hence invertible, multiplier, add the newest at weight _MATCH_MULT**(k - 1)) instead of
# recomputing k terms per symbol.
_MATCH_MULT = 0x9E3779B1
_MATCH_MULT_INV = pow(_MATCH_MULT, -1, 1 << 32)
_MATCH_FINAL = 0x85EBCA6B


@njit(cache=True, nogil=True)
def _match_flag(pp, ml):
    if pp < 0:
        return 0
    if ml < 2:
        return 1
    if ml < 6:
        return 2
    if ml < 10:
        return 3
    if ml < 18:
        return 4
    if ml < 26:
        return 5
    return 6


def match_symbols(syms, k: int, match_sym: int):
    """The match model over one stream: the prediction for symbol ``i`` is the symbol that followed the last
    earlier occurrence of the ``k`` symbols before it (found through a hash table of the last position of
    each k-gram, then followed while it keeps matching). Returns (coded symbols: ``match_sym`` where the
    prediction is right, else the symbol; match flag per symbol, the extra context). Mirrored by
    :func:`_decode_match_kernel`. Checked here, not in the kernel: a ``k`` below 1 read past the end of
    ``syms`` (the kernel reads ``syms[i - k]`` unchecked), big-endian symbols failed Numba's typing."""
    syms = np.ascontiguousarray(syms)
    if syms.ndim != 1 or syms.dtype.kind not in "iu":
        raise TypeError(f"symbols must be a 1-D integer array, not {syms.dtype} of shape {syms.shape}")
    if not syms.dtype.isnative:
        syms = syms.astype(syms.dtype.newbyteorder("="))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"match order k must be a whole number of at least 1, not {k!r}")
    return _match_symbols(syms, k, match_sym)


@njit(cache=True, nogil=True)
def _match_symbols(syms, k, match_sym):
    """:func:`match_symbols` on checked arguments."""
    n = syms.shape[0]
    hb = _match_hash_bits(n)
    table = np.full(1 << hb, -1, dtype=np.int32)
    out = np.empty(n, dtype=np.int32)
    flag = np.empty(n, dtype=np.int32)
    # the k-gram hash, rolled forward (see _MATCH_MULT)
    m32 = np.uint64(0xFFFFFFFF)
    mult_k1 = np.uint64(1)
    for _ in range(k - 1):
        mult_k1 = (mult_k1 * np.uint64(_MATCH_MULT)) & m32
    mult_inv = np.uint64(_MATCH_MULT_INV)
    hfin = np.uint64(_MATCH_FINAL)
    hshift = np.uint64(32 - hb)
    hroll = np.uint64(0)
    pp = -1
    ml = 0
    for i in range(n):
        s = syms[i]
        flag[i] = _match_flag(pp, ml)
        if pp >= 0 and syms[pp] == s:
            out[i] = match_sym
            pp += 1
            ml += 1
        else:
            out[i] = s
            pp = -1
            ml = 0
        if i >= k:
            hroll -= np.uint64(syms[i - k] + 1)
        hroll = ((hroll & m32) * mult_inv + np.uint64(s + 1) * mult_k1) & m32
        if i + 1 >= k:
            h = np.int64(((hroll * hfin) & m32) >> hshift)
            if pp < 0:
                pp = table[h]
                ml = 0
            table[h] = i + 1
    return out, flag


@njit(cache=True, nogil=True)
def _decode_match_kernel(
    buf,
    pos,
    x0_in,
    x1_in,
    n,
    ext,
    o1n,
    o1map,
    o2n,
    o2map,
    dmap,
    o3n,
    o3map,
    ctxmap,
    rowmap,
    cum,
    scale_bits,
    k,
    match_sym,
    out,
):
    """Like :func:`_decode_search_kernel` for a stream coded through :func:`match_symbols`: the row of symbol
    ``i`` is ``rowmap[ctxmap[context] * MATCH_NFLAG + match flag]`` (range-checked), and ``match_sym`` stands
    for the predicted symbol. The symbol is found by binary search in ``cum``: bucket tables (as in
    :func:`_decode_bucket_kernel`) were faster on warm tables but slower in ``decode_text``, where these
    models' tables are cold between streams and the bucket table is one more miss per symbol (and ~5 MiB
    more per process for the six match models). No software prefetch of the row: fetching its 4-9 cache
    lines before the match symbol's test (which decides most symbols from one line) measured 1.05-1.15x
    slower per stream on the AMD EPYC host of 2026-12-07 (docs/perf/qyn1-decode.md, round 6)."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    have_ext = ext.shape[0] > 0
    nctx = cum.shape[0]
    ncum = cum.shape[1]
    nmap = ctxmap.shape[0]
    nrowmap = rowmap.shape[0]
    prev = 0
    prev2 = 0
    prev3 = 0
    have_d = dmap.shape[0] > 0
    depth = 0
    hb = _match_hash_bits(n)
    table = np.full(1 << hb, -1, dtype=np.int32)
    # the k-gram hash, rolled forward (see _MATCH_MULT)
    m32 = np.uint64(0xFFFFFFFF)
    mult_k1 = np.uint64(1)
    for _ in range(k - 1):
        mult_k1 = (mult_k1 * np.uint64(_MATCH_MULT)) & m32
    mult_inv = np.uint64(_MATCH_MULT_INV)
    hfin = np.uint64(_MATCH_FINAL)
    hshift = np.uint64(32 - hb)
    hroll = np.uint64(0)
    pp = -1
    ml = 0
    for i in range(n):
        c = o3map[prev3]
        if have_ext:
            c += ext[i] * o3n
        c = c * o2n + o2map[prev2]
        c = c * o1n + o1map[prev]
        if have_d:
            c = c * 2 + (1 if depth > 0 else 0)
        if c < 0 or c >= nmap:
            return -1, x0, x1
        c = ctxmap[c] * MATCH_NFLAG + _match_flag(pp, ml)
        if c < 0 or c >= nrowmap:
            return -1, x0, x1
        c = rowmap[c]
        if c < 0 or c >= nctx:
            return -1, x0, x1
        x = x1 if i & 1 else x0
        slot = x & mask
        if np.uint64(cum[c, match_sym]) <= slot:  # the match symbol is the last one: one look when it holds
            s = match_sym
        else:
            s = 0
            size = ncum - 2  # the symbol is in s .. s + size - 1; halved without branches
            while size > 1:
                half = size >> 1
                s = s + half if np.uint64(cum[c, s + half]) <= slot else s
                size -= half
        lo = np.uint64(cum[c, s])
        x = (np.uint64(cum[c, s + 1]) - lo) * (x >> sb) + slot - lo
        while x < L:
            if pos >= m:
                return -1, x0, x1
            x = (x << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        if i & 1:
            x1 = x
        else:
            x0 = x
        if s == match_sym:
            if pp < 0:
                return -1, x0, x1
            s = out[pp]
            pp += 1
            ml += 1
        else:
            if s > match_sym:
                return -1, x0, x1
            pp = -1
            ml = 0
        out[i] = s
        if i >= k:
            hroll -= np.uint64(out[i - k] + 1)
        hroll = ((hroll & m32) * mult_inv + np.uint64(s + 1) * mult_k1) & m32
        if i + 1 >= k:
            h = np.int64(((hroll * hfin) & m32) >> hshift)
            if pp < 0:
                pp = table[h]
                ml = 0
            table[h] = i + 1
        prev3 = prev2
        prev2 = prev
        prev = s
        if have_d:
            depth += dmap[s]
    return pos, x0, x1


def decode_match(dec: StreamDecoder, model: Model, n: int, rowmap, k: int, ext=None) -> np.ndarray:
    """Decode ``n`` symbols of a stream coded through :func:`match_symbols` (the model's last symbol is the
    match symbol; its rows are ``rowmap[ctxmap[context] * MATCH_NFLAG + flag]``)."""
    out = np.empty(n, dtype=np.int32)
    if n == 0:
        return out
    if len(dec.buf) == 0:
        raise CodecError("empty rANS stream")
    if not len(model.ctxmap):
        raise ValueError("decode_match needs a model with a context map")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"match order k must be a whole number of at least 1, not {k!r}")
    rowmap = np.ascontiguousarray(rowmap, dtype=np.int32)
    # the kernel reads rowmap[ctxmap[context] * MATCH_NFLAG + flag] and then that table row, unchecked
    if (
        len(rowmap) < (int(model.ctxmap.max()) + 1) * MATCH_NFLAG
        or rowmap.min() < 0
        or rowmap.max() >= model.nctx
    ):
        raise ValueError(f"rowmap needs {MATCH_NFLAG} rows of the model's table per context row")
    e = _ext_array(ext, n)
    pos, x0, x1 = _decode_match_kernel(
        dec.buf,
        dec.pos,
        dec.x0,
        dec.x1,
        n,
        e,
        model.o1n,
        model.o1map,
        model.o2n,
        model.o2map,
        model.dmap,
        model.o3n,
        model.o3map,
        model.ctxmap,
        rowmap,
        model.cum,
        model.scale_bits,
        k,
        model.nsym - 1,
        out,
    )
    if pos < 0:
        raise CodecError(f"malformed rANS stream for model {model.name!r}")
    dec.pos, dec.x0, dec.x1 = int(pos), int(x0), int(x1)
    return out
