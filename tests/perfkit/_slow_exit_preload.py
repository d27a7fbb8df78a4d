"""Imported by a fork server in the exit test: the server's interpreter exit takes 30 s (as the teardown of
numba and LLVM takes ~0.35 s in a real pipeline's server), so a server left to exit by itself would hold the
command's stdout that long after the command ended. Only the fork server imports it (never the test's
parent, whose own exit would then wait too)."""

import atexit
import os
import time

_SERVER_PID = os.getpid()


def _slow_exit() -> None:
    if os.getpid() == _SERVER_PID:
        time.sleep(30)


atexit.register(_slow_exit)
