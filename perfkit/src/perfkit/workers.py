"""What the workers did, from a run's `events.jsonl`: one lane of tasks per worker, busy/idle, start-up.

`perfkit.parallel` logs a `task` event per finished task (worker, start and end in unix seconds, the
worker's CPU in it, which task of its worker it was). Older logs only have `item_complete` events (the time
the parent recorded the item, its elapsed seconds and worker): then a task is drawn as ending when it was
recorded, which is close for process pools (results are collected as they finish).

The first task a worker runs carries that worker's start-up (imports on first use, Numba cache loads): it is
shown apart, and the slowest items are ranked without it.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.reports import REPORT_FILENAME, is_number

__all__ = ["Task", "WorkerStats", "load_events", "tasks_from_events", "worker_stats"]


@dataclass(frozen=True)
class Task:
    key: str
    worker: str
    start_s: float  # seconds since the run started
    end_s: float
    cpu_s: float | None
    first: bool  # the worker's first task: includes its start-up

    @property
    def elapsed_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class WorkerStats:
    worker: str
    tasks: int = 0
    busy_s: float = 0.0
    cpu_s: float | None = None
    first_task_s: float = 0.0  # elapsed of the first task (start-up included)
    typical_s: float | None = None  # median of the later tasks
    first_key: str = ""
    keys: list[str] = field(default_factory=list)

    @property
    def startup_s(self) -> float | None:
        """First task minus a typical later one: the start-up cost it carried (None with one task)."""
        if self.typical_s is None:
            return None
        return max(self.first_task_s - self.typical_s, 0.0)


def events_path(report_path: str | Path) -> Path:
    p = Path(report_path)
    return (p if p.is_dir() else p.parent) / "events.jsonl"


def load_events(report_path: str | Path) -> list[dict[str, Any]]:
    """The events beside a report (`events.jsonl`); [] when absent. Torn or foreign lines are skipped."""
    path = events_path(report_path)
    if Path(report_path).is_dir():
        path = Path(report_path) / "events.jsonl"
    if not path.is_file() or path.name == REPORT_FILENAME:
        return []
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and is_number(event.get("t")):
                out.append(event)
    return out


def tasks_from_events(events: list[dict[str, Any]]) -> list[Task]:
    """Tasks in start order: from `task` events when the log has them, else from `item_complete`."""
    if not events:
        return []
    t0 = (
        min(e["t"] for e in events if e.get("event") == "run_start")
        if any(e.get("event") == "run_start" for e in events)
        else min(e["t"] for e in events)
    )
    tasks: list[Task] = []
    task_events = [e for e in events if e.get("event") == "task" and is_number(e.get("started"))]
    if task_events:
        for e in task_events:
            end = e["finished"] if is_number(e.get("finished")) else e["started"] + (e.get("elapsed_s") or 0)
            cpu = e.get("cpu_s") if is_number(e.get("cpu_s")) else None
            tasks.append(Task(str(e.get("key")), str(e.get("worker")), e["started"] - t0, end - t0, cpu,
                              e.get("task_in_worker") == 1))  # fmt: skip
    else:
        seen: set[str] = set()
        for e in events:
            if e.get("event") != "item_complete" or not is_number(e.get("elapsed_s")):
                continue
            worker = str(e.get("worker") or "main")
            end = e["t"] - t0
            tasks.append(Task(str(e.get("key")), worker, max(end - e["elapsed_s"], 0.0), end, None,
                              worker not in seen))  # fmt: skip
            seen.add(worker)
    return sorted(tasks, key=lambda t: (t.start_s, t.worker, t.key))


def worker_stats(tasks: list[Task]) -> list[WorkerStats]:
    """Per worker: tasks, busy seconds, CPU, the first task (start-up) apart from the typical task."""
    by: dict[str, WorkerStats] = {}
    later: dict[str, list[float]] = {}
    for t in tasks:
        w = by.setdefault(t.worker, WorkerStats(t.worker))
        w.tasks += 1
        w.busy_s += t.elapsed_s
        w.keys.append(t.key)
        if t.cpu_s is not None:
            w.cpu_s = (w.cpu_s or 0.0) + t.cpu_s
        if t.first:
            w.first_task_s, w.first_key = t.elapsed_s, t.key
        else:
            later.setdefault(t.worker, []).append(t.elapsed_s)
    for name, w in by.items():
        if later.get(name) and w.first_key:
            w.typical_s = statistics.median(later[name])
    return sorted(by.values(), key=lambda w: w.worker)


def first_task_keys(tasks: list[Task]) -> set[str]:
    return {t.key for t in tasks if t.first}
