"""One interface over serial, thread, process and Dask execution, with LPT scheduling.

Work is a list of :class:`Task` (a key, a picklable payload, an estimated cost). Tasks are handed
out heaviest first, so the next free worker always takes the next heaviest unit (longest
processing time first), and results come back keyed by task, in the order the tasks were given:
the output never depends on completion order, worker count or executor.

Randomness belongs to the work item: :func:`rng_for` derives a stream from (root seed, item key)
through ``SeedSequence`` and Philox, never from a worker or batch.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import contextvars
import hashlib
import multiprocessing
import numbers
import os
import queue
import signal
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfkit import interrupts
from perfkit._host import note_worker_peak, worker_memory
from perfkit.errors import InputError, Interrupted, WorkerLost
from perfkit.errors import one_line as _one_line
from perfkit.run import note_task

if TYPE_CHECKING:  # NumPy is imported where a seed is made: a command that makes none starts ~50 ms sooner
    import numpy as np

EXECUTORS = ("serial", "threads", "processes", "dask")
# How often a task may lose its worker process before the run gives up (see map_tasks).
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(payload)`` is run for it; ``cost`` orders the schedule (heaviest first).

    ``files``: the files the task writes into a resumable folder output, relative to it; a resumed run
    keeps the task only if they are unchanged (see :mod:`perfkit.resume`).
    """

    key: str
    payload: Any = None
    cost: float = 1.0
    files: tuple[str, ...] = ()  # what it writes, relative to the resumable output folder (see phase)


@dataclass
class TaskResult:
    """What one task returned, with where and when it ran (unix seconds, comparable across processes).

    Process and Dask workers add their memory to ``extra`` (see :func:`perfkit._host.worker_memory`):
    ``peak_rss_bytes`` (the worker's own VmHWM) and, on Linux, ``peak_unique_bytes`` (the part of that
    peak not shared with other processes) and ``peak_pss_bytes`` (proportional share). ``attempts`` is
    how often the task was started: more than 1 when a worker running it died and it was retried.
    """

    key: str
    value: Any
    elapsed_s: float
    worker: str
    started_s: float
    finished_s: float
    extra: dict = field(default_factory=dict)
    attempts: int = 1


@dataclass
class _CommandContext:
    """What :func:`perfkit.job.job` tells :func:`map_tasks` about the command being run."""

    run: Any
    shared_paths: tuple[tuple[str, bool], ...] = ()
    journal: Any = None  # perfkit.resume.Journal of a resumable folder output
    retried: dict[str, int] = field(default_factory=dict)
    resumed: int = 0


_active: contextvars.ContextVar[_CommandContext | None] = contextvars.ContextVar(
    "perfkit_command", default=None
)


@contextlib.contextmanager
def reporting_to(
    run, shared_paths: Sequence[tuple[os.PathLike | str, bool]] = (), journal=None
) -> Iterator[None]:
    """Tell :func:`map_tasks` about the command it runs in (:func:`perfkit.job.job` does this).

    Retried and resumed items are recorded in ``run``'s metrics; a run on a remote Dask cluster first
    checks that every worker sees ``shared_paths`` (``(path, writable)``: the inputs, and the staged
    outputs the workers write); with a ``journal``, ``map_tasks(..., phase=...)`` skips tasks a killed
    run already finished and records the ones it finishes.
    """
    paths = tuple((os.path.abspath(p), bool(w)) for p, w in shared_paths)
    token = _active.set(_CommandContext(run, paths, journal))
    try:
        yield
    finally:
        _active.reset(token)


def _record_retries(done: dict[str, TaskResult]) -> None:
    """Record tasks that ran more than once in the active Run's ``retried_items`` metric (key -> attempts)."""
    context = _active.get()
    retried = {k: r.attempts for k, r in done.items() if r.attempts > 1}
    if context is None or not retried:
        return
    context.retried.update(retried)
    context.run.metric("retried_items", dict(context.retried))


def lpt_order(tasks: Sequence[Task]) -> list[Task]:
    """Tasks sorted heaviest first; ties broken by key so the order is reproducible."""
    return sorted(tasks, key=lambda t: (-float(t.cost), str(t.key)))


def _limit_numba_threads() -> None:
    """Keep a process/Dask worker to one Numba thread so workers do not oversubscribe the cores.

    Numba fixes its thread count when it is imported and refuses a different ``NUMBA_NUM_THREADS``
    afterwards, so the environment is only set while numba is not yet imported; otherwise the
    (thread-local) count is lowered with ``numba.set_num_threads``.
    """
    if "numba" in sys.modules:
        import numba

        # Only when needed: set_num_threads starts Numba's threading layer, whose named lock is then
        # leaked (a resource-tracker warning) by a worker stopped on an interrupt.
        if numba.config.NUMBA_NUM_THREADS > 1 and numba.get_num_threads() > 1:
            numba.set_num_threads(1)
    else:
        os.environ["NUMBA_NUM_THREADS"] = "1"


@contextlib.contextmanager
def _child_environment(**variables: str):
    """Set environment variables while worker processes are started, so they hold from interpreter start.

    A spawned worker re-imports the parent's main module (which may import numba) before any
    initializer runs; only the inherited environment is in place early enough.
    """
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _server_import_path() -> dict[str, str]:
    """Environment that gives the fork server the parent's import path, never the current folder.

    The server is started as ``python -c ...``, which puts the current folder first on its path (Python
    3.11's forkserver does not use the ``sys.path`` it is handed), so a user's ``random.py`` or
    ``coverage.py`` in the folder a command ran from was imported by the server in place of the real
    module: ``qyn1 pack .`` in a project holding a ``random.py`` ran that file and failed with an internal
    error. With ``PYTHONSAFEPATH`` no folder is added; ``PYTHONPATH`` carries the parent's entries that
    come before the standard library (its script's folder, its own PYTHONPATH, a test runner's root; a
    parent that itself imports from the current folder, ``python -c``/``-m``, keeps it).
    """
    version = f"python{sys.version_info.major}{sys.version_info.minor}.zip"
    stdlib = {
        os.path.normpath(sysconfig.get_path("stdlib")),
        os.path.normpath(os.path.join(sysconfig.get_config_var("LIBDIR") or "", version)),
    }
    leading = []
    for entry in sys.path:
        if entry and os.path.normpath(entry) in stdlib:
            break
        leading.append(os.path.abspath(entry) if entry else os.getcwd())
    return {"PYTHONSAFEPATH": "1", "PYTHONPATH": os.pathsep.join(dict.fromkeys(leading))}


_FORK_SERVER_LOCK = threading.Lock()
_fork_server_preload: tuple[str, ...] | None = None


def _check_main_script() -> None:
    """Refuse process workers for a main script with no ``if __name__ == "__main__":`` guard.

    Spawned workers and the fork server import the main script again (Python's multiprocessing rule), so a
    script that starts the work at its top level would do all of it again in them: its earlier side effects
    twice (files written again), then Python's bootstrapping ``RuntimeError`` and ~250 lines ending in
    :class:`WorkerLost`. A script whose text never mentions ``__name__`` cannot be guarded; an interactive
    session or ``python -c`` has no main file and is not concerned.
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path:
        return
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(1 << 20)
    except OSError:
        return
    if "__name__" not in text:
        raise RuntimeError(
            f"process workers import the main script {path} again, which would run its top-level code in "
            'each of them: put that code under `if __name__ == "__main__":` (or use threads)'
        )


def start_fork_server(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """The ``forkserver`` context, its server started (once per process) with ``preload`` imported.

    The server is started with ``NUMBA_NUM_THREADS=1`` in its environment, so forked workers keep to
    one Numba thread from the start. There is one fork server per process and Python reads the preload
    list only when it starts it: a later call with other modules gets the running server, and its
    workers import what they need on first use (correct, only without the sharing).
    """
    global _fork_server_preload
    ctx = multiprocessing.get_context("forkserver")
    with _FORK_SERVER_LOCK:
        if _fork_server_preload is None:
            _start_resource_tracker()
            from multiprocessing import forkserver

            # "__main__": the server imports the caller's main module too (as spawned workers would,
            # each on its own), so forked workers find it already imported and share it.
            ctx.set_forkserver_preload(["__main__", *preload])
            # Started with SIGINT/SIGTERM held, so the server (and the resource tracker it starts) come
            # up with them blocked: a Ctrl-C at the terminal is the parent's to handle, not theirs.
            with (
                interrupts.deferred(),
                _child_environment(
                    NUMBA_NUM_THREADS="1",
                    **{interrupts.PARENT_PID_VARIABLE: str(os.getpid())},
                    **_server_import_path(),
                ),
            ):
                forkserver.ensure_running()
            _fork_server_preload = tuple(preload)
            atexit.register(_stop_fork_server)  # idempotent: a second registration finds no server
            # Wait for the server to finish its preload here, where a Ctrl-C is delivered at once (the
            # pool below queues its work with signals held, so it must not wait for the preload).
            probe = ctx.Process(target=_started, args=(0,))
            probe.start()
            probe.join()
    return ctx


class _SpawnedWorker(multiprocessing.context.SpawnProcess):
    """A spawned pool worker that skips the interpreter's teardown once its work loop has ended.

    When the pool sends its stop sentinel the worker's loop returns; multiprocessing then runs its own
    exit work (finalizers, queues) and the interpreter would tear down numba, LLVM and pyarrow module by
    module: 0.46-0.79 s a worker (measured by the mbp10 owner: a spawned worker after one day's bars,
    load 3-4), which ``pool.shutdown(wait=True)`` waits for at the end of every run. Here the same exit
    work runs, then ``atexit`` handlers, then ``os._exit(0)`` -- what :func:`interrupts.exit_command` does
    for a command's own process. A loop that raises keeps Python's exit (code 1); a worker stopped by a
    signal never gets here. Forked workers need none of this: multiprocessing ends them with ``os._exit``.
    """

    def run(self) -> None:
        super().run()
        from multiprocessing import util

        util._exit_function()
        interrupts.end_process(0)


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnedWorker


_SPAWN = _SpawnContext()


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, outside any ``interrupts.deferred()`` block.

    Its ``ensure_running`` unblocks SIGINT/SIGTERM when it starts the tracker, which would undo a
    deferred block and let workers start with Ctrl-C live; once it runs, later calls leave the mask alone.
    The tracker ignores SIGINT/SIGTERM itself, not SIGHUP: it is started with SIGHUP ignored (kept across
    its exec), so that a closed terminal's SIGHUP to the process group does not kill it before the parent
    has cleaned up (it ends when the parent does).
    """
    from multiprocessing import resource_tracker

    if threading.current_thread() is not threading.main_thread():
        resource_tracker.ensure_running()
        return
    # Blocked first: a SIGHUP arriving meanwhile stays pending (Linux never discards a blocked signal)
    # and reaches the restored handler when unblocked.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP])
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous if previous is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


# The write end of the pipe a process worker announces each task start on (see _ProcessRound).
_start_pipe = None


def _init_process_worker(parent_pid: int, start_pipe=None) -> None:
    """Initializer of every process worker: one Numba thread, Ctrl-C left to the parent, die with it."""
    global _start_pipe
    # PYTHONSAFEPATH is the fork server's own setting (_server_import_path): a worker's subprocesses get
    # the usual path.
    os.environ.pop("PYTHONSAFEPATH", None)
    interrupts.init_worker(parent_pid)
    _limit_numba_threads()
    _start_pipe = start_pipe


def _stop_processes(pool: cf.ProcessPoolExecutor, grace_s: float = 0.3, join_s: float = 0.5) -> None:
    """Stop a process pool's workers now (SIGTERM, then SIGKILL after ``grace_s``) and let its threads end.

    ``shutdown(cancel_futures=True)`` alone waits for running tasks, and the queue feeder thread can
    block interpreter exit; an interrupted run must stop within 2 s. A worker mid-task dies at once on
    SIGTERM; one still starting up has the stop signals blocked until its initializer runs, so the
    grace is short: its files are temporaries the command discards anyway.

    The pool's manager thread and its queue's feeder thread hold the last references to the queues'
    semaphores once ``shutdown`` has dropped the pool's own. Were they left to end on their own, the
    semaphores' finalizer (unlink, then tell the resource tracker) would run in whichever thread ends
    last, racing this process's exit: cut between the two steps, the tracker later warns of a "leaked"
    semaphore that is already gone. So both threads are joined here (each for at most ``join_s``) and the
    references are dropped in this thread, where the finalizers then run to the end.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    call_queue = getattr(pool, "_call_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    deadline = time.monotonic() + grace_s
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(max(deadline - time.monotonic(), 0.0))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
    if call_queue is not None:
        with contextlib.suppress(Exception):
            call_queue.cancel_join_thread()  # the manager thread's join of the feeder must not block
    for thread in (manager, getattr(call_queue, "_thread", None)):
        if thread is not None:
            with contextlib.suppress(Exception):
                thread.join(join_s)


def _completed(futures: dict[cf.Future, Any], poll_s: float = 0.1) -> Iterator[cf.Future]:
    """The futures as they complete (those completing together in submission order), like
    ``cf.as_completed``, but Ctrl-C never lands inside concurrent.futures' own locking.

    ``as_completed`` takes every future's lock on entry; a ``KeyboardInterrupt`` between two of those
    acquisitions leaves locks held forever, and the pool's manager thread -- which interpreter exit
    joins -- then blocks on them: the command printed ``interrupted`` and hung. Here each future tells a
    queue once when it is done (a done-callback, registered with the stop signals held), and each short
    wait on that queue runs with the signals held; a signal that arrived meanwhile is raised between waits.
    (``cf.wait`` on the pending set instead took and released every pending future's lock at each
    completion: O(n^2) for n tasks, ~0.06 s of a 268-task qyn1 pack.)
    """
    submitted = {fut: i for i, fut in enumerate(futures)}
    finished: queue.SimpleQueue = queue.SimpleQueue()
    with interrupts.deferred():
        for fut in submitted:
            fut.add_done_callback(finished.put)
    left = len(submitted)
    while left:
        done = []
        with interrupts.deferred(), contextlib.suppress(queue.Empty):
            done.append(finished.get(timeout=poll_s))
            while True:
                done.append(finished.get_nowait())
        interrupts.raise_if_received()  # a stop signal recorded meanwhile, whatever became of its exception
        left -= len(done)
        yield from sorted(done, key=submitted.__getitem__)


def _run_task(
    fn: Callable, key: str, payload: Any, in_worker_process: bool, token: int | None = None
) -> TaskResult:
    if in_worker_process:
        _limit_numba_threads()
    if token is not None and _start_pipe is not None:
        # One small write on a pipe is atomic, so workers share it without a lock (a lock held by a
        # worker killed mid-write would block the others).
        _start_pipe.send_bytes(b"%d %d" % (os.getpid(), token))
    started = time.time()
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn(payload)
    elapsed = time.perf_counter() - t0
    worker = f"pid-{os.getpid()}" if in_worker_process else f"{os.getpid()}-{threading.current_thread().name}"
    extra = worker_memory() if in_worker_process else {}
    if in_worker_process:  # telemetry: the worker's CPU in this task, and its first task (carries start-up)
        global _tasks_in_this_process
        _tasks_in_this_process += 1
        extra.update(cpu_s=time.process_time() - c0, task_in_worker=_tasks_in_this_process)
    return TaskResult(key, value, elapsed, worker, started, started + elapsed, extra)


_tasks_in_this_process = 0


def _started(_: int) -> int:
    return os.getpid()


def map_tasks(
    fn: Callable[[Any], Any],
    tasks: Iterable[Task],
    *,
    executor: str = "serial",
    workers: int = 1,
    scheduler: str | None = None,
    on_result: Callable[[TaskResult], None] | None = None,
    preload: Sequence[str] = (),
    max_attempts: int = MAX_ATTEMPTS,
    phase: str | None = None,
) -> dict[str, TaskResult]:
    """Run ``fn(task.payload)`` for every task; return ``{key: TaskResult}`` in the order of ``tasks``.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one argument.
    tasks : iterable of Task
        Keys must be unique.
    executor : {"serial", "threads", "processes", "dask"}
        ``dask`` with ``scheduler=None`` starts a local cluster of ``workers`` single-threaded
        processes; with a scheduler address (``tcp://host:8786``) it uses that cluster.
    workers : int
        Parallel workers (ignored by ``serial``).
    on_result : callable, optional
        Called in the calling thread as each task completes (progress, telemetry).
    preload : sequence of str, optional
        Modules the ``processes`` workers need (their import may also load data and compile kernels).
        With a preload the workers are forked from a fork server that imported them once
        (:func:`start_fork_server`), instead of being spawned as fresh interpreters: they start in
        milliseconds and share the preloaded pages copy-on-write, so each worker's own memory is only
        what its tasks allocate. Without one, workers are spawned. Other executors ignore it.
    max_attempts : int
        How often a task may be started on a ``processes`` or ``dask`` worker that then dies (killed,
        out of memory, node lost) before the run fails with :class:`perfkit.errors.WorkerLost`. The
        task is retried on a fresh worker meanwhile; ``TaskResult.attempts`` says how often it ran.
        An exception raised by the task itself is never retried: it is deterministic.
    phase : str, optional
        Makes the tasks resumable inside a command whose folder output keeps a journal
        (``perfkit.job.job(..., resumable=True)``): tasks a killed run finished (their files unchanged)
        are not run again but come back with their recorded value (``worker="resumed"``,
        ``attempts=0``), and each task finished now is recorded. Names the call, so two calls in one
        command may use the same keys. Values must be picklable.
    """
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("map_tasks: task keys must be unique")
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r} (choose from {', '.join(EXECUTORS)})")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    context = _active.get()
    journal = context.journal if (context is not None and phase is not None) else None
    files = {t.key: t.files for t in tasks}
    done: dict[str, TaskResult] = {}

    def collect(result: TaskResult) -> None:
        if journal is not None and result.attempts > 0:
            journal.record(phase, result.key, result.value, files[result.key])
        done[result.key] = result
        if "peak_rss_bytes" in result.extra:
            note_worker_peak(result.extra["peak_rss_bytes"], result.extra.get("peak_unique_bytes"))
        note_task(result)  # telemetry for the run report (worker CPU per stage, the worker timeline)
        if on_result is not None:
            on_result(result)

    if journal is not None:
        for key, value in journal.finished(phase, keys).items():
            now = time.time()
            collect(TaskResult(key, value, 0.0, "resumed", now, now, attempts=0))
        context.resumed += len(done)
        context.run.metric("resumed_items", context.resumed)
    ordered = lpt_order([t for t in tasks if t.key not in done])
    if ordered:
        _execute(fn, ordered, collect, executor, workers, scheduler, preload, max_attempts)
    _record_retries(done)
    return {k: done[k] for k in keys}


def _execute(fn, ordered: list[Task], collect, executor, workers, scheduler, preload, max_attempts) -> None:
    if executor == "serial":
        for t in ordered:
            interrupts.raise_if_received()
            collect(_run_task(fn, t.key, t.payload, False))
    elif executor == "threads":
        with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfkit") as pool:
            _drain(pool, fn, ordered, collect, in_worker_process=False)
    elif executor == "processes":
        _run_processes(fn, ordered, collect, min(workers, len(ordered)), preload, max_attempts)
    else:
        _run_dask(fn, ordered, collect, workers, scheduler, max_attempts)


def _run_processes(
    fn, ordered: list[Task], collect, workers: int, preload: Sequence[str], max_attempts: int
) -> None:
    """The ``processes`` executor: workers that ignore Ctrl-C, die with this process, stop within 2 s.

    A worker that dies mid-task breaks the whole ``ProcessPoolExecutor``; then the tasks not yet
    collected run again in a fresh pool. Each task announces its start (worker pid) on a pipe, so the
    task that was running on the dead worker is charged an attempt; the others were only stopped by
    the broken pool and are not. A task charged ``max_attempts`` times ends the run (``WorkerLost``).
    """
    lost: dict[int, int] = {}
    done_tokens: set[int] = set()

    def collect_once(result: TaskResult, token: int) -> None:
        done_tokens.add(token)
        result.attempts = lost.get(token, 0) + 1
        collect(result)

    remaining = list(enumerate(ordered))
    while remaining:
        done_before = len(done_tokens)
        broken = _process_round(fn, remaining, collect_once, workers, preload)
        if broken is None:
            return
        started, exit_codes = broken
        in_flight = {tok: pid for tok, pid in started.items() if tok not in done_tokens}
        culprits = {tok for tok, pid in in_flight.items() if _died_on_its_own(exit_codes.get(pid))}
        for tok in culprits or in_flight:
            lost[tok] = lost.get(tok, 0) + 1
        # A worker killed between two tasks breaks the pool with nothing in flight: the round still finished
        # tasks, so the rest simply run again. Only a round that finished none and had none running failed
        # before any work (workers that cannot start): retrying it would loop.
        if not in_flight and len(done_tokens) == done_before:
            raise WorkerLost("the worker processes died before running any task (see the messages above)")
        given_up = sorted(tok for tok in in_flight if lost.get(tok, 0) >= max_attempts)
        if given_up:
            names = ", ".join(repr(ordered[tok].key) for tok in given_up)
            codes = sorted({_exit_text(exit_codes.get(in_flight[tok])) for tok in given_up})
            raise WorkerLost(
                f"task {names} lost its worker process {max_attempts} times ({', '.join(codes)}); giving up"
            )
        remaining = [(tok, t) for tok, t in remaining if tok not in done_tokens]


def _died_on_its_own(exit_code: int | None) -> bool:
    """True for a worker that died by itself (killed, crashed), not one the broken pool stopped (SIGTERM)."""
    return exit_code is not None and exit_code != -signal.SIGTERM


def _exit_text(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exit_code).name}"
    return f"exit code {exit_code}"


def _process_round(fn, tasks: list[tuple[int, Task]], collect, workers: int, preload: Sequence[str]):
    """Run ``tasks`` (``(token, Task)``, heaviest first) in one process pool.

    Returns None when every task was collected, or, when a worker died, ``(started, exit_codes)``:
    the pid each task last started on, and the exit code of every pool process.
    """
    pool = None
    receiver, sender = multiprocessing.Pipe(duplex=False)
    started: dict[int, int] = {}

    def read_starts() -> None:
        while receiver.poll():
            pid, token = receiver.recv_bytes().split()
            started[int(token)] = int(pid)

    try:
        _check_main_script()
        ctx = start_fork_server(preload) if preload else _SPAWN
        _start_resource_tracker()
        # Starting workers and queueing tasks is not cut by a signal (a half-started pool hangs at exit);
        # a Ctrl-C meanwhile is delivered right after, inside the try, and stops the pool cleanly.
        with (
            interrupts.deferred(),
            _child_environment(NUMBA_NUM_THREADS="1", **{interrupts.PARENT_PID_VARIABLE: str(os.getpid())}),
        ):
            pool = cf.ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=_init_process_worker,
                initargs=(os.getpid(), sender),
            )
            futures = {
                pool.submit(_run_task, fn, t.key, t.payload, True, token): (token, t.key)
                for token, t in tasks
            }
            processes = dict(getattr(pool, "_processes", None) or {})
        try:
            for fut in _completed(futures):
                interrupts.raise_if_received()
                read_starts()
                token, key = futures[fut]
                try:
                    result = fut.result()
                except cf.process.BrokenProcessPool:
                    raise
                except BaseException as exc:
                    exc.add_note(f"in task {key!r}")
                    raise
                collect(result, token)
        except cf.process.BrokenProcessPool:
            processes.update(getattr(pool, "_processes", None) or {})
            pool.shutdown(wait=True, cancel_futures=True)
            read_starts()
            exit_codes = {}
            for pid, proc in processes.items():
                with contextlib.suppress(Exception):
                    proc.join(1.0)
                    exit_codes[pid] = proc.exitcode
            return started, exit_codes
    except BaseException as exc:
        with interrupts.deferred():
            if pool is not None:
                _stop_processes(pool)
            if preload and isinstance(exc, (KeyboardInterrupt, Interrupted)):
                _stop_fork_server()
        raise
    finally:
        receiver.close()
        sender.close()
    pool.shutdown(wait=True)
    return None


def _stop_fork_server() -> None:
    """Kill the fork server now, and forget it (a later :func:`start_fork_server` starts a new one).

    On an interrupt: while it runs its preload it holds the GIL in compiled code and would notice its
    parent's exit only when that code returns, seconds later. At the command's exit (``atexit``): left
    alone it notices the exit, then tears its interpreter down (numba, LLVM: ~0.35 s, measured by the qyn1
    owner) while it still holds the command's stdout/stderr, so every reader of the command's output
    (``| tee``, ``$(...)``, a captured subprocess) waited that long after the command had ended.
    """
    global _fork_server_preload
    from multiprocessing import forkserver, util

    server = forkserver._forkserver
    with _FORK_SERVER_LOCK:
        pid = getattr(server, "_forkserver_pid", None)
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError, TypeError):
                os.close(server._forkserver_alive_fd)
            address = server._forkserver_address
            if address is not None and not util.is_abstract_socket_namespace(address):
                with contextlib.suppress(OSError):
                    os.unlink(address)
            server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None
        _fork_server_preload = None


def _drain(pool: cf.Executor, fn, ordered: list[Task], collect, *, in_worker_process: bool) -> None:
    futures = {pool.submit(_run_task, fn, t.key, t.payload, in_worker_process): t.key for t in ordered}
    try:
        for fut in _completed(futures):
            interrupts.raise_if_received()
            try:
                collect(fut.result())
            except BaseException as exc:
                exc.add_note(f"in task {futures[fut]!r}")
                raise
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _run_dask(
    fn, ordered: list[Task], collect, workers: int, scheduler: str | None, max_attempts: int = MAX_ATTEMPTS
) -> None:
    """The ``dask`` executor: a local cluster of ``workers`` processes, or the cluster at ``scheduler``.

    Dask moves a task whose worker died to another worker; each start is logged as an event on a topic
    of this run's own, so the attempts per task are known afterwards (a worker killed within a few
    milliseconds of a start, before its batched event stream is flushed, may not have reported that
    start: the attempts are then undercounted, never the results). A local cluster gives up after
    ``max_attempts`` starts (the scheduler's ``allowed-failures``); a remote scheduler uses its own
    setting. Either way the loss ends as one :class:`WorkerLost`.
    """
    import uuid

    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    from distributed import KilledWorker
    from distributed.deploy.spec import SpecCluster

    cluster = client = None
    existing = set(SpecCluster._instances)
    topic = f"perfkit-start-{uuid.uuid4().hex}"
    cwd = os.getcwd()
    _start_resource_tracker()
    try:
        if scheduler is None:
            # Workers of a local cluster ignore Ctrl-C and exit when this process dies (perfkit._dask_worker).
            with (
                _child_environment(
                    NUMBA_NUM_THREADS="1",
                    **{interrupts.PARENT_PID_VARIABLE: str(os.getpid())},
                    **_server_import_path(),
                ),
                dask.config.set(
                    {
                        "distributed.worker.preload": ["perfkit._dask_worker"],
                        "distributed.scheduler.allowed-failures": max_attempts - 1,
                    }
                ),
            ):
                cluster = _with_signals_held(
                    lambda: LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                    )
                )
            client = Client(cluster, set_as_default=False)
        else:
            client = _connect(scheduler)
        futures = {}
        for rank, t in enumerate(ordered):
            # Higher priority runs first: keep the LPT order.
            fut = client.submit(
                _run_dask_task, topic, cwd, fn, t.key, t.payload, priority=len(ordered) - rank, pure=False
            )
            futures[fut] = t.key
        results = []
        for fut in as_completed(list(futures), loop=client.loop):
            key = futures.pop(fut)
            try:
                result = fut.result()
            except KilledWorker as exc:
                raise WorkerLost(
                    f"task {key!r} lost its Dask worker too many times ({_one_line(exc)}); giving up"
                ) from None
            except BaseException as exc:
                exc.add_note(f"in task {key!r}")
                raise
            # Let the cluster forget the result now: a worker that dies later would otherwise have
            # its finished results computed again.
            fut.release()
            results.append(result)
            collect(result)
        starts: dict[str, int] = {}
        for _, key in client.get_events(topic):
            starts[key] = starts.get(key, 0) + 1
        for result in results:
            result.attempts = max(starts.get(result.key, 1), 1)
    except BaseException:
        with interrupts.deferred():
            # An interrupt inside LocalCluster(...) leaves a half-built cluster that was never assigned.
            started = [c for c in SpecCluster._instances if c not in existing]
            _abandon_dask(client, started)
        raise
    client.close()
    if cluster is not None:
        cluster.close()


def _run_dask_task(topic: str, cwd: str, fn: Callable, key: str, payload: Any) -> TaskResult:
    """A task on a Dask worker: announce the start (for the retry count), then run it in ``cwd``.

    ``cwd`` is the submitting process's folder, so relative paths in a payload mean on a worker what
    they mean on the machine the command was typed on, as for process workers (on a cluster the folder
    is on the shared filesystem; :func:`_connect` checked that every worker sees it).
    """
    from distributed import get_worker

    get_worker().log_event(topic, key)
    if os.getcwd() != cwd:
        os.chdir(cwd)
    return _run_task(fn, key, payload, True)


def _connect(scheduler: str, timeout_s: float = 10.0):
    """A client of the cluster at ``scheduler``, with at least one worker that sees the run's paths."""
    from dask.distributed import Client
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        protocol, location = parse_address(scheduler)
        if protocol in ("tcp", "tls", "ucx", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise InputError(
            f"bad Dask scheduler address {scheduler!r}: {_one_line(exc)} (expected tcp://host:port)"
        ) from None
    if protocol == "tcp":
        _check_reachable(scheduler, *parse_host_port(location), timeout_s)
    try:
        client = Client(scheduler, set_as_default=False, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {_one_line(exc)}") from None
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (TimeoutError, OSError):
        client.close()
        raise InputError(
            f"the Dask scheduler at {scheduler} has no workers (waited {timeout_s:g} s)"
        ) from None
    context = _active.get()
    paths = context.shared_paths if context is not None else ()
    if paths:
        paths = ((os.getcwd(), False), *paths)
        unseen = client.run(_unseen_paths, list(paths))
        for worker, missing in sorted(unseen.items()):
            if missing:
                client.close()
                raise InputError(
                    f"Dask worker {worker} cannot see {missing[0]}: a cluster run needs the inputs and "
                    "outputs on a filesystem every worker mounts at the same path"
                )
    return client


def _check_reachable(scheduler: str, host: str, port: int, timeout_s: float) -> None:
    """A plain TCP connect first: a refused or unresolvable address is one line now, not after Dask's retries."""
    import socket

    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        reason = exc.strerror or _one_line(exc)
        raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None


def _unseen_paths(paths: list[tuple[str, bool]]) -> list[str]:
    """The paths this worker cannot use: missing or unreadable inputs, output folders it cannot write."""
    missing = []
    for path, writable in paths:
        need = os.R_OK | (os.W_OK if writable else 0) | (os.X_OK if os.path.isdir(path) else 0)
        if not os.path.exists(path) or not os.access(path, need):
            missing.append(path)
    return missing


def _with_signals_held(fn: Callable[[], Any]) -> Any:
    """``fn()`` run in a helper thread that holds SIGINT/SIGTERM, while this thread stays interruptible.

    Threads and processes inherit the signal mask of the thread that starts them, so everything ``fn``
    starts (Dask's event loop thread, its worker processes) is deaf to the terminal's Ctrl-C, which is
    the parent's to handle; an interrupt meanwhile reaches this thread at once.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    with interrupts.deferred():
        helper = threading.Thread(target=target, name="perfkit-start", daemon=True)
        helper.start()
    while helper.is_alive():
        helper.join(0.05)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _abandon_dask(client, clusters: list) -> None:
    """Stop a failed or interrupted Dask run now.

    A graceful close waits on workers mid-task, so instead: silence distributed's shutdown noise, tell
    the local clusters' nannies they are closing (else they respawn what is killed), kill every worker
    process until no new one appears, then close the client and clusters briefly.
    """
    import logging

    from distributed.core import Status

    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    for cluster in clusters:
        for nanny in list(getattr(cluster, "workers", {}).values()):
            with contextlib.suppress(Exception):
                nanny.status = Status.closing
    if clusters:
        _kill_children(settle_s=0.3)
    for closable in (client, *clusters):
        if closable is not None:
            with contextlib.suppress(BaseException):
                closable.close(timeout=0.5)
    if clusters:
        _kill_children(settle_s=0.0)  # anything a nanny still had in flight
    for cluster in clusters:
        cluster.shutdown_on_close = False  # distributed's atexit close would fail on the killed workers


def _kill_children(settle_s: float = 0.0, limit_s: float = 1.5) -> None:
    """SIGKILL every descendant process of this one (their work is being thrown away), again and again
    until none has appeared for ``settle_s`` (a worker being spawned right now), for at most ``limit_s``."""
    from multiprocessing import resource_tracker

    import psutil

    # The resource tracker is left to exit on its own: killed, it is relaunched and prints errors.
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    deadline = time.monotonic() + limit_s
    quiet_since = time.monotonic()
    while True:
        children = [c for c in psutil.Process().children(recursive=True) if c.pid != tracker]
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(children, timeout=0.5)
        now = time.monotonic()
        if children:
            quiet_since = now
        if now - quiet_since >= settle_s or now >= deadline:
            return
        time.sleep(0.05)


def worker_utilisation(results: Iterable[TaskResult], wall_s: float, workers: int) -> dict:
    """Busy seconds per worker, total idle seconds and the idle fraction of ``workers * wall_s``."""
    busy: dict[str, float] = {}
    for r in results:
        busy[r.worker] = busy.get(r.worker, 0.0) + r.elapsed_s
    capacity = max(wall_s, 1e-12) * workers
    total_busy = sum(busy.values())
    idle = max(capacity - total_busy, 0.0)
    return {
        "workers": workers,
        "wall_s": wall_s,
        "busy_s": dict(sorted(busy.items())),
        "idle_s": idle,
        "idle_fraction": idle / capacity,
    }


def _key_int(part: int | str | bytes) -> int:
    if isinstance(part, numbers.Integral):  # NumPy's integers register as Integral
        if part < 0:
            raise ValueError("rng key parts must be non-negative integers or strings")
        return int(part)
    data = part.encode() if isinstance(part, str) else bytes(part)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def seed_sequence_for(seed: int, *key: int | str) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=key)``: strings are hashed to 64-bit integers (stable across runs)."""
    import numpy as np

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):  # int(1.5) would be seed 1's stream
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_key_int(k) for k in key))


def rng_for(seed: int, *key: int | str) -> np.random.Generator:
    """A Philox generator for one work item, identical whichever worker or batch runs it."""
    import numpy as np

    return np.random.Generator(np.random.Philox(seed_sequence_for(seed, *key)))


def seed_for(seed: int, *key: int | str) -> int:
    """A 64-bit integer seed for one work item (for code that seeds its own generator)."""
    import numpy as np

    return int(seed_sequence_for(seed, *key).generate_state(1, np.uint64)[0])
