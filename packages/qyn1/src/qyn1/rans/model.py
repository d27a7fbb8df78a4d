"""Quantised frequency tables of the rANS coder: :func:`quantize` and :class:`Model` (rows summing to
``2**scale_bits``, context maps, and the decoding tables each kernel route reads, built once per process).
"""

from __future__ import annotations

import math

import numpy as np

from qyn1.rans.kernels import MAX_SCALE, MIN_SCALE, _bucket_table_kernel, _contexts_kernel


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
        freq = np.asarray(freq)
        if freq.dtype.kind not in "iu":
            freq = freq.astype(np.int64)
        if freq.ndim == 1:
            freq = freq[None, :]
        if not MIN_SCALE <= scale_bits <= MAX_SCALE:
            raise ValueError("scale_bits must be in 10..15")
        if not np.all(freq.sum(axis=1, dtype=np.int64) == (1 << scale_bits)) or freq.min() < 1:
            raise ValueError("each table row must sum to 2**scale_bits with entries >= 1")
        self.name = name
        # uint16 is enough for both (cum <= 2**15): half the memory of uint32 tables in every worker. A
        # uint16 table (the shipped ones) is kept as given, not copied: the model only reads it, and a copy
        # beside the loaded tables' own would be ~9 MiB more in every process (docs/perf/qyn1.md, round 11)
        self.freq = np.ascontiguousarray(freq, dtype=np.uint16)
        self.scale_bits = scale_bits
        self.nctx, self.nsym = self.freq.shape
        cum = np.zeros((self.nctx, self.nsym + 1), dtype=np.uint16)
        np.cumsum(self.freq, axis=1, dtype=np.uint16, out=cum[:, 1:])  # row sums are 2**scale_bits <= 2**15
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


STAB_MAX_ENTRIES = 1 << 24  # flat slot->symbol tables of pure order-1 models (<= 16 MiB as uint8)
BTAB_MAX_BITS = 11  # buckets per row of the bucket tables: at most 2**11
BTAB_MAX_ENTRIES = 1 << 20  # at most 1 Mi bucket entries per model (1 MiB as uint8)
BTAB_U8_CLAMP_SHARE = 3  # uint8 bucket tables when at most 1/2**3 of the entries are clamped to 255
# decoders (Model.route)
_ROUTE_O1, _ROUTE_ROWS, _ROUTE_SEQ, _ROUTE_SEARCH, _ROUTE_O0 = range(5)


_EMPTY_I32 = np.zeros(0, dtype=np.int32)
_EMPTY_I64 = np.zeros(0, dtype=np.int64)
