"""The cm mixer's two loops as explicit vector code (Numba intrinsics): the dot product of the inputs with a
row of weights, and the row's update.

Why: the mixer runs twice per coded bit over ``N_IN`` = 10 inputs and weights -- about a quarter of the
kernel's instructions as scalar code. Numba runs LLVM's loop vectorizer (which leaves a 10-step loop to the
full unroller) but not its SLP vectorizer, so the loops stay scalar unless written as vector operations.
Both are exact integer arithmetic, the same as the scalar loops they replace (the coded bytes do not change):

* ``mix_dot(mix, i, x)`` = sum over k < N of ``int64(x[k]) * int64(mix[i + k])``;
* ``mix_update(mix, i, x, err)``: ``w = int64(mix[i + k]) + ((int64(x[k]) * err) >> 16)``, clamped to
  ``[-LIMIT, LIMIT]``, stored back in ``mix[i + k]`` -- computed on int32 lanes, which is exact while
  ``|x[k] * err| < 2**31`` and ``|mix[i + k]| <= LIMIT`` (then ``|w| < 2**31`` too): the cm kernel's inputs
  are stretched probabilities (``|x| <= 2047``) and its error at most ``4095 * lr`` with ``lr <= 256``
  (``qyn1.cm.kernels.code`` checks ``lr``), and its weights are clamped to ``LIMIT`` from the start.

``mix`` is a 1-D int32 array, ``i`` must leave N elements in it (not checked: the caller's indices are
constants and table offsets within its arrays' fixed shapes). ``x`` is a tuple of N integers that fit an int32,
built into the vector in registers: the kernel's inputs used to be stored one by one into an array and read
back as one vector load, which the CPU cannot forward from those stores -- it waited for them to reach the
cache on every bit (11 % of the kernel's samples on the Zen 4 host; as a tuple, 1.17x the decode speed).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

N = 10  # the mixer's inputs (qyn1.cm.kernels.N_IN)
LIMIT = 0x3FFFFFFF  # a weight's bound
_I32, _I64 = ir.IntType(32), ir.IntType(64)
_V32, _V64 = ir.VectorType(_I32, N), ir.VectorType(_I64, N)


def _int32_array(a) -> bool:
    return isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.int32


def _vector(context, builder, aryty, ary, idx):
    """The N int32 from ``ary[idx]`` on, and their address."""
    arr = context.make_array(aryty)(context, builder, ary)
    ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)
    vptr = builder.bitcast(ptr, _V32.as_pointer())
    return builder.load(vptr, align=4), vptr


def _inputs(context, builder, tupty, tup):
    """The N inputs, a tuple of integers, as one int32 vector built in registers: a vector load of inputs
    just stored one by one cannot be forwarded from those stores and waits for them to reach the cache."""
    vec = ir.Constant(_V32, ir.Undefined)
    for k in range(N):
        val = context.cast(builder, builder.extract_value(tup, k), tupty[k], types.int32)
        vec = builder.insert_element(vec, val, _I32(k))
    return vec


def _tuple_of_ints(x) -> bool:
    return isinstance(x, types.BaseTuple) and len(x) == N and all(isinstance(t, types.Integer) for t in x)


def _splat(builder, value):
    vec = builder.insert_element(ir.Constant(_V32, ir.Undefined), value, _I32(0))
    return builder.shuffle_vector(vec, ir.Constant(_V32, ir.Undefined), ir.Constant(_V32, [0] * N))


@intrinsic
def mix_dot(typingctx, mix, i, x):
    if not (_int32_array(mix) and _tuple_of_ints(x) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        w, _ = _vector(context, builder, signature.args[0], args[0], args[1])
        v = _inputs(context, builder, signature.args[2], args[2])
        prod = builder.mul(builder.sext(w, _V64), builder.sext(v, _V64))
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_I64, [_V64]), f"llvm.vector.reduce.add.v{N}i64"
        )
        return builder.call(fn, [prod])

    return types.int64(mix, i, x), codegen


@intrinsic
def mix_update(typingctx, mix, i, x, err):
    if not (_int32_array(mix) and _tuple_of_ints(x) and isinstance(i, types.Integer)):
        return None
    if not isinstance(err, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        w, wptr = _vector(context, builder, signature.args[0], args[0], args[1])
        v = _inputs(context, builder, signature.args[2], args[2])
        e = builder.trunc(context.cast(builder, args[3], signature.args[3], types.int64), _I32)
        w = builder.add(w, builder.ashr(builder.mul(v, _splat(builder, e)), ir.Constant(_V32, [16] * N)))
        hi, lo = ir.Constant(_V32, [LIMIT] * N), ir.Constant(_V32, [-LIMIT] * N)
        w = builder.select(builder.icmp_signed(">", w, hi), hi, w)
        w = builder.select(builder.icmp_signed("<", w, lo), lo, w)
        builder.store(w, wptr, align=4)
        return context.get_dummy_value()

    return types.void(mix, i, x, err), codegen
