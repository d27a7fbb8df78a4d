"""Standard streams a command was started without (``cmd >&-``, ``2>&-``, ``<&-``, a daemon's cron line).

A closed descriptor 0, 1 or 2 is the lowest free number, so the first file the command opens would take
it: an output (or an input) would then also be "standard output", and a status line, a library's warning
or a worker's stray print would be written into it. Python itself starts such a process with
``sys.stdout = None``, on which the first ``print``, ``flush`` or ``isatty`` fails with a traceback.

:func:`repair` (called by :func:`perfkit.launch.launch` before anything else opens a file) gives each
closed descriptor ``/dev/null`` and standard output and error Python streams on it: status lines then go
nowhere, as the user asked. Standard input stays ``None`` in Python (nothing is there to read; commands
that read it say so). Output that *is* the command's result (``qyn1 cat``, ``pack -o -``, ``perfkit
show``) must not vanish into ``/dev/null`` with exit 0: :func:`perfkit.clitools.write_stdout` asks
:func:`closed_at_start` and refuses with exit 2.
"""

from __future__ import annotations

import os
import sys

_closed: frozenset[int] = frozenset()


def repair() -> None:
    """Give every closed standard descriptor ``/dev/null`` (see the module docstring); idempotent."""
    global _closed
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    if not closed:
        return
    while True:  # each open takes the lowest free number: the closed standard ones first
        fd = os.open(os.devnull, os.O_RDWR)
        if fd > 2:
            os.close(fd)
            break
    if 1 in closed or sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 (lives as long as the process)
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    _closed = _closed | closed


def closed_at_start(fd: int) -> bool:
    """Whether descriptor ``fd`` (0, 1 or 2) was closed when the command started."""
    return fd in _closed
