"""A rANS decoder's symbol lookup without a search: the symbol of ``slot`` in a row of cumulative frequencies is
the number of the row's entries at most ``slot``, minus one, counted 32 entries at a time by one vector compare
(``count_le``, a Numba intrinsic) over a row padded to a multiple of 32 entries (:func:`padded_rows`).

Why: the binary search over a row (8 steps for 133 symbols) compiles to a branch per step whose direction is
the data, and a wrong guess costs a pipeline refill after each step's load; the vector compares of a row have
no branch and load its cache lines together. Where no cheaper guess exists (the names stream's ranks) this
decodes ~1.3x faster (docs/perf/qyn1-decode.md, round 6).

Exact: a row ``cum[r]`` is non-decreasing from ``cum[r, 0] = 0`` to ``cum[r, nsym] = 2**scale_bits``, which is
above every slot, and the padding is ``0xFFFF``, above it too; so the count minus one is the largest ``s`` with
``cum[r, s] <= slot``, the symbol the binary search finds (:func:`padded_rows` checks the rows).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 32  # uint16 entries per compare (one 512-bit vector; LLVM splits it where the host has no AVX-512)
_V = ir.VectorType(ir.IntType(16), LANES)


@intrinsic
def count_le(typingctx, cfl, idx, slot):
    """The number of ``cfl[idx : idx + 32]`` (a 1-D uint16 array; not bounds-checked) at most ``slot``."""
    if not (isinstance(cfl, types.Array) and cfl.ndim == 1 and cfl.dtype == types.uint16):
        return None
    if not (isinstance(idx, types.Integer) and isinstance(slot, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        arr = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [args[1]], wraparound=False)
        row = builder.load(builder.bitcast(ptr, _V.as_pointer()), align=2)
        s = builder.trunc(context.cast(builder, args[2], signature.args[2], types.uint64), ir.IntType(16))
        s = builder.insert_element(ir.Constant(_V, ir.Undefined), s, ir.IntType(32)(0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        s = builder.shuffle_vector(s, ir.Constant(_V, ir.Undefined), zeros)
        bits = builder.bitcast(builder.icmp_unsigned("<=", row, s), ir.IntType(LANES))
        popcount = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(LANES), [ir.IntType(LANES)]), f"llvm.ctpop.i{LANES}"
        )
        return builder.zext(builder.call(popcount, [bits]), ir.IntType(64))

    return types.int64(cfl, idx, slot), codegen


def padded_rows(cum: np.ndarray, scale_bits: int) -> np.ndarray | None:
    """``cum`` (uint16 rows of cumulative frequencies) with each row padded by ``0xFFFF`` to a multiple of
    :data:`LANES` entries, or None when a row is not one :func:`count_le` decodes exactly (not uint16, not
    non-decreasing from 0 to ``2**scale_bits``, or a slot that 16 bits cannot hold)."""
    if cum.dtype != np.uint16 or cum.ndim != 2 or scale_bits > 15 or cum.shape[1] < 2:
        return None
    c = cum.astype(np.int64)
    if (c[:, 0] != 0).any() or (c[:, -1] != 1 << scale_bits).any() or (np.diff(c, axis=1) < 0).any():
        return None
    width = -(-cum.shape[1] // LANES) * LANES
    out = np.full((cum.shape[0], width), 0xFFFF, dtype=np.uint16)
    out[:, : cum.shape[1]] = cum
    return out
