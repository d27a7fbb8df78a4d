"""The context-mixing coder's fixed integer tables: bit-history states, squash/stretch, learning rates.

Everything here is built from integers only (no floating-point library calls), so the encoder and the decoder
of any machine derive the same tables: they are part of the format.

**Bit histories.** A hashed context slot keeps one byte per bit position, the state of a small counter pair
``(n0, n1)``: how many zeros and ones followed that context recently. A new bit increments its own count (at
most ``COUNT_CAP``) and, when the other count is above 2, halves it (``(n + 1) // 2``) -- a non-stationary
counter in the manner of PAQ's bit-history states, which forgets old evidence when the data turns. The states
are the pairs reachable from ``(0, 0)`` under that rule (211 with ``COUNT_CAP = 30``), numbered in the order a
breadth-first walk meets them; ``NEXT[s, bit]`` is the transition table and ``PRIORITY[s] = n0 + n1``
decides which of two hash slots to replace.

**squash/stretch.** ``squash(d) = 4096 / (1 + e**(-d/256))`` on ``d`` in ``[-2047, 2047]`` by linear
interpolation of lpaq1's 33 integer knots; ``stretch`` is its inverse on 12-bit probabilities (the smallest
``d`` whose squash reaches ``p``), both as tables.
"""

from __future__ import annotations

import numpy as np

COUNT_CAP = 30

# lpaq1's squash knots: 4096 / (1 + exp(-x / 256)) at x = -2048, -1920, ..., 2048, rounded (Mahoney, lpaq1.cpp).
_SQUASH_KNOTS = (
    1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546,
    2047, 2549, 2994, 3348, 3607, 3785, 3901, 3975, 4022, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094,
)  # fmt: skip


def _next_counts(n0: int, n1: int, bit: int) -> tuple[int, int]:
    if bit:
        return (n0 if n0 <= 2 else (n0 + 1) // 2), min(n1 + 1, COUNT_CAP)
    return min(n0 + 1, COUNT_CAP), (n1 if n1 <= 2 else (n1 + 1) // 2)


def _states() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(NEXT uint8 [n_states, 2], N0 int32, N1 int32): the reachable counter pairs, breadth first."""
    order = [(0, 0)]
    index = {(0, 0): 0}
    i = 0
    while i < len(order):
        for bit in (0, 1):
            t = _next_counts(*order[i], bit)
            if t not in index:
                index[t] = len(order)
                order.append(t)
        i += 1
    assert len(order) <= 256
    nxt = np.array([[index[_next_counts(a, b, 0)], index[_next_counts(a, b, 1)]] for a, b in order], np.uint8)
    n0 = np.array([a for a, _ in order], np.int32)
    n1 = np.array([b for _, b in order], np.int32)
    return nxt, n0, n1


NEXT, N0, N1 = _states()
N_STATES = NEXT.shape[0]
PRIORITY = (N0 + N1).astype(np.int32)
# A state's starting 32-bit StateMap entry: p(1) = (2*n1 + 1) / (2*(n0 + n1) + 2), count 0.
STATE_P0 = np.array(
    [
        ((((2 * b + 1) << 32) // (2 * (a + b) + 2)) & ~1023)
        for a, b in zip(N0.tolist(), N1.tolist(), strict=True)
    ],
    np.int64,
)


def _squash(d: int) -> int:
    if d > 2047:
        return 4095
    if d < -2047:
        return 1
    w = d & 127
    i = (d >> 7) + 16
    return (_SQUASH_KNOTS[i] * (128 - w) + _SQUASH_KNOTS[i + 1] * w + 64) >> 7


SQUASH = np.array([_squash(d) for d in range(-2048, 2048)], np.int32)  # SQUASH[d + 2048]


def _stretch() -> np.ndarray:
    out = np.empty(4096, np.int32)
    pi = 0
    for x in range(-2047, 2048):
        v = _squash(x)
        for i in range(pi, v + 1):
            out[i] = x
        pi = max(pi, v + 1)
    out[pi:] = 2047
    return out


STRETCH = _stretch()
# StateMap learning rate by count n: 1 / (n + 1.5) in 1/16384 units (lpaq1's dt table).
DT = np.array([16384 // (n + n + 3) for n in range(1024)], np.int64)
