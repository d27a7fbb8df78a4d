"""Dask worker preload for perfkit's local clusters: workers leave Ctrl-C to the parent and die with it.

``distributed`` imports this module in every worker process of a :func:`perfkit.parallel.map_tasks`
local cluster (``distributed.worker.preload``) and calls :func:`dask_setup`.
"""

from __future__ import annotations

import contextlib
import os

from perfkit import interrupts


def dask_setup(worker) -> None:
    pid = os.environ.get(interrupts.PARENT_PID_VARIABLE)
    if not pid:
        return
    with contextlib.suppress(ValueError):  # signal handlers only from the main thread
        interrupts.init_worker(int(pid))
    interrupts.exit_with(int(pid))
