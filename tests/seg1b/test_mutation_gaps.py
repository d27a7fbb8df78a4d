"""Cases the rest of the suite let through: each test here fails on a bug that survived every other seg1b
test in a mutation probe (session 2026-12-07/08, /work/brief/report-tests.md), and passes on the real code."""

from __future__ import annotations

import numpy as np
from seg1b.philox import numpy_block, seed_key


def test_every_bit_of_a_128_bit_seed_is_part_of_the_key():
    """The seed is documented as an integer in [0, 2**128): its low and high 64-bit words are the Philox key.
    Seeds that differ only above bit 32 of either word are different streams."""
    assert seed_key(2**32 + 5) == (2**32 + 5, 0)
    assert seed_key((7 << 64) | (1 << 63) | 3) == ((1 << 63) | 3, 7)
    assert not np.array_equal(numpy_block(5, 0, 0), numpy_block(2**32 + 5, 0, 0))
