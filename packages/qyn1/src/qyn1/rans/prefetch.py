"""A software prefetch for the Numba decoders: ``prefetch(a, i)`` asks the CPU to bring the cache line of
``a[i]`` (a 1-D array) towards L1 and returns at once.

Why: the context-model decoders are bound by the latency of dependent loads into tables of several MB
(context map -> table row -> a binary search over the row, whose probes fall in 4-9 different cache lines of
a row of 125-293 uint16 entries). Once the row is known, prefetching all of its lines lets the misses
overlap instead of following one another down the search. A prefetch never faults and changes no result.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, idx):
    """``llvm.prefetch`` (read, high locality, data cache) of the address of ``arr[idx]``."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i32 = ir.IntType(32)
        byte_ptr = ir.IntType(8).as_pointer()  # one declaration serves arrays of any dtype in a module
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
