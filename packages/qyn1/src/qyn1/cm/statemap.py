"""The cm kernel's eight StateMap updates of a bit as one vector operation (a Numba intrinsic).

Why: every coded bit updates the StateMap entry each of the seven context states and the order-0 map read for
its prediction -- about a quarter of the kernel's instructions as scalar code (18 per entry). The entries lie
in eight different tables, so they never collide; the kernel keeps the eight values it read for the
prediction in ``t`` (nothing writes those entries in between), and this updates all eight lanes at once:

    n = t & 1023;  p = t >> 10;  t += (n < limit);  t += ((((y << 22) - p) >> 3) * DT[n]) & -1024

on uint32 lanes -- the scalar update's int64 arithmetic keeps only the low 32 bits, and every term above is
exact modulo 2**32 (``(y << 22) - p`` fits an int32, and the product's low 32 bits are those of the 32-bit
multiply). ``DT[n] = 16384 // (2n + 3)`` (``qyn1.cm.tables``) is computed on float lanes instead of read from
the table: a float32 quotient of two exact integers is correctly rounded, and for ``2n + 3`` in [3, 2049]
(odd, so never a divisor of 16384) the true quotient stays more than a rounding step away from the next
integer, so truncation gives the integer quotient (``tests/qyn1/test_cm.py`` checks all 1,024 counts and the
update against the scalar one).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 8  # the seven context maps and the order-0 map
_I32 = ir.IntType(32)
_V32 = ir.VectorType(_I32, LANES)
_F32 = ir.VectorType(ir.FloatType(), LANES)


def _const(value: int) -> ir.Constant:
    return ir.Constant(_V32, [value] * LANES)


def _lanes(context, builder, aryty, ary):
    """The first LANES 32-bit values of a 1-D array, and their address."""
    arr = context.make_array(aryty)(context, builder, ary)
    ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [ir.IntType(64)(0)], wraparound=False)
    vptr = builder.bitcast(ptr, _V32.as_pointer())
    return builder.load(vptr, align=4), vptr


@intrinsic
def update8(typingctx, t, y, limit):
    """``t``: uint32[8], the entries read for this bit's prediction, replaced by their updated values;
    ``y``: the coded bit; ``limit``: int32[8], each lane's count limit."""
    ok = (
        isinstance(t, types.Array)
        and t.ndim == 1
        and t.dtype == types.uint32
        and isinstance(limit, types.Array)
        and limit.ndim == 1
        and limit.dtype == types.int32
        and isinstance(y, types.Integer)
    )
    if not ok:
        return None

    def codegen(context, builder, signature, args):
        tv, tptr = _lanes(context, builder, signature.args[0], args[0])
        lim, _ = _lanes(context, builder, signature.args[2], args[2])
        n = builder.and_(tv, _const(1023))
        p = builder.lshr(tv, _const(10))
        tv = builder.add(tv, builder.zext(builder.icmp_signed("<", n, lim), _V32))
        y = builder.trunc(context.cast(builder, args[1], signature.args[1], types.int64), _I32)
        ys = builder.insert_element(ir.Constant(_V32, ir.Undefined), builder.shl(y, _I32(22)), _I32(0))
        ys = builder.shuffle_vector(ys, ir.Constant(_V32, ir.Undefined), ir.Constant(_V32, [0] * LANES))
        a = builder.ashr(builder.sub(ys, p), _const(3))
        denom = builder.sitofp(builder.add(builder.add(n, n), _const(3)), _F32)
        dt = builder.fptosi(builder.fdiv(ir.Constant(_F32, [16384.0] * LANES), denom), _V32)
        tv = builder.add(tv, builder.and_(builder.mul(a, dt), _const(-1024)))
        builder.store(tv, tptr, align=4)
        return context.get_dummy_value()

    return types.void(t, y, limit), codegen
