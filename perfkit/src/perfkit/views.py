"""Terminal views (rich) of run reports, receipts comparisons, profiles and benchmark summaries.

Functions here only render: the loading and checking lives in `perfkit.reports`, the comparisons in
`perfkit.diff` / `perfkit.history`. Every renderer takes a `rich.console.Console` so tests can capture output.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from perfkit.reports import is_number, is_rate

__all__ = [
    "fmt_bytes",
    "fmt_seconds",
    "fmt_value",
    "render_bench_summary",
    "render_history",
    "render_profile_top",
    "render_report",
    "render_verify",
    "sparkline",
]

_SPARK = "▁▂▃▄▅▆▇█"


def fmt_seconds(s: Any) -> str:
    """Human time: 812 µs, 45.2 ms, 3.10 s, 2 m 05 s, 1 h 02 m."""
    if not is_number(s):
        return "-" if s is None else str(s)
    if s == 0:
        return "0 s"
    if abs(s) < 0.001:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.2f} s"
    if s < 7200:
        return f"{int(s // 60)} m {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int((s % 3600) // 60):02d} m"


def fmt_bytes(n: Any) -> str:
    if not is_number(n):
        return "-" if n is None else str(n)
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def fmt_number(v: Any) -> str:
    """A number for a reader: thousands separators, no exponent below 1e15, four significant digits for
    fractions (1,781,460 / 461,559 / 0.9069 / 12.35)."""
    if isinstance(v, bool) or not is_number(v):
        return "-" if v is None else str(v)
    if isinstance(v, int) or (float(v).is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:,.1f}"
    return f"{v:.4g}" if abs(v) >= 1e-3 else f"{v:.3g}"


def fmt_value(v: Any, width: int = 80) -> str:
    """Compact text for a JSON value: numbers with thousands separators, containers as short JSON."""
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if is_number(v):
        return fmt_number(v)
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_named(name: str, v: Any) -> str:
    """A figure formatted by what its name says: `*_s` seconds, `*_bytes` bytes, rates and others as numbers."""
    if is_number(v) and (name.endswith("_s") or name == "seconds") and not is_rate(name):
        return fmt_seconds(v)
    if is_number(v) and (name.endswith("_bytes") or name.endswith("rss")):
        return fmt_bytes(v)
    if is_number(v) and name.endswith("fraction"):
        return f"{v:.1%}"
    return fmt_value(v, width=120)


def sparkline(values: Iterable[Any], *, from_zero: bool = True) -> str:
    """Unicode block sparkline; `from_zero=False` scales min..max (trends), else 0..max (counts)."""
    xs = [float(c) if is_number(c) else 0.0 for c in values]
    if not xs:
        return ""
    lo = 0.0 if from_zero else min(xs)
    span = max(xs) - lo
    if span <= 0:
        return (_SPARK[0] if from_zero and max(xs) <= 0 else _SPARK[3]) * len(xs)
    top = len(_SPARK) - 1
    return "".join(_SPARK[min(top, round((x - lo) / span * top))] for x in xs)


def _kv_table(title: str, mapping: Mapping[str, Any], value_header: str = "value") -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("name", style="cyan")
    table.add_column(value_header, overflow="fold", justify="right")
    for key in sorted(mapping, key=str):
        table.add_row(str(key), fmt_named(str(key), mapping[key]))
    return table


def _nested_table(title: str, rows: Mapping[str, Any]) -> Table:
    """A metric whose value maps names to objects of figures (per_worker): one row per name."""
    columns = sorted({c for r in rows.values() if isinstance(r, dict) for c in r})
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("name", style="cyan")
    for c in columns:
        table.add_column(c, justify="right")
    for name, r in sorted(rows.items()):
        r = r if isinstance(r, dict) else {}
        table.add_row(str(name), *(fmt_named(c, r.get(c)) if c in r else "-" for c in columns))
    return table


def _counters_text(counters: Any) -> str:
    if not isinstance(counters, dict) or not counters:
        return ""
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in sorted(counters.items()))


def _config_text(config: Mapping[str, Any]) -> str:
    """`key=value` for the options that are set (None and False left out), in the report's order."""
    parts = [f"{k}={fmt_value(v, 60)}" for k, v in config.items() if v is not None and v is not False]
    return "  ".join(parts)


def _head(report: Mapping[str, Any], console: Console) -> None:
    status = str(report.get("status"))
    colour = "green" if status == "ok" else "red"
    config = report.get("config") or {}
    what = f"{report.get('pipeline')} {config.get('command', '')}".strip()
    head = Table(box=box.ROUNDED, show_header=False, title=f"perfkit run report: {what}")
    head.add_column("field", style="bold")
    head.add_column("value", overflow="fold")
    head.add_row("status", f"[{colour}]{status}[/{colour}]")
    if report.get("error"):
        head.add_row("error", f"[red]{fmt_value(report['error'], width=300)}[/red]")
    head.add_row("wall", fmt_seconds(report.get("wall_s")))
    items = report.get("items") or {}
    if items:
        head.add_row("items", f"{len(items):,}")
    rates = [(k, v) for k, v in sorted((report.get("metrics") or {}).items()) if is_number(v) and is_rate(k)]
    if rates:
        head.add_row("throughput", ", ".join(f"{fmt_number(v)} {k}" for k, v in rates))
    rss = fmt_bytes(report.get("peak_rss_bytes"))
    if report.get("peak_rss_children_bytes"):
        children = fmt_bytes(report["peak_rss_children_bytes"])
        if report.get("peak_unique_children_bytes"):
            children += f", {fmt_bytes(report['peak_unique_children_bytes'])} unshared"
        rss += f" (largest worker {children})"
    head.add_row("peak RSS", rss)
    head.add_row("started", f"{report.get('started', '-')} (finished {report.get('finished', '-')})")
    host = report.get("host") or {}
    if host:
        head.add_row("host", ", ".join(f"{k} {v}" for k, v in host.items()))
    head.add_row("git revision", str(report.get("git_revision") or "-"))
    if config:
        head.add_row("config", _config_text(config))
    console.print(head)


def _stage_table(stages: Mapping[str, Any], console: Console) -> None:
    total_wall = sum(s.get("wall_s", 0) or 0 for s in stages.values() if isinstance(s, dict))
    workers = any(isinstance(s, dict) and "worker_cpu_s" in s for s in stages.values())
    table = Table(title="stages", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("stage")
    for col in ("wall", "CPU (this process)", *(("CPU (workers)",) if workers else ()), "CPU/wall", "calls"):
        table.add_column(col, justify="right")
    table.add_column("share of stage time")
    for name, s in stages.items():
        s = s if isinstance(s, dict) else {}
        wall, cpu, wcpu = s.get("wall_s"), s.get("cpu_s"), s.get("worker_cpu_s")
        all_cpu = (cpu if is_number(cpu) else 0) + (wcpu if is_number(wcpu) else 0)
        ratio = f"{all_cpu / wall:.0%}" if is_number(wall) and wall > 0 else "-"
        share = (wall / total_wall) if is_number(wall) and total_wall > 0 else 0.0
        cells = [fmt_seconds(wall), fmt_seconds(cpu)]
        if workers:
            cells.append(fmt_seconds(wcpu) if is_number(wcpu) else "-")
        table.add_row(
            str(name), *cells, ratio, fmt_value(s.get("calls", "-")), f"{'█' * round(share * 30)} {share:.0%}"
        )
    console.print(table)
    if workers:
        console.print(
            "[dim]CPU/wall counts this process and its worker processes (CPU inside their tasks).[/dim]"
        )


def _worker_tables(report: Mapping[str, Any], events: list[dict[str, Any]], console: Console) -> set[str]:
    """Per-worker table and the start-up each worker's first task carried; returns those first items' keys."""
    from perfkit.workers import first_task_keys, tasks_from_events, worker_stats

    tasks = tasks_from_events(events)
    stats = worker_stats(tasks)
    if len(stats) < 1 or not tasks:
        per_worker = (report.get("metrics") or {}).get("per_worker")
        if isinstance(per_worker, dict) and per_worker:
            console.print(_nested_table("per worker", per_worker))
        return set()
    wall = report.get("wall_s")
    table = Table(title="per worker (from events.jsonl)", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("worker", style="cyan")
    for col in (
        "tasks",
        "busy",
        "busy/wall",
        "CPU",
        "first task (incl. start-up)",
        "typical task",
        "start-up",
    ):
        table.add_column(col, justify="right")
    for w in stats:
        table.add_row(
            w.worker,
            f"{w.tasks:,}",
            fmt_seconds(w.busy_s),
            f"{w.busy_s / wall:.0%}" if is_number(wall) and wall > 0 else "-",
            fmt_seconds(w.cpu_s) if w.cpu_s is not None else "-",
            f"{w.first_key} {fmt_seconds(w.first_task_s)}" if w.first_key else "-",
            fmt_seconds(w.typical_s) if w.typical_s is not None else "-",
            fmt_seconds(w.startup_s) if w.startup_s is not None else "-",
        )
    console.print(table)
    console.print(
        "[dim]start-up = first task - the worker's median later task: imports on first use, Numba cache "
        "loads; the slowest-items table leaves these first tasks out.[/dim]"
    )
    return first_task_keys(tasks)


def render_report(
    report: Mapping[str, Any], console: Console, events: list[dict[str, Any]] | None = None
) -> None:
    """Print a run report as tables: summary, stages (with worker CPU), per worker (start-up apart), the
    slowest items by their own time, quantiles, counters, results, histograms, metrics, receipts.
    `events` (from events.jsonl) feed the per-worker table."""
    _head(report, console)
    stages = report.get("stages") or {}
    if stages:
        _stage_table(stages, console)
    first = _worker_tables(report, events or [], console)

    items = {k: v for k, v in (report.get("items") or {}).items() if isinstance(v, dict)}
    source = items or {str(it.get("key")): it for it in report.get("top_items") or [] if isinstance(it, dict)}
    ranked = sorted(
        ((k, v) for k, v in source.items() if k not in first),
        key=lambda kv: -(kv[1].get("elapsed_s") if is_number(kv[1].get("elapsed_s")) else 0),
    )[:10]
    if ranked:
        note = " (without each worker's first item)" if first else ""
        table = Table(
            title=f"top {len(ranked)} items by own time, slowest first{note}",
            box=box.SIMPLE_HEAVY,
            title_justify="left",
        )
        table.add_column("#", justify="right")
        table.add_column("item")
        table.add_column("time", justify="right")
        table.add_column("worker")
        table.add_column("counters", overflow="fold")
        for i, (key, it) in enumerate(ranked, 1):
            table.add_row(
                str(i), key, fmt_seconds(it.get("elapsed_s")), str(it.get("worker") or "-"),
                _counters_text(it.get("counters")),
            )  # fmt: skip
        console.print(table)

    q = report.get("item_time_quantiles") or {}
    if q or items:
        table = Table(title="item times", box=box.SIMPLE_HEAVY, title_justify="left")
        for col in ("items", "median", "p90", "max"):
            table.add_column(col, justify="right")
        table.add_row(
            fmt_value(q.get("count", len(items))),
            fmt_seconds(q.get("median_s")),
            fmt_seconds(q.get("p90_s")),
            fmt_seconds(q.get("max_s")),
        )
        console.print(table)

    if report.get("counters"):
        console.print(_kv_table("counters (result)", report["counters"]))
    if report.get("results"):
        console.print(_kv_table("results", report["results"]))

    hists = report.get("histograms") or {}
    if hists:
        table = Table(title="histograms", box=box.SIMPLE_HEAVY, title_justify="left")
        table.add_column("name", style="cyan")
        table.add_column("kind")
        for col in ("count", "min", "median", "p90", "max"):
            table.add_column(col, justify="right")
        table.add_column("distribution")
        for name, h in sorted(hists.items()):
            h = h if isinstance(h, dict) else {}
            table.add_row(
                str(name),
                "result" if h.get("result") else "perf",
                *(fmt_value(h.get(k, "-")) for k in ("count", "min", "median", "p90", "max")),
                sparkline(h.get("counts") or []),
            )
        console.print(table)

    metrics = report.get("metrics") or {}
    flat = {k: v for k, v in metrics.items() if not _is_table(v)}
    if flat:
        console.print(_kv_table("metrics (performance)", flat))
    for name, value in sorted(metrics.items()):
        if _is_table(value) and not (name == "per_worker" and first):
            console.print(_nested_table(f"metrics: {name}", value))

    receipts = report.get("receipts") or {}
    if receipts:
        table = Table(title="receipts", box=box.SIMPLE_HEAVY, title_justify="left")
        table.add_column("name", style="cyan")
        table.add_column("digest", overflow="fold")
        table.add_column("digest_version", justify="right")
        for name, r in sorted(receipts.items()):
            digest = r.get("digest") if isinstance(r, dict) else r
            version = r.get("digest_version", "-") if isinstance(r, dict) else "-"
            table.add_row(str(name), str(digest), str(version))
        console.print(table)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())


def render_verify(rows: list[dict[str, Any]], console: Console) -> None:
    """Rows from `perfkit.cli` verify: name, a, b, status (match / MISMATCH / only in A / only in B)."""
    table = Table(title="receipts", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("name", style="cyan")
    table.add_column("status")
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    for row in rows:
        style = "green" if row["status"] == "match" else "red"
        table.add_row(
            row["name"], f"[{style}]{row['status']}[/{style}]", str(row["a"] or "-"), str(row["b"] or "-")
        )
    console.print(table)


def render_profile_top(rows: list[dict[str, Any]], console: Console, title: str = "top functions") -> None:
    """Rows with function (file:line:function), calls, tottime, cumtime (seconds)."""
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("calls", justify="right")
    table.add_column("tottime", justify="right")
    table.add_column("cumtime", justify="right")
    table.add_column("function (file:line:function)", overflow="fold")
    for i, r in enumerate(rows, 1):
        table.add_row(
            str(i),
            fmt_value(r.get("calls")),
            f"{r.get('tottime_s', 0):.4f}",
            f"{r.get('cumtime_s', 0):.4f}",
            _short_location(r),
        )
    console.print(table)


def _short_location(row: dict[str, Any], width: int = 70) -> str:
    """`file:line:function` with the file trimmed (site-packages prefix, then from the left) to fit."""
    file, line, name = row.get("file"), row.get("line"), row.get("name")
    if file is None or name is None:
        return str(row.get("function"))
    file = str(file)
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    elif os.path.isabs(file):
        with contextlib.suppress(ValueError):  # ValueError: another drive (Windows)
            rel = os.path.relpath(file)
            file = file if rel.startswith("..") else rel
    room = max(10, width - len(f":{line}:{name}"))
    if len(file) > room:
        file = "…" + file[-(room - 1) :]
    return f"{file}:{line}:{name}"


def render_bench_summary(entries: list[dict[str, Any]], console: Console, since: str | None = None) -> None:
    """One table: pipeline, benchmark row, figures, and each row's own time and commit.

    Entries: pipeline, rows (None = not built), error, failed (this run's benchmark failed). A row written
    before `since` (the start of this `make bench`) is an earlier run's figure: shown as stale, not current.
    """
    title = "benchmark summary" + (f" (this run started {since})" if since else "")
    table = Table(title=title, box=box.ROUNDED, title_justify="left", show_lines=True)
    table.add_column("pipeline", style="bold cyan")
    table.add_column("benchmark")
    table.add_column("figures", overflow="fold")
    table.add_column("measured (UTC) / commit")
    for entry in entries:
        pipeline = entry["pipeline"]
        if entry.get("failed"):
            table.add_row(pipeline, "[bold red]FAILED in this run[/bold red]", "see the log above", "-")
        if entry.get("error"):
            table.add_row(pipeline, "[red]unreadable[/red]", str(entry["error"]), "-")
            continue
        rows = entry.get("rows")
        if not rows:
            if not entry.get("failed"):
                table.add_row(pipeline, "[yellow]not built yet[/yellow]", "", "-")
            continue
        for row in rows:
            skip = ("name", "timestamp", "git_revision")
            figures = "\n".join(f"{k}: {_fmt_figure(k, v)}" for k, v in row.items() if k not in skip)
            stamp = row.get("timestamp")
            commit = str(row.get("git_revision") or "-")[:12]
            when = f"{stamp or 'unknown time'}\n{commit}"
            stale = since is not None and (not stamp or str(stamp) < since)
            name = str(row.get("name", "-"))
            if stale:
                name += "\n[yellow]stale: from an earlier run[/yellow]"
                when = f"[yellow]{when}[/yellow]"
            table.add_row(pipeline, name, figures, when)
    console.print(table)


def _fmt_figure(name: str, v: Any) -> str:
    if is_number(v) and (name.endswith("_s") or name == "seconds") and not is_rate(name):
        return fmt_seconds(v)
    if is_number(v) and name.endswith("_bytes"):
        return fmt_bytes(v)
    return fmt_value(v)


def fmt_full(v: Any) -> str:
    """A history value in full: all significant digits a float carries (no ellipsis, no rounding to 4)."""
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.10g}"
    return fmt_value(v)


def render_history(history: Any, console: Console, last: int = 12) -> None:
    """A `perfkit.history.History`: per machine, one row per (benchmark, figure) with trend, baseline,
    latest, effect with its bootstrap interval, the measured run-to-run noise and the verdict."""
    from perfkit.history import MIN_RUNS, direction  # local: history imports nothing from views

    styles = {"REGRESSION": "bold red", "improved": "green", "changed": "yellow", "too few runs": "dim",
              "new": "dim", "new workload": "dim", "workload": "dim"}  # fmt: skip
    console.print(
        f"[bold]{history.pipeline}[/bold]: {history.records} run(s) from {history.path}. Compared only within "
        f"one machine: latest vs the median of up to {history.window} earlier runs with the same workload; "
        f"flagged when the 95% bootstrap interval of the effect excludes 0 and the effect exceeds "
        f"{history.threshold:.0%} (needs {MIN_RUNS}+ earlier runs). Effect: + is better."
    )
    for machine, label in history.machines.items():
        rows = [s for s in history.series if s.machine == machine]
        if not rows:
            continue
        table = Table(title=f"machine {label}", box=box.SIMPLE_HEAVY, title_justify="left")
        table.add_column("benchmark", style="cyan", overflow="fold")
        table.add_column("figure (↑/↓ better)", overflow="fold")
        table.add_column("runs", justify="right")
        table.add_column("trend")
        table.add_column("baseline", justify="right", no_wrap=True)
        table.add_column("latest", justify="right", no_wrap=True)
        table.add_column("effect", justify="right", no_wrap=True)
        table.add_column("95% interval", justify="right", no_wrap=True)
        table.add_column("noise", justify="right", no_wrap=True)
        table.add_column("status")
        for s in rows:
            seconds = s.figure.endswith("_s") and not is_rate(s.figure)
            fmt = fmt_seconds if seconds else fmt_full
            style = styles.get(s.status, "")
            effect = f"{s.effect:+.1%}" if s.effect is not None else "-"
            interval = f"[{s.interval[0]:+.1%}, {s.interval[1]:+.1%}]" if s.interval is not None else "-"
            arrow = "" if s.workload else {1: " ↑", -1: " ↓", 0: ""}[direction(s.figure)]
            table.add_row(
                s.name,
                s.figure + arrow,
                f"{s.comparable + 1} of {len(s.values)}" if not s.workload else "-",
                sparkline(s.values[-last:], from_zero=False),
                fmt(s.baseline) if s.baseline is not None else "-",
                fmt(s.latest),
                effect,
                interval,
                f"±{s.noise:.1%}" if s.noise is not None else "-",
                f"[{style}]{s.status}[/{style}]" if style else s.status,
            )
        console.print(table)
    if "unknown/legacy" in history.machines:
        console.print(
            "[yellow]unknown/legacy: records written before machine fingerprints; they are compared only "
            "with each other, as if from one machine.[/yellow]"
        )
    if history.skipped_lines:
        console.print(
            f"[yellow]skipped {history.skipped_lines} unreadable line(s) in {history.path}[/yellow]"
        )
    n = len(history.regressions)
    console.print(f"[bold red]{n} regression(s)[/bold red]" if n else "no regressions outside the noise")


def render_gate(results: list[Any], threshold: float, console: Console) -> None:
    """`perfkit gate` results: instructions now and in the baseline, change, verdict."""
    table = Table(
        title=f"perf gate: instructions per workload (callgrind), fail above +{threshold:.1%}",
        box=box.SIMPLE_HEAVY,
        title_justify="left",
    )
    for col in ("workload", "instructions", "baseline", "change", "status", "wall"):
        table.add_column(col, justify="left" if col in ("workload", "status") else "right")
    styles = {"FAIL": "bold red", "improved": "green", "ok": "", "new": "yellow"}
    for r in results:
        style = styles.get(r.status, "")
        table.add_row(
            r.name,
            f"{r.instructions:,}",
            f"{r.baseline:,}" if r.baseline else "-",
            f"{r.change:+.3%}" if r.change is not None else "-",
            f"[{style}]{r.status}[/{style}]" if style else r.status,
            fmt_seconds(r.wall_s),
        )
    console.print(table)
    failed = [r.name for r in results if r.status == "FAIL"]
    console.print(f"[bold red]gate FAILED: {', '.join(failed)}[/bold red]" if failed else "gate passed")
