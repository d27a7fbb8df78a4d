"""The rANS coder's Numba kernels: per-symbol table rows (contexts), the encoder, and one decoder per
table layout (bucket tables, rows from external contexts, binary search, packed order-0, flat order-1).

State bounds (``RANS_L``) and scales live here because every kernel depends on them; :mod:`qyn1.rans.model`
builds the tables the kernels read, :mod:`qyn1.rans.coder` calls them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

RANS_L = 1 << 23
_RANS_H = RANS_L << 8  # states live in [RANS_L, _RANS_H)
MIN_SCALE, MAX_SCALE = 10, 15


@njit(cache=True, nogil=True)
def _contexts_kernel(syms, ext, have_ext, o1n, o1map, o2n, o2map, dmap, o3n, o3map, ctxmap, out):
    """:meth:`Model.contexts` in one pass (the rows the encoder of the match and name streams is given):
    the table row of every symbol into ``out``. False, with ``out`` unfinished, for a symbol outside the
    maps or a context outside ``ctxmap`` (the caller then lets the array version report it)."""
    n = syms.shape[0]
    lim = min(o1map.shape[0], o2map.shape[0], o3map.shape[0])
    have_d = dmap.shape[0] > 0
    if have_d:
        lim = min(lim, dmap.shape[0])
    nmap = ctxmap.shape[0]
    have_map = nmap > 0
    p1 = 0
    p2 = 0
    p3 = 0
    depth = 0
    for i in range(n):
        s = syms[i]
        if s < 0 or s >= lim:
            return False
        c = np.int64(o3map[p3])
        if have_ext:
            c += ext[i] * o3n
        c = c * o2n + o2map[p2]
        c = c * o1n + o1map[p1]
        if have_d:
            c = c * 2 + (1 if depth > 0 else 0)
            depth += dmap[s]
        if have_map:
            if c < 0 or c >= nmap:
                return False
            c = np.int64(ctxmap[c])
        out[i] = c
        p3 = p2
        p2 = p1
        p1 = s
    return True


@njit(cache=True, nogil=True)
def _decode_ext_kernel(buf, pos, x0_in, x1_in, n, ext, dtab, scale_bits, out):
    """Decoder for models without an order-1 part: contexts come only from ``ext`` (or are all 0), so the
    two interleaved states are independent and decoded two symbols per iteration."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    m16 = np.uint64(0xFFFF)
    have_ext = ext.shape[0] > 0
    nctx = dtab.shape[0]
    c0 = 0
    c1 = 0
    for i in range(0, n - 1, 2):
        if have_ext:
            c0 = ext[i]
            c1 = ext[i + 1]
            if c0 < 0 or c0 >= nctx or c1 < 0 or c1 >= nctx:
                return -1, x0, x1
        e0 = dtab[c0, x0 & mask]
        e1 = dtab[c1, x1 & mask]
        x0 = ((e0 >> np.uint64(16)) & m16) * (x0 >> sb) + (e0 & m16)
        x1 = ((e1 >> np.uint64(16)) & m16) * (x1 >> sb) + (e1 & m16)
        while x0 < L:
            if pos >= m:
                return -1, x0, x1
            x0 = (x0 << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        while x1 < L:
            if pos >= m:
                return -1, x0, x1
            x1 = (x1 << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        out[i] = e0 >> np.uint64(32)
        out[i + 1] = e1 >> np.uint64(32)
    if n & 1:
        i = n - 1
        if have_ext:
            c0 = ext[i]
            if c0 < 0 or c0 >= nctx:
                return -1, x0, x1
        e0 = dtab[c0, x0 & mask]
        x0 = ((e0 >> np.uint64(16)) & m16) * (x0 >> sb) + (e0 & m16)
        while x0 < L:
            if pos >= m:
                return -1, x0, x1
            x0 = (x0 << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        out[i] = e0 >> np.uint64(32)
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _decode_search_kernel(
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
    freq,
    cum,
    scale_bits,
    out,
):
    """Generic decoder: any context model, the symbol found by binary search in ``cum``. The obvious twin of
    :func:`_decode_bucket_kernel` / :func:`_decode_rows_kernel` (tests compare them), and the path for
    alphabets too wide for uint16 bucket tables or order-1 models given external contexts."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    have_ext = ext.shape[0] > 0
    nctx, nsym = freq.shape
    prev = 0
    prev2 = 0
    prev3 = 0
    have_map = ctxmap.shape[0] > 0
    have_d = dmap.shape[0] > 0
    depth = 0
    for i in range(n):
        c = o3map[prev3]
        if have_ext:
            c += ext[i] * o3n
        c = c * o2n + o2map[prev2]
        c = c * o1n + o1map[prev]
        if have_d:
            c = c * 2 + (1 if depth > 0 else 0)
        if have_map:
            if c < 0 or c >= ctxmap.shape[0]:
                return -1, x0, x1
            c = ctxmap[c]
        if c < 0 or c >= nctx:
            return -1, x0, x1
        x = x1 if i & 1 else x0
        slot = x & mask
        lo = 0
        hi = nsym  # cum[c, lo] <= slot < cum[c, hi]
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if np.uint64(cum[c, mid]) <= slot:
                lo = mid
            else:
                hi = mid
        s = lo
        x = np.uint64(freq[c, s]) * (x >> sb) + slot - np.uint64(cum[c, s])
        while x < L:
            if pos >= m:
                return -1, x0, x1
            x = (x << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        if i & 1:
            x1 = x
        else:
            x0 = x
        out[i] = s
        prev3 = prev2
        prev2 = prev
        prev = s
        if have_d:
            depth += dmap[s]
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _decode_o1_kernel(buf, pos, x0_in, x1_in, n, stab, freq, cum, scale_bits, out):
    """Decoder for pure order-1 models (the context is the previous symbol, e.g. the byte model).

    ``stab[(prev << scale_bits) | slot]`` gives the symbol directly from a small flat table (1 MiB for
    bytes at 12 bits), so the chain that serialises the two interleaved states -- previous symbol ->
    next symbol -- is a single load; frequency and start (``freq``/``cum``, contiguous uint16 rows) are
    only needed for the state update, which the other state does not wait for. All index arithmetic
    is unsigned (no wraparound checks)."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    sb = np.uint64(scale_bits)
    mask = np.uint64((1 << scale_bits) - 1)
    nsym = np.uint64(freq.shape[1])
    ffl = freq.ravel()
    cfl = cum.ravel()
    ncum = np.uint64(cum.shape[1])
    eight = np.uint64(8)
    prev = np.uint64(0)
    i = 0
    while i + 1 < n:
        slot = x0 & mask
        s = np.uint64(stab[(prev << sb) | slot])
        x0 = np.uint64(ffl[prev * nsym + s]) * (x0 >> sb) + slot - np.uint64(cfl[prev * ncum + s])
        out[i] = s
        slot = x1 & mask
        s1 = np.uint64(stab[(s << sb) | slot])
        x1 = np.uint64(ffl[s * nsym + s1]) * (x1 >> sb) + slot - np.uint64(cfl[s * ncum + s1])
        out[i + 1] = s1
        prev = s1
        while x0 < L:
            if pos >= m:
                return -1, x0, x1
            x0 = (x0 << eight) | np.uint64(buf[pos])
            pos += 1
        while x1 < L:
            if pos >= m:
                return -1, x0, x1
            x1 = (x1 << eight) | np.uint64(buf[pos])
            pos += 1
        i += 2
    if i < n:
        slot = x0 & mask
        s = np.uint64(stab[(prev << sb) | slot])
        x0 = np.uint64(ffl[prev * nsym + s]) * (x0 >> sb) + slot - np.uint64(cfl[prev * ncum + s])
        out[i] = s
        while x0 < L:
            if pos >= m:
                return -1, x0, x1
            x0 = (x0 << eight) | np.uint64(buf[pos])
            pos += 1
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _bucket_table_kernel(cum, bucket_bits, scale_bits, out):
    """Fill the bucket table ``out`` (``nctx << bucket_bits`` entries): entry ``(r << bucket_bits) | b`` is the
    symbol of row ``r`` whose interval holds slot ``b << (scale_bits - bucket_bits)``. One merge-like walk
    per row over its symbols and buckets, O(nsym + buckets): ~6 ms for all shipped models."""
    nctx = cum.shape[0]
    nb = 1 << bucket_bits
    shift = scale_bits - bucket_bits
    for r in range(nctx):
        s = 0
        for b in range(nb):
            start = b << shift
            while cum[r, s + 1] <= start:  # cum[r, nsym] = 2**scale_bits > start ends the walk
                s += 1
            out[r * nb + b] = s


@njit(cache=True, nogil=True)
def _decode_bucket_kernel(
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
    cum,
    btab,
    bucket_bits,
    scale_bits,
    out,
):
    """Sequential decoder for any context model (order 1-3 maps, nesting flag, sparse rows): the same
    contexts and result as :func:`_decode_search_kernel`, but the symbol comes from the bucket table
    ``btab`` (:attr:`Model.btab`) plus a short step up through ``cum`` instead of a binary search, whose
    mispredicted branches sat on the chain that serialises the symbols (symbol -> next context -> next
    symbol). The frequency is ``cum[s + 1] - cum[s]``, so ``freq`` is not read. All table indices are
    unsigned and in bounds by construction: contexts are range-checked once, btab entries are symbols of
    their row, and ``cum[row, nsym] = 2**scale_bits`` is above every slot, which ends the step.
    Returns ``(bytes consumed, x0, x1)``, -1 on malformed input."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    bb = np.uint64(bucket_bits)
    bshift = np.uint64(scale_bits - bucket_bits)
    eight = np.uint64(8)
    one = np.uint64(1)
    cfl = cum.ravel()
    ncum = np.uint64(cum.shape[1])
    nctx = cum.shape[0]
    nmap = ctxmap.shape[0]
    have_ext = ext.shape[0] > 0
    have_map = nmap > 0
    have_d = dmap.shape[0] > 0
    prev = np.uint64(0)
    prev2 = np.uint64(0)
    prev3 = np.uint64(0)
    depth = 0
    for i in range(n):
        c = np.int64(o3map[prev3])
        if have_ext:
            c += np.int64(ext[i]) * o3n
        c = c * o2n + o2map[prev2]
        c = c * o1n + o1map[prev]
        if have_d:
            c = c * 2 + (1 if depth > 0 else 0)
        if have_map:
            if c < 0 or c >= nmap:
                return -1, x0, x1
            c = np.int64(ctxmap[np.uint64(c)])
        if c < 0 or c >= nctx:
            return -1, x0, x1
        row = np.uint64(c)
        base = row * ncum
        # the two states written out (no select between them: that would chain their updates)
        if i & 1:
            slot = x1 & mask
            s = np.uint64(btab[(row << bb) | (slot >> bshift)])
            hi = np.uint64(cfl[base + s + one])
            while hi <= slot:
                s += one
                hi = np.uint64(cfl[base + s + one])
            lo = np.uint64(cfl[base + s])
            x1 = (hi - lo) * (x1 >> sb) + slot - lo
            while x1 < L:
                if pos >= m:
                    return -1, x0, x1
                x1 = (x1 << eight) | np.uint64(buf[pos])
                pos += 1
        else:
            slot = x0 & mask
            s = np.uint64(btab[(row << bb) | (slot >> bshift)])
            hi = np.uint64(cfl[base + s + one])
            while hi <= slot:
                s += one
                hi = np.uint64(cfl[base + s + one])
            lo = np.uint64(cfl[base + s])
            x0 = (hi - lo) * (x0 >> sb) + slot - lo
            while x0 < L:
                if pos >= m:
                    return -1, x0, x1
                x0 = (x0 << eight) | np.uint64(buf[pos])
                pos += 1
        out[i] = s
        prev3 = prev2
        prev2 = prev
        prev = s
        if have_d:
            depth += dmap[s]
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _decode_rows_kernel(buf, pos, x0_in, x1_in, n, ext, ctxmap, cum, btab, bucket_bits, scale_bits, out):
    """Decoder for models whose row depends only on ``ext`` (``ctxmap[ext[i]]``, or ``ext[i]`` without a
    map; e.g. the name ranks and the mid-line spaces): no symbol feeds a later context, so the two
    interleaved states are independent chains, decoded two symbols per iteration, each through the
    bucket table as in :func:`_decode_bucket_kernel`. Returns ``(bytes consumed, x0, x1)``, -1 on
    malformed input."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    bb = np.uint64(bucket_bits)
    bshift = np.uint64(scale_bits - bucket_bits)
    eight = np.uint64(8)
    one = np.uint64(1)
    cfl = cum.ravel()
    ncum = np.uint64(cum.shape[1])
    nmap = ctxmap.shape[0]
    have_ext = ext.shape[0] > 0
    have_map = nmap > 0
    n_ext = nmap if have_map else cum.shape[0]  # valid ext values index the map, or the rows
    r0 = np.uint64(ctxmap[0]) if have_map else np.uint64(0)  # the row without ext
    r1 = r0
    for i in range(0, n, 2):
        two = i + 1 < n
        if have_ext:
            e0 = ext[i]
            e1 = ext[i + 1] if two else 0
            if e0 < 0 or e0 >= n_ext or e1 < 0 or e1 >= n_ext:
                return -1, x0, x1
            if have_map:
                r0 = np.uint64(ctxmap[np.uint64(e0)])
                r1 = np.uint64(ctxmap[np.uint64(e1)])
            else:
                r0 = np.uint64(e0)
                r1 = np.uint64(e1)
        base = r0 * ncum
        slot = x0 & mask
        s = np.uint64(btab[(r0 << bb) | (slot >> bshift)])
        hi = np.uint64(cfl[base + s + one])
        while hi <= slot:
            s += one
            hi = np.uint64(cfl[base + s + one])
        lo = np.uint64(cfl[base + s])
        x0 = (hi - lo) * (x0 >> sb) + slot - lo
        out[i] = s
        if two:
            base = r1 * ncum
            slot = x1 & mask
            s = np.uint64(btab[(r1 << bb) | (slot >> bshift)])
            hi = np.uint64(cfl[base + s + one])
            while hi <= slot:
                s += one
                hi = np.uint64(cfl[base + s + one])
            lo = np.uint64(cfl[base + s])
            x1 = (hi - lo) * (x1 >> sb) + slot - lo
            out[i + 1] = s
        while x0 < L:
            if pos >= m:
                return -1, x0, x1
            x0 = (x0 << eight) | np.uint64(buf[pos])
            pos += 1
        while x1 < L:
            if pos >= m:
                return -1, x0, x1
            x1 = (x1 << eight) | np.uint64(buf[pos])
            pos += 1
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _encode_ctx_kernel(
    syms, ext, o1n, o1map, o2n, o2map, dmap, o3n, o3map, ctxmap, freq, cum, scale_bits, out, pos, x0_in, x1_in
):
    """Encode backwards into ``out`` below ``pos`` from states ``x0_in``/``x1_in``, computing each symbol's
    table row on the fly exactly as :meth:`Model.contexts` does (order 1-3 maps, nesting flag, sparse
    ``ctxmap``): one pass, no per-stream temporary arrays. The nesting before symbol ``i`` is the total
    minus the changes of symbols ``i..n-1``, so the backward pass needs no stored prefix sums.

    Renormalisation is branch-free: a symbol emits at most two bytes (``x < 2**31``, ``x_max >= 2**16``),
    so both candidates are stored below ``pos`` and ``pos`` moves by the number actually emitted (bytes
    below the final ``pos`` are not part of the output; ``out`` has two bytes per symbol plus slack).
    Returns ``(new start offset, x0, x1)``, the offset -1 for an out-of-range symbol or context."""
    n = syms.shape[0]
    nctx, nsym = freq.shape
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    bound = np.uint64((RANS_L >> scale_bits) << 8)
    sb = np.uint64(scale_bits)
    eight = np.uint64(8)
    ff = np.uint64(0xFF)
    have_ext = ext.shape[0] > 0
    have_d = dmap.shape[0] > 0
    nmap = ctxmap.shape[0]
    have_map = nmap > 0
    depth = 0
    for i in range(n):
        s = syms[i]
        if s < 0 or s >= nsym:
            return -1, x0, x1
        if have_d:
            depth += dmap[s]
    for i in range(n - 1, -1, -1):
        s = np.int64(syms[i])
        if have_d:
            depth -= dmap[s]
        p1 = np.int64(syms[i - 1]) if i > 0 else 0
        p2 = np.int64(syms[i - 2]) if i > 1 else 0
        p3 = np.int64(syms[i - 3]) if i > 2 else 0
        c = np.int64(o3map[p3])
        if have_ext:
            c += np.int64(ext[i]) * o3n
        c = c * o2n + o2map[p2]
        c = c * o1n + o1map[p1]
        if have_d:
            c = c * 2 + (1 if depth > 0 else 0)
        if have_map:
            if c < 0 or c >= nmap:
                return -1, x0, x1
            c = np.int64(ctxmap[c])
        if c < 0 or c >= nctx:
            return -1, x0, x1
        f = np.uint64(freq[c, s])
        st = np.uint64(cum[c, s])
        x_max = bound * f
        # the two states written out (no select between them: that would chain their updates)
        if i & 1:
            out[pos - 1] = np.uint8(x1 & ff)
            out[pos - 2] = np.uint8((x1 >> eight) & ff)
            k = (1 if x1 >= x_max else 0) + (1 if x1 >= x_max << eight else 0)
            pos -= k
            x = x1 >> np.uint64(8 * k)
            q = x // f
            x1 = (q << sb) + (x - q * f) + st
        else:
            out[pos - 1] = np.uint8(x0 & ff)
            out[pos - 2] = np.uint8((x0 >> eight) & ff)
            k = (1 if x0 >= x_max else 0) + (1 if x0 >= x_max << eight else 0)
            pos -= k
            x = x0 >> np.uint64(8 * k)
            q = x // f
            x0 = (q << sb) + (x - q * f) + st
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _encode_rows_kernel(syms, rows, freq, cum, scale_bits, out, pos, x0_in, x1_in):
    """rANS-encode ``syms`` backwards with the table row of every symbol given (``rows``); the two states
    alternate by symbol index. Used by :func:`encode_rows_streams` (match models, names). As in
    :func:`_encode_ctx_kernel`, the two states are written out (no select chaining their divisions) and the
    renormalisation is branch-free (both candidate bytes stored below ``pos``, which moves by the number
    emitted; ``out`` has two bytes per symbol plus slack)."""
    n = syms.shape[0]
    nctx, nsym = freq.shape
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    bound = np.uint64((RANS_L >> scale_bits) << 8)
    sb = np.uint64(scale_bits)
    eight = np.uint64(8)
    ff = np.uint64(0xFF)
    for i in range(n - 1, -1, -1):
        s = syms[i]
        c = rows[i]
        if s < 0 or s >= nsym or c < 0 or c >= nctx:
            return -1, x0, x1
        f = np.uint64(freq[c, s])
        st = np.uint64(cum[c, s])
        x_max = bound * f
        if i & 1:
            out[pos - 1] = np.uint8(x1 & ff)
            out[pos - 2] = np.uint8((x1 >> eight) & ff)
            k = (1 if x1 >= x_max else 0) + (1 if x1 >= x_max << eight else 0)
            pos -= k
            x = x1 >> np.uint64(8 * k)
            q = np.uint64(np.uint32(x) // np.uint32(f))  # x < 2**31, f <= 2**15: a 32-bit division
            x1 = (q << sb) + (x - q * f) + st
        else:
            out[pos - 1] = np.uint8(x0 & ff)
            out[pos - 2] = np.uint8((x0 >> eight) & ff)
            k = (1 if x0 >= x_max else 0) + (1 if x0 >= x_max << eight else 0)
            pos -= k
            x = x0 >> np.uint64(8 * k)
            q = np.uint64(np.uint32(x) // np.uint32(f))  # x < 2**31, f <= 2**15: a 32-bit division
            x0 = (q << sb) + (x - q * f) + st
    return pos, x0, x1
