"""Sixteen-byte stores for the detokeniser (Numba intrinsics): ``copy16(dst, o, src, a)`` copies ``src[a : a + 16]``
to ``dst[o : o + 16]``, ``fill16(dst, o, ch)`` sets ``dst[o : o + 16]`` to ``ch``; both 1-D uint8 arrays, unaligned.

Why: a chunk's bytes are written piece by piece (a keyword, a name, a run of spaces), most pieces 1-16 bytes
long. A byte loop per piece ends on a branch whose trip count changes from piece to piece; one 16-byte load
and store per piece has no such branch. The bytes stored past the piece's end are overwritten by the pieces
after it, which are written in order (see ``assemble._copy``).

No bounds checks: the caller guarantees ``0 <= o``, ``o + 16 <= len(dst)``, ``0 <= a`` and
``a + 16 <= len(src)``.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_V16 = ir.VectorType(ir.IntType(8), 16)


def _bytes_array(a) -> bool:
    return isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.uint8


def _pointer(context, builder, aryty, ary, idx):
    arr = context.make_array(aryty)(context, builder, ary)
    ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)
    return builder.bitcast(ptr, _V16.as_pointer())


@intrinsic
def copy16(typingctx, dst, o, src, a):
    """``dst[o : o + 16] = src[a : a + 16]``."""
    if not (_bytes_array(dst) and _bytes_array(src) and isinstance(o, types.Integer)):
        return None
    if not isinstance(a, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = builder.load(_pointer(context, builder, signature.args[2], args[2], args[3]), align=1)
        builder.store(v, _pointer(context, builder, signature.args[0], args[0], args[1]), align=1)
        return context.get_dummy_value()

    return types.void(dst, o, src, a), codegen


@intrinsic
def fill16(typingctx, dst, o, ch):
    """``dst[o : o + 16] = ch``."""
    if not (_bytes_array(dst) and isinstance(o, types.Integer) and isinstance(ch, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        c = builder.trunc(context.cast(builder, args[2], signature.args[2], types.int64), ir.IntType(8))
        v = builder.insert_element(ir.Constant(_V16, ir.Undefined), c, ir.IntType(32)(0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), 16), [0] * 16)
        v = builder.shuffle_vector(v, ir.Constant(_V16, ir.Undefined), zeros)
        builder.store(v, _pointer(context, builder, signature.args[0], args[0], args[1]), align=1)
        return context.get_dummy_value()

    return types.void(dst, o, ch), codegen
