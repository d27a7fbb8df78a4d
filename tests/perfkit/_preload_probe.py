"""Imported by a fork server in the preload tests: remembers which process imported it."""

import os

IMPORTED_IN_PID = os.getpid()


def where_imported(_payload):
    """(this worker's pid, the pid that imported this module, the worker's NUMBA_NUM_THREADS)."""
    return os.getpid(), IMPORTED_IN_PID, os.environ.get("NUMBA_NUM_THREADS")
