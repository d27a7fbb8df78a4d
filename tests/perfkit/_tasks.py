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


def survive(payload):
    """A task that announces its start (a file named after key and pid) and may kill its own worker.

    ``mode``: ``ok``; ``slow`` (0.4 s, and while a file ``hold`` exists in the folder, so a test can
    kill a worker that is surely mid-task); ``die-once`` (SIGKILL itself on the first start only);
    ``die-always``; ``raise`` (a ValueError, deterministic).
    """
    import signal
    import time
    from pathlib import Path

    i, mode, folder = payload
    folder = Path(folder)
    first = not list(folder.glob(f"started-k{i}-*"))
    (folder / f"started-k{i}-{os.getpid()}").touch()
    if (mode == "die-once" and first) or mode == "die-always":
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "raise":
        raise ValueError(f"task k{i} raised")
    if mode == "slow":
        time.sleep(0.4)
        deadline = time.monotonic() + 60
        while (folder / "hold").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return i * i


class _TeardownMark:
    """Writes a file when the interpreter's module teardown collects it (a worker's normal Python exit)."""

    def __init__(self, path):
        # Bound now: by the time the teardown collects this object, builtins such as open are gone.
        self.path, self._open, self._close, self._flags = path, os.open, os.close, os.O_CREAT | os.O_WRONLY

    def __del__(self):
        self._close(self._open(self.path, self._flags, 0o600))


_kept = []


def exit_marks(folder):
    """Register an atexit handler and a teardown-time object in this worker; report its Numba threads."""
    import atexit
    from pathlib import Path

    pid = os.getpid()
    atexit.register(Path(folder, f"atexit-{pid}").write_text, "ran")
    _kept.append(_TeardownMark(os.path.join(folder, f"teardown-{pid}")))
    return os.environ.get("NUMBA_NUM_THREADS")
