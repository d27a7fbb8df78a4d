"""`perfkit history --html`: every recorded benchmark figure across commits, one chart each, per machine.

One self-contained page (matplotlib SVG inline, no JavaScript). For each pipeline and machine, each
benchmark's performance figures (those whose name says which way is better) are drawn in run order, the
x axis labelled with each run's commit and date; a run flagged as a regression is drawn in red, and the
table under the chart gives the verdict with the effect and its interval, values in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from perfkit._atomic import atomic_path
from perfkit.history import History, Series, direction
from perfkit.reports import is_rate

__all__ = ["render_history_html", "write_history_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1100px;color:#222;
padding:0 1rem} h1{font-size:1.45rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1rem;margin-top:1.4rem} table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0 1rem}
td,th{padding:.2rem .55rem;border-bottom:1px solid #eee;text-align:left} td.num{text-align:right;
font-variant-numeric:tabular-nums} .REGRESSION{color:#b3362f;font-weight:600} .improved{color:#1d7a3a}
.muted{color:#666} figure{margin:.3rem 0} svg{max-width:100%;height:auto}
"""


def _esc(value: Any) -> str:
    return escape(str(value), quote=True)


def _point_label(s: Series, i: int) -> str:
    rev = (s.revisions[i] or "-")[:7]
    day = (s.timestamps[i] or "")[5:10]
    return f"{rev} {day}".strip()


def _chart(s: Series) -> str:
    from perfkit import charts

    points = [(_point_label(s, i), v) for i, v in enumerate(s.values)]
    seconds = s.figure.endswith("_s") and not is_rate(s.figure)
    marks = [len(s.values) - 1] if s.status == "REGRESSION" else []
    arrow = {1: "higher is better", -1: "lower is better"}[direction(s.figure)]
    return charts.series(
        points, title=f"{s.name}: {s.figure} ({arrow})", ylabel="", seconds=seconds, marks=marks
    )


def _row(s: Series) -> str:
    from perfkit.views import fmt_full

    effect = f"{s.effect:+.2%}" if s.effect is not None else "-"
    interval = f"[{s.interval[0]:+.2%}, {s.interval[1]:+.2%}]" if s.interval else "-"
    noise = f"±{s.noise:.2%}" if s.noise is not None else "-"
    cells = [s.name, s.figure, f"{len(s.values)}", fmt_full(s.baseline) if s.baseline is not None else "-",
             fmt_full(s.latest), effect, interval, noise]  # fmt: skip
    tds = "".join(
        f'<td class="num">{_esc(c)}</td>' if i >= 2 else f"<td>{_esc(c)}</td>" for i, c in enumerate(cells)
    )
    return f'<tr>{tds}<td class="{_esc(s.status)}">{_esc(s.status)}</td></tr>'


def render_history_html(histories: Sequence[History]) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>perfkit benchmark history</title>',
        f"<style>{_CSS}</style></head><body><h1>perfkit benchmark history</h1>",
        '<p class="muted">Runs compared only within one machine (fingerprint: CPU model, cores, memory, Python '
        "and library versions). A figure is flagged when the 95% bootstrap interval of its effect excludes 0 "
        "and the effect exceeds the threshold. Records without a fingerprint form the machine "
        "<b>unknown/legacy</b>.</p>",
    ]
    for h in histories:
        out.append(f'<section id="{_esc(h.pipeline)}"><h2>{_esc(h.pipeline)}</h2>')
        out.append(f'<p class="muted">{h.records} run(s) from {_esc(h.path.name)}; threshold {h.threshold:.0%}, '
                   f"window {h.window}</p>")  # fmt: skip
        for machine, label in h.machines.items():
            rows = [s for s in h.series if s.machine == machine and not s.workload and direction(s.figure)]
            if not rows:
                continue
            out.append(f"<h3>machine {_esc(label)}</h3>")
            for s in rows:
                if len(s.values) >= 2:
                    out.append(f"<figure>{_chart(s)}</figure>")
            head = "".join(f"<th>{c}</th>" for c in ("benchmark", "figure", "runs", "baseline", "latest",
                                                     "effect (+ better)", "95% interval", "noise", "status"))  # fmt: skip
            out.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(_row(s) for s in rows)}</tbody></table>"
            )
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_history_html(histories: Sequence[History], path: str | Path) -> Path:
    path = Path(path)
    page = render_history_html(histories)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
