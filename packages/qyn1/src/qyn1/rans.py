"""Static-model rANS entropy coder (Numba).

* 32-bit state ``x`` kept in ``[2**23, 2**31)``, byte-wise renormalisation (ryg_rans "byte" variant);
* two interleaved states (symbol ``i`` uses state ``i & 1``) so the two dependency chains overlap;
* frequencies quantised to ``2**scale_bits`` (12..15 bits) with every symbol at least 1;
* context models: a stream is coded with one table per context, the context of symbol ``i`` being
  ``ext[i] * o1n + o1map[previous symbol]`` (``ext`` comes from streams the decoder already has, ``o1map``
  gives an order-1 model on the stream itself; either may be trivial);
* tables are built once (trained tables ship as package data) and cached as :class:`Model` objects, never
  rebuilt per chunk.
* encoding computes every symbol's row on the fly in one kernel (:func:`_encode_ctx_kernel`); decoding
  looks the symbol up in a per-row bucket table (top bits of the slot -> first candidate symbol, then a
  short step through ``cum``: :func:`_decode_bucket_kernel`, or :func:`_decode_rows_kernel` for rows from
  ``ext`` only), pure order-1 models in a flat slot->symbol table (:func:`_decode_o1_kernel`), order-0
  models in a packed one (:func:`_decode_ext_kernel`).

Wire format of one coded stream: ``u32 n_symbols`` is kept by the caller; the payload is the rANS byte
stream (8 bytes of final state followed by renormalisation bytes in decoding order).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

from qyn1.errors import CodecError

RANS_L = 1 << 23
_RANS_H = RANS_L << 8  # states live in [RANS_L, _RANS_H)
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
    """A cached set of quantised tables: ``freq``/``cum`` of shape (nctx, nsym), the context maps, and the
    decoder's lookup table built on first use (:attr:`btab`; :attr:`stab` for pure order-1 models,
    :attr:`dtab` for order-0 ones)."""

    __slots__ = (
        "_btab",
        "_dargs",
        "_dtab",
        "_eargs",
        "_stab",
        "bucket_bits",
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
        "route",
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
        self._stab = None
        self._btab = None
        self._dtab = None
        self._dargs = {}
        self._eargs = None
        if o1map is None:
            o1map = np.zeros(max(self.nsym, 1), dtype=np.int32)
        self.o1map = np.ascontiguousarray(o1map, dtype=np.int32)
        self.o1n = int(self.o1map.max()) + 1 if len(self.o1map) else 1
        if o2map is None:
            o2map = np.zeros(max(self.nsym, 1), dtype=np.int32)
        self.o2map = np.ascontiguousarray(o2map, dtype=np.int32)
        self.o2n = int(self.o2map.max()) + 1 if len(self.o2map) else 1
        # dmap: per-symbol nesting change (+1 opener, -1 closer); the innermost context bit is then
        # "inside brackets" (running sum > 0). The sequential decoders track it.
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
        # the kernels index these maps with symbols (and the results with no sign check) unchecked
        for cmap in (self.o1map, self.o2map, self.o3map):
            if len(cmap) < self.nsym or cmap.min() < 0:
                raise ValueError("context maps need a non-negative entry per symbol")
        if len(self.dmap) and len(self.dmap) < self.nsym:
            raise ValueError("dmap needs an entry per symbol")
        self.pure_order1 = self._is_pure_order1()
        self.bucket_bits = self._bucket_bits()
        self.route = self._pick_route()

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

    def _bucket_bits(self) -> int:
        """log2 of the buckets per row of :attr:`btab`: about one bucket per symbol (round(log2 nsym)),
        at most :data:`BTAB_MAX_BITS` and the scale, fewer when the table would pass
        :data:`BTAB_MAX_ENTRIES` (the many-row sparse models)."""
        bits = min(self.scale_bits, BTAB_MAX_BITS, max(1, round(math.log2(max(self.nsym, 2)))))
        while bits > 1 and self.nctx << bits > BTAB_MAX_ENTRIES:
            bits -= 1
        return bits

    @property
    def btab(self) -> np.ndarray:
        """Bucket table, built on first use: entry ``(row << bucket_bits) | b`` is the symbol whose interval
        holds the first slot of bucket ``b`` (slots ``b << (scale_bits - bucket_bits)`` onwards), i.e. a
        lower bound of the symbol of any slot in the bucket; the decoder steps up from it through ``cum``
        (on the shipped tables 0.03-0.8 steps per symbol on average instead of a 7-14 step binary search).
        uint8 when the alphabet fits, or when entries above 255 are rare (at most 1/8 of the buckets: the
        tail of rare symbols of a 258-symbol byte alphabet); clamped to 255 they are still lower bounds,
        only those buckets step further. Else uint16 (the 12,002-symbol morpheme models)."""
        if self._btab is None:
            bits = self.bucket_bits
            btab = np.empty(self.nctx << bits, dtype=np.uint16)
            _bucket_table_kernel(self.cum, bits, self.scale_bits, btab)
            if self.nsym <= 256 or np.count_nonzero(btab > 255) <= len(btab) >> BTAB_U8_CLAMP_SHARE:
                btab = np.minimum(btab, 255).astype(np.uint8)
            self._btab = btab
        return self._btab

    def _pick_route(self) -> int:
        if self.pure_order1:
            return _ROUTE_O1
        if self.nsym > 1 << 16:
            return _ROUTE_SEARCH
        if self.o1n == 1 and self.o2n == 1 and self.o3n == 1 and not len(self.dmap):
            if self.nctx == 1 and not len(self.ctxmap):
                # order 0 (the bytes-o0 codec builds one per chunk): the packed slot table, one load per
                # symbol, is small for one row (32 KiB at 12 bits) and quick to build
                return _ROUTE_O0
            return _ROUTE_ROWS  # rows from ext (and ctxmap) only
        return _ROUTE_SEQ

    def decode_args(self, route: int) -> tuple:
        """The model's arguments of the decoder kernel ``route`` (built once: the tables it needs, so a
        call costs no attribute look-ups or table checks)."""
        args = self._dargs.get(route)
        if args is None:
            if route == _ROUTE_SEQ:
                args = (self.o1n, self.o1map, self.o2n, self.o2map, self.dmap, self.o3n, self.o3map)
                args += (self.ctxmap, self.cum, self.btab, self.bucket_bits, self.scale_bits)
            elif route == _ROUTE_ROWS:
                args = (self.ctxmap, self.cum, self.btab, self.bucket_bits, self.scale_bits)
            elif route == _ROUTE_O1:
                args = (self.stab, self.freq, self.cum, self.scale_bits)
            elif route == _ROUTE_O0:
                args = (self.dtab, self.scale_bits)
            else:
                args = (self.o1n, self.o1map, self.o2n, self.o2map, self.dmap, self.o3n, self.o3map)
                args += (self.ctxmap, self.freq, self.cum, self.scale_bits)
            self._dargs[route] = args
        return args

    def encode_args(self) -> tuple:
        """The model's arguments of :func:`_encode_ctx_kernel` (built once)."""
        if self._eargs is None:
            self._eargs = (self.o1n, self.o1map, self.o2n, self.o2map, self.dmap, self.o3n, self.o3map)
            self._eargs += (self.ctxmap, self.freq, self.cum, self.scale_bits)
        return self._eargs

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
        e = _EMPTY_I64 if ext is None else np.ascontiguousarray(ext, dtype=np.int64)
        if syms.ndim == 1 and e.ndim == 1 and (ext is None or len(e) == n):
            out = np.empty(n, dtype=np.int64)
            args = (self.o1n, self.o1map, self.o2n, self.o2map, self.dmap, self.o3n, self.o3map, self.ctxmap)
            if _contexts_kernel(np.ascontiguousarray(syms), e, ext is not None, *args, out):
                return out
        # the array version below: the kernel's twin, and what reports out-of-range input (IndexError)
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


STAB_MAX_ENTRIES = 1 << 24  # flat slot->symbol tables of pure order-1 models (<= 16 MiB as uint8)
BTAB_MAX_BITS = 11  # buckets per row of the bucket tables: at most 2**11
BTAB_MAX_ENTRIES = 1 << 20  # at most 1 Mi bucket entries per model (1 MiB as uint8)
BTAB_U8_CLAMP_SHARE = 3  # uint8 bucket tables when at most 1/2**3 of the entries are clamped to 255
# decoders (Model.route)
_ROUTE_O1, _ROUTE_ROWS, _ROUTE_SEQ, _ROUTE_SEARCH, _ROUTE_O0 = range(5)


_EMPTY_I32 = np.zeros(0, dtype=np.int32)
_EMPTY_I64 = np.zeros(0, dtype=np.int64)


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


def encode_streams(streams) -> bytes:
    """Encode several streams into ONE rANS byte stream sharing the coder state (8 bytes of final state in
    all, not per stream). ``streams`` is a sequence of ``(model, symbols, ext-or-None)`` in decoding order;
    the decoder must ask for them in the same order (:class:`StreamDecoder`). Contexts of a later stream
    may depend on earlier ones, since the decoder has those first."""
    streams = [(m, _check_syms(sy), ext) for m, sy, ext in streams]
    total = 0
    for _, sy, _ in streams:
        total += len(sy)
    if total == 0:
        return b""
    pos = 2 * total + 16
    out = np.empty(pos, np.uint8)
    x0 = x1 = RANS_L
    for model, syms, ext in reversed(streams):  # rANS is last-in first-out
        n = len(syms)
        if n:
            args = model._eargs or model.encode_args()
            e = _EMPTY_I32 if ext is None else _ext_array(ext, n)
            pos, x0, x1 = _encode_ctx_kernel(syms, e, *args, out, pos, x0, x1)
            if pos < 0:
                raise ValueError(f"symbol or context out of range for model {model.name!r}")
    return ((x0 << 32) | x1).to_bytes(8, "big") + out[pos:].tobytes()


# decoder kernels by Model.route (the pure order-1 kernel takes no ext and is called apart)
_DECODERS = (None, _decode_rows_kernel, _decode_bucket_kernel, _decode_search_kernel, _decode_ext_kernel)


class StreamDecoder:
    """Decodes the streams of :func:`encode_streams`, in order; :meth:`finish` checks nothing is left."""

    __slots__ = ("buf", "pos", "x0", "x1")

    def __init__(self, data):
        self.buf = buf = np.frombuffer(data, np.uint8)
        if len(buf) == 0:
            self.pos, self.x0, self.x1 = 0, RANS_L, RANS_L
            return
        if len(buf) < 8:
            raise CodecError("rANS stream shorter than its state")
        head = int.from_bytes(data[:8] if type(data) is bytes else buf[:8].tobytes(), "big")
        self.x0 = x0 = head >> 32
        self.x1 = x1 = head & 0xFFFFFFFF
        self.pos = 8
        if not (RANS_L <= x0 < _RANS_H and RANS_L <= x1 < _RANS_H):
            raise CodecError("bad rANS state")

    def decode(self, model: Model, n: int, ext=None, dtype=np.int32) -> np.ndarray:
        out = np.empty(n, dtype)
        if n == 0:
            return out
        buf = self.buf
        if len(buf) == 0:
            raise CodecError("empty rANS stream")
        route = model.route
        if route == _ROUTE_O1 and ext is None:
            args = model._dargs.get(route) or model.decode_args(route)
            r = _decode_o1_kernel(buf, self.pos, self.x0, self.x1, n, *args, out)
        else:
            if route == _ROUTE_O1:  # an order-1 model given external contexts after all
                route = _ROUTE_SEARCH
            args = model._dargs.get(route) or model.decode_args(route)
            e = _EMPTY_I32 if ext is None else _ext_array(ext, n)
            r = _DECODERS[route](buf, self.pos, self.x0, self.x1, n, e, *args, out)
        pos, x0, x1 = r
        if pos < 0:
            raise CodecError(f"malformed rANS stream for model {model.name!r}")
        self.pos = pos
        self.x0 = x0
        self.x1 = x1
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
def _decode_rank(buf, pos, x, mask, sb, L, m, cfl, ncum, row):
    """One rANS decode step in row ``row`` of the flat ``cum`` (``cfl``, rows of ``ncum``): (symbol, new state,
    new position; -1 on underflow). A binary search in the row: a bucket table was no faster here in
    ``decode_text`` (one more cold table per symbol, as for :func:`_decode_match_kernel`)."""
    one = np.uint64(1)
    slot = x & mask
    base = row * ncum
    s = np.uint64(0)
    size = ncum - one  # the symbol is in s .. s + size - 1; halved without branches (no mispredictions)
    while size > one:
        half = size >> one
        s = s + half if np.uint64(cfl[base + s + half]) <= slot else s
        size -= half
    lo = np.uint64(cfl[base + s])
    x = (np.uint64(cfl[base + s + one]) - lo) * (x >> sb) + slot - lo
    while x < L:
        if pos >= m:
            return np.int64(s), x, -1
        x = (x << np.uint64(8)) | np.uint64(buf[pos])
        pos += 1
    return np.int64(s), x, pos


@njit(cache=True, nogil=True, inline="always")
def _popcount64(word):
    """Set bits of a uint64 (LLVM turns this loop into one popcnt)."""
    c = 0
    while word:
        word &= word - np.uint64(1)
        c += 1
    return c


@njit(cache=True, nogil=True)
def _live_above(live, off, stamp, top_word, limit):
    """Live stamps above ``stamp`` in the bitmap words ``live[off : off + top_word + 1]`` (nothing above the
    current stamp is set), counted a word at a time; the count stops once it reaches ``limit``."""
    w = (stamp + 1) >> 6
    if w > top_word:
        return 0
    word = live[off + w] & (np.uint64(0xFFFFFFFFFFFFFFFF) << np.uint64((stamp + 1) & 63))
    cnt = 0
    while True:
        cnt += _popcount64(word)
        if cnt >= limit or w >= top_word:
            return cnt
        w += 1
        word = live[off + w]


@njit(cache=True, nogil=True)
def _live_stamp(live, off, top_word, rank):
    """The live stamp of move-to-front rank ``rank`` (0: the newest) in the bitmap words
    ``live[off : off + top_word + 1]``, searching down a word at a time; -1 when fewer are live."""
    w = top_word
    while w >= 0:
        word = live[off + w]
        c = _popcount64(word)
        if rank < c:
            for _ in range(rank):  # clear the higher live stamps of the word
                word ^= np.uint64(1) << np.uint64(63 - leading_zeros(word))
            return (w << 6) + 63 - np.int64(leading_zeros(word))
        rank -= c
        w -= 1
    return -1


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
                s, x1, pos = _decode_rank(buf, pos, x1, mask, sb, L, m, cfl, ncum, row)
            else:
                s, x0, pos = _decode_rank(buf, pos, x0, mask, sb, L, m, cfl, ncum, row)
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
    more per process for the six match models)."""
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
