"""Module-level task functions for the executor tests (process and Dask workers must import them)."""

import os

from perfkit.parallel import rng_for


def draw(payload):
    """Numbers drawn from the item's own RNG stream, plus which process ran it."""
    seed, key, n = payload
    return rng_for(seed, key).integers(0, 2**62, n).tolist(), os.environ.get("NUMBA_NUM_THREADS")


def fail_on(payload):
    if payload == "bad":
        raise ValueError("bad payload")
    return payload


def numba_threads(n):
    """Compile and run a parallel Numba kernel in the worker; report the worker's Numba thread count."""
    import numba
    import numpy as np

    @numba.njit(parallel=True)
    def total(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i]
        return s

    return float(total(np.arange(n, dtype=np.float64))), numba.get_num_threads()
