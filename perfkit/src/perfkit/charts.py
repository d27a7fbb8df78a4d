"""matplotlib charts of a run report, as inline SVG text (fonts left to the page, no external files).

Each function takes plain data and returns one `<svg>` element. Text stays text (`svg.fonttype: none`), so
the page is searchable and a browser test can measure every label; ids are salted with a fixed string so the
same report gives the same page. Labels are placed so they cannot collide: values go into legends or tables,
long names are shortened with an ellipsis, tick labels come from matplotlib's locators (round numbers).
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

__all__ = ["bars", "histogram", "icicle", "series", "timeline"]

WALL, CPU, WORKER_CPU, ITEM, FIRST, MARK, IDLE = (
    "#3b6fb6", "#e08a2c", "#c45a9a", "#4a9a6a", "#8bbf9f", "#b3362f", "#eeeeee",
)  # fmt: skip
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "perfkit",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    if "<metadata>" in text:  # RDF boilerplate (namespace URLs, creator): nothing a reader needs
        text = text[: text.index("<metadata>")] + text[text.index("</metadata>") + len("</metadata>") :]
    return text


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def seconds_label(s: float) -> str:
    """Tick label for seconds: 0, 250 ms, 1.5 s, 2 m."""
    if s == 0:
        return "0"
    if abs(s) < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if abs(s) < 1:
        return f"{s * 1e3:.3g} ms"
    if abs(s) < 120:
        return f"{s:.3g} s"
    return f"{s / 60:.3g} m"


def _seconds_axis(axis) -> None:
    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda v, _: seconds_label(v)))


def bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    colours: Sequence[str],
    *,
    unit: str = "s",
    title: str = "",
) -> str:
    """Horizontal grouped bars: one group per label, one bar per series; legend names the series."""
    with plt.rc_context(_RC):
        n, k = len(labels), max(len(series), 1)
        fig, ax = plt.subplots(figsize=(8, 0.45 + 0.32 * n * k))
        height = 0.8 / k
        for i, ((name, values), colour) in enumerate(zip(series.items(), colours, strict=False)):
            ys = [g + (i - (k - 1) / 2) * height for g in range(n)]
            ax.barh(ys, [v or 0 for v in values], height=height * 0.92, color=colour, label=name)
        ax.set_yticks(range(n), [_short(str(lb)) for lb in labels])
        ax.invert_yaxis()
        if unit == "s":
            _seconds_axis(ax.xaxis)
        elif unit == "bytes":
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: bytes_label(v)))
        if title:
            ax.set_title(title, loc="left")
        if len(series) > 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return _svg(fig)


def bytes_label(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return str(n)


def histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    log_x: bool = False,
    marks: Mapping[str, float] | None = None,
    seconds: bool = True,
    xlabel: str = "",
) -> str:
    """Bars from histogram edges and counts; `marks` (median, p90) are vertical lines named in the legend."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8, 2.6))
        widths = [b - a for a, b in itertools.pairwise(edges)]
        ax.bar(edges[:-1], counts, width=widths, align="edge", color=ITEM, edgecolor="white", linewidth=0.5)
        styles = ("--", ":", "-.")
        for (name, value), style in zip((marks or {}).items(), styles, strict=False):
            label = f"{name} {seconds_label(value) if seconds else f'{value:,.6g}'}"
            ax.axvline(value, color=MARK, linestyle=style, linewidth=1.4, label=label)
        if log_x:
            ax.set_xscale("log")
            if seconds:
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: seconds_label(v)))
        elif seconds:
            _seconds_axis(ax.xaxis)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.set_ylabel("count")
        if xlabel:
            ax.set_xlabel(xlabel)
        if marks:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return _svg(fig)


def timeline(lanes: Mapping[str, Sequence[tuple[float, float, bool]]], wall_s: float) -> str:
    """One lane per worker: a bar per task from its start to its end (seconds since the run started), the
    first task of a worker (which carries its start-up) in a lighter colour; the grey behind is idle."""
    with plt.rc_context(_RC):
        names = list(lanes)
        fig, ax = plt.subplots(figsize=(8, 0.6 + 0.34 * max(len(names), 1)))
        end = max([wall_s] + [e for spans in lanes.values() for _, e, _ in spans])
        for row, name in enumerate(names):
            ax.broken_barh([(0, end)], (row - 0.4, 0.8), facecolors=IDLE)
            spans = lanes[name]
            rest = [(s, max(e - s, end * 1e-4)) for s, e, first in spans if not first]
            first = [(s, max(e - s, end * 1e-4)) for s, e, first in spans if first]
            ax.broken_barh(rest, (row - 0.4, 0.8), facecolors=ITEM, edgecolor="white", linewidth=0.3)
            ax.broken_barh(first, (row - 0.4, 0.8), facecolors=FIRST, edgecolor="white", linewidth=0.3)
        ax.set_yticks(range(len(names)), [_short(n, 18) for n in names])
        ax.invert_yaxis()
        ax.set_xlim(0, end)
        _seconds_axis(ax.xaxis)
        ax.set_xlabel("time since the run started")
        handles = [Patch(color=ITEM, label="task"), Patch(color=FIRST, label="first task of a worker"),
                   Patch(color=IDLE, label="idle")]  # fmt: skip
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return _svg(fig)


def icicle(nodes: Sequence[tuple[int, float, float, str]], total: float, *, max_depth: int) -> str:
    """An icicle chart (a flame graph upside down): `nodes` are (depth, start, width, label) in seconds; a
    label is drawn only where it fits inside its box, the rest are in the table below the chart."""
    with plt.rc_context(_RC):
        depth = min(max((d for d, *_ in nodes), default=0) + 1, max_depth)
        width_in = 10.0
        fig, ax = plt.subplots(figsize=(width_in, 0.4 + 0.26 * depth))
        palette = ("#f2a65a", "#eec170", "#f58549", "#e5c687", "#f7b267", "#f4845f")
        # The axes take ~77% of the figure's width; a 7-pt character is at most ~4.3 pt wide (0.61 em).
        chars_per_s = (width_in * 0.77 * 72 / 4.3) / total if total > 0 else 0
        for i, (d, start, w, label) in enumerate(nodes):
            if d >= depth:
                continue
            ax.add_patch(plt.Rectangle((start, d), w, 0.94, facecolor=palette[i % len(palette)],
                                       edgecolor="white", linewidth=0.4))  # fmt: skip
            room = int(w * chars_per_s * 0.9) - 1
            if room >= 6:
                text = label if len(label) <= room else label[: room - 1] + "…"
                ax.text(start + w * 0.01, d + 0.47, text, va="center", ha="left", fontsize=7, clip_on=True)
        ax.set_xlim(0, total if total > 0 else 1)
        ax.set_ylim(depth, 0)
        ax.set_yticks([])
        _seconds_axis(ax.xaxis)
        ax.set_xlabel("cumulative time (cProfile)")
        ax.spines["left"].set_visible(False)
        return _svg(fig)


def series(points: Sequence[tuple[str, float]], *, title: str, ylabel: str, seconds: bool, marks=()) -> str:
    """One benchmark figure across runs (x: run order labelled by commit), markers per run; `marks`
    indexes runs flagged as regressions (drawn in red)."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8, 2.4))
        xs = list(range(len(points)))
        ys = [v for _, v in points]
        ax.plot(xs, ys, marker="o", markersize=3, color=WALL, linewidth=1)
        for i in marks:
            ax.plot([xs[i]], [ys[i]], marker="o", markersize=7, color=MARK, linestyle="none")
        # At most 7 labels, two lines each (commit / date), upright: they cannot run into each other.
        step = max(1, math.ceil(len(points) / 7))
        ticks = xs[::step]
        ax.set_xticks(ticks, [points[i][0].replace(" ", "\n", 1) for i in ticks])
        if seconds:
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: seconds_label(v)))
        else:
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number_label(v)))
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        return _svg(fig)


def number_label(v: float) -> str:
    """Tick label for a plain number: 850, 12.5 k, 4.5 M, 1.2 G (no exponents)."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def as_float(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0
