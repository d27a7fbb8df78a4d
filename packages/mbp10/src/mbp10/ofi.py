"""The 10-level order-flow imbalance step of the bar5s kernel, as fixed-width vector arithmetic.

`ofi_step(w64, i, book)` compares record i's 10-level book with the last consistent book (`book`, kept by the
kernel between calls) and then stores record i's book there. Per level k (Cont, Kukanov & Stoikov 2014; empty
bid levels compare as -inf, empty ask levels as +inf through UNDEF_PRICE = i64 max):

    e(k) = [nb >= ob] nbs - [nb <= ob] obs - [na <= oa] nas + [na >= oa] oas

(n: record i, o: the stored book; b/a: bid/ask price, bs/as: sizes). It returns (e(0), sum of e(0..9)).

Why an LLVM intrinsic: the scalar loop over the levels (a branch a level to skip unchanged ones, a copy of
the changed ones) was 170 of the kernel's 320 instructions a record, and LLVM does not vectorise it (the
fields lie 4 words apart in a record and the trip count is 10; a branch-free scalar form compiled to scalar
selects and ran slower). Here the record's 40 level words are loaded at once, each field is taken out with a
shuffle into 16 lanes (levels 10-15 zero), every level is computed with compares and selects, no branch, and
the 16 lanes are summed. The stored book holds the shuffled fields, so the next step loads it as is. All is
int64 arithmetic: the sums are exact in any order, so the OFI columns are the scalar loop's, bit for bit.

`ofi` is what the kernel calls: the vector step when Numba compiles for a CPU with AVX2 (NUMBA_CPU_FEATURES,
else the host's, as Numba itself decides), the scalar loop `ofi_scalar` otherwise (same results, same
stored book). Without 64-bit vector compares (a generic x86-64 target, e.g. `perfkit gate`'s
NUMBA_CPU_NAME=generic) LLVM splits the vector step into scalar pieces: 1.55x the instructions of the
scalar loop on the gate's bar5s workload. Numba keys its cache on the CPU name and features, so each target
keeps its own choice.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic

from mbp10.schema import N_LEVELS, UNDEF_PRICE
from perfkit import numba_cache

numba_cache.depend_on(__file__, modules=["mbp10.schema"])

#: Lanes of each field in the stored book: 10 levels and 6 zero lanes (a power of two for the vector unit).
LANES = 16
#: Offsets in the stored book (int64[BOOK_WORDS]): bid prices, ask prices, size words (bid_sz | ask_sz << 32).
BOOK_BID = 0
BOOK_ASK = LANES
BOOK_SIZES = 2 * LANES
BOOK_WORDS = 3 * LANES

_LEVELS = 10
_FIRST_WORD = 6  # level 0's bid price in a record's int64 words; level k at 6 + 4k (bid, ask, sizes, counts)
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


def _splat(value):
    return ir.Constant(ir.VectorType(_I64, LANES), [value] * LANES)


@intrinsic
def ofi_step(typingctx, w64, i, book):
    """(OFI of level 0, OFI summed over the 10 levels) of record `i` of the int64 words `w64` (n, 46)
    against `book` (int64[BOOK_WORDS]), then record i's book stored into `book`."""
    arrays = isinstance(w64, types.Array) and isinstance(book, types.Array)
    if not (arrays and w64.ndim == 2 and w64.layout == "C" and book.ndim == 1 and book.layout == "C"):
        return None  # the 40 level words of a row and the stored book must be contiguous
    if not (w64.dtype == types.int64 and book.dtype == types.int64):
        return None
    sig = types.UniTuple(types.int64, 2)(w64, i, book)

    def codegen(context, builder, signature, args):
        wty, _, bty = signature.args
        words = context.make_array(wty)(context, builder, args[0])
        first = cgutils.get_item_pointer(
            context, builder, wty, words, [args[1], _I64(_FIRST_WORD)], wraparound=False
        )
        v40 = ir.VectorType(_I64, 4 * _LEVELS)
        v16 = ir.VectorType(_I64, LANES)
        new = builder.load(builder.bitcast(first, v40.as_pointer()), align=8)
        zeros = ir.Constant(v40, [0] * (4 * _LEVELS))

        def field(f):  # word f of every level, levels 10-15 from `zeros`
            lanes = [4 * k + f for k in range(_LEVELS)] + [4 * _LEVELS] * (LANES - _LEVELS)
            return builder.shuffle_vector(new, zeros, ir.Constant(ir.VectorType(_I32, LANES), lanes))

        nb, na, ns = field(0), field(1), field(2)
        stored = builder.bitcast(context.make_array(bty)(context, builder, args[2]).data, v16.as_pointer())
        rows = [builder.gep(stored, [_I32(r)]) for r in range(3)]
        ob, oa, os_ = (builder.load(row, align=8) for row in rows)
        undef, floor, zero = _splat(2**63 - 1), _splat(-(2**63)), _splat(0)
        low, shift = _splat(0xFFFFFFFF), _splat(32)
        obf = builder.select(builder.icmp_signed("==", ob, undef), floor, ob)
        nbf = builder.select(builder.icmp_signed("==", nb, undef), floor, nb)
        e = builder.select(builder.icmp_signed(">=", nbf, obf), builder.and_(ns, low), zero)
        e = builder.sub(e, builder.select(builder.icmp_signed("<=", nbf, obf), builder.and_(os_, low), zero))
        e = builder.sub(e, builder.select(builder.icmp_signed("<=", na, oa), builder.lshr(ns, shift), zero))
        e = builder.add(e, builder.select(builder.icmp_signed(">=", na, oa), builder.lshr(os_, shift), zero))
        for value, row in zip((nb, na, ns), rows, strict=True):
            builder.store(value, row, align=8)
        total = builder.call(
            cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_I64, [v16]), "llvm.vector.reduce.add.v16i64"
            ),
            [e],
        )
        e0 = builder.extract_element(e, _I32(0))
        return context.make_tuple(builder, signature.return_type, [e0, total])

    return sig, codegen


def _vector_target() -> bool:
    """True when Numba compiles for a CPU with AVX2 (its features as Numba builds its target machine)."""
    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return "+avx2" in features.split(",")


#: The vector step for this process's Numba target (a compile-time constant of the kernels).
VECTOR = _vector_target()
BID_FLOOR = np.iinfo(np.int64).min  # an empty bid level compares as -inf


@njit(cache=True, inline="always")
def ofi_scalar(w64, i, book):
    """`ofi_step` as a scalar loop over the levels (for targets without vector compares): an unchanged level
    (same two prices and size word) contributes 0 and is not copied; most events change one or two."""
    e1 = np.int64(0)
    e10 = np.int64(0)
    for k in range(N_LEVELS):
        nb = w64[i, _FIRST_WORD + 4 * k]
        na = w64[i, _FIRST_WORD + 1 + 4 * k]
        ns = w64[i, _FIRST_WORD + 2 + 4 * k]
        ob = book[BOOK_BID + k]
        oa = book[BOOK_ASK + k]
        os_ = book[BOOK_SIZES + k]
        if (nb == ob) & (na == oa) & (ns == os_):
            continue
        obf = BID_FLOOR if ob == UNDEF_PRICE else ob
        nbf = BID_FLOOR if nb == UNDEF_PRICE else nb
        e = np.int64(0)
        if nbf >= obf:
            e += ns & 0xFFFFFFFF
        if nbf <= obf:
            e -= os_ & 0xFFFFFFFF
        if na <= oa:
            e -= (ns >> 32) & 0xFFFFFFFF
        if na >= oa:
            e += (os_ >> 32) & 0xFFFFFFFF
        if k == 0:
            e1 = e
        e10 += e
        book[BOOK_BID + k] = nb
        book[BOOK_ASK + k] = na
        book[BOOK_SIZES + k] = ns
    return e1, e10


@njit(cache=True, inline="always")
def ofi(w64, i, book):
    """(OFI of level 0, OFI summed over the 10 levels) of record i against `book`, then book := record i's
    book: `ofi_step` on an AVX2 target, else `ofi_scalar`."""
    if VECTOR:
        return ofi_step(w64, i, book)
    return ofi_scalar(w64, i, book)
