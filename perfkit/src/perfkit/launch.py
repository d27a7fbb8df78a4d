"""Console-script entry: signals handled before the heavy imports, so Ctrl-C at start-up is one line too.

A console script normally imports its CLI module (numpy, pyarrow, numba...) before any of its code
runs; a Ctrl-C during those imports prints a long traceback. Each package's entry point calls
:func:`launch` instead, which only needs the standard library before it installs the handlers. When
the command has returned, the process ends without the interpreter's slow teardown
(:func:`perfkit.interrupts.exit_command`).
"""

from __future__ import annotations

import importlib
import os
import sys

from perfkit import interrupts, stdstreams
from perfkit.errors import Interrupted

interrupts.watch_parent_if_worker()


def _stop(code: int) -> None:
    interrupts.ignore_further()
    sys.stderr.write("interrupted\n")
    interrupts.exit_interrupted(code)


def launch(target: str) -> None:
    """Import ``module:attribute`` (a click group) and run it, with SIGINT/SIGTERM handled from the start
    and closed standard streams given ``/dev/null`` before anything opens a file (:mod:`perfkit.stdstreams`)."""
    stdstreams.repair()
    bad = _bad_environment()
    if bad:
        sys.stderr.write(f"error: {bad}\n")
        raise SystemExit(2)
    interrupts.install()
    module, _, attribute = target.partition(":")
    with interrupts.owning_process():
        try:
            cli = getattr(importlib.import_module(module), attribute)
        except KeyboardInterrupt:
            _stop(130)
        except Interrupted as exc:
            _stop(exc.exit_code)
        except Exception:
            # numpy turns a KeyboardInterrupt raised inside its C extension's import into
            # "ImportError: numpy._core.umath failed to import": once a signal arrived, that is the signal.
            signum = interrupts.received()
            if signum is None:
                raise
            _stop(128 + signum)
        try:
            cli()
        except SystemExit as exc:
            interrupts.exit_command(_status(exc.code))


def _bad_environment() -> str | None:
    """What is wrong with the environment a command cannot run in, or None. ``NUMBA_NUM_THREADS`` of 0 or
    less (a common guess for "automatic") makes Numba raise ``ValueError`` from inside an import on the
    first parallel kernel: an internal error, minutes into a run. (A value that is not a number Numba
    ignores with a warning of its own.)"""
    value = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    try:
        threads = int(value)
    except ValueError:
        return None
    if threads < 1:
        return f"NUMBA_NUM_THREADS={value}: must be a whole number >= 1 (or unset: one thread per core)"
    return None


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` would give: None is 0, an int itself, anything else is printed
    to stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
