"""cProfile capture: a ``.pstats`` file plus the top functions by cumulative time as JSON and a table."""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import pstats
from collections.abc import Iterator
from pathlib import Path

TOP_N = 30


SORTS = ("cumulative", "own")


def top_functions(
    stats: pstats.Stats, n: int = TOP_N, *, sort: str = "cumulative", wrappers: bool = False
) -> list[dict]:
    """The ``n`` functions with the largest cumulative (or own: ``sort="own"``) time: location, calls, tottime,
    cumtime. Wrapper frames (click, runpy, cProfile, perfkit's CLI plumbing; see `perfkit.flame.is_wrapper`)
    are left out unless ``wrappers`` is true: they hold the whole run's cumulative time and say nothing."""
    from perfkit.flame import is_wrapper

    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, got {sort!r}")
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        if not wrappers and is_wrapper((filename, line, func)):
            continue
        rows.append(
            {
                "function": f"{filename}:{line}:{func}",
                "file": filename,
                "line": line,
                "name": func,
                "calls": ncalls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
            }
        )
    key = "tottime_s" if sort == "own" else "cumtime_s"
    rows.sort(key=lambda r: (-r[key], r["function"]))
    return rows[:n]


def format_top(rows: list[dict]) -> str:
    """A plain-text table of :func:`top_functions` rows."""
    lines = [f"{'cumtime_s':>10} {'tottime_s':>10} {'calls':>10}  function"]
    for r in rows:
        lines.append(f"{r['cumtime_s']:10.4f} {r['tottime_s']:10.4f} {r['calls']:10d}  {r['function']}")
    return "\n".join(lines)


def top_path_for(path: str | os.PathLike) -> Path:
    """Where the top-functions JSON of the profile ``path`` goes: beside it, its suffix replaced by
    ``.top.json`` (``run.pstats`` -> ``run.top.json``), so that several profiles can share a folder."""
    return Path(path).with_suffix(".top.json")


def write_profile(
    profiler: cProfile.Profile,
    path: str | os.PathLike,
    n: int = TOP_N,
    top_path: str | os.PathLike | None = None,
) -> list[dict]:
    """Save ``profiler`` to ``path`` (pstats) and the top rows to ``top_path`` (default: :func:`top_path_for`
    ``path``); return the top rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(path))
    rows = top_functions(pstats.Stats(str(path)), n)
    top_path = Path(top_path) if top_path is not None else top_path_for(path)
    top_path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


@contextlib.contextmanager
def profile(
    path: str | os.PathLike, n: int = TOP_N, top_path: str | os.PathLike | None = None
) -> Iterator[cProfile.Profile]:
    """Profile the block with cProfile; on exit (also on failure) write ``path`` and its top-functions JSON
    (:func:`top_path_for`)."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield profiler
    finally:
        profiler.disable()
        write_profile(profiler, path, n, top_path)
