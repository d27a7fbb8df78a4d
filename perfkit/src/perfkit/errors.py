"""The exceptions every CLI maps to the same exit codes (see ``perfkit.clitools.handle_errors``).

``InputError``: bad input, a bad option, or an output that cannot be written -> exit 2, one line.
``WorkerLost``: a work item's worker died more often than the retry limit -> exit 1, one line.
``Interrupted``: SIGTERM turned into an exception so ``finally`` blocks run -> exit 143.
(SIGINT is Python's own ``KeyboardInterrupt`` -> exit 130.)
"""

from __future__ import annotations

import signal


class InputError(Exception):
    """Bad input, a bad option, or an output that cannot be written; the message names the file or value."""


class WorkerLost(Exception):
    """A work item lost its worker process more times than allowed (killed, out of memory, node lost).

    Not bad input and not a bug in the caller: the CLI prints one line and exits 1.
    """


class Interrupted(BaseException):
    """The process was asked to stop by a signal (raised from the SIGTERM and SIGHUP handlers)."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (whitespace runs collapsed), or its type name if it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__
