"""Benchmark history: read `benchmarks/results/<pipeline>.jsonl`, show each figure's trend, flag regressions.

`perfkit.bench.record` appends one line per benchmark run: `{"timestamp", "pipeline", "name", "git_revision",
"host", "data"}` where `data` is usually `Comparison.to_dict()` (reference/fast medians, `ratio` =
reference/fast) plus whatever figures the pipeline adds. Each numeric figure of `data` (one level of nesting,
e.g. `fast.median_s`) becomes a series per benchmark name.

Like with like: a figure with no performance direction and a whole-number value (`tiles`, `records`,
`resolution_arcsec`, a Comparison's `units`) describes the *workload*. Only earlier runs of the same
benchmark with the same workload are a baseline — a run at another resolution is not slower, it is different.

Like machine with like machine: each record carries a machine fingerprint (`perfkit.machine`); series are
kept per machine and never compared across machines. Records without one (written before fingerprints)
form one machine, `unknown/legacy`.

Regression rule (noise-aware): the baseline is the median of the previous `window` comparable values
(same benchmark, workload and machine). With fewer than `MIN_RUNS` of them the run-to-run noise is unknown
and nothing is flagged ("too few runs"). Otherwise the effect — the latest value's relative change against
the baseline, signed so that positive is better — gets a 95% bootstrap interval that holds both the
baseline's uncertainty (the median of a resample of the previous runs) and one run's own noise (a previous
run's deviation from the baseline, drawn at random, applied to the latest value). A figure regresses when
the whole interval is on the worse side of zero and the effect is larger than `threshold`; it improved in
the mirror case; otherwise its change is within the noise. Figures whose name does not say which way is
better (`direction` 0) get a trend but no verdict.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.machine import LEGACY, machine_id, machine_label
from perfkit.reports import PerfkitError, check_pipeline, is_number, is_rate

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "History",
    "Series",
    "default_results_dir",
    "direction",
    "load_history",
]

DEFAULT_THRESHOLD = 0.05
DEFAULT_WINDOW = 10
MIN_RUNS = 3  # previous comparable runs needed before the noise is known
BOOTSTRAP = 2000
# Raw samples and bookkeeping, not headline figures. ("codecs": how many chunks each coder took, which moves
# with the coder, not with the workload; as a whole-number figure it made every run a workload of its own.)
_SKIP = {
    "times",
    "pair_ratios",
    "repeats",
    "units",
    "iqr_s",
    "min_s",
    "warmup_s",
    "unit_name",
    "name",
    "codecs",
}


def default_results_dir() -> Path:
    """Same location `perfkit.bench.record` writes to: $PERFKIT_RESULTS_DIR or ./benchmarks/results."""
    return Path(os.environ.get("PERFKIT_RESULTS_DIR", Path.cwd() / "benchmarks" / "results"))


# A speed-up by its name: the fast path against the reference, N threads against one.
_SPEED_RATIO = re.compile(r"fast_(?:vs|over)_ref|threads_\d+_vs_\d+")


def _compares_two(leaf: str) -> bool:
    """``a_vs_b``, ``a_over_b``: one measurement against another, a ratio whatever its value."""
    return "_vs_" in leaf or "_over_" in leaf


def direction(figure: str) -> int:
    """-1 when lower is better, +1 when higher is better, 0 when the name does not say.

    A ratio of two measurements says it only by its words: a speed-up (``speedup``, ``fast_vs_ref``,
    ``threads_2_vs_1``) or a compression ``ratio`` is better higher, an ``overhead`` or ``cost`` lower; others
    (``bbox_vs_plain``, a write time with a column against without; ``fast_vs_game_mode``) have no direction."""
    leaf = figure.rsplit(".", 1)[-1].lower()
    if "overhead" in leaf or "cost" in leaf:
        return -1
    if (
        is_rate(leaf)
        or _SPEED_RATIO.search(leaf)
        or any(w in leaf for w in ("ratio", "speedup", "throughput", "rate"))
    ):
        return 1
    if _compares_two(leaf):
        return 0
    if (
        leaf.endswith(("_s", "_bytes", "_mib"))
        or leaf in ("seconds", "wall")
        or any(w in leaf for w in ("rss", "pss", "idle"))
    ):
        return -1
    return 0


def _is_workload(figure: str, value: float) -> bool:
    """A whole-number figure without a direction (``tiles``, ``files``) that is not a ratio rounded to a whole
    number (qyn1's ``crypto_fast_vs_ref``: 1376, 1452, ... made every run a workload of its own)."""
    leaf = figure.rsplit(".", 1)[-1].lower()
    return direction(figure) == 0 and float(value).is_integer() and not _compares_two(leaf)


@dataclass
class Series:
    """One figure of one benchmark over time (oldest first)."""

    name: str
    figure: str
    values: list[float] = field(default_factory=list)
    timestamps: list[str] = field(default_factory=list)
    revisions: list[str | None] = field(default_factory=list)
    workloads: list[tuple] = field(default_factory=list)  # the run's workload signature, per value
    machine: str = LEGACY  # machine id (perfkit.machine); series never mix machines
    workload: bool = False  # this figure is itself part of the workload (not a performance figure)
    comparable: int = 0  # earlier runs with the latest run's workload
    baseline: float | None = None
    change: float | None = None  # relative change of the latest value vs the baseline
    effect: float | None = None  # the change signed so that positive is better
    interval: tuple[float, float] | None = None  # 95% bootstrap interval of `effect`
    noise: float | None = None  # run-to-run noise: median absolute relative deviation of the previous runs
    status: str = (
        "new"  # new | new workload | too few runs | within noise | REGRESSION | improved | changed | workload
    )

    @property
    def latest(self) -> float:
        return self.values[-1]


@dataclass
class History:
    pipeline: str
    path: Path
    records: int
    skipped_lines: int
    series: list[Series]
    threshold: float
    window: int
    machines: dict[str, str] = field(default_factory=dict)  # id -> label

    @property
    def regressions(self) -> list[Series]:
        return [s for s in self.series if s.status == "REGRESSION"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "path": str(self.path),
            "records": self.records,
            "skipped_lines": self.skipped_lines,
            "threshold": self.threshold,
            "window": self.window,
            "machines": self.machines,
            "series": [{k: v for k, v in s.__dict__.items() if k != "workloads"} for s in self.series],
        }


def _figures(data: Any) -> dict[str, float]:
    """Numeric headline figures of one record's `data` (top level and one level down)."""
    out: dict[str, float] = {}
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        if key in _SKIP:
            continue
        if is_number(value):
            out[key] = float(value)
        elif isinstance(value, dict):
            for sub, v in value.items():
                if sub not in _SKIP and is_number(v):
                    out[f"{key}.{sub}"] = float(v)
    return out


def load_history(
    pipeline: str,
    results_dir: str | Path | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window: int = DEFAULT_WINDOW,
) -> History:
    """Read a pipeline's history and classify the latest value of every figure against its baseline."""
    pipeline = check_pipeline(pipeline)
    if not 0 <= threshold < math.inf:
        raise PerfkitError(f"threshold must be a finite number >= 0, got {threshold}")
    if window < 1:
        raise PerfkitError(f"window must be >= 1, got {window}")
    directory = Path(results_dir) if results_dir is not None else default_results_dir()
    path = directory / f"{pipeline}.jsonl"
    if not path.exists():
        raise PerfkitError(
            f"no benchmark history for {pipeline}: {path} does not exist (run `make bench-{pipeline.replace('_', '-')}`)"
        )
    series: dict[tuple[str, str, str], Series] = {}
    machines: dict[str, str] = {}
    records = skipped = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1  # a torn last line from an interrupted run must not hide the rest
                continue
            if not isinstance(rec, dict):
                skipped += 1
                continue
            records += 1
            name = str(rec.get("name", "?"))
            facts = rec.get("machine") if isinstance(rec.get("machine"), dict) else None
            machine = machine_id(facts)
            machines.setdefault(machine, machine_label(facts))
            figures = _figures(rec.get("data"))
            units = rec.get("data", {}).get("units") if isinstance(rec.get("data"), dict) else None
            signature = tuple(sorted((f, v) for f, v in figures.items() if _is_workload(f, v)))
            if is_number(units):
                signature += (("units", float(units)),)
            for figure, value in figures.items():
                s = series.setdefault((machine, name, figure), Series(name, figure, machine=machine))
                s.values.append(value)
                s.workloads.append(signature)
                s.timestamps.append(str(rec.get("timestamp", "")))
                s.revisions.append(rec.get("git_revision"))
    if records == 0:
        raise PerfkitError(f"no benchmark history for {pipeline}: {path} holds no records")
    for s in series.values():
        _classify(s, threshold, window)
    ordered = sorted(series.values(), key=lambda s: (s.machine == LEGACY, s.machine, s.name, s.figure))
    return History(pipeline, path, records, skipped, ordered, threshold, window, machines)


def _classify(s: Series, threshold: float, window: int) -> None:
    if _is_workload(s.figure, s.latest) and all(_is_workload(s.figure, v) for v in s.values):
        s.workload, s.status = True, "workload"
        return
    latest_workload = s.workloads[-1]
    comparable = [v for v, w in zip(s.values[:-1], s.workloads[:-1], strict=True) if w == latest_workload]
    s.comparable = len(comparable)
    previous = comparable[-window:]
    if not previous:
        s.status = "new" if len(s.values) == 1 else "new workload"
        return
    s.baseline = statistics.median(previous)
    if s.baseline == 0:
        s.status = "within noise" if s.latest == 0 else "changed"
        return
    s.change = (s.latest - s.baseline) / abs(s.baseline)
    s.noise = statistics.median(abs(v - s.baseline) / abs(s.baseline) for v in previous)
    sign = direction(s.figure)
    if sign == 0:
        s.status = "changed" if abs(s.change) > threshold else "within noise"
        return
    s.effect = sign * s.change
    if len(previous) < MIN_RUNS:
        s.status = "too few runs"
        return
    s.interval = effect_interval(previous, s.latest, sign)
    lo, hi = s.interval
    if hi < 0 and -s.effect > threshold:
        s.status = "REGRESSION"
    elif lo > 0 and s.effect > threshold:
        s.status = "improved"
    else:
        s.status = "within noise"


def effect_interval(previous: list[float], latest: float, sign: int, *, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the signed relative effect of `latest` against the median of `previous`.

    Each resample draws the baseline (median of `previous` resampled with replacement) and one run's noise
    (a previous run's relative deviation from the median, drawn at random and taken off the latest value),
    so a latest run is "outside the noise" only when it lies beyond what the previous runs themselves spread
    over. A fixed seed makes the verdict reproducible.
    """
    rng = random.Random(seed)
    centre = statistics.median(previous)
    deviations = [v / centre - 1 for v in previous]
    n = len(previous)
    effects = []
    for _ in range(BOOTSTRAP):
        base = statistics.median(rng.choices(previous, k=n))
        value = latest / (1 + rng.choice(deviations))
        effects.append(sign * (value - base) / abs(base))
    effects.sort()
    return effects[int(0.025 * BOOTSTRAP)], effects[int(0.975 * BOOTSTRAP) - 1]
