"""Static-model rANS entropy coder (Numba).

* 32-bit state ``x`` kept in ``[2**23, 2**31)``, byte-wise renormalisation (ryg_rans "byte" variant);
* two interleaved states (symbol ``i`` uses state ``i & 1``) so the two dependency chains overlap;
* frequencies quantised to ``2**scale_bits`` (12..15 bits) with every symbol at least 1;
* context models: a stream is coded with one table per context, the context of symbol ``i`` being
  ``ext[i] * o1n + o1map[previous symbol]`` (``ext`` comes from streams the decoder already has, ``o1map``
  gives an order-1 model on the stream itself; either may be trivial);
* tables are built once (trained tables ship as package data) and cached as :class:`Model` objects, never
  rebuilt per chunk.

Wire format of one coded stream: ``u32 n_symbols`` is kept by the caller; the payload is the rANS byte
stream (8 bytes of final state followed by renormalisation bytes in decoding order).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from qyn1.errors import CodecError

RANS_L = 1 << 23
MIN_SCALE, MAX_SCALE = 10, 15


def quantize(counts: np.ndarray, scale_bits: int) -> np.ndarray:
    """Quantise a 2-D array of (non-negative) counts, one row per context, to rows summing to
    ``2**scale_bits`` with every entry >= 1. Rows of all zeros become uniform."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        return quantize(counts[None, :], scale_bits)[0]
    nctx, nsym = counts.shape
    total = 1 << scale_bits
    if nsym > total:
        raise ValueError(f"alphabet of {nsym} symbols does not fit a {scale_bits}-bit scale")
    out = np.empty((nctx, nsym), dtype=np.int64)
    for r in range(nctx):
        c = counts[r]
        s = c.sum()
        if s <= 0:
            c = np.ones(nsym)
            s = float(nsym)
        # reserve one slot per symbol, share the rest proportionally
        spare = total - nsym
        f = np.floor(c * (spare / s)).astype(np.int64) + 1
        rest = total - int(f.sum())
        if rest > 0:
            # give the remainder to the largest fractional parts (ties -> lowest index)
            frac = c * (spare / s) - np.floor(c * (spare / s))
            order = np.lexsort((np.arange(nsym), -frac))
            f[order[:rest]] += 1
        elif rest < 0:  # cannot happen with floor, but keep the invariant explicit
            order = np.argsort(-f, kind="stable")
            i = 0
            while rest < 0:
                j = order[i % nsym]
                if f[j] > 1:
                    f[j] -= 1
                    rest += 1
                i += 1
        out[r] = f
    return out


class Model:
    """A cached set of quantised tables: ``freq``/``cum`` of shape (nctx, nsym) and a slot->symbol LUT."""

    __slots__ = (
        "_dtab",
        "_stab",
        "ctxmap",
        "cum",
        "dmap",
        "freq",
        "name",
        "nctx",
        "nsym",
        "o1map",
        "o1n",
        "o2map",
        "o2n",
        "o3map",
        "o3n",
        "pure_order1",
        "scale_bits",
    )

    def __init__(
        self,
        freq: np.ndarray,
        scale_bits: int,
        o1map: np.ndarray | None = None,
        name: str = "",
        o2map: np.ndarray | None = None,
        dmap: np.ndarray | None = None,
        o3map: np.ndarray | None = None,
        ctxmap: np.ndarray | None = None,
    ):
        f64 = np.asarray(freq).astype(np.int64)
        if f64.ndim == 1:
            f64 = f64[None, :]
        if not MIN_SCALE <= scale_bits <= MAX_SCALE:
            raise ValueError("scale_bits must be in 10..15")
        if not np.all(f64.sum(axis=1) == (1 << scale_bits)) or f64.min() < 1:
            raise ValueError("each table row must sum to 2**scale_bits with entries >= 1")
        self.name = name
        # uint16 is enough for both (cum <= 2**15): half the memory of uint32 tables in every worker
        self.freq = np.ascontiguousarray(f64, dtype=np.uint16)
        self.scale_bits = scale_bits
        self.nctx, self.nsym = f64.shape
        cum = np.zeros((self.nctx, self.nsym + 1), dtype=np.uint16)
        cum[:, 1:] = np.cumsum(f64, axis=1)
        self.cum = cum
        self._dtab = None
        self._stab = None
        if o1map is None:
            o1map = np.zeros(max(self.nsym, 1), dtype=np.int32)
        self.o1map = np.ascontiguousarray(o1map, dtype=np.int32)
        self.o1n = int(self.o1map.max()) + 1 if len(self.o1map) else 1
        if o2map is None:
            o2map = np.zeros(max(self.nsym, 1), dtype=np.int32)
        self.o2map = np.ascontiguousarray(o2map, dtype=np.int32)
        self.o2n = int(self.o2map.max()) + 1 if len(self.o2map) else 1
        # dmap: per-symbol nesting change (+1 opener, -1 closer); the innermost context bit is then
        # "inside brackets" (running sum > 0). Only the binary-search decoder tracks it.
        self.dmap = _EMPTY_I32 if dmap is None else np.ascontiguousarray(dmap, dtype=np.int32)
        # o3map: class of the symbol three back (another context dimension, outermost after ext);
        # ctxmap: sparse contexts -- full context index -> table row (rare contexts share backoff rows)
        self.o3map = (
            np.zeros(max(self.nsym, 1), dtype=np.int32)
            if o3map is None
            else np.ascontiguousarray(o3map, dtype=np.int32)
        )
        self.o3n = int(self.o3map.max()) + 1
        self.ctxmap = _EMPTY_I32 if ctxmap is None else np.ascontiguousarray(ctxmap, dtype=np.int32)
        if len(self.ctxmap) and (self.ctxmap.min() < 0 or self.ctxmap.max() >= self.nctx):
            raise ValueError("ctxmap points outside the table")
        self.pure_order1 = self._is_pure_order1()

    @property
    def dtab(self) -> np.ndarray:
        """Decoding table, built on first use: ``symbol << 32 | freq << 16 | (slot - cum)`` per slot."""
        if self._dtab is None:
            size = 1 << self.scale_bits
            dtab = np.empty((self.nctx, size), dtype=np.uint64)
            sym_ids = np.arange(self.nsym, dtype=np.int64)
            slots = np.arange(size, dtype=np.uint64)
            for r in range(self.nctx):
                f = self.freq[r].astype(np.int64)
                sym = np.repeat(sym_ids, f)
                start = self.cum[r, :-1].astype(np.uint64)[sym]
                dtab[r] = (
                    (sym.astype(np.uint64) << np.uint64(32))
                    | (f[sym].astype(np.uint64) << np.uint64(16))
                    | (slots - start)
                )
            self._dtab = dtab
        return self._dtab

    def _is_pure_order1(self) -> bool:
        """True when the context is exactly the previous symbol (``o1map`` is the identity, nothing else):
        such models decode with the flat slot->symbol table :attr:`stab` (:func:`_decode_o1_kernel`)."""
        return (
            self.nctx == self.nsym == self.o1n
            and self.o2n == 1
            and self.o3n == 1
            and not len(self.dmap)
            and not len(self.ctxmap)
            and len(self.o1map) == self.nsym
            and bool(np.array_equal(self.o1map, np.arange(self.nsym)))
            and self.nsym <= 1 << 16
            and self.nctx << self.scale_bits <= STAB_MAX_ENTRIES
        )

    @property
    def stab(self) -> np.ndarray:
        """Flat slot->symbol table, built on first use: entry ``(ctx << scale_bits) | slot`` is the symbol
        whose cumulative-frequency interval holds ``slot`` in row ``ctx`` (uint8 for byte alphabets)."""
        if self._stab is None:
            dt = np.uint8 if self.nsym <= 256 else np.uint16
            sym_ids = np.arange(self.nsym, dtype=dt)
            stab = np.empty(self.nctx << self.scale_bits, dtype=dt)
            size = 1 << self.scale_bits
            for r in range(self.nctx):
                stab[r * size : (r + 1) * size] = np.repeat(sym_ids, self.freq[r].astype(np.int64))
            self._stab = stab
        return self._stab

    @classmethod
    def from_counts(
        cls, counts, scale_bits: int = 12, o1map=None, name: str = "", o2map=None, dmap=None
    ) -> Model:
        return cls(quantize(counts, scale_bits), scale_bits, o1map, name, o2map, dmap)

    def depth_flags(self, syms: np.ndarray) -> np.ndarray:
        """1 where the running nesting (before the symbol) is > 0; empty when the model has no dmap."""
        if len(self.dmap) == 0:
            return _EMPTY_I32
        d = np.cumsum(self.dmap[np.asarray(syms, dtype=np.int64)])
        before = np.concatenate(([0], d[:-1])) if len(d) else d
        return (before > 0).astype(np.int32)

    def contexts(self, syms: np.ndarray, ext: np.ndarray | None) -> np.ndarray:
        """The table row of every symbol (the encoder knows all symbols in advance)."""
        syms = np.asarray(syms, dtype=np.int64)
        n = len(syms)
        ctx = np.zeros(n, dtype=np.int64) if ext is None else np.asarray(ext, dtype=np.int64) * self.o3n
        if n:
            p = np.zeros((3, n), dtype=np.int64)
            for d in (1, 2, 3):
                p[d - 1, d:] = syms[:-d] if n > d else p[d - 1, d:]
            ctx += self.o3map[p[2]]
            ctx = ctx * self.o2n + self.o2map[p[1]]
            ctx = ctx * self.o1n + self.o1map[p[0]]
        if len(self.dmap):
            ctx = ctx * 2 + self.depth_flags(syms)
        if len(self.ctxmap):
            ctx = self.ctxmap[ctx]
        return ctx

    def cost_bits(self, syms: np.ndarray, ext: np.ndarray | None = None) -> float:
        """Ideal code length in bits (for model selection and reports)."""
        syms = np.asarray(syms, dtype=np.int64)
        ctx = self.contexts(syms, ext)
        f = self.freq[ctx, syms].astype(np.float64)
        return float(len(syms) * self.scale_bits - np.log2(f).sum())


@njit(cache=True, nogil=True)
def _encode_kernel(syms, ext, o1n, o1map, o2n, o2map, dflag, freq, cum, scale_bits, out, pos, x0_in, x1_in):
    """Encode backwards into ``out`` below ``pos``, continuing from states ``x0_in``/``x1_in``; returns
    (new start offset, x0, x1), the offset being -1 for an out-of-range symbol or context."""
    n = syms.shape[0]
    nctx, nsym = freq.shape
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    bound = np.uint64((RANS_L >> scale_bits) << 8)
    sb = np.uint64(scale_bits)
    have_ext = ext.shape[0] > 0
    have_d = dflag.shape[0] > 0
    for i in range(n - 1, -1, -1):
        s = syms[i]
        if s < 0 or s >= nsym:
            return -1, x0, x1
        p1 = 0
        p2 = 0
        if i > 0:
            p1 = syms[i - 1]
            if p1 < 0 or p1 >= nsym:
                return -1, x0, x1
        if i > 1:
            p2 = syms[i - 2]
            if p2 < 0 or p2 >= nsym:
                return -1, x0, x1
        c = o2map[p2]
        if have_ext:
            c += ext[i] * o2n
        c = c * o1n + o1map[p1]
        if have_d:
            c = c * 2 + dflag[i]
        if c < 0 or c >= nctx:
            return -1, x0, x1
        f = np.uint64(freq[c, s])
        st = np.uint64(cum[c, s])
        x_max = bound * f
        x = x1 if i & 1 else x0
        while x >= x_max:
            pos -= 1
            out[pos] = np.uint8(x & np.uint64(0xFF))
            x >>= np.uint64(8)
        q = x // f
        x = (q << sb) + (x - q * f) + st
        if i & 1:
            x1 = x
        else:
            x0 = x
    return pos, x0, x1


@njit(cache=True, nogil=True)
def _decode_kernel(buf, pos, x0_in, x1_in, n, ext, o1n, o1map, o2n, o2map, dtab, scale_bits, out):
    """Decode ``n`` symbols; returns the number of input bytes consumed or -1 on malformed input.

    ``dtab[c, slot]`` packs ``symbol << 32 | freq << 16 | (slot - cum)`` so one load serves a symbol."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    m16 = np.uint64(0xFFFF)
    have_ext = ext.shape[0] > 0
    prev = 0
    prev2 = 0
    nctx = dtab.shape[0]
    i = 0
    while i < n:
        # state 0
        c = o2map[prev2]
        if have_ext:
            c += ext[i] * o2n
        c = c * o1n + o1map[prev]
        if c < 0 or c >= nctx:
            return -1, x0, x1
        e = dtab[c, x0 & mask]
        x0 = ((e >> np.uint64(16)) & m16) * (x0 >> sb) + (e & m16)
        while x0 < L:
            if pos >= m:
                return -1, x0, x1
            x0 = (x0 << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        prev2 = prev
        prev = np.int64(e >> np.uint64(32))
        out[i] = prev
        i += 1
        if i >= n:
            break
        # state 1
        c = o2map[prev2]
        if have_ext:
            c += ext[i] * o2n
        c = c * o1n + o1map[prev]
        if c < 0 or c >= nctx:
            return -1, x0, x1
        e = dtab[c, x1 & mask]
        x1 = ((e >> np.uint64(16)) & m16) * (x1 >> sb) + (e & m16)
        while x1 < L:
            if pos >= m:
                return -1, x0, x1
            x1 = (x1 << np.uint64(8)) | np.uint64(buf[pos])
            pos += 1
        prev2 = prev
        prev = np.int64(e >> np.uint64(32))
        out[i] = prev
        i += 1
    return pos, x0, x1


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
    """Like :func:`_decode_kernel` but finds the symbol by binary search in ``cum`` instead of a slot
    table: for models with many contexts, where slot tables would cost too much memory."""
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


DTAB_MAX_ENTRIES = 1 << 21  # beyond this (16 MiB of slot table) decode by binary search
STAB_MAX_ENTRIES = 1 << 24  # flat slot->symbol tables of pure order-1 models (<= 16 MiB as uint8)


_EMPTY_I32 = np.zeros(0, dtype=np.int32)


def _ext_array(ext, n: int) -> np.ndarray:
    if ext is None:
        return _EMPTY_I32
    e = np.ascontiguousarray(ext, dtype=np.int32)
    if len(e) != n:
        raise CodecError("context stream length mismatch")
    return e


def _check_syms(syms) -> np.ndarray:
    syms = np.ascontiguousarray(syms)
    if syms.dtype.kind not in "iu":
        raise TypeError("symbols must be integers")
    return syms


@njit(cache=True, nogil=True)
def _encode_rows_kernel(syms, rows, freq, cum, scale_bits, out, pos, x0_in, x1_in):
    """Like :func:`_encode_kernel` with the table row of every symbol given (``Model.contexts``)."""
    n = syms.shape[0]
    nctx, nsym = freq.shape
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    bound = np.uint64((RANS_L >> scale_bits) << 8)
    sb = np.uint64(scale_bits)
    for i in range(n - 1, -1, -1):
        s = syms[i]
        c = rows[i]
        if s < 0 or s >= nsym or c < 0 or c >= nctx:
            return -1, x0, x1
        f = np.uint64(freq[c, s])
        st = np.uint64(cum[c, s])
        x_max = bound * f
        x = x1 if i & 1 else x0
        while x >= x_max:
            pos -= 1
            out[pos] = np.uint8(x & np.uint64(0xFF))
            x >>= np.uint64(8)
        q = x // f
        x = (q << sb) + (x - q * f) + st
        if i & 1:
            x1 = x
        else:
            x0 = x
    return pos, x0, x1


def encode_streams(streams) -> bytes:
    """Encode several streams into ONE rANS byte stream sharing the coder state (8 bytes of final state in
    all, not per stream). ``streams`` is a sequence of ``(model, symbols, ext-or-None)`` in decoding order;
    the decoder must ask for them in the same order (:class:`StreamDecoder`). Contexts of a later stream
    may depend on earlier ones, since the decoder has those first."""
    streams = [(m, _check_syms(sy), ext) for m, sy, ext in streams]
    total = sum(len(sy) for _, sy, _ in streams)
    out = np.empty(2 * total + 16, dtype=np.uint8)
    pos = out.shape[0]
    x0 = x1 = RANS_L
    for model, syms, ext in reversed(streams):  # rANS is last-in first-out
        n = len(syms)
        if n == 0:
            continue
        if model.o3n > 1 or len(model.ctxmap):
            if syms.min() < 0 or syms.max() >= model.nsym:
                raise ValueError(f"symbol out of range for model {model.name!r}")
            rows = model.contexts(syms, ext).astype(np.int64)
            pos, x0, x1 = _encode_rows_kernel(
                syms, rows, model.freq, model.cum, model.scale_bits, out, pos, x0, x1
            )
            if pos < 0:
                raise ValueError(f"symbol or context out of range for model {model.name!r}")
            continue
        pos, x0, x1 = _encode_kernel(
            syms,
            _ext_array(ext, n),
            model.o1n,
            model.o1map,
            model.o2n,
            model.o2map,
            model.depth_flags(syms),
            model.freq,
            model.cum,
            model.scale_bits,
            out,
            pos,
            x0,
            x1,
        )
        if pos < 0:
            raise ValueError(f"symbol or context out of range for model {model.name!r}")
    if total == 0:
        return b""
    head = int(x0).to_bytes(4, "big") + int(x1).to_bytes(4, "big")
    return head + out[pos:].tobytes()


class StreamDecoder:
    """Decodes the streams of :func:`encode_streams`, in order; :meth:`finish` checks nothing is left."""

    def __init__(self, data):
        self.buf = np.frombuffer(data, dtype=np.uint8)
        if len(self.buf) == 0:
            self.pos, self.x0, self.x1 = 0, RANS_L, RANS_L
        elif len(self.buf) < 8:
            raise CodecError("rANS stream shorter than its state")
        else:
            self.x0 = int.from_bytes(bytes(self.buf[:4]), "big")
            self.x1 = int.from_bytes(bytes(self.buf[4:8]), "big")
            self.pos = 8
        if not (RANS_L <= self.x0 < RANS_L << 8 and RANS_L <= self.x1 < RANS_L << 8):
            raise CodecError("bad rANS state")

    def decode(self, model: Model, n: int, ext=None, dtype=np.int32) -> np.ndarray:
        out = np.empty(n, dtype=dtype)
        if n == 0:
            return out
        if len(self.buf) == 0:
            raise CodecError("empty rANS stream")
        e = _ext_array(ext, n)
        args = (self.buf, self.pos, self.x0, self.x1, n, e)
        if model.pure_order1 and len(e) == 0:
            r = _decode_o1_kernel(*args[:5], model.stab, model.freq, model.cum, model.scale_bits, out)
        elif (
            model.nctx << model.scale_bits > DTAB_MAX_ENTRIES
            or len(model.dmap)
            or model.o3n > 1
            or len(model.ctxmap)
        ):
            r = _decode_search_kernel(
                *args,
                model.o1n,
                model.o1map,
                model.o2n,
                model.o2map,
                model.dmap,
                model.o3n,
                model.o3map,
                model.ctxmap,
                model.freq,
                model.cum,
                model.scale_bits,
                out,
            )
        elif model.o1n == 1 and model.o2n == 1:
            r = _decode_ext_kernel(*args, model.dtab, model.scale_bits, out)
        else:
            r = _decode_kernel(
                *args, model.o1n, model.o1map, model.o2n, model.o2map, model.dtab, model.scale_bits, out
            )
        pos, x0, x1 = r
        if pos < 0:
            raise CodecError(f"malformed rANS stream for model {model.name!r}")
        self.pos, self.x0, self.x1 = int(pos), int(x0), int(x1)
        return out

    def finish(self) -> None:
        if self.pos != len(self.buf) or self.x0 != RANS_L or self.x1 != RANS_L:
            raise CodecError("rANS stream has trailing or missing bytes")


def encode(model: Model, syms, ext=None) -> bytes:
    """Encode one symbol array with ``model``; ``ext`` is the optional external context per symbol."""
    return encode_streams([(model, syms, ext)])


def decode(model: Model, data, n: int, ext=None, dtype=np.int32) -> np.ndarray:
    """Decode ``n`` symbols of a single-stream encoding. Raises :class:`CodecError` on malformed input."""
    d = StreamDecoder(data)
    out = d.decode(model, n, ext, dtype)
    d.finish()
    return out


# ---------------------------------------------------------------- move-to-front names with successors
@njit(cache=True, nogil=True)
def _decode_rank(buf, pos, x, mask, sb, L, m, freq, cum, c):
    """One binary-search rANS decode step in row ``c``: (symbol, new state, new position; -1 on underflow)."""
    nsym = freq.shape[1]
    slot = x & mask
    lo = 0
    hi = nsym
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if np.uint64(cum[c, mid]) <= slot:
            lo = mid
        else:
            hi = mid
    x = np.uint64(freq[c, lo]) * (x >> sb) + slot - np.uint64(cum[c, lo])
    while x < L:
        if pos >= m:
            return lo, x, -1
        x = (x << np.uint64(8)) | np.uint64(buf[pos])
        pos += 1
    return lo, x, pos


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
    freq,
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
    """Decode ``n`` names straight to local name ids (numbered by first occurrence), for the encoder's
    ``qyn1.encode._name_symbols``. Symbol 0 is a new name, ``1..rank_direct`` a move-to-front rank among the
    names seen in the same role (``roles[i]``), then four buckets per power of two whose low bits come from
    ``bits`` (one uint8 per bit, MSB first), ``succ_sym``/``succ_sym + 1`` the last/second-to-last distinct
    name that followed the previous name, ``esc_sym``: a rank among all names follows. The context of a
    symbol is ``ctxmap[ext[i] * nflag + flag]``, flag = where the successor's name sits in the first
    ``window`` entries of the move-to-front list (none, 0, 1-3, 4-15, further) x whether a second successor
    exists, or ``nflag - 1`` after an ESC: it depends on the names decoded so far, hence one sequential kernel.

    Returns (bytes consumed, x0, x1, bits consumed); consumed is -1 on malformed input."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    nctx = freq.shape[0]
    nmap = ctxmap.shape[0]
    nbits_total = bits.shape[0]
    order = np.empty(n + 1, dtype=np.int32)
    rorder = np.empty((nroles, n + 1), dtype=np.int32)
    rsize = np.zeros(nroles, dtype=np.int64)
    seen_in_role = np.zeros((nroles, n + 1), dtype=np.bool_)  # no scan of a role list for a name not in it
    succ1 = np.full(n + 1, -1, dtype=np.int32)
    succ2 = np.full(n + 1, -1, dtype=np.int32)
    size = 0
    p = -1
    bp = 0
    t = 0  # symbols decoded (the interleaved state is chosen by symbol, as in the encoder)
    for i in range(n):
        r = roles[i]
        if r < 0 or r >= nroles:
            return -1, x0, x1, bp
        c1 = -1
        c2 = -1
        if p >= 0:
            c1 = succ1[p]
            c2 = succ2[p]
        b = 0
        if c1 >= 0:
            b = 4
            for j in range(min(size, window)):
                if order[j] == c1:
                    b = 1 if j == 0 else (2 if j < 4 else 3)
                    break
        flag = b * 2 + (1 if c2 >= 0 else 0)
        v = -1
        in_role = True
        for step in range(2):
            c = np.int64(ext[i]) * nflag + flag
            if c < 0 or c >= nmap:
                return -1, x0, x1, bp
            c = ctxmap[c]
            if c < 0 or c >= nctx:
                return -1, x0, x1, bp
            if t & 1:
                s, x1, pos = _decode_rank(buf, pos, x1, mask, sb, L, m, freq, cum, c)
            else:
                s, x0, pos = _decode_rank(buf, pos, x0, mask, sb, L, m, freq, cum, c)
            t += 1
            if pos < 0:
                return -1, x0, x1, bp
            if step == 0 and s == 0:
                v = size
                size += 1
                isnew[i] = 1
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
                v = rorder[r, rank]
            else:
                if rank >= size:
                    return -1, x0, x1, bp
                v = order[rank]
            break
        out[i] = v
        if isnew[i]:
            j = size - 1  # a new name is the last id: it goes to the front from the end
        else:
            j = 0
            while order[j] != v:
                j += 1
        while j > 0:
            order[j] = order[j - 1]
            j -= 1
        order[0] = v
        jr = rsize[r]
        if seen_in_role[r, v]:
            jr = 0
            while rorder[r, jr] != v:
                jr += 1
        else:
            rsize[r] += 1
            seen_in_role[r, v] = True
        while jr > 0:
            rorder[r, jr] = rorder[r, jr - 1]
            jr -= 1
        rorder[r, 0] = v
        if p >= 0 and c1 != v:
            succ2[p] = c1
            succ1[p] = v
        p = v
    return pos, x0, x1, bp


def decode_names(
    dec: StreamDecoder,
    model: Model,
    n: int,
    ext,
    roles,
    nroles: int,
    nflag: int,
    bits,
    rank_direct: int,
    succ_sym: int,
    esc_sym: int,
    window: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode ``n`` move-to-front names from ``dec`` (see :func:`_decode_names_kernel`); ``model`` is a
    sparse model (``ctxmap``) over ``ext * nflag + flag``. Returns (ids, new-name flags, bits consumed)."""
    ids = np.empty(n, dtype=np.int32)
    isnew = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return ids, isnew.astype(np.bool_), 0
    if len(dec.buf) == 0:
        raise CodecError("empty rANS stream")
    if not len(model.ctxmap):
        raise ValueError("decode_names needs a model with a context map")
    e = _ext_array(ext, n)
    ro = _ext_array(roles, n)
    bits = np.ascontiguousarray(bits, dtype=np.uint8)
    pos, x0, x1, bp = _decode_names_kernel(
        dec.buf,
        dec.pos,
        dec.x0,
        dec.x1,
        n,
        e,
        ro,
        nroles,
        nflag,
        model.ctxmap,
        model.freq,
        model.cum,
        model.scale_bits,
        bits,
        rank_direct,
        succ_sym,
        esc_sym,
        window,
        ids,
        isnew,
    )
    if pos < 0:
        raise CodecError(f"malformed rANS stream for model {model.name!r}")
    dec.pos, dec.x0, dec.x1 = int(pos), int(x0), int(x1)
    return ids, isnew.astype(np.bool_), int(bp)


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


@njit(cache=True, nogil=True)
def _match_hash(syms, end, k, hb):
    """Hash of ``syms[end - k + 1 .. end]`` to ``hb`` bits."""
    h = np.uint64(0)
    for t in range(k):
        h = (h * np.uint64(0x9E3779B1) + np.uint64(syms[end - t] + 1)) & np.uint64(0xFFFFFFFF)
    return np.int64((h * np.uint64(0x85EBCA6B) & np.uint64(0xFFFFFFFF)) >> np.uint64(32 - hb))


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


@njit(cache=True, nogil=True)
def match_symbols(syms, k, match_sym):
    """The match model over one stream: the prediction for symbol ``i`` is the symbol that followed the last
    earlier occurrence of the ``k`` symbols before it (found through a hash table of the last position of
    each k-gram, then followed while it keeps matching). Returns (coded symbols: ``match_sym`` where the
    prediction is right, else the symbol; match flag per symbol, the extra context). Mirrored by
    :func:`_decode_match_kernel`."""
    n = syms.shape[0]
    hb = _match_hash_bits(n)
    table = np.full(1 << hb, -1, dtype=np.int32)
    out = np.empty(n, dtype=np.int32)
    flag = np.empty(n, dtype=np.int32)
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
        if i + 1 >= k:
            h = _match_hash(syms, i, k, hb)
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
    freq,
    cum,
    scale_bits,
    k,
    match_sym,
    out,
):
    """Like :func:`_decode_search_kernel` for a stream coded through :func:`match_symbols`: the row of symbol
    ``i`` is ``rowmap[ctxmap[context] * MATCH_NFLAG + match flag]``, and ``match_sym`` stands for the
    predicted symbol."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    have_ext = ext.shape[0] > 0
    nctx, nsym = freq.shape
    nmap = ctxmap.shape[0]
    nrowmap = rowmap.shape[0]
    prev = 0
    prev2 = 0
    prev3 = 0
    have_d = dmap.shape[0] > 0
    depth = 0
    hb = _match_hash_bits(n)
    table = np.full(1 << hb, -1, dtype=np.int32)
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
        lo = 0
        hi = nsym
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
        if i + 1 >= k:
            h = _match_hash(out, i, k, hb)
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
        np.ascontiguousarray(rowmap, dtype=np.int32),
        model.freq,
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


def encode_rows_streams(streams) -> bytes:
    """Like :func:`encode_streams` with the table row of every symbol given: ``(model, symbols, rows)`` in
    decoding order (rows from :meth:`Model.contexts`, or any context scheme the decoder mirrors)."""
    total = sum(len(sy) for _, sy, _ in streams)
    out = np.empty(2 * total + 16, dtype=np.uint8)
    pos = out.shape[0]
    x0 = x1 = RANS_L
    for model, syms, rows in reversed(streams):
        if len(syms) == 0:
            continue
        syms = _check_syms(syms)
        pos, x0, x1 = _encode_rows_kernel(
            syms,
            np.ascontiguousarray(rows, dtype=np.int64),
            model.freq,
            model.cum,
            model.scale_bits,
            out,
            pos,
            x0,
            x1,
        )
        if pos < 0:
            raise ValueError(f"symbol or context out of range for model {model.name!r}")
    if total == 0:
        return b""
    head = int(x0).to_bytes(4, "big") + int(x1).to_bytes(4, "big")
    return head + out[pos:].tobytes()
