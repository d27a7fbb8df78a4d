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
