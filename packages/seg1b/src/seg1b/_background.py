"""Work in a daemon thread that the main thread waits for in short joins, so Ctrl-C and SIGTERM stay prompt.

Python runs signal handlers in the main thread between bytecodes: a numpy call or a file read of several
seconds in the main thread holds a Ctrl-C back until it returns, and a ``concurrent.futures`` pool joins its
threads before the interpreter can exit. Work handed to :func:`background` runs in a daemon thread instead;
the main thread waits in 50 ms joins (interruptible), and an abandoned computation ends with the process.
Only for work that writes nothing (reading inputs, computing arrays): files are written by the main thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Background:
    """One call running in a daemon thread; :meth:`result` waits for it interruptibly."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "seg1b-background"):
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._target, args=(fn, args), name=name, daemon=True)
        self._thread.start()

    def _target(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            self._box["value"] = fn(*args)
        except BaseException as exc:  # handed to the waiting thread
            self._box["error"] = exc

    def result(self) -> Any:
        while self._thread.is_alive():
            self._thread.join(0.05)
        if "error" in self._box:
            raise self._box["error"]
        return self._box["value"]


def background(fn: Callable[..., Any], *args: Any) -> Background:
    """Start ``fn(*args)`` in a daemon thread; ``.result()`` waits for it (Ctrl-C still works meanwhile)."""
    return Background(fn, *args)


def preload(*modules: str) -> None:
    """Import ``modules`` in a daemon thread now, so the main thread never runs their import.

    pyarrow imports pandas on first use (``pa.array``, ``to_numpy``); a Ctrl-C that lands inside that
    import (~1 s of C-extension module set-up) surfaces as an arbitrary error from pandas instead of
    ``KeyboardInterrupt``. Imported in another thread, a signal only ever interrupts the main thread's
    wait for the import lock, which raises ``KeyboardInterrupt`` cleanly.
    """
    import importlib

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:
                continue

    threading.Thread(target=load, name="seg1b-preload", daemon=True).start()
