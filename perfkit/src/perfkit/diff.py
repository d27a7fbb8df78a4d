"""Compare two run reports: *result* differences fail, *performance* differences are only reported.

docs/perfkit.md defines the split. Result sections: `status` (and its `error`), `receipts`, `counters`,
`results`, the set of item keys, the `counters` of each item, and histograms marked `"result": true`.
Everything else — wall and CPU times, stage times, metrics, item-time quantiles, memory, host facts, config,
git revision — is performance/context: shown so a reader sees what moved, never a failure.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from perfkit.reports import is_number

__all__ = ["MISSING", "Change", "ReportDiff", "config_changes", "config_lines", "diff_reports"]

RESULT = "result"
PERFORMANCE = "performance"
CONFIG = "config"


class _Missing:
    """Marker for a value absent on one side (distinct from a JSON null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Change:
    """One difference: where (`path`, dotted), what kind, and the two values (`MISSING` when absent)."""

    kind: str
    path: str
    a: Any
    b: Any

    def describe(self) -> str:
        if self.a is MISSING:
            return f"{self.path}: only in B ({_fmt(self.b)})"
        if self.b is MISSING:
            return f"{self.path}: only in A ({_fmt(self.a)})"
        text = f"{self.path}: {_fmt(self.a)} -> {_fmt(self.b)}"
        if self.kind == PERFORMANCE and is_number(self.a) and is_number(self.b) and self.a != 0:
            text += f" (x{self.b / self.a:.3g})"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["a"] = None if self.a is MISSING else self.a
        d["b"] = None if self.b is MISSING else self.b
        d["only_in"] = "B" if self.a is MISSING else "A" if self.b is MISSING else None
        return d


# Config keys that say where and how a run reported, not what it computed.
REPORTING_KEYS = frozenset(
    {"out", "output", "report_dir", "profile", "force", "quiet", "cost_history", "cache_dir"}
)


@dataclass
class ReportDiff:
    """All differences between report A and report B, split by kind; `config` lists what the two runs were
    asked to do differently (shown first: result differences often follow from it)."""

    result: list[Change] = field(default_factory=list)
    performance: list[Change] = field(default_factory=list)
    config: list[Change] = field(default_factory=list)

    @property
    def config_differs(self) -> bool:
        """Options other than where/how the run reported differ (`REPORTING_KEYS` aside)."""
        return any(c.path.split(".")[1].split("[")[0] not in REPORTING_KEYS for c in self.config)

    @property
    def results_differ(self) -> bool:
        return bool(self.result)

    def to_dict(self) -> dict[str, Any]:
        return {
            "results_differ": self.results_differ,
            "config_differs": self.config_differs,
            "config": [c.to_dict() for c in self.config],
            "result": [c.to_dict() for c in self.result],
            "performance": [c.to_dict() for c in self.performance],
        }

    def format_lines(self, limit: int | None = 50) -> list[str]:
        """Plain-text description: result section, performance section, then the verdict line."""
        lines = config_lines(self.config)
        for title, note, changes in (
            ("results", "these fail the diff", self.result),
            ("performance", "reported only", self.performance),
        ):
            if not changes:
                lines.append(f"{title}: no differences")
                continue
            lines.append(f"{title}: {len(changes)} difference(s) ({note})")
            shown = changes if limit is None else changes[:limit]
            lines.extend(f"  {c.describe()}" for c in shown)
            if len(shown) < len(changes):
                lines.append(f"  ... and {len(changes) - len(shown)} more (use --limit 0 to show all)")
        if self.results_differ:
            why = "; the configs differ (above)" if self.config_differs else ""
            lines.append(f"verdict: RESULTS DIFFER ({len(self.result)} result difference(s){why})")
        elif self.performance:
            lines.append("verdict: same results; only performance figures differ")
        else:
            lines.append("verdict: identical")
        return lines


def config_lines(changes: list[Change]) -> list[str]:
    """The config differences, options that define the run first, then where/how it reported."""
    if not changes:
        return []
    defining = [c for c in changes if c.path.split(".")[1].split("[")[0] not in REPORTING_KEYS]
    reporting = [c for c in changes if c not in defining]
    lines = []
    if defining:
        lines.append(f"config: the runs were asked for different things ({len(defining)} option(s)):")
        lines.extend(f"  {c.describe()}" for c in defining)
    if reporting:
        lines.append("config, where/how the runs reported (does not change results):")
        lines.extend(f"  {c.describe()}" for c in reporting)
    return lines


def config_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """The differences between two reports' configs."""
    out: list[Change] = []
    _deep(a.get("config") or {}, b.get("config") or {}, "config", CONFIG, out)
    return out


def diff_reports(a: dict[str, Any], b: dict[str, Any]) -> ReportDiff:
    """Compare two loaded schema-1 reports (see `perfkit.reports.load_report`)."""
    out = ReportDiff()
    res, perf = out.result, out.performance

    # --- results -------------------------------------------------------------------------------------
    _scalar(a.get("status"), b.get("status"), "status", RESULT, res)
    if a.get("status") != b.get("status") or a.get("error") != b.get("error"):
        _scalar(a.get("error"), b.get("error"), "error", RESULT, res)
    _receipts(a.get("receipts") or {}, b.get("receipts") or {}, res)
    _deep(a.get("counters") or {}, b.get("counters") or {}, "counters", RESULT, res)
    _deep(a.get("results") or {}, b.get("results") or {}, "results", RESULT, res)
    items_a, items_b = a.get("items") or {}, b.get("items") or {}
    for key in _keys(items_a, items_b):
        if key not in items_b:
            res.append(Change(RESULT, f"items[{key}]", _item_summary(items_a[key]), MISSING))
        elif key not in items_a:
            res.append(Change(RESULT, f"items[{key}]", MISSING, _item_summary(items_b[key])))
        else:
            _deep(
                _as_dict(items_a[key]).get("counters") or {},
                _as_dict(items_b[key]).get("counters") or {},
                f"items[{key}].counters",
                RESULT,
                res,
            )
    hist_a, hist_b = a.get("histograms") or {}, b.get("histograms") or {}
    perf_hists = []
    for name in _keys(hist_a, hist_b):
        ha, hb = hist_a.get(name, MISSING), hist_b.get(name, MISSING)
        if any(isinstance(h, dict) and h.get("result") for h in (ha, hb)):
            _deep(ha, hb, f"histograms.{name}", RESULT, res)
        else:
            perf_hists.append((name, ha, hb))

    # --- performance and context ----------------------------------------------------------------------
    # Two different pipelines are reported first: every other line of the diff follows from it.
    _scalar(a.get("pipeline"), b.get("pipeline"), "pipeline", PERFORMANCE, perf)
    for key in ("wall_s", "peak_rss_bytes", "peak_rss_children_bytes"):
        _scalar(a.get(key, MISSING), b.get(key, MISSING), key, PERFORMANCE, perf)
    _deep(a.get("stages") or {}, b.get("stages") or {}, "stages", PERFORMANCE, perf)
    _deep(a.get("metrics") or {}, b.get("metrics") or {}, "metrics", PERFORMANCE, perf)
    for name, ha, hb in perf_hists:
        _deep(_hist_summary(ha), _hist_summary(hb), f"histograms.{name}", PERFORMANCE, perf)
    _deep(
        a.get("item_time_quantiles") or {},
        b.get("item_time_quantiles") or {},
        "item_time_quantiles",
        PERFORMANCE,
        perf,
    )
    _deep(a.get("config") or {}, b.get("config") or {}, "config", CONFIG, out.config)
    _deep(a.get("host") or {}, b.get("host") or {}, "host", PERFORMANCE, perf)
    _scalar(a.get("git_revision"), b.get("git_revision"), "git_revision", PERFORMANCE, perf)
    return out


# --- helpers ------------------------------------------------------------------------------------------


def _receipts(ra: dict[str, Any], rb: dict[str, Any], out: list[Change]) -> None:
    for name in _keys(ra, rb):
        path = f"receipts.{name}"
        if name not in rb:
            out.append(Change(RESULT, path, _digest_of(ra[name]), MISSING))
        elif name not in ra:
            out.append(Change(RESULT, path, MISSING, _digest_of(rb[name])))
        else:
            # Compare the whole receipt: the same hex under another digest_version is not the same receipt.
            da, db = _digest_of(ra[name]), _digest_of(rb[name])
            if da != db:
                out.append(Change(RESULT, path, da, db))
            else:
                _deep(_as_dict(ra[name]), _as_dict(rb[name]), path, RESULT, out)


def _digest_of(receipt: Any) -> Any:
    return receipt.get("digest", receipt) if isinstance(receipt, dict) else receipt


def _item_summary(item: Any) -> Any:
    counters = _as_dict(item).get("counters")
    return {"counters": counters} if counters else "present"


def _hist_summary(h: Any) -> Any:
    if not isinstance(h, dict):
        return h
    return {k: h[k] for k in ("count", "min", "median", "p90", "max") if k in h}


def _as_dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(set(a) | set(b), key=str)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return type(a) is type(b) and a == b if not (is_number(a) and is_number(b)) else a == b


def _scalar(a: Any, b: Any, path: str, kind: str, out: list[Change]) -> None:
    if a is MISSING and b is MISSING:
        return
    if a is MISSING or b is MISSING or not _same(a, b):
        out.append(Change(kind, path, a, b))


def _deep(a: Any, b: Any, path: str, kind: str, out: list[Change]) -> None:
    """Append a Change for every leaf that differs between two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in _keys(a, b):
            _deep(a.get(key, MISSING), b.get(key, MISSING), f"{path}.{key}", kind, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and a != b:
        if all(isinstance(x, dict | list) for x in a + b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _deep(x, y, f"{path}[{i}]", kind, out)
        else:
            out.append(Change(kind, path, a, b))
    elif isinstance(a, list) and isinstance(b, list):
        if a != b:
            out.append(Change(kind, path, a, b))
    else:
        _scalar(a, b, path, kind, out)


def _fmt(value: Any, width: int = 100) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."
