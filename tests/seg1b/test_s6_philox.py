"""S6 RNG: the numba Philox4x64-10 kernel is bit-exact with numpy.random.Philox, and u, v follow the contract."""

from __future__ import annotations

import numpy as np
import pytest
from seg1b.errors import Seg1bError
from seg1b.philox import (
    MASK64,
    U53,
    numpy_block,
    numpy_uv,
    philox_blocks,
    seed_key,
    uv_for_attempt,
)

pytestmark = pytest.mark.xdist_group("seg1b_s6")  # one worker: the kernels compile once


def _numpy_blocks(counters: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """numpy's Philox for each 256-bit counter: it increments before encrypting, so start one below."""
    k = key[0] + (key[1] << 64)
    out = np.empty((len(counters), 4), dtype=np.uint64)
    for i, c in enumerate(counters):
        value = sum(int(w) << (64 * j) for j, w in enumerate(c))
        out[i] = np.random.Philox(key=k, counter=(value - 1) % (1 << 256)).random_raw(4)
    return out


def test_random123_known_answer():
    # Random123's published known-answer vector for philox4x64_10 with zero counter and key
    z = np.zeros(1, dtype=np.uint64)
    got = philox_blocks(z, z, z, z, np.uint64(0), np.uint64(0))[0]
    assert [hex(int(w)) for w in got] == [
        "0x16554d9eca36314c",
        "0xdb20fe9d672d0fdc",
        "0xd7e772cee186176b",
        "0x7e68b68aec7ba23b",
    ]


@pytest.mark.parametrize("key", [(0, 0), (12345, 0), (MASK64, MASK64), (2**63 + 7, 99)])
def test_kernel_bit_exact_with_numpy(key):
    rng = np.random.default_rng(20261121)
    counters = rng.integers(0, 2**64, size=(400, 4), dtype=np.uint64)
    counters[:8] = 0  # counter 0: numpy needs the borrow across all four words
    counters[8:16, 0] = MASK64  # carries in the increment
    counters[16:24, 2:] = 0  # the shape S6 uses: (site_id, attempt, 0, 0)
    cols = [np.ascontiguousarray(counters[:, j]) for j in range(4)]
    got = philox_blocks(*cols, np.uint64(key[0]), np.uint64(key[1]))
    np.testing.assert_array_equal(got, _numpy_blocks(counters, key))


def test_uv_contract_matches_numpy_generator():
    seed = 987654321
    for site_id, attempt in [(0, 0), (1, 0), (5, 3), (2**40 + 1, 63), (-1, 0), (-12345, 7)]:
        u, v = uv_for_attempt(np.int64(site_id), np.uint64(attempt), np.uint64(seed), np.uint64(0))
        assert (u, v) == numpy_uv(seed, site_id, attempt)
        w = numpy_block(seed, site_id, attempt)
        assert u == (int(w[0]) >> 11) * U53 and v == (int(w[1]) >> 11) * U53
        assert 0.0 <= u < 1.0 and 0.0 <= v < 1.0
        # the same 53-bit conversion numpy's random() uses, on the same state
        counter = ((site_id & MASK64) + (attempt << 64) - 1) % (1 << 256)
        g = np.random.Generator(np.random.Philox(key=seed, counter=counter))
        assert g.random() == u


def test_one_block_per_attempt_and_distinct_streams():
    seed = 3
    a = [numpy_uv(seed, 10, k) for k in range(4)]
    assert len(set(a)) == 4  # attempts differ
    assert numpy_uv(seed, 10, 0) != numpy_uv(seed, 11, 0)  # sites differ
    assert numpy_uv(seed, 10, 0) != numpy_uv(seed + 1, 10, 0)  # seeds differ


def test_seed_key_range():
    assert seed_key(5) == (5, 0)
    assert seed_key(2**64 + 3) == (3, 1)
    with pytest.raises(Seg1bError):
        seed_key(-1)
    with pytest.raises(Seg1bError):
        seed_key(2**128)
