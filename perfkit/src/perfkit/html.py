"""A self-contained HTML page for one run report: inline CSS and inline SVG charts, no JavaScript, no CDN.

Charts: wall and CPU seconds per stage, the distribution of per-item times (with median and p90 marked),
the slowest items, and every report histogram. Hovering a bar shows its exact value (SVG `<title>`). All
report text is escaped, so a config value or error message cannot inject markup.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from perfkit._atomic import atomic_path
from perfkit.reports import is_number
from perfkit.views import fmt_bytes, fmt_seconds, fmt_value

__all__ = ["item_time_bins", "render_html", "write_html"]

_WALL, _CPU, _ITEM, _MARK = "#3b6fb6", "#e08a2c", "#4a9a6a", "#b3362f"
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem} td,th{padding:.25rem .6rem;text-align:left;
border-bottom:1px solid #eee;vertical-align:top} th{background:#f6f6f6} td.num{text-align:right;
font-variant-numeric:tabular-nums} code{font-size:.85rem;word-break:break-all}
.ok{color:#1d7a3a;font-weight:600} .failed{color:#b3362f;font-weight:600;white-space:pre-wrap}
.muted{color:#777}
svg text{font-family:inherit;font-size:12px} .legend span{display:inline-block;width:.8rem;height:.8rem;
margin:0 .3rem 0 1rem;vertical-align:middle}
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


def _hbars(rows: Sequence[tuple[str, Sequence[float]]], colours: Sequence[str], fmt=fmt_seconds) -> str:
    """Horizontal bar chart: one group per label, one bar per series value."""
    if not rows:
        return '<p class="muted">nothing to chart</p>'
    label_w, chart_w, bar_h, gap = 220, 620, 14, 8
    n_series = len(colours)
    group_h = n_series * bar_h + gap
    height = len(rows) * group_h + 10
    top = max((v for _, vals in rows for v in vals if is_number(v)), default=0.0) or 1.0
    parts = [
        f'<svg role="img" width="{label_w + chart_w + 110}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for g, (label, values) in enumerate(rows):
        y0 = 5 + g * group_h
        short = label if len(label) <= 32 else label[:31] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + n_series * bar_h / 2 + 4:.1f}" text-anchor="end">'
            f"<title>{_esc(label)}</title>{_esc(short)}</text>"
        )
        for i, v in enumerate(values):
            value = float(v) if is_number(v) else 0.0
            w = max(value / top * chart_w, 0.5 if value > 0 else 0)
            y = y0 + i * bar_h
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colours[i]}">'
                f"<title>{_esc(label)}: {_esc(fmt(v))}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}">{_esc(fmt(v))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _columns(
    edges: Sequence[float],
    counts: Sequence[float],
    marks: Mapping[str, float] | None = None,
    fmt=fmt_value,
    y_label: str = "count",
    log_bins: bool = False,
) -> str:
    """Column chart of a histogram (len(edges) == len(counts) + 1), optional vertical marker lines."""
    if not counts:
        return '<p class="muted">no values</p>'
    left, width, top_pad, height, bottom = 60, 760, 18, 200, 34
    peak = max(float(c) for c in counts) or 1.0
    lo, hi = float(edges[0]), float(edges[-1])
    col_w = width / len(counts)
    plot_h = height - top_pad

    def x_of(v: float) -> float:
        # Position by bin, then within the bin: right for equal-width and for log-spaced bins alike.
        v = float(v)
        for i in range(len(counts)):
            a, b = float(edges[i]), float(edges[i + 1])
            if a <= v <= b:
                if log_bins and a > 0:
                    frac = math.log(v / a) / math.log(b / a) if b > a else 0.0
                else:
                    frac = (v - a) / (b - a) if b > a else 0.0
                return left + (i + frac) * col_w
        return left + (0 if v < lo else width)

    parts = [
        f'<svg role="img" width="{left + width + 40}" height="{height + bottom}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{height}" x2="{left + width}" y2="{height}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{_esc(fmt_value(peak))}</text>',
        f'<text x="{left - 6}" y="{height}" text-anchor="end">0</text>',
        f'<text x="12" y="{top_pad + plot_h / 2:.0f}" transform="rotate(-90 12 {top_pad + plot_h / 2:.0f})" '
        f'text-anchor="middle" fill="#555">{_esc(y_label)}</text>',
    ]
    for i, c in enumerate(counts):
        h = float(c) / peak * plot_h
        x = left + i * col_w
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{max(col_w - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{_ITEM}"><title>[{_esc(fmt(edges[i]))}, {_esc(fmt(edges[i + 1]))}): '
            f"{_esc(fmt_value(c))}</title></rect>"
        )
    # x ticks at bin edges: all of them when there are few bins, else about six
    step = 1 if len(edges) <= 12 else math.ceil((len(edges) - 1) / 5)
    for k in sorted({*range(0, len(edges), step), len(edges) - 1}):
        t, x = edges[k], left + k * col_w
        parts.append(
            f'<line x1="{x:.1f}" y1="{height}" x2="{x:.1f}" y2="{height + 4}" stroke="#999"/>'
            f'<text x="{x:.1f}" y="{height + 17}" text-anchor="middle">{_esc(fmt(t))}</text>'
        )
    for name, value in (marks or {}).items():
        if is_number(value) and lo <= value <= hi:
            x = x_of(value)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top_pad - 4}" x2="{x:.1f}" y2="{height}" stroke="{_MARK}" '
                f'stroke-dasharray="4 3"><title>{_esc(name)} {_esc(fmt(value))}</title></line>'
                f'<text x="{x + 3:.1f}" y="{top_pad - 6}" fill="{_MARK}">{_esc(name)} {_esc(fmt(value))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


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


def render_html(report: Mapping[str, Any], title: str | None = None) -> str:
    """The whole page as a string."""
    pipeline = report.get("pipeline", "?")
    status = str(report.get("status"))
    title = title or f"perfkit report: {pipeline}"
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p>status <span class="{"ok" if status == "ok" else "failed"}">{_esc(status)}</span>'
        f" · wall {_esc(fmt_seconds(report.get('wall_s')))}"
        f" · peak RSS {_esc(fmt_bytes(report.get('peak_rss_bytes')))}"
        f" · started {_esc(report.get('started', '-'))}</p>",
    ]
    if report.get("error"):
        # <pre>: with PERFKIT_TRACEBACK=1 the error carries a multi-line traceback
        out.append(f'<pre class="failed">error: {_esc(report["error"])}</pre>')

    summary = [
        ("pipeline", pipeline),
        ("started", report.get("started", "-")),
        ("finished", report.get("finished", "-")),
        ("git revision", report.get("git_revision") or "-"),
        ("peak RSS of children", fmt_bytes(report.get("peak_rss_children_bytes"))),
    ]
    summary += [(f"host {k}", v) for k, v in (report.get("host") or {}).items()]
    out.append("<h2>Run</h2>" + _table(["field", "value"], summary))
    if report.get("config"):
        out.append(
            "<h2>Config</h2>"
            + _table(["key", "value"], [(k, fmt_value(v, 300)) for k, v in sorted(report["config"].items())])
        )

    stages = report.get("stages") or {}
    out.append("<h2>Stages</h2>")
    if stages:
        out.append(
            '<p class="legend"><span style="background:' + _WALL + '"></span>wall seconds'
            '<span style="background:' + _CPU + '"></span>CPU seconds</p>'
        )
        out.append(
            _hbars(
                [
                    (str(n), [s.get("wall_s"), s.get("cpu_s")])
                    for n, s in stages.items()
                    if isinstance(s, dict)
                ],
                [_WALL, _CPU],
            )
        )
        out.append(
            _table(
                ["stage", "wall", "cpu", "calls"],
                [
                    (n, fmt_seconds(s.get("wall_s")), fmt_seconds(s.get("cpu_s")), s.get("calls", "-"))
                    for n, s in stages.items()
                    if isinstance(s, dict)
                ],
                [False, True, True, True],
            )
        )
    else:
        out.append('<p class="muted">no stages recorded</p>')

    items = report.get("items") or {}
    q = report.get("item_time_quantiles") or {}
    out.append(f"<h2>Per-item time distribution ({len(items)} items)</h2>")
    times = [it.get("elapsed_s") for it in items.values() if isinstance(it, dict)]
    edges, counts, log_bins = item_time_bins(times)
    if counts:
        marks = {"median": q.get("median_s"), "p90": q.get("p90_s")}
        if log_bins:
            out.append('<p class="muted">log-spaced bins: item times span more than two decades</p>')
        out.append(_columns(edges, counts, marks, fmt=fmt_seconds, y_label="items", log_bins=log_bins))
        out.append(
            _table(
                ["items", "median", "p90", "max"],
                [
                    (
                        q.get("count", len(times)),
                        *(fmt_seconds(q.get(k)) for k in ("median_s", "p90_s", "max_s")),
                    )
                ],
                [True, True, True, True],
            )
        )
    else:
        out.append('<p class="muted">no items recorded</p>')

    top = [t for t in report.get("top_items") or [] if isinstance(t, dict)]
    out.append(f"<h2>Top {len(top)} items (slowest first)</h2>")
    if top:
        out.append(_hbars([(str(t.get("key")), [t.get("elapsed_s")]) for t in top], [_ITEM]))
        out.append(
            _table(
                ["item", "elapsed", "worker", "counters"],
                [
                    (
                        t.get("key"),
                        fmt_seconds(t.get("elapsed_s")),
                        t.get("worker") or "-",
                        fmt_value(t.get("counters") or {}, 200),
                    )
                    for t in top
                ],
                [False, True, False, False],
            )
        )
    else:
        out.append('<p class="muted">no items recorded</p>')

    hists = report.get("histograms") or {}
    if hists:
        out.append("<h2>Histograms</h2>")
        for name, h in sorted(hists.items()):
            if not isinstance(h, dict):
                continue
            kind = "result" if h.get("result") else "performance"
            stats = ", ".join(
                f"{k} {fmt_value(h[k])}" for k in ("count", "min", "median", "p90", "max") if k in h
            )
            out.append(f'<h3>{_esc(name)} <span class="muted">({kind}; {_esc(stats)})</span></h3>')
            e, c = h.get("edges") or [], h.get("counts") or []
            if len(e) == len(c) + 1 and c:
                out.append(_columns(e, c, {"median": h.get("median"), "p90": h.get("p90")}))
            else:
                out.append('<p class="muted">no bins stored</p>')

    for section, heading in (
        ("counters", "Counters (result)"),
        ("results", "Results"),
        ("metrics", "Metrics"),
    ):
        data = report.get(section) or {}
        if data:
            out.append(
                f"<h2>{heading}</h2>"
                + _table(["name", "value"], [(k, fmt_value(v, 300)) for k, v in sorted(data.items())])
            )
    receipts = report.get("receipts") or {}
    if receipts:
        rows = []
        for name, r in sorted(receipts.items()):
            r = r if isinstance(r, dict) else {"digest": r}
            rows.append((name, r.get("digest"), r.get("digest_version", "-")))
        out.append("<h2>Receipts</h2>" + _table(["name", "digest", "digest_version"], rows))
    out.append(
        "<h2>Raw report</h2><details><summary>run_report.json</summary><pre><code>"
        + _esc(json.dumps(report, indent=2, sort_keys=True, default=str))
        + "</code></pre></details>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_html(report: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Write the page atomically (temp file + rename): a reader never sees half a page."""
    path = Path(path)
    page = render_html(report, title)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
