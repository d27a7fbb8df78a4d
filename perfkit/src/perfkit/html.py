"""A self-contained HTML page for one run report: inline CSS, matplotlib charts as inline SVG, no JavaScript.

Order: the summary a reader wants first (what ran, result, wall, throughput, receipts), then stages (wall,
this process's CPU and the workers' CPU), the worker timeline from `events.jsonl` (one lane per worker,
idle visible, each worker's first task apart because it carries the start-up), the item-time distribution
and the slowest items by their own time, memory, the report's histograms, the profile (an icicle chart
from the run's cProfile `.pstats`, the top functions by own time, a link to a py-spy speedscope file),
and last the config, host and raw report. All report text is escaped; the page fetches nothing.
"""

from __future__ import annotations

import json
import math
import os
import pstats
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from perfkit._atomic import atomic_path
from perfkit.reports import is_number, is_rate
from perfkit.views import fmt_bytes, fmt_seconds, fmt_value

__all__ = ["SECTIONS", "item_time_bins", "render_html", "write_html"]

# Every page has these sections, in this order (a section with no data says so).
SECTIONS = ("summary", "stages", "workers", "items", "memory", "histograms", "profile", "details")
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1100px;color:#222;
padding:0 1rem} h1{font-size:1.45rem;margin-bottom:.3rem} h2{font-size:1.12rem;margin-top:1.8rem;
border-bottom:1px solid #ddd} table{border-collapse:collapse;margin:.5rem 0;font-size:.88rem}
td,th{padding:.22rem .6rem;text-align:left;border-bottom:1px solid #eee;vertical-align:top} th{background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums} code{font-size:.85rem;word-break:break-all}
.ok{color:#1d7a3a;font-weight:600} .failed{color:#b3362f;font-weight:600;white-space:pre-wrap}
.muted{color:#666} .cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.6rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.45rem .8rem;min-width:9rem}
.card b{display:block;font-size:1.15rem} .card span{color:#666;font-size:.8rem}
figure{margin:.4rem 0} svg{max-width:100%;height:auto}
"""


def _esc(value: Any) -> str:
    return escape(str(value), quote=True)


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    numeric = numeric or [False] * len(headers)
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_esc(c)}</td>' if numeric[i] else f"<td>{_esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    return f'<figure>{svg}<figcaption class="muted">{_esc(caption)}</figcaption></figure>'


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{_esc(title)}</h2>{body}</section>'


def _empty(text: str) -> str:
    return f'<p class="muted">{_esc(text)}</p>'


def item_time_bins(times: Sequence[float], bins: int = 20) -> tuple[list[float], list[int], bool]:
    """Bins for the per-item time chart: (edges, counts, log_spaced), every time counted once.

    Item times often span decades (a micro-state next to Russia), so when the slowest is more than 100x
    the fastest the bins are log-spaced; otherwise equal-width from zero.
    """
    xs = [float(t) for t in times if is_number(t)]
    if not xs:
        return [], [], False
    hi = max(xs)
    if hi <= 0:
        return [0.0, 1.0], [len(xs)], False
    n = max(1, min(bins, len(xs)))
    positive = [x for x in xs if x > 0]
    lo = min(positive)
    if hi / lo > 100:
        edges = [lo * (hi / lo) ** (i / n) for i in range(n)] + [hi]
        counts = [0] * n
        for x in xs:
            i = 0 if x <= lo else min(n - 1, math.floor(math.log(x / lo) / math.log(hi / lo) * n))
            counts[i] += 1
        return edges, counts, True
    width = hi / n
    edges = [i * width for i in range(n)] + [hi]
    counts = [0] * n
    for x in xs:
        counts[min(n - 1, max(0, math.floor(x / width)))] += 1
    return edges, counts, False


def _command(report: Mapping[str, Any]) -> str:
    config = report.get("config") or {}
    command = config.get("command")
    return f"{report.get('pipeline', '?')} {command}" if command else str(report.get("pipeline", "?"))


def _rates(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Throughput figures from the metrics: names with per_s / _mb_s (rates)."""
    out = []
    for name, value in sorted((report.get("metrics") or {}).items()):
        if is_number(value) and is_rate(name):
            out.append((name, f"{value:,.4g}" if value < 1000 else f"{value:,.0f}"))
    return out


def _summary(report: Mapping[str, Any]) -> str:
    status = str(report.get("status"))
    cls = "ok" if status == "ok" else "failed"
    counters = report.get("counters") or {}
    cards = [
        ("result", f'<b class="{cls}">{_esc(status)}</b>'),
        ("wall", f"<b>{_esc(fmt_seconds(report.get('wall_s')))}</b>"),
        ("items", f"<b>{len(report.get('items') or {}):,}</b>"),
    ]
    cards += [(name, f"<b>{_esc(v)}</b>") for name, v in _rates(report)[:4]]
    cards += [(name, f"<b>{_esc(fmt_value(v))}</b>") for name, v in list(sorted(counters.items()))[:4]]
    html = (
        '<div class="cards">'
        + "".join(f'<div class="card">{value}<span>{_esc(name)}</span></div>' for name, value in cards)
        + "</div>"
    )
    html += (
        f"<p>ran <code>{_esc(_command(report))}</code> · started {_esc(report.get('started', '-'))}"
        f" · commit <code>{_esc(str(report.get('git_revision') or '-')[:12])}</code></p>"
    )
    if report.get("error"):
        html += f'<p class="failed">{_esc(report["error"])}</p>'
    receipts = report.get("receipts") or {}
    if receipts:
        rows = [(name, r.get("digest") if isinstance(r, dict) else r) for name, r in sorted(receipts.items())]
        html += "<h3>Receipts</h3>" + _table(["output", "digest"], rows)
    return html


def _stages(report: Mapping[str, Any]) -> str:
    from perfkit import charts

    stages = {k: v for k, v in (report.get("stages") or {}).items() if isinstance(v, dict)}
    if not stages:
        return _empty("no stages recorded")
    names = list(stages)
    series = {
        "wall": [charts.as_float(stages[n].get("wall_s")) for n in names],
        "CPU, this process": [charts.as_float(stages[n].get("cpu_s")) for n in names],
    }
    colours = [charts.WALL, charts.CPU]
    if any(is_number(stages[n].get("worker_cpu_s")) for n in names):
        series["CPU, worker processes"] = [charts.as_float(stages[n].get("worker_cpu_s")) for n in names]
        colours.append(charts.WORKER_CPU)
    rows = []
    for n in names:
        s = stages[n]
        cpu = charts.as_float(s.get("cpu_s")) + charts.as_float(s.get("worker_cpu_s"))
        wall = charts.as_float(s.get("wall_s"))
        rows.append((n, fmt_seconds(s.get("wall_s")), fmt_seconds(s.get("cpu_s")),
                     fmt_seconds(s.get("worker_cpu_s")) if "worker_cpu_s" in s else "-",
                     f"{cpu / wall:.0%}" if wall > 0 else "-"))  # fmt: skip
    return _figure(charts.bars(names, series, colours), "wall and CPU seconds per stage") + _table(
        ["stage", "wall", "CPU (this process)", "CPU (workers)", "CPU/wall"], rows, [False] + [True] * 4
    )


def _workers(report: Mapping[str, Any], events: list[dict[str, Any]]) -> str:
    from perfkit import charts
    from perfkit.workers import tasks_from_events, worker_stats

    tasks = tasks_from_events(events)
    if not tasks:
        return _empty("no task events: the run wrote no events.jsonl beside the report, or ran no items")
    lanes: dict[str, list[tuple[float, float, bool]]] = {}
    for t in tasks:
        lanes.setdefault(t.worker, []).append((t.start_s, t.end_s, t.first))
    wall = charts.as_float(report.get("wall_s"))
    stats = worker_stats(tasks)
    rows = []
    for w in stats:
        rows.append((w.worker, f"{w.tasks:,}", fmt_seconds(w.busy_s),
                     f"{w.busy_s / wall:.0%}" if wall > 0 else "-",
                     fmt_seconds(w.cpu_s) if w.cpu_s is not None else "-",
                     f"{w.first_key} ({fmt_seconds(w.first_task_s)})" if w.first_key else "-",
                     fmt_seconds(w.typical_s) if w.typical_s is not None else "-",
                     fmt_seconds(w.startup_s) if w.startup_s is not None else "-"))  # fmt: skip
    return _figure(
        charts.timeline(lanes, wall),
        "one lane per worker; a bar per task; grey = idle; the lighter bar is each worker's first task",
    ) + _table(
        ["worker", "tasks", "busy", "busy/wall", "CPU", "first task (start-up included)", "typical task",
         "start-up (first - typical)"],
        rows, [False, True, True, True, True, False, True, True],
    )  # fmt: skip


def _items(report: Mapping[str, Any], events: list[dict[str, Any]]) -> str:
    from perfkit import charts
    from perfkit.workers import first_task_keys, tasks_from_events

    items = {k: v for k, v in (report.get("items") or {}).items() if isinstance(v, dict)}
    times = [v.get("elapsed_s") for v in items.values()]
    edges, counts, log_bins = item_time_bins(times)
    if not counts:
        return _empty("no items recorded")
    q = report.get("item_time_quantiles") or {}
    marks = {k: q[f"{k}_s"] for k in ("median", "p90") if is_number(q.get(f"{k}_s"))}
    bins = "log-spaced bins" if log_bins else "equal-width bins"
    html = _figure(
        charts.histogram(edges, counts, log_x=log_bins, marks=marks, xlabel="item time"),
        f"{len(items):,} items, {bins}",
    )
    first = first_task_keys(tasks_from_events(events))
    ranked = sorted(items.items(), key=lambda kv: -charts.as_float(kv[1].get("elapsed_s")))
    own = [(k, v) for k, v in ranked if k not in first][:10]
    rows = [(k, fmt_seconds(v.get("elapsed_s")), v.get("worker") or "-",
             ", ".join(f"{c}={fmt_value(n)}" for c, n in sorted((v.get("counters") or {}).items())))
            for k, v in own]  # fmt: skip
    note = " (each worker's first item, which carries its start-up, is in the workers table)" if first else ""
    return (
        html
        + f"<h3>Slowest items by their own time{_esc(note)}</h3>"
        + _table(["item", "time", "worker", "counters"], rows, [False, True, False, False])
    )


def _memory(report: Mapping[str, Any]) -> str:
    from perfkit import charts

    rows = [("this process (peak RSS)", report.get("peak_rss_bytes")),
            ("largest worker (peak RSS)", report.get("peak_rss_children_bytes")),
            ("largest worker, unshared", report.get("peak_unique_children_bytes"))]  # fmt: skip
    rows = [(n, v) for n, v in rows if is_number(v) and v > 0]
    if not rows:
        return _empty("no memory figures recorded")
    chart = charts.bars([n for n, _ in rows], {"bytes": [v for _, v in rows]}, [charts.WALL], unit="bytes")
    return _figure(chart, "peak resident memory") + _table(
        ["process", "peak"], [(n, fmt_bytes(v)) for n, v in rows], [False, True]
    )


def _histograms(report: Mapping[str, Any]) -> str:
    from perfkit import charts

    hists = {k: v for k, v in sorted((report.get("histograms") or {}).items()) if isinstance(v, dict)}
    out = []
    for name, h in hists.items():
        edges, counts = h.get("edges") or [], h.get("counts") or []
        if len(edges) != len(counts) + 1 or not counts:
            continue
        kind = "result" if h.get("result") else "performance"
        svg = charts.histogram(edges, counts, seconds=False, xlabel=name)
        stats = ", ".join(f"{k} {fmt_value(h.get(k))}" for k in ("count", "min", "median", "p90", "max"))
        out.append(f'<h3>{_esc(name)} <span class="muted">({kind})</span></h3>' + _figure(svg, stats))
    return "".join(out) or _empty("no histograms recorded")


def _profile(report: Mapping[str, Any], pstats_path: Path | None, links: Sequence[tuple[str, str]]) -> str:
    from perfkit import charts
    from perfkit.flame import call_tree, icicle_boxes
    from perfkit.profiling import top_functions

    html = ""
    if links:
        html += (
            "<p>"
            + " · ".join(f'<a href="{_esc(href)}">{_esc(text)}</a>' for text, href in links)
            + ' <span class="muted">(py-spy speedscope: open the file at speedscope.app)</span></p>'
        )
    if pstats_path is None:
        return html + _empty("no cProfile capture found (run the command with --profile FILE.pstats)")
    try:
        stats = pstats.Stats(str(pstats_path))
    except (OSError, TypeError, ValueError, EOFError) as exc:
        return html + _empty(f"cannot read {pstats_path}: {exc}")
    root = call_tree(stats)
    boxes = icicle_boxes(root)
    html += _figure(
        charts.icicle(boxes, root.seconds, max_depth=14),
        f"icicle chart of {pstats_path.name}: callers above callees, width = cumulative time; "
        "click and perfkit wrapper frames removed",
    )
    rows = [(r["function"], f"{r['calls']:,}", fmt_seconds(r["tottime_s"]), fmt_seconds(r["cumtime_s"]))
            for r in top_functions(stats, 15, sort="own")]  # fmt: skip
    return (
        html
        + "<h3>Top functions by own time</h3>"
        + _table(["function", "calls", "own", "cumulative"], rows, [False, True, True, True])
    )


def _details(report: Mapping[str, Any]) -> str:
    config = report.get("config") or {}
    host = report.get("host") or {}
    html = ""
    if config:
        html += "<h3>Config</h3>" + _table(
            ["name", "value"], [(k, fmt_value(v, 200)) for k, v in config.items()]
        )
    if host:
        html += "<h3>Host</h3>" + _table(["name", "value"], [(k, fmt_value(v, 200)) for k, v in host.items()])
    metrics = report.get("metrics") or {}
    if metrics:
        html += "<h3>Metrics</h3>" + _table(
            ["name", "value"], [(k, fmt_value(v, 200)) for k, v in sorted(metrics.items())]
        )
    raw = json.dumps(report, indent=2, sort_keys=True, default=str)
    return html + f"<details><summary>run_report.json</summary><pre><code>{_esc(raw)}</code></pre></details>"


def find_profile(report: Mapping[str, Any], report_path: Path | None) -> Path | None:
    """The run's cProfile file: the report's `config.profile` (absolute, or relative to the report's folder
    or the current folder) when it exists."""
    value = (report.get("config") or {}).get("profile")
    if not isinstance(value, str) or not value:
        return None
    candidates = [Path(value)]
    if report_path is not None and not Path(value).is_absolute():
        candidates.insert(0, (report_path if report_path.is_dir() else report_path.parent) / value)
    return next((c for c in candidates if c.is_file()), None)


def render_html(
    report: Mapping[str, Any],
    title: str | None = None,
    *,
    events: list[dict[str, Any]] | None = None,
    pstats_path: Path | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole page as a string."""
    title = title or f"perfkit report: {_command(report)}"
    events = events or []
    sections = {
        "summary": ("Summary", _summary(report)),
        "stages": ("Stages", _stages(report)),
        "workers": ("Workers", _workers(report, events)),
        "items": ("Items", _items(report, events)),
        "memory": ("Memory", _memory(report)),
        "histograms": ("Histograms", _histograms(report)),
        "profile": ("Profile", _profile(report, pstats_path, links)),
        "details": ("Config, host and raw report", _details(report)),
    }
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
    ]
    out += [_section(key, *sections[key]) for key in SECTIONS]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_html(
    report: Mapping[str, Any],
    path: str | Path,
    title: str | None = None,
    *,
    report_path: str | Path | None = None,
    speedscope: Sequence[str | Path] = (),
    pstats_path: str | Path | None = None,
) -> Path:
    """Write the page atomically (temp file + rename): a reader never sees half a page. With `report_path`,
    the events and the profile the run left beside it are drawn too; `speedscope` files are linked."""
    from perfkit.workers import load_events

    path = Path(path)
    rp = Path(report_path) if report_path is not None else None
    events = load_events(rp) if rp is not None else []
    links = []
    if rp is not None:  # a `perfkit pyspy -o` file left beside the report is linked too
        folder = rp if rp.is_dir() else rp.parent
        speedscope = [
            *speedscope,
            *(f for f in sorted(folder.glob("*.speedscope.json")) if f not in speedscope),
        ]
    for f in speedscope:
        rel = os.path.relpath(Path(f).resolve(), path.resolve().parent)
        links.append((f"py-spy profile: {Path(f).name}", rel))
    profile = Path(pstats_path) if pstats_path is not None else find_profile(report, rp)
    page = render_html(report, title, events=events, pstats_path=profile, links=links)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
