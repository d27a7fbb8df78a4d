"""One interface over serial, thread, process and Dask execution, with LPT scheduling.

Work is a list of :class:`Task` (a key, a picklable payload, an estimated cost). Tasks are handed
out heaviest first, so the next free worker always takes the next heaviest unit (longest
processing time first), and results come back keyed by task, in the order the tasks were given:
the output never depends on completion order, worker count or executor.

Randomness belongs to the work item: :func:`rng_for` derives a stream from (root seed, item key)
through ``SeedSequence`` and Philox, never from a worker or batch.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit import interrupts
from perfkit._host import note_worker_peak, worker_memory
from perfkit.errors import Interrupted

EXECUTORS = ("serial", "threads", "processes", "dask")


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(payload)`` is run for it; ``cost`` orders the schedule (heaviest first)."""

    key: str
    payload: Any = None
    cost: float = 1.0


@dataclass
class TaskResult:
    """What one task returned, with where and when it ran (unix seconds, comparable across processes).

    Process and Dask workers add their memory to ``extra`` (see :func:`perfkit._host.worker_memory`):
    ``peak_rss_bytes`` (the worker's own VmHWM) and, on Linux, ``peak_unique_bytes`` (the part of that
    peak not shared with other processes) and ``peak_pss_bytes`` (proportional share).
    """

    key: str
    value: Any
    elapsed_s: float
    worker: str
    started_s: float
    finished_s: float
    extra: dict = field(default_factory=dict)


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


_FORK_SERVER_LOCK = threading.Lock()
_fork_server_preload: tuple[str, ...] | None = None


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
                    NUMBA_NUM_THREADS="1", **{interrupts.PARENT_PID_VARIABLE: str(os.getpid())}
                ),
            ):
                forkserver.ensure_running()
            _fork_server_preload = tuple(preload)
            # Wait for the server to finish its preload here, where a Ctrl-C is delivered at once (the
            # pool below queues its work with signals held, so it must not wait for the preload).
            probe = ctx.Process(target=_started, args=(0,))
            probe.start()
            probe.join()
    return ctx


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, outside any ``interrupts.deferred()`` block.

    Its ``ensure_running`` unblocks SIGINT/SIGTERM when it starts the tracker, which would undo a
    deferred block and let workers start with Ctrl-C live; once it runs, later calls leave the mask alone.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def _init_process_worker(parent_pid: int) -> None:
    """Initializer of every process worker: one Numba thread, Ctrl-C left to the parent, die with it."""
    interrupts.init_worker(parent_pid)
    _limit_numba_threads()


def _stop_processes(pool: cf.ProcessPoolExecutor, grace_s: float = 1.0) -> None:
    """Stop a process pool's workers now (SIGTERM, then SIGKILL after ``grace_s``) and drop its queue.

    ``shutdown(cancel_futures=True)`` alone waits for running tasks, and the queue feeder thread can
    block interpreter exit; an interrupted run must stop within 2 s.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
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
    queue = getattr(pool, "_call_queue", None)
    if queue is not None:
        with contextlib.suppress(Exception):
            queue.cancel_join_thread()


def _run_task(fn: Callable, key: str, payload: Any, in_worker_process: bool) -> TaskResult:
    if in_worker_process:
        _limit_numba_threads()
    started = time.time()
    t0 = time.perf_counter()
    value = fn(payload)
    elapsed = time.perf_counter() - t0
    worker = f"pid-{os.getpid()}" if in_worker_process else f"{os.getpid()}-{threading.current_thread().name}"
    extra = worker_memory() if in_worker_process else {}
    return TaskResult(key, value, elapsed, worker, started, started + elapsed, extra)


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
    """
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("map_tasks: task keys must be unique")
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r} (choose from {', '.join(EXECUTORS)})")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    ordered = lpt_order(tasks)
    done: dict[str, TaskResult] = {}

    def collect(result: TaskResult) -> None:
        done[result.key] = result
        if "peak_rss_bytes" in result.extra:
            note_worker_peak(result.extra["peak_rss_bytes"], result.extra.get("peak_unique_bytes"))
        if on_result is not None:
            on_result(result)

    if executor == "serial":
        for t in ordered:
            interrupts.raise_if_received()
            collect(_run_task(fn, t.key, t.payload, False))
    elif executor == "threads":
        with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfkit") as pool:
            _drain(pool, fn, ordered, collect, in_worker_process=False)
    elif executor == "processes":
        _run_processes(fn, ordered, collect, min(workers, max(len(ordered), 1)), preload)
    else:
        _run_dask(fn, ordered, collect, workers, scheduler)
    return {k: done[k] for k in keys}


def _run_processes(fn, ordered: list[Task], collect, workers: int, preload: Sequence[str]) -> None:
    """The ``processes`` executor: workers that ignore Ctrl-C, die with this process, stop within 2 s."""
    pool = None
    try:
        ctx = start_fork_server(preload) if preload else multiprocessing.get_context("spawn")
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
                initargs=(os.getpid(),),
            )
            futures = {pool.submit(_run_task, fn, t.key, t.payload, True): t.key for t in ordered}
        _collect_all(futures, collect)
    except BaseException as exc:
        with interrupts.deferred():
            if pool is not None:
                _stop_processes(pool)
            if preload and isinstance(exc, (KeyboardInterrupt, Interrupted)):
                _stop_fork_server()
        raise
    pool.shutdown(wait=True)


def _stop_fork_server() -> None:
    """Kill the fork server now (on an interrupt): while it runs its preload it holds the GIL in compiled
    code and would notice its parent's exit only when that code returns, seconds later."""
    global _fork_server_preload
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    with _FORK_SERVER_LOCK:
        _fork_server_preload = None


def _collect_all(futures: dict, collect) -> None:
    for fut in cf.as_completed(futures):
        interrupts.raise_if_received()
        try:
            collect(fut.result())
        except BaseException as exc:
            exc.add_note(f"in task {futures[fut]!r}")
            raise


def _drain(pool: cf.Executor, fn, ordered: list[Task], collect, *, in_worker_process: bool) -> None:
    futures = {pool.submit(_run_task, fn, t.key, t.payload, in_worker_process): t.key for t in ordered}
    try:
        for fut in cf.as_completed(futures):
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


def _run_dask(fn, ordered: list[Task], collect, workers: int, scheduler: str | None) -> None:
    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    from distributed.deploy.spec import SpecCluster

    cluster = client = None
    existing = set(SpecCluster._instances)
    _start_resource_tracker()
    try:
        if scheduler is None:
            # Workers of a local cluster ignore Ctrl-C and exit when this process dies (perfkit._dask_worker).
            with (
                _child_environment(
                    NUMBA_NUM_THREADS="1", **{interrupts.PARENT_PID_VARIABLE: str(os.getpid())}
                ),
                dask.config.set({"distributed.worker.preload": ["perfkit._dask_worker"]}),
            ):
                cluster = _with_signals_held(
                    lambda: LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                    )
                )
        client = Client(cluster if cluster is not None else scheduler, set_as_default=False)
        futures = {}
        for rank, t in enumerate(ordered):
            # Higher priority runs first: keep the LPT order.
            fut = client.submit(
                _run_task, fn, t.key, t.payload, True, priority=len(ordered) - rank, pure=False
            )
            futures[fut] = t.key
        for fut in as_completed(list(futures), loop=client.loop):
            try:
                collect(fut.result())
            except BaseException as exc:
                exc.add_note(f"in task {futures[fut]!r}")
                raise
    except BaseException:
        with interrupts.deferred():
            # An interrupt inside LocalCluster(...) leaves a half-built cluster that was never assigned.
            started = [c for c in SpecCluster._instances if c not in existing]
            _abandon_dask(client, started)
        raise
    client.close()
    if cluster is not None:
        cluster.close()


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
    if isinstance(part, (int, np.integer)):
        if part < 0:
            raise ValueError("rng key parts must be non-negative integers or strings")
        return int(part)
    data = part.encode() if isinstance(part, str) else bytes(part)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def seed_sequence_for(seed: int, *key: int | str) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=key)``: strings are hashed to 64-bit integers (stable across runs)."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_key_int(k) for k in key))


def rng_for(seed: int, *key: int | str) -> np.random.Generator:
    """A Philox generator for one work item, identical whichever worker or batch runs it."""
    return np.random.Generator(np.random.Philox(seed_sequence_for(seed, *key)))


def seed_for(seed: int, *key: int | str) -> int:
    """A 64-bit integer seed for one work item (for code that seeds its own generator)."""
    return int(seed_sequence_for(seed, *key).generate_state(1, np.uint64)[0])
