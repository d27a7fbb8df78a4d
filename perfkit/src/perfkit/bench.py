"""Side-by-side benchmarks: reference vs fast, interleaved in one process, with a JSON Lines history.

Interleaving (A B A B ...) means both paths see the same machine state, so their *ratio* stays
meaningful on a shared, noisy machine even when absolute times drift. The first call of each
is reported apart as warm-up (JIT compilation, caches) and left out of the steady-state figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from perfkit._atomic import json_text, write_json_atomic
from perfkit._host import git_revision, host_facts
from perfkit.machine import describe


@dataclass
class Timing:
    """Steady-state timings of one callable (seconds)."""

    times: list[float]
    warmup_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return float(np.median(self.times))

    @property
    def iqr_s(self) -> float:
        q75, q25 = np.percentile(self.times, [75, 25])
        return float(q75 - q25)

    @property
    def min_s(self) -> float:
        return float(np.min(self.times))

    def to_dict(self, units: float | None = None, unit_name: str = "items") -> dict:
        out = {
            "median_s": self.median_s,
            "iqr_s": self.iqr_s,
            "min_s": self.min_s,
            "repeats": len(self.times),
            "times": self.times,
            "warmup_s": self.warmup_s,
        }
        if units:
            out[f"{unit_name}_per_s"] = units / self.median_s
        return out


@dataclass
class Comparison:
    """Reference vs fast, measured pairwise in one process."""

    name: str
    reference: Timing
    fast: Timing
    units: float | None = None
    unit_name: str = "items"

    @property
    def pair_ratios(self) -> list[float]:
        return [r / f for r, f in zip(self.reference.times, self.fast.times, strict=True)]

    @property
    def ratio(self) -> float:
        """Median of the per-pair ratios reference/fast (how many times faster the fast path is)."""
        return float(np.median(self.pair_ratios))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "reference": self.reference.to_dict(self.units, self.unit_name),
            "fast": self.fast.to_dict(self.units, self.unit_name),
            "warmup_s": {
                "reference": self.reference.warmup_s[0] if self.reference.warmup_s else None,
                "fast": self.fast.warmup_s[0] if self.fast.warmup_s else None,
            },
            "ratio": self.ratio,
            "pair_ratios": self.pair_ratios,
            "units": self.units,
            "unit_name": self.unit_name,
        }

    def line(self) -> str:
        """One human-readable line: medians, IQRs and the ratio."""
        r, f = self.reference, self.fast
        rate = ""
        if self.units:
            rate = f", fast {self.units / f.median_s:,.0f} {self.unit_name}/s"
        return (
            f"{self.name}: reference {r.median_s:.4g} s (IQR {r.iqr_s:.2g}), fast {f.median_s:.4g} s "
            f"(IQR {f.iqr_s:.2g}, warm-up {f.warmup_s[0] if f.warmup_s else float('nan'):.3g} s){rate}, "
            f"ratio {self.ratio:.1f}x"
        )


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(
    fn: Callable[[], object], *, warmup: int = 1, repeats: int = 5, units=None, unit_name="items"
) -> Timing:
    """Time ``fn()``: ``warmup`` calls reported apart, then ``repeats`` steady-state calls."""
    warm = [_timed(fn) for _ in range(warmup)]
    return Timing([_timed(fn) for _ in range(repeats)], warm)


def compare(
    reference: Callable[[], object],
    fast: Callable[[], object],
    *,
    warmup: int = 1,
    repeats: int = 5,
    name: str = "",
    units: float | None = None,
    unit_name: str = "items",
) -> Comparison:
    """Run ``reference`` and ``fast`` interleaved (A B A B ...) and compare their medians."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    ref_warm, fast_warm = [], []
    for _ in range(warmup):
        ref_warm.append(_timed(reference))
        fast_warm.append(_timed(fast))
    ref_times, fast_times = [], []
    for _ in range(repeats):
        ref_times.append(_timed(reference))
        fast_times.append(_timed(fast))
    return Comparison(name, Timing(ref_times, ref_warm), Timing(fast_times, fast_warm), units, unit_name)


def _results_dir() -> Path:
    return Path(os.environ.get("PERFKIT_RESULTS_DIR", Path.cwd() / "benchmarks" / "results"))


def _summary_dir() -> Path:
    return Path(os.environ.get("PERFKIT_SUMMARY_DIR", Path.cwd() / "reports" / "bench-summary"))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(pipeline: str, name: str, data: dict, results_dir: str | os.PathLike | None = None) -> Path:
    """Append one benchmark result (with host facts and git revision) to ``<results>/<pipeline>.jsonl``."""
    directory = Path(results_dir) if results_dir is not None else _results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{pipeline}.jsonl"
    line = {
        "timestamp": _now(),
        "pipeline": pipeline,
        "name": name,
        "git_revision": git_revision(),
        "host": host_facts(),
        "machine": describe(),  # the fingerprint history compares within (perfkit.machine)
        "data": data,
    }
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json_text(line) + "\n")
    return path


def summary_row(pipeline: str, name: str, summary_dir: str | os.PathLike | None = None, **figures) -> Path:
    """Write (or replace) row ``name`` of the table ``make bench`` prints for ``pipeline``."""
    directory = Path(summary_dir) if summary_dir is not None else _summary_dir()
    path = directory / f"{pipeline}.json"
    doc = {"pipeline": pipeline, "rows": []}
    if path.exists():
        with contextlib.suppress(json.JSONDecodeError):
            doc = json.loads(path.read_text(encoding="utf-8"))
    rows = [r for r in doc.get("rows", []) if isinstance(r, dict) and r.get("name") != name]
    # Each row carries its own time and commit: a row another run wrote earlier keeps its own stamp, so the
    # summary can tell it from the rows this run wrote (see `perfkit bench-summary --since`).
    rows.append({"name": name, **figures, "timestamp": _now(), "git_revision": git_revision()})
    write_json_atomic(path, {"pipeline": pipeline, "updated": _now(), "rows": rows})
    return path
