"""The `perfkit` command: view, compare and verify run reports; profile commands; benchmark history.

Each command is a few lines over the library (`perfkit.reports`, `perfkit.diff`, `perfkit.views`,
`perfkit.html`, `perfkit.history`, `perfkit.determinism`, `perfkit.profiling`). Bad input — a missing or
invalid report, another schema_version, an unknown pipeline — is one line `error: ...` on stderr, exit 2.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from perfkit import interrupts
from perfkit.clitools import Group, handle_errors, write_stdout
from perfkit.reports import (
    KNOWN_PIPELINES,
    STDIN_NOTE,
    PerfkitError,
    check_pipeline,
    load_json,
    load_report,
    not_a_device,
    read_bounded,
)

CONTEXT = {"help_option_names": ["-h", "--help"]}
# Everything after the options (or after `--`) is the command to run, its own options included.
COMMAND_CONTEXT = {**CONTEXT, "ignore_unknown_options": True, "allow_interspersed_args": False}


class _PipedConsole(Console):
    """rich's console, except that a closed stdout (`| head`) ends the command as every other perfkit
    output does (quietly, exit 141, via ``handle_errors``) instead of rich's own exit 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _console() -> Console:
    # The terminal's width on a terminal; when piped (files, CI logs, tests) a fixed 140 columns, so the
    # output does not depend on whatever COLUMNS the environment happens to carry.
    return _PipedConsole(width=None if sys.stdout.isatty() else 140, soft_wrap=False, highlight=False)


# Bad input -> `error: ...` on stderr, exit 2; anything unexpected -> `internal error: ...`, exit 1.
_errors = handle_errors(bad_input=(PerfkitError,))


def _echo_all(text: str) -> None:
    """Print ``text`` and a newline whole, or end as a closed pipe does (quietly, exit 141): click.echo
    would drop what a short write to a leaving reader did not take, and exit 0 with the JSON cut."""
    write_stdout((text + "\n").encode())


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(package_name="perfkit")
def main() -> None:
    """perfkit: run reports, receipts, profiles and benchmark history for the four pipelines."""


# --- reports -----------------------------------------------------------------------------------------


@main.command()
@click.argument("report", required=False, type=click.Path(path_type=Path))
@click.option(
    "--html",
    "html_out",
    is_flag=False,
    flag_value="",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML page (charts, no JavaScript) instead of terminal tables. "
    "Without a value: beside the report, as <report>.html (beside a command's output folder, as "
    "<folder>.html).",
)
@click.option(
    "--speedscope",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A py-spy speedscope file (`perfkit pyspy`) to link from the HTML page (repeatable).",
)
@click.option(
    "--pstats",
    "pstats_path",
    default=None,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The run's cProfile file, when its config does not name it (drawn as an icicle chart).",
)
@click.option("--force", is_flag=True, help="Replace an existing output (atomically).")
@_errors
def show(
    report: Path | None,
    html_out: Path | None,
    speedscope: tuple[Path, ...],
    pstats_path: Path | None,
    force: bool,
) -> None:
    """Render a run report (a run_report.json or the run's output directory). The worker timeline comes from
    the events.jsonl beside the report, the profile from the .pstats the run wrote with --profile.

    Example: perfkit show reports/seg1b/run_report.json --html reports/seg1b.html
    """
    if report is None:
        # `perfkit show --html REPORT`: click hands REPORT to --html; take it as the report.
        if not html_out or str(html_out) == ".":
            raise PerfkitError("missing REPORT: perfkit show REPORT [--html OUT.html]")
        report, html_out = html_out, Path("")
    if html_out is None and (speedscope or pstats_path is not None):
        given = "--pstats" if pstats_path is not None else "--speedscope"
        raise PerfkitError(f"{given} is drawn into the HTML page only: add --html [OUT.html]")
    data = load_report(report)
    if html_out is None:
        from perfkit.views import render_report
        from perfkit.workers import load_events

        render_report(data, _console(), events=load_events(report))
        return
    from perfkit.html import find_profile, write_html
    from perfkit.outputs import MARKER, Outputs
    from perfkit.workers import events_path

    if pstats_path is not None:
        _check_pstats(pstats_path)
    for path in speedscope:
        _check_speedscope(path)
    folder = report if report.is_dir() else report.parent
    report_file = report / "run_report.json" if report.is_dir() else report
    if str(html_out) in ("", "."):
        # Beside the report; beside the folder when that folder is a command's output, whose own files
        # are all it may hold (a page inside it would stop its next `--force` run).
        if (folder / MARKER).exists():
            whole = folder.resolve()
            html_out = whole.parent / f"{whole.name}.html"
        else:
            html_out = report_file.with_suffix(".html")
    # Everything the page is drawn from is an input, the events log and profile beside the report included
    # (the report's file, not its folder: a page may go into a report folder, as it does by default).
    drawn_from = [report_file, events_path(report), pstats_path or find_profile(data, report), *speedscope]
    inputs = [p for p in drawn_from if p is not None and Path(p).exists()]
    with Outputs(inputs, force=force, owner="perfkit show") as outputs:
        write_html(
            data, outputs.file(html_out), report_path=report, speedscope=speedscope, pstats_path=pstats_path
        )
    click.echo(f"wrote {html_out}")


def _check_pstats(path: Path) -> None:
    """`--pstats` must be a cProfile file: one line naming it otherwise (pstats prints to stdout and raises
    whatever unmarshalling foreign bytes happens to raise)."""
    import contextlib
    import io
    import pstats

    not_a_device(path, "--pstats")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            stats = pstats.Stats(str(path))
        ok = bool(stats.stats)
    except Exception:
        ok = False
    if not ok:
        raise PerfkitError(f"--pstats {path} is not a cProfile file (write one with --profile FILE.pstats)")


def _check_speedscope(path: Path) -> None:
    """`--speedscope` must be a speedscope JSON file (its `$schema` names the speedscope format)."""
    try:
        schema = json.loads(read_bounded(path, "--speedscope")).get("$schema", "")
    except (ValueError, AttributeError):
        schema = ""
    if "speedscope" not in str(schema):
        raise PerfkitError(f"--speedscope {path} is not a speedscope file (write one with perfkit pyspy)")


@main.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="Differences listed per section (0 = all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@_errors
def diff(a: Path, b: Path, limit: int, as_json: bool) -> None:
    """Compare two run reports. Exit 1 when any result differs (receipts, counters, results, item keys and
    counters, result histograms, status); 0 when only performance figures differ.

    Example: perfkit diff before/run_report.json after/run_report.json
    """
    from perfkit.diff import diff_reports

    ra, rb = load_report(a), load_report(b)
    d = diff_reports(ra, rb)
    if as_json:
        _echo_all(json.dumps({"a": str(a), "b": str(b), **d.to_dict()}, indent=2, default=str))
    else:
        click.echo(f"A: {a}\nB: {b}")
        for line in d.format_lines(limit=None if limit <= 0 else limit):
            click.echo(line)
    sys.exit(1 if d.results_differ else 0)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print {path, digest} as JSON.")
@_errors
def digest(path: Path, as_json: bool) -> None:
    """Print the determinism receipt of a Parquet file or dataset directory, an Arrow IPC file or a .npy file.

    Example: perfkit digest out/tiles.parquet
    """
    if not path.exists():
        raise PerfkitError(f"not found: {path}" + STDIN_NOTE * (str(path) == "-"))
    not_a_device(path, "input")
    from perfkit.determinism import digest_path

    try:
        value = digest_path(path)
    except (OSError, ValueError, TypeError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise PerfkitError(f"cannot digest {path}: {exc}") from exc
    _echo_all(json.dumps({"path": str(path), "digest": value}) if as_json else f"{value}  {path}")


@main.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@_errors
def verify(a: Path, b: Path) -> None:
    """Compare the determinism receipts of two run reports; exit 1 when any differs or is missing on one side.

    Example: perfkit verify run1/run_report.json run2/run_report.json
    """
    from perfkit.diff import config_changes, config_lines
    from perfkit.views import render_verify

    report_a, report_b = load_report(a), load_report(b)
    ra, rb = report_a.get("receipts") or {}, report_b.get("receipts") or {}
    config = config_changes(report_a, report_b)
    for line in config_lines(config):  # first: a mismatch between differently configured runs is expected
        click.echo(line)
    if not ra and not rb:
        raise PerfkitError(f"neither {a} nor {b} holds any receipts: nothing to verify")

    def dig(r: Any) -> Any:
        return r.get("digest") if isinstance(r, dict) else r

    rows = []
    for name in sorted(set(ra) | set(rb)):
        da, db = dig(ra.get(name)), dig(rb.get(name))
        if name not in ra:
            status = "only in B"
        elif name not in rb:
            status = "only in A"
        else:
            status = "match" if da == db else "MISMATCH"
        rows.append({"name": name, "status": status, "a": da, "b": db})
    render_verify(rows, _console())
    bad = [r for r in rows if r["status"] != "match"]
    verdict = f"{len(rows) - len(bad)}/{len(rows)} receipts match" + (f"; {len(bad)} differ" if bad else "")
    if bad and any(line.startswith("config: the runs were asked") for line in config_lines(config)):
        verdict += " (the runs' configs differ, listed first: compare runs of the same config)"
    click.echo(verdict)
    sys.exit(1 if bad else 0)


# --- benchmarks --------------------------------------------------------------------------------------


@main.command()
@click.argument("pipelines", nargs=-1)
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where <pipeline>.jsonl lives [default: $PERFKIT_RESULTS_DIR or ./benchmarks/results].",
)
@click.option(
    "--threshold",
    default=0.05,
    show_default=True,
    help="Smallest relative effect flagged (it must also be outside the measured noise).",
)
@click.option("--window", default=10, show_default=True, help="Previous runs whose median is the baseline.")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when any figure regressed.")
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@click.option(
    "--html",
    "html_out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML page: each benchmark figure across commits, per machine.",
)
@click.option("--force", is_flag=True, help="Replace an existing --html output (atomically).")
@_errors
def history(
    pipelines: tuple[str, ...],
    results_dir: Path | None,
    threshold: float,
    window: int,
    fail_on_regression: bool,
    as_json: bool,
    html_out: Path | None,
    force: bool,
) -> None:
    """Show benchmark trends per machine and flag regressions outside the measured run-to-run noise
    (all four pipelines by default).

    Example: perfkit history mbp10 --html reports/history.html
    """
    from perfkit.history import load_history
    from perfkit.views import render_history

    names = list(pipelines) or list(KNOWN_PIPELINES)
    histories = [load_history(p, results_dir, threshold=threshold, window=window) for p in names]
    if html_out is not None:
        from perfkit.history_html import write_history_html
        from perfkit.outputs import Outputs

        with Outputs([h.path for h in histories], force=force, owner="perfkit history") as outputs:
            write_history_html(histories, outputs.file(html_out))
        click.echo(f"wrote {html_out}")
    elif as_json:
        doc = [h.to_dict() for h in histories]
        _echo_all(json.dumps(doc[0] if len(doc) == 1 else doc, indent=2, default=str))
    else:
        for h in histories:
            render_history(h, _console())
    if fail_on_regression and any(h.regressions for h in histories):
        sys.exit(1)


@main.command("bench-summary")
@click.argument("pipelines", nargs=-1)
@click.option(
    "--summary-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where <pipeline>.json rows live [default: $PERFKIT_SUMMARY_DIR or ./reports/bench-summary].",
)
@click.option(
    "--since",
    default=None,
    help="UTC time (YYYY-MM-DDTHH:MM:SSZ) this bench run started: older rows are shown as stale, not current.",
)
@click.option(
    "--failed",
    multiple=True,
    help="A pipeline whose benchmark failed in this run (repeatable): shown as FAILED; exit 1.",
)
@_errors
def bench_summary(
    pipelines: tuple[str, ...], summary_dir: Path | None, since: str | None, failed: tuple[str, ...]
) -> None:
    """Print the rows `perfkit.bench.summary_row` wrote, as one table (all four pipelines by default). Each
    row shows its own time and commit; with --since, rows written before that time are marked stale.

    Example: perfkit bench-summary seg1b mbp10 qyn1 batted_ball --since 2026-12-06T12:00:00Z
    """
    from perfkit.views import render_bench_summary

    if since is not None and not _is_utc_stamp(since):
        raise PerfkitError(f"--since must look like 2026-12-06T12:00:00Z, got {since!r}")
    failed_names = {check_pipeline(p) for p in failed}
    names = [check_pipeline(p) for p in pipelines] or list(KNOWN_PIPELINES)
    names += sorted(failed_names - set(names))
    directory = summary_dir or Path(
        os.environ.get("PERFKIT_SUMMARY_DIR", Path.cwd() / "reports" / "bench-summary")
    )
    entries: list[dict[str, Any]] = []
    for name in names:
        path = directory / f"{name}.json"
        if not path.exists():
            entries.append({"pipeline": name, "rows": None})
            continue
        try:  # one unreadable file must not hide the other pipelines' rows
            doc = load_json(path, what="benchmark summary")
            if not isinstance(doc, dict) or not isinstance(doc.get("rows", []), list):
                raise PerfkitError(f"{path} is not a benchmark summary (expected an object with a rows list)")
        except PerfkitError as exc:
            entries.append({"pipeline": name, "error": str(exc)})
            continue
        rows = [r for r in doc.get("rows", []) if isinstance(r, dict)]
        entries.append({"pipeline": name, "rows": rows, "updated": doc.get("updated")})
    for entry in entries:
        entry["failed"] = entry["pipeline"] in failed_names
    render_bench_summary(entries, _console(), since=since)
    if failed_names:
        click.echo(f"benchmark(s) failed: {', '.join(sorted(failed_names))}", err=True)
        sys.exit(1)


def _is_utc_stamp(text: str) -> bool:
    import datetime as dt

    try:
        dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


# --- profiling ---------------------------------------------------------------------------------------

_PYTHON_NAMES = {"python", "python3", f"python3.{sys.version_info.minor}"}


def _python_target(args: list[str]) -> tuple[str, Callable[[], Any]]:
    """`python -m mod ...`, `python -c code ...` or `python script.py ...` -> (description, runner)."""
    if not args:
        raise PerfkitError("perfkit profile needs `python -m MODULE`, `python -c CODE` or `python SCRIPT.py`")
    if args[0] == "-m" and len(args) > 1:
        module, rest = args[1], args[2:]

        def run_module() -> Any:
            sys.argv = [module, *rest]
            return runpy.run_module(module, run_name="__main__", alter_sys=True)

        return f"python -m {module}", run_module
    if args[0] == "-c" and len(args) > 1:
        code, rest = args[1], args[2:]

        def run_code() -> Any:
            sys.argv = ["-c", *rest]
            exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})

        return "python -c", run_code
    if args[0].startswith("-"):
        raise PerfkitError(
            f"perfkit profile does not support the python option {args[0]!r} (use -m, -c or a script)"
        )
    return _script_target(args[0], args[1:])


def _script_target(script: str, rest: list[str]) -> tuple[str, Callable[[], Any]]:
    if not Path(script).is_file():
        raise PerfkitError(f"script not found: {script}")

    def run_script() -> Any:
        sys.argv = [script, *rest]
        return runpy.run_path(script, run_name="__main__")

    return script, run_script


def _resolve_in_process(command: tuple[str, ...]) -> tuple[str, Callable[[], Any]]:
    """Map a command line to a callable that runs it in this interpreter (so cProfile sees it)."""
    argv0, rest = command[0], list(command[1:])
    base = Path(argv0).name
    if base in _PYTHON_NAMES or os.path.abspath(argv0) == os.path.abspath(sys.executable):
        return _python_target(rest)
    if argv0.endswith(".py"):
        return _script_target(argv0, rest)
    matches = importlib.metadata.entry_points(group="console_scripts", name=base)
    if not matches:
        raise PerfkitError(
            f"{argv0!r} is not a console script of this environment nor a python command; perfkit profile runs "
            "those in-process (use `perfkit pyspy` for other programs)"
        )
    entry = next(iter(matches))
    func = entry.load()

    def run_entry_point() -> Any:
        sys.argv = [argv0, *rest]
        with interrupts.hosted():
            return func()

    return f"{base} ({entry.value})", run_entry_point


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    click.echo(str(exc.code), err=True)
    return 1


@main.command(context_settings=COMMAND_CONTEXT)
@click.option(
    "-o",
    "--output",
    default="profile.pstats",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--top", default=30, show_default=True, help="Functions in the table and in OUTPUT's .top.json."
)
@click.option(
    "--sort",
    type=click.Choice(["own", "cumulative"]),
    default="own",
    show_default=True,
    help="Rank functions by their own time (tottime) or by the time below them (cumtime).",
)
@click.option(
    "--wrappers",
    is_flag=True,
    help="Keep click/runpy/cProfile/perfkit CLI frames in the table (left out by default).",
)
@click.option(
    "--speedscope",
    "speedscope_out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the call tree as a speedscope file (open at https://www.speedscope.app).",
)
@click.option("--force", is_flag=True, help="Replace an existing output (atomically).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@_errors
def profile(
    output: Path,
    top: int,
    sort: str,
    wrappers: bool,
    speedscope_out: Path | None,
    force: bool,
    command: tuple[str, ...],
) -> None:
    """Run a console script or python command under cProfile, in this process: writes OUTPUT (.pstats) and
    the top functions beside it (OUTPUT's suffix replaced by .top.json), and prints the top functions by own
    (or cumulative) time, without the click and perfkit wrapper frames. Exits with the command's code.

    Example: perfkit profile --sort own --speedscope p.speedscope.json -o p.pstats -- batted-ball game --seed 1
    """
    from perfkit.profiling import profile as cprofile
    from perfkit.profiling import top_functions, top_path_for

    if top < 1:
        raise PerfkitError(f"--top must be >= 1, got {top}")
    from perfkit.outputs import Outputs

    description, run = _resolve_in_process(command)
    saved_argv, code, failure = list(sys.argv), 0, None
    with Outputs(_files_named_in(command), force=force, owner="perfkit profile") as outputs:
        staged, staged_top = outputs.profile(output, what="-o")
        try:
            with cprofile(staged, n=top, top_path=staged_top):
                try:
                    run()
                except SystemExit as exc:
                    code = _exit_code(exc)
                except Exception as exc:  # the command's failure is reported; its profile is still written
                    code, failure = 1, exc
            if code in (130, 143):  # interrupted: no profile that looks complete (the command said so)
                sys.exit(code)
        finally:
            sys.argv = saved_argv
    import pstats

    from perfkit.views import render_profile_top

    stats = pstats.Stats(str(output))
    rows = top_functions(stats, top, sort=sort, wrappers=wrappers)
    title = f"top {len(rows)} functions by {'own' if sort == 'own' else 'cumulative'} time: {description}"
    if not wrappers:
        title += " (click/perfkit wrapper frames left out)"
    render_profile_top(rows, _console(), title=title)
    click.echo(f"wrote {output} and {top_path_for(output)}", err=True)
    if speedscope_out is not None:
        from perfkit.flame import write_speedscope

        with Outputs(_files_named_in(command), force=force, owner="perfkit profile") as outputs:
            write_speedscope(stats, outputs.file(speedscope_out), description)
        click.echo(f"wrote {speedscope_out} (speedscope; open at https://www.speedscope.app)", err=True)
    if failure is not None:
        click.echo(f"error: command failed: {type(failure).__name__}: {failure}", err=True)
    sys.exit(code)


def _files_named_in(command: tuple[str, ...]) -> list[Path]:
    """The existing files the profiled command's arguments name (`ARG` or `--option=ARG`): perfkit cannot
    know which of them the command reads, so it writes over none of them (`-o countries.gpkg` replaced the
    command's input with a profile)."""
    named = []
    for arg in command:
        for value in (arg, arg.split("=", 1)[-1]):
            if value and Path(value).is_file():
                named.append(Path(value))
    return named


def _find_pyspy() -> str:
    explicit = os.environ.get("PERFKIT_PYSPY")
    if explicit:
        if not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
            raise PerfkitError(f"py-spy not found at PERFKIT_PYSPY={explicit}")
        return explicit
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not found:
        raise PerfkitError("py-spy not found on PATH (it is a perfkit dependency: run `make setup`)")
    return found


def _pyspy_reason(log: str) -> str:
    """py-spy's error and its first cause on one line (it prints an anyhow chain and a backtrace)."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip() and not ln.strip().startswith("py-spy>")]
    error = next((ln.removeprefix("Error:").strip() for ln in lines if ln.startswith("Error")), None)
    try:
        cause = lines[lines.index("Caused by:") + 1].split(":", 1)[1].strip()
    except (ValueError, IndexError):
        cause = None
    parts = [p for p in (error, cause) if p]
    return ": ".join(parts) if parts else (lines[0] if lines else "no message")


def _pyspy_error(reason: str) -> PerfkitError:
    return PerfkitError(
        f"py-spy cannot attach here ({reason}): ptrace is not permitted for this process — in a container run "
        "with --cap-add SYS_PTRACE, or use `perfkit profile` (cProfile, needs no ptrace)"
    )


# A short busy loop: py-spy records only while the target runs Python code.
_PROBE = "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.3:\n    pass\n"

# py-spy spawns this interpreter, which points stdout/stderr back at the terminal (fds inherited from
# perfkit) and runs the Python command in-process; py-spy's own messages go to a log. (Exec'ing the
# command instead would lose the samples: py-spy does not follow an exec.)
_SHIM = """\
import os, runpy, sys
for fd, std in ((int(sys.argv[1]), 1), (int(sys.argv[2]), 2)):
    os.dup2(fd, std)
    os.close(fd)
status_file, kind, target, args = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
code = 1
def _write_status(c):
    with open(status_file, "w") as fh:
        fh.write(str(c))
# The pipelines' commands end with os._exit (no interpreter teardown), which skips the finally below.
_os_exit, _shim_pid = os._exit, os.getpid()
def _exit_writing_status(c):
    if os.getpid() == _shim_pid:  # not a forked worker's exit
        _write_status(c)
    _os_exit(c)
os._exit = _exit_writing_status
try:
    if kind == "module":
        sys.argv = [target, *args]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    elif kind == "code":
        sys.argv = ["-c", *args]
        exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = [target, *args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        runpy.run_path(target, run_name="__main__")
    code = 0
except SystemExit as exc:
    code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    raise
finally:
    _write_status(code)
"""


def _is_python_script(path: str) -> bool:
    if path.endswith(".py"):
        return True
    try:
        with open(path, "rb") as fh:
            first = fh.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def _pyspy_plan(command: tuple[str, ...]) -> tuple[list[str], list[str] | None]:
    """(argv to run directly, shim arguments or None): Python commands run through the shim."""
    argv0, rest = command[0], list(command[1:])
    if Path(argv0).name in _PYTHON_NAMES or os.path.abspath(argv0) == os.path.abspath(sys.executable):
        direct = [sys.executable, *rest]
        if rest[:1] == ["-m"] and len(rest) > 1:
            return direct, ["module", rest[1], *rest[2:]]
        if rest[:1] == ["-c"] and len(rest) > 1:
            return direct, ["code", rest[1], *rest[2:]]
        if rest and not rest[0].startswith("-"):
            if not Path(rest[0]).is_file():
                raise PerfkitError(f"script not found: {rest[0]}")
            return direct, ["path", rest[0], *rest[1:]]
        return direct, None
    found = argv0 if os.sep in argv0 and Path(argv0).is_file() else None
    found = found or shutil.which(argv0) or shutil.which(argv0, path=str(Path(sys.executable).parent))
    if not found:
        raise PerfkitError(f"command not found: {argv0}")
    return [found, *rest], (["path", found, *rest] if _is_python_script(found) else None)


@main.command(context_settings=COMMAND_CONTEXT)
@click.option(
    "-o",
    "--output",
    default="profile.speedscope.json",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--rate",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Samples per second (at least 1).",
)
@click.option("--subprocesses", is_flag=True, help="Also sample child processes (process/Dask workers).")
@click.option("--force", is_flag=True, help="Replace an existing output (atomically).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@_errors
def pyspy(output: Path, rate: int, subprocesses: bool, force: bool, command: tuple[str, ...]) -> None:
    """Sample a command with py-spy and write a speedscope file (open it at https://www.speedscope.app).
    Exits with the command's code.

    py-spy reads the target's memory with ptrace; where that is not permitted (containers without
    SYS_PTRACE) this fails with one line and exit 2, before running the command.

    Example: perfkit pyspy -o s1.speedscope.json -- seg1b s1 --countries ne110m --resolution-arcsec 300 --out s1
    """
    from perfkit.outputs import Outputs

    exe = _find_pyspy()
    direct, shim_args = _pyspy_plan(command)
    outputs = Outputs(_files_named_in(command), force=force, owner="perfkit pyspy")
    staged = outputs.file(output)
    with outputs, tempfile.TemporaryDirectory(prefix=".pyspy-", dir=output.parent) as tmp:
        # Probe on a throwaway interpreter first: a refusal costs 0.3 s and runs nothing of the user's.
        probe_out = Path(tmp) / "probe.json"
        probe = subprocess.run(
            [exe, "record", "--format", "speedscope", "-o", str(probe_out), "--rate", "50", "--",
             sys.executable, "-c", _PROBE],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if probe.returncode != 0 or not probe_out.exists():
            raise _pyspy_error(_pyspy_reason(probe.stderr + probe.stdout))
        tmp_out = Path(tmp) / "out.speedscope.json"
        argv = [exe, "record", "--format", "speedscope", "-o", str(tmp_out), "--rate", str(rate)]
        if subprocesses:
            argv.append("--subprocesses")
        if shim_args is None:  # not Python we can host: py-spy spawns it directly and shares our terminal
            code, log = subprocess.run([*argv, "--", *direct], check=False).returncode, ""
        else:
            code, log = _run_in_shim(argv, shim_args, Path(tmp))
        if not tmp_out.exists():
            if _looks_like_attach_failure(log):
                raise _pyspy_error(_pyspy_reason(log))
            raise PerfkitError(f"py-spy wrote no profile (exit {code}): {_pyspy_reason(log)}")
        os.replace(tmp_out, staged)
    click.echo(f"wrote {output} (speedscope; open at https://www.speedscope.app)", err=True)
    sys.exit(code)


def _looks_like_attach_failure(log: str) -> bool:
    low = log.lower()
    return any(w in low for w in ("permission denied", "not permitted", "eperm", "ptrace", "os error 1)"))


def _std_fd(stream: Any, default: int) -> int:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream (CliRunner): the process's own fd
        return default


def _run_in_shim(pyspy_argv: list[str], shim_args: list[str], tmp: Path) -> tuple[int, str]:
    """Run the shim under py-spy: (the command's exit code, py-spy's log)."""
    log_path, status_path = tmp / "py-spy.log", tmp / "status"
    out_fd, err_fd = os.dup(_std_fd(sys.stdout, 1)), os.dup(_std_fd(sys.stderr, 2))
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.run(
                [*pyspy_argv, "--", sys.executable, "-c", _SHIM, str(out_fd), str(err_fd), str(status_path),
                 *shim_args],
                stdout=log, stderr=subprocess.STDOUT, pass_fds=(out_fd, err_fd), check=False,
            )  # fmt: skip
    finally:
        os.close(out_fd)
        os.close(err_fd)
    # py-spy exits 0 whatever the command did; the shim leaves the command's own exit code behind.
    try:
        code = int(status_path.read_text())
    except (OSError, ValueError):
        code = proc.returncode or 1
    return code, log_path.read_text(encoding="utf-8", errors="replace")


# --- the CI gate -------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--workloads",
    default="benchmarks/gate/workloads.json",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--baseline",
    default="benchmarks/gate/baseline.json",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--threshold", default=0.03, show_default=True, help="Relative instruction increase that fails."
)
@click.option("--only", multiple=True, help="Count only this workload (repeatable).")
@click.option(
    "--jobs",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Workloads counted at a time (one core each).",
)
@click.option("--update", is_flag=True, help="Write the counts as the new baseline (on purpose; commit it).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@_errors
def gate(
    workloads: Path,
    baseline: Path,
    threshold: float,
    only: tuple[str, ...],
    jobs: int,
    update: bool,
    as_json: bool,
) -> None:
    """Count the instructions of each pipeline's gate workload under valgrind (callgrind) and compare them
    with the committed baseline: exit 1 when one needs more than THRESHOLD more instructions.

    Example: perfkit gate --only mbp10
    """
    from perfkit import gate as g
    from perfkit.views import render_gate

    if not 0 < threshold < math.inf:
        raise PerfkitError(f"--threshold must be a finite number > 0, got {threshold}")
    old = g.read_baseline(baseline)
    results = g.compare(g.run_gate(workloads, list(only), jobs), old, threshold)
    if as_json:
        rows = [{**r.__dict__, "change": r.change} for r in results]
        _echo_all(json.dumps({"threshold": threshold, "results": rows}, indent=2))
    else:
        render_gate(results, threshold, _console())
    if update:
        g.write_baseline(baseline, results, old)
        click.echo(f"wrote {baseline}: commit it with the change that explains the new counts", err=True)
        return
    missing = [r.name for r in results if r.baseline is None]
    if missing:  # a workload nobody has measured on purpose is not a pass
        click.echo(
            f"no baseline for {', '.join(missing)} in {baseline}: run with --update and commit it", err=True
        )
    sys.exit(1 if missing or any(r.status == "FAIL" for r in results) else 0)
