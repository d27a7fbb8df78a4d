"""Counter-based RNG for S6: Philox4x64-10, bit-exact with ``numpy.random.Philox``.

The contract (issue 4): attempt ``k`` of site ``i`` draws exactly one Philox block,

    block = philox4x64_10(counter=(site_id, k, 0, 0), key=(seed_lo, seed_hi))

where ``site_id`` is taken as its 64-bit two's-complement bit pattern, ``k`` is the 0-based attempt index and
``seed_lo``/``seed_hi`` are the low and high 64-bit words of the seed (``0 <= seed < 2**128``).
The block has four 64-bit words ``w0..w3``; S6 uses the first two:

    u = (w0 >> 11) * 2**-53        v = (w1 >> 11) * 2**-53

i.e. the top 53 bits of each word as a double in [0, 1) -- the same conversion numpy's ``random()`` uses, so
``u`` equals ``Generator(Philox(...)).random()`` on the same state.

How numpy maps key and counter: ``Philox(key=K, counter=C)`` stores the key as two little-endian 64-bit words
(``K = k0 + k1 * 2**64``) and the counter as four (``C = c0 + c1 * 2**64 + ...``); ``random_raw`` *increments the
counter first* and then encrypts it. So the block for counter ``C`` is ``Philox(key=K, counter=C - 1)
.random_raw(4)`` (with the borrow wrapping modulo 2**256). :func:`numpy_block` does exactly that and is what the
legacy path and the tests use as the independent reference for the numba kernel.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from seg1b.errors import Seg1bError, whole_number

PHILOX_M0 = np.uint64(0xD2E7470EE14C6C93)
PHILOX_M1 = np.uint64(0xCA5A826395121157)
PHILOX_W0 = np.uint64(0x9E3779B97F4A7C15)
PHILOX_W1 = np.uint64(0xBB67AE8584CAA73B)
ROUNDS = 10
U53 = 1.0 / 9007199254740992.0  # 2**-53
MASK64 = (1 << 64) - 1


def seed_key(seed: int) -> tuple[int, int]:
    """The Philox key words (low, high) for an integer seed in [0, 2**128)."""
    seed = whole_number("seed", seed)
    if seed < 0 or seed >= 1 << 128:
        raise Seg1bError(f"seed must be an integer in [0, 2**128), got {seed}", params="seed")
    return seed & MASK64, seed >> 64


@intrinsic
def _mulhilo64(typingctx, a, b):
    """(hi, lo) 64-bit words of the full 128-bit product a*b (both uint64): one x86-64 ``mul``."""
    if a != types.uint64 or b != types.uint64:
        return None
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        i64 = ir.IntType(64)
        wa = builder.zext(args[0], i128)
        wb = builder.zext(args[1], i128)
        p = builder.mul(wa, wb)
        lo = builder.trunc(p, i64)
        hi = builder.trunc(builder.lshr(p, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, signature.return_type, (hi, lo))

    return sig, codegen


@nb.njit(inline="always", cache=True)
def philox4x64_10(c0, c1, c2, c3, k0, k1):
    """One Philox4x64-10 block (Random123 / numpy). All arguments and results are uint64."""
    x0 = c0
    x1 = c1
    x2 = c2
    x3 = c3
    for r in range(10):
        if r > 0:
            k0 = k0 + np.uint64(0x9E3779B97F4A7C15)
            k1 = k1 + np.uint64(0xBB67AE8584CAA73B)
        hi0, lo0 = _mulhilo64(np.uint64(0xD2E7470EE14C6C93), x0)
        hi1, lo1 = _mulhilo64(np.uint64(0xCA5A826395121157), x2)
        x0 = hi1 ^ x1 ^ k0
        x1 = lo1
        x2 = hi0 ^ x3 ^ k1
        x3 = lo0
    return x0, x1, x2, x3


@nb.njit(cache=True, nogil=True)
def philox_blocks(c0, c1, c2, c3, k0, k1):
    """Vectorised blocks for counter word arrays (uint64) and one key -> (n, 4) uint64."""
    n = c0.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    for i in range(n):
        w0, w1, w2, w3 = philox4x64_10(c0[i], c1[i], c2[i], c3[i], k0, k1)
        out[i, 0] = w0
        out[i, 1] = w1
        out[i, 2] = w2
        out[i, 3] = w3
    return out


@nb.njit(inline="always", cache=True)
def uv_for_attempt(site_id, attempt, k0, k1):
    """u, v in [0, 1) for attempt ``attempt`` (0-based) of ``site_id`` (int64): one block, words 0 and 1."""
    w0, w1, _w2, _w3 = philox4x64_10(
        np.uint64(site_id), np.uint64(attempt), np.uint64(0), np.uint64(0), k0, k1
    )
    u = np.float64(w0 >> np.uint64(11)) * U53
    v = np.float64(w1 >> np.uint64(11)) * U53
    return u, v


# ---------------------------------------------------------------------------------------------------------------
# The numpy reference (legacy path, tests): numpy's own Philox, one bit generator per attempt.


def numpy_block(seed: int, site_id: int, attempt: int) -> np.ndarray:
    """The block for counter (site_id, attempt, 0, 0) under ``seed``, computed by ``numpy.random.Philox``."""
    lo, hi = seed_key(seed)
    counter = ((int(site_id) & MASK64) + ((int(attempt) & MASK64) << 64) - 1) % (1 << 256)
    return np.random.Philox(key=lo + (hi << 64), counter=counter).random_raw(4)


def numpy_uv(seed: int, site_id: int, attempt: int) -> tuple[float, float]:
    """u, v as the contract derives them, from numpy's Philox (the reference for :func:`uv_for_attempt`)."""
    w = numpy_block(seed, site_id, attempt)
    return float(int(w[0]) >> 11) * U53, float(int(w[1]) >> 11) * U53
