"""The slow, obvious twins of the rANS coder's fast paths (``qyn1.rans``), with the same names: the reference
the fast kernels are tested against (``tests/qyn1/test_rans.py``), kept plain on purpose -- Python integers,
one symbol at a time, no tables built for speed.

* :func:`encode` -- the textbook rANS encoder (two interleaved 32-bit states, byte-wise renormalisation) over
  the rows :func:`contexts` gives; byte-identical to ``rans.encode``.
* :func:`decode` -- the binary-search decoder (the generic kernel the bucket-table decoders replace).
* :func:`contexts` -- the table row of every symbol (``rans.Model.contexts``).
* :func:`match_symbols` -- the match model's symbols and flags (``qyn1.match.match_symbols``; same hash, so the
  same collisions).
"""

from __future__ import annotations

import numpy as np

from qyn1 import match, rans
from qyn1.rans import coder, kernels, model


def contexts(m: rans.Model, syms, ext) -> list[int]:
    """The table row of every symbol, one symbol at a time (the twin of ``Model.contexts``)."""
    rows, depth = [], 0
    for i, s in enumerate(syms):
        p1, p2, p3 = (int(syms[i - d]) if i >= d else 0 for d in (1, 2, 3))
        c = (0 if ext is None else int(ext[i]) * m.o3n) + int(m.o3map[p3])
        c = (c * m.o2n + int(m.o2map[p2])) * m.o1n + int(m.o1map[p1])
        if len(m.dmap):
            c = c * 2 + (depth > 0)
            depth += int(m.dmap[s])
        rows.append(int(m.ctxmap[c]) if len(m.ctxmap) else c)
    return rows


def encode(m: rans.Model, syms, ext=None) -> bytes:
    """The obvious rANS encoder: rows from ``Model.contexts``, Python integers, a renormalisation loop."""
    syms = np.asarray(syms, dtype=np.int64)
    if len(syms) == 0:
        return b""
    rows = m.contexts(syms, ext)
    x = [rans.RANS_L, rans.RANS_L]
    out = bytearray()  # reversed at the end
    for i in range(len(syms) - 1, -1, -1):
        f, st = int(m.freq[rows[i], syms[i]]), int(m.cum[rows[i], syms[i]])
        x_max = ((rans.RANS_L >> m.scale_bits) << 8) * f
        while x[i & 1] >= x_max:
            out.append(x[i & 1] & 0xFF)
            x[i & 1] >>= 8
        x[i & 1] = (x[i & 1] // f << m.scale_bits) + x[i & 1] % f + st
    return x[0].to_bytes(4, "big") + x[1].to_bytes(4, "big") + bytes(reversed(out))


def decode(m: rans.Model, enc: bytes, n: int, ext=None) -> np.ndarray:
    """The binary-search decoder (the generic twin of the bucket-table kernels); asserts it used every byte."""
    out = np.empty(n, dtype=np.int32)
    buf = np.frombuffer(enc, dtype=np.uint8)
    x0, x1 = int.from_bytes(enc[:4], "big"), int.from_bytes(enc[4:8], "big")
    e = coder._ext_array(ext, n)
    pos, *_ = kernels._decode_search_kernel(buf, 8, x0, x1, n, e, *m.decode_args(model._ROUTE_SEARCH), out)
    if pos != len(enc):
        raise ValueError("the stream has bytes the symbols did not use")
    return out


def match_symbols(syms, k, match_sym):
    """The slow obvious twin of ``qyn1.match.match_symbols`` (same hash, so the same collisions)."""

    hb = min(match.MATCH_HASH_BITS, max(10, len(syms).bit_length() + 4))

    def h(end):
        x = 0
        for t in range(k):
            x = (x * 0x9E3779B1 + syms[end - t] + 1) & 0xFFFFFFFF
        return ((x * 0x85EBCA6B) & 0xFFFFFFFF) >> (32 - hb)

    table: dict[int, int] = {}
    pp, ml = -1, 0
    out, flags = [], []
    for i, s in enumerate(syms):
        if pp < 0:
            flags.append(0)
        else:
            flags.append(next(f for f, lim in enumerate((2, 6, 10, 18, 26, 1 << 62), start=1) if ml < lim))
        if pp >= 0 and syms[pp] == s:
            out.append(match_sym)
            pp, ml = pp + 1, ml + 1
        else:
            out.append(s)
            pp, ml = -1, 0
        if i + 1 >= k:
            if pp < 0:
                pp, ml = table.get(h(i), -1), 0
            table[h(i)] = i + 1
    return out, flags
