"""Signals: SIGTERM as an exception, critical sections that a signal cannot cut, workers that die with their parent.

* :func:`install` (every CLI, via ``handle_errors``): SIGTERM, and SIGHUP (the terminal or SSH session
  closed), raise :class:`perfkit.errors.Interrupted` in the main thread, so cleanup runs exactly as it does
  for Ctrl-C's ``KeyboardInterrupt``. A signal that was ignored at start (``nohup``) stays ignored.
* :func:`deferred`: SIGINT/SIGTERM/SIGHUP are held while the block runs (starting worker processes,
  renaming outputs into place) and delivered when it ends.
* :func:`init_worker` (every worker process): Ctrl-C at the terminal (and SIGHUP when it closes) reaches
  the whole process group, but only the parent acts on it: workers ignore SIGINT and SIGHUP, keep
  SIGTERM's default (die without a traceback), and exit on their own within a fraction of a second when
  the parent process is gone, even if it was SIGKILLed (a thread waiting on a pidfd of the parent).
* :func:`exit_interrupted` (the CLIs, once an interrupt is reported): a command's own process ends
  within a fraction of a second, whatever threads a library left waiting; :func:`exit_command` ends
  it as quickly once the command has returned.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import NoReturn

from perfkit.errors import Interrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


_received: list[int] = []


def _raise_interrupted(signum, _frame) -> None:
    _received.append(signum)
    raise Interrupted(signum)


def _raise_keyboard_interrupt(signum, _frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """SIGTERM and SIGHUP raise :class:`Interrupted`, SIGINT ``KeyboardInterrupt``, and each is remembered
    (:func:`received`); main thread only, elsewhere a no-op. An ignored SIGINT or SIGHUP stays ignored
    (``nohup``, a shell's background job)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupted)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            signal.signal(signal.SIGHUP, _raise_interrupted)
        sys.unraisablehook = _quiet_unraisable


def _quiet_unraisable(unraisable) -> None:
    """An interrupt raised where Python can only print it (a weakref callback, ``__del__``) is not printed:
    it is remembered by the handler and acted on at the next checkpoint (:func:`raise_if_received`)."""
    if isinstance(unraisable.exc_value, (KeyboardInterrupt, Interrupted)):
        return
    sys.__unraisablehook__(unraisable)


def raise_if_received() -> None:
    """Raise the interrupt for a stop signal this process received earlier, if any.

    A checkpoint for the places where a swallowed interrupt must not let work go on: before outputs are
    committed, between work items, before a command reports success.
    """
    signum = received()
    if signum is None:
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


def received() -> int | None:
    """The first stop signal this process received, or None.

    An interrupt raised inside a C extension (a lazy import, a callback) can reach the CLI wrapped in
    another exception (``SystemError``, a half-imported module's ``AttributeError``); once a signal has
    arrived, whatever failure follows is reported as the interrupt it is.
    """
    return _received[0] if _received else None


_command_process = False
_hosted = False


@contextlib.contextmanager
def owning_process() -> Iterator[None]:
    """While the block runs, this process is a command's own (the console-script entry runs the CLI in
    it): it may end itself at once when the command is done or interrupted (:func:`exit_command`,
    :func:`exit_interrupted`) -- unless the command is :func:`hosted`. The flag is restored on return."""
    global _command_process
    before, _command_process = _command_process, not _hosted
    try:
        yield
    finally:
        _command_process = before


@contextlib.contextmanager
def hosted() -> Iterator[None]:
    """A console script runs inside this process for another program (``perfkit profile``, the perf
    gate, a test): while the block runs, the command raises ``SystemExit`` when it is done instead of
    ending the process, so its host can go on."""
    global _command_process, _hosted
    before = _command_process, _hosted
    _command_process, _hosted = False, True
    try:
        yield
    finally:
        _command_process, _hosted = before


def exit_interrupted(code: int, grace_s: float = 1.0) -> NoReturn:
    """Exit with ``code`` once an interrupt has been handled and reported (outputs discarded, workers
    stopped).

    In a command's own process the exit is short (:func:`_end_process`): the interpreter's normal exit
    would also join every thread -- a library thread left waiting on a lock the interrupted main thread
    never released hangs it there. A daemon thread ends the process after ``grace_s`` should an
    ``atexit`` handler hang. Elsewhere this is ``sys.exit(code)``.
    """
    if not _command_process:
        sys.exit(code)
    _end_process(code, grace_s)


def exit_command(code: int) -> NoReturn:
    """Exit with ``code`` once a command has returned (its outputs committed and closed, its workers
    joined).

    In a command's own process ``atexit`` handlers run (Dask clients, multiprocessing, temporary
    folders), then ``os._exit``: the interpreter's module-by-module teardown of numba, LLVM and pyarrow
    adds 0.2-0.7 s to every command and does nothing a finished command needs. Elsewhere this is
    ``sys.exit(code)``.
    """
    if not _command_process:
        sys.exit(code)
    _end_process(code, None)


def end_process(code: int) -> NoReturn:
    """End this process now the way a finished command does: ``atexit`` handlers, standard streams
    flushed, ``os._exit(code)``, without the interpreter's module teardown (used by process-pool
    workers once their work loop has ended)."""
    _end_process(code, None)


def _end_process(code: int, grace_s: float | None) -> NoReturn:
    """``atexit`` handlers, standard streams flushed, ``os._exit(code)``; with ``grace_s``, a watchdog
    thread ends the process after that long whatever a handler does. A standard output that cannot take
    its last bytes is reported as Python's own exit would (closed early: quiet, 141; full disk: one
    line, 1), never as success."""
    if grace_s is not None:

        def force() -> None:
            time.sleep(grace_s)
            _flush()
            os._exit(code)

        threading.Thread(target=force, name="perfkit-exit-watchdog", daemon=True).start()
    code = _flush(code)
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    code = _flush(code)
    os._exit(code)


def _flush(code: int = 0) -> int:
    """Flush stdout and stderr; the exit code to use (``code`` unless stdout failed on a success)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141 if code == 0 else code
    except (OSError, ValueError) as exc:
        with contextlib.suppress(Exception):
            sys.stderr.write(
                f"error: cannot write standard output: {getattr(exc, 'strerror', None) or exc}\n"
            )
        code = 1 if code == 0 else code
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    return code


def ignore_further() -> None:
    """After an interrupt has been reported: a second Ctrl-C, SIGTERM or SIGHUP must not print a traceback."""
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP for the block; a signal that arrives meanwhile is acted on when it ends.

    Two layers, because Python runs its handlers in the main thread whichever OS thread the kernel
    picked (numpy's BLAS threads, for one, leave the signals unblocked): the Python-level handlers only
    record the signal during the block, and the main thread's mask blocks the signals so that threads and
    processes started in the block inherit them blocked. At the end the handlers are restored and every
    recorded signal is raised again, so it takes its normal course (``KeyboardInterrupt``, ``Interrupted``).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum, _frame) -> None:
        received.append(signum)
        _received.append(signum)  # seen by raise_if_received() even if the block's end is cut short

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, hold)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        # The mask first: an interrupt raised anywhere below must never leave the stop signals blocked
        # (a signal landing in that gap raised KeyboardInterrupt before the mask was restored, and the
        # main thread ignored Ctrl-C from then on). Signals that were pending are taken by ``hold``.
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for sig in dict.fromkeys(received):
            signal.raise_signal(sig)  # now handled as it normally is (KeyboardInterrupt, Interrupted)


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
        os._exit(143)
    while True:  # no pidfd (old kernel): poll
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(143)
        except PermissionError:
            pass


def exit_with(pid: int) -> None:
    """Exit this process (``os._exit``) as soon as process ``pid`` is gone."""
    threading.Thread(target=_wait_for_exit, args=(pid,), name="perfkit-parent-watch", daemon=True).start()


PARENT_PID_VARIABLE = "PERFKIT_PARENT_PID"


def watch_parent_if_worker() -> None:
    """In a worker process that perfkit started (its parent set ``PERFKIT_PARENT_PID`` to its own pid),
    ignore Ctrl-C and exit with the parent, from the first import on.

    Called when a console script's entry module is imported, which a spawned worker does first (it
    re-imports the parent's main script), so the guard holds while the worker is still starting up --
    before any initializer or Dask preload could run.
    """
    pid = os.environ.get(PARENT_PID_VARIABLE, "")
    if not pid.isdigit() or int(pid) != os.getppid():
        return
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    exit_with(int(pid))


def init_worker(parent_pid: int) -> None:
    """Set up a worker process: ignore Ctrl-C and SIGHUP, die quietly on SIGTERM, exit when ``parent_pid`` is
    gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    exit_with(parent_pid)
