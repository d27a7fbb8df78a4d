"""Run telemetry: one context manager per pipeline run, writing ``run_report.json`` and ``events.jsonl``.

A run records *results* (receipts, counters, per-item counters, result facts) and *performance*
(stage and item times, rates, memory). ``perfkit diff`` fails only on the former.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from perfkit._atomic import json_text, write_json_atomic, write_text_atomic
from perfkit._host import (
    git_revision,
    host_facts,
    peak_rss_bytes,
    peak_rss_children_bytes,
    peak_unique_children_bytes,
)

SCHEMA_VERSION = 1
TOP_ITEMS = 10


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def summarise_values(values, bins=None) -> dict:
    """Count, min/median/p90/max and a histogram of ``values`` (integers get one bin per value when few)."""
    import numpy as np  # here, not at the top: a command that records no histogram starts ~50 ms sooner

    arr = np.asarray(values).ravel()
    if arr.size == 0:
        return {"count": 0, "min": None, "median": None, "p90": None, "max": None, "edges": [], "counts": []}
    lo, hi = arr.min(), arr.max()
    if bins is None:
        integral = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)
        bins = np.arange(lo, hi + 2) if integral and hi - lo < 64 else 20
    counts, edges = np.histogram(arr, bins=bins)
    return {
        "count": int(arr.size),
        "min": lo.item(),
        "median": float(np.median(arr)),
        "p90": float(np.quantile(arr, 0.9)),
        "max": hi.item(),
        "edges": edges.tolist(),
        "counts": counts.tolist(),
    }


def quantile(ordered: list[float], q: float) -> float:
    """NumPy's default (linear) quantile of an ascending list, to the bit, without importing NumPy: the run
    report is built at the end of every command, most of which need NumPy nowhere else."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    t = pos - lo
    a, b = ordered[lo], ordered[hi]
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


# Runs open in this process: `perfkit.parallel` reports every finished task here (`note_task`), so a run
# knows its workers' CPU seconds and when each task ran in which worker, without the pipelines passing it on.
_ACTIVE: list[Run] = []
_ACTIVE_LOCK = threading.Lock()


def note_task(result) -> None:
    """Record a `perfkit.parallel.TaskResult` in every open run: a `task` event (key, worker, start/end
    unix seconds, worker CPU seconds, which task of its worker it was) and the worker CPU of the stage."""
    cpu = result.extra.get("cpu_s") if isinstance(getattr(result, "extra", None), dict) else None
    with _ACTIVE_LOCK:
        runs = list(_ACTIVE)
    for run in runs:
        run._note_task(result, cpu)


class ItemCounters(dict):
    """The counters of one item; ``item["tiles"] += n`` inside ``with run.item(...) as item``."""


class Run:
    """Context manager for one pipeline run.

    Parameters
    ----------
    pipeline : str
        Pipeline name (``seg1b``, ``mbp10``, ...), recorded in the report.
    out_dir : path or None
        Where ``run_report.json`` and ``events.jsonl`` are written (created if missing); None keeps
        the report in memory only (``run.report``), for commands whose user asked for no report.
    config : mapping
        Every parameter that defines the run; stored verbatim (must be JSON-able).
    """

    def __init__(self, pipeline: str, out_dir: str | os.PathLike | None, config: Mapping | None = None):
        self.pipeline = pipeline
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.config = dict(config or {})
        self.report_path = self.out_dir / "run_report.json" if self.out_dir is not None else None
        self.events_path = self.out_dir / "events.jsonl" if self.out_dir is not None else None
        self._lock = threading.RLock()
        self._stages: dict[str, dict] = {}
        self._items: dict[str, dict] = {}
        self._counters: dict[str, float] = {}
        self._results: dict[str, object] = {}
        self._metrics: dict[str, object] = {}
        self._histograms: dict[str, dict] = {}
        self._receipts: dict[str, dict] = {}
        self._events: list[dict] = []
        self._live = None
        self._worker_cpu_s = 0.0  # CPU seconds of worker processes in tasks, summed (see note_task)
        self._t0 = 0.0
        self._started = ""
        self.report: dict | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Run:
        self._started = _utc_now()
        self._t0 = time.perf_counter()
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            # A live log users can `tail -f`; rewritten atomically, whole, on exit.
            self._live = open(self.events_path, "w", encoding="utf-8")
        self._event("run_start", pipeline=self.pipeline)
        with _ACTIVE_LOCK:
            _ACTIVE.append(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        wall_s = time.perf_counter() - self._t0
        with _ACTIVE_LOCK, contextlib.suppress(ValueError):
            _ACTIVE.remove(self)
        status = "ok" if exc is None else "failed"
        error = None if exc is None else f"{exc_type.__name__}: {exc}"
        self._event("run_complete", status=status, wall_s=wall_s)
        if exc is not None and os.environ.get("PERFKIT_TRACEBACK"):
            error += "\n" + "".join(traceback.format_exception(exc_type, exc, tb))
        self.report = self._build_report(status, error, wall_s)
        if self._live is not None:
            self._live.close()
            self._live = None
        if self.out_dir is not None:
            try:
                write_text_atomic(self.events_path, "".join(json_text(e) + "\n" for e in self._events))
                write_json_atomic(self.report_path, self.report)
            except OSError:
                if exc is None:
                    raise
                # The run failed already, often for the same reason (a full disk): its error is the one to
                # show, not the report's.
        return False  # never swallow the exception

    def _event(self, event: str, **fields) -> None:
        record = {"t": time.time(), "event": event, **fields}
        with self._lock:
            self._events.append(record)
            if self._live is not None:
                self._live.write(json_text(record) + "\n")
                self._live.flush()

    # -- recording -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a named stage (wall and CPU seconds); repeated names accumulate."""
        self._event("stage_start", stage=name)
        w0, c0, k0 = time.perf_counter(), time.process_time(), self._worker_cpu_s
        try:
            yield
        finally:
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            worker_cpu = self._worker_cpu_s - k0
            with self._lock:
                s = self._stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
                s["wall_s"] += wall
                s["cpu_s"] += cpu  # this process only
                s["calls"] += 1
                if worker_cpu > 0:  # worker processes' CPU in their tasks (perfkit.parallel)
                    s["worker_cpu_s"] = s.get("worker_cpu_s", 0.0) + worker_cpu
            self._event("stage_complete", stage=name, elapsed_s=wall, cpu_s=cpu, worker_cpu_s=worker_cpu)

    def stage_wall_s(self, name: str) -> float:
        """The wall seconds recorded so far for stage ``name`` (0.0 if it never ran): the same number the
        report's ``stages`` gives, for a metric that must equal it."""
        with self._lock:
            return self._stages.get(name, {}).get("wall_s", 0.0)

    def _note_task(self, result, cpu_s: float | None) -> None:
        with self._lock:
            self._worker_cpu_s += cpu_s or 0.0
        extra = result.extra
        self._event(
            "task",
            key=str(result.key),
            worker=result.worker,
            started=result.started_s,
            finished=result.finished_s,
            elapsed_s=result.elapsed_s,
            cpu_s=cpu_s,
            task_in_worker=extra.get("task_in_worker"),
        )

    @contextlib.contextmanager
    def item(self, key: str, **counters) -> Iterator[ItemCounters]:
        """Record one work item (a country, a date, a game) with start/complete events and counters."""
        key = str(key)
        item = ItemCounters(counters)
        self._event("item_start", key=key)
        t0 = time.perf_counter()
        try:
            yield item
        finally:
            self.add_item(key, time.perf_counter() - t0, worker=f"pid-{os.getpid()}", **item)

    def add_item(self, key: str, elapsed_s: float, worker: str | None = None, **counters) -> None:
        """Record an item that ran elsewhere (a worker process) from its measured elapsed seconds."""
        key = str(key)
        with self._lock:
            rec = self._items.get(key)
            if rec is None:
                rec = self._items[key] = {"elapsed_s": 0.0, "worker": worker, "counters": {}}
            rec["elapsed_s"] += float(elapsed_s)
            rec["worker"] = worker if worker is not None else rec["worker"]
            for name, value in counters.items():
                rec["counters"][name] = rec["counters"].get(name, 0) + value
        self._event("item_complete", key=key, elapsed_s=float(elapsed_s), worker=worker, counters=counters)

    def count(self, name: str, n: float = 1) -> None:
        """Add ``n`` to a result counter (a count that defines the output)."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + n

    def result(self, name: str, value: object) -> None:
        """Store a JSON-able result fact (e.g. tile counts per country); compared by ``perfkit diff``."""
        with self._lock:
            self._results[name] = value

    def metric(self, name: str, value: object) -> None:
        """Store a performance figure (a rate, a time, a ratio); reported, never a diff failure."""
        with self._lock:
            self._metrics[name] = value

    def histogram(self, name: str, values, *, bins=None, result: bool = False) -> None:
        """Store a summary + histogram of ``values``; ``result=True`` makes it part of the results."""
        summary = summarise_values(values, bins)
        summary = {"result": bool(result), **summary}
        with self._lock:
            self._histograms[name] = summary

    def receipt(self, name: str, digest: str) -> None:
        """Store a determinism receipt (from :mod:`perfkit.determinism`) for an output."""
        algorithm, _, rest = digest.partition("/")
        version = rest.split(":", 1)[0].lstrip("v")
        with self._lock:
            self._receipts[name] = {
                "digest": digest,
                "algorithm": algorithm,
                "digest_version": int(version) if version.isdigit() else None,
            }

    # -- report ----------------------------------------------------------------------------------
    def _build_report(self, status: str, error: str | None, wall_s: float) -> dict:
        with self._lock:
            items = {k: dict(v, counters=dict(v["counters"])) for k, v in sorted(self._items.items())}
        times = sorted(float(v["elapsed_s"]) for v in items.values())
        quantiles = {"count": len(times), "median_s": None, "p90_s": None, "max_s": None}
        if times:
            quantiles.update(
                median_s=statistics.median(times),  # NumPy's median, to the bit
                p90_s=quantile(times, 0.9),
                max_s=times[-1],
            )
        top = sorted(items.items(), key=lambda kv: (-kv[1]["elapsed_s"], kv[0]))[:TOP_ITEMS]
        return {
            "schema_version": SCHEMA_VERSION,
            "pipeline": self.pipeline,
            "status": status,
            "error": error,
            "config": self.config,
            "started": self._started,
            "finished": _utc_now(),
            "wall_s": wall_s,
            "host": host_facts(),
            "git_revision": git_revision(),
            "stages": self._stages,
            "items": items,
            "item_time_quantiles": quantiles,
            "top_items": [{"key": k, **v} for k, v in top],
            "counters": self._counters,
            "results": self._results,
            "histograms": self._histograms,
            "metrics": self._metrics,
            "receipts": self._receipts,
            "peak_rss_bytes": peak_rss_bytes(),
            "peak_rss_children_bytes": peak_rss_children_bytes(),
            "peak_unique_children_bytes": peak_unique_children_bytes(),
        }
