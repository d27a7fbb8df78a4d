"""Pieces every pipeline CLI shares: common options, one exit-code table, one-line errors, progress bars.

Exit codes, the same in every CLI (the README's table):

====  ==========================================================================================
0     ok
2     bad input, a bad option, an output that cannot be written, or a limit of the machine (memory,
      disk space, open files): one line naming the file, field or value; click usage errors too
130   interrupted by SIGINT (Ctrl-C); 143 by SIGTERM; 129 by SIGHUP -- one line ``interrupted``, no traceback
1     a bug: one line asking to report it (``PERFKIT_TRACEBACK=1`` shows the traceback)
====  ==========================================================================================
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from perfkit import interrupts, limits, stdstreams
from perfkit._atomic import atomic_path
from perfkit.errors import InputError, Interrupted, WorkerLost
from perfkit.errors import one_line as _one_line
from perfkit.profiling import profile

__all__ = [
    "EXECUTORS",
    "Group",
    "Progress",
    "atomic_path",
    "common_options",
    "executor_option",
    "handle_errors",
    "profiling",
    "progress",
]

EXECUTORS = ("serial", "threads", "processes", "dask")
EXIT_BAD_INPUT = 2
EXIT_BUG = 1
# OS errors that mean "this path cannot be read or written", i.e. the user's input, not a bug.
_USER_OS_ERRORS = {
    errno.ENOENT,
    errno.EACCES,
    errno.EPERM,
    errno.ENOSPC,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EXDEV,
    errno.ENOTEMPTY,
}


def _workers_option() -> Callable:
    cap = limits.max_workers()
    return click.option(
        "--workers",
        type=click.IntRange(min=1, max=cap),
        default=limits.default_workers(),
        show_default=True,
        help=f"Parallel workers (at most {cap}: 8 per core).",
    )


class NotAnOptionPath(click.Path):
    """A path whose value is not one of the command's own options: ``--report-dir --force`` (the folder
    forgotten) would otherwise write a folder named ``--force`` and not replace the output. Nor ``--``
    (``--out --`` made a folder named ``--``), nor, for a file, a name ending in a slash (``--out sdir/``
    wrote a file ``sdir``)."""

    def convert(self, value, param, ctx):
        if ctx is not None and isinstance(value, str):
            options = {o for p in ctx.command.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}
            if value in options or value == "--":
                self.fail(
                    f"{value!r} is an option, not a path (for a file of that name write ./{value})",
                    param,
                    ctx,
                )
            if not self.dir_okay and value.endswith(("/", os.sep)):
                self.fail(f"{value!r} ends with a slash, which names a folder; give a file name", param, ctx)
        return super().convert(value, param, ctx)


def common_options(fn: Callable | None = None, *, workers: bool = True) -> Callable:
    """Add ``--profile``, ``--report-dir``, ``--workers``, ``--force`` and ``--quiet`` to a click command.

    ``@common_options(workers=False)`` leaves ``--workers`` out, for a command that runs one thing
    (nothing to spread over workers, so the option is not offered and click refuses it).
    """
    if fn is None:
        return lambda f: common_options(f, workers=workers)
    options = [
        click.option(
            "--profile",
            "profile",
            type=NotAnOptionPath(dir_okay=False, path_type=Path),
            default=None,
            help="Write a cProfile .pstats here (and its top functions beside it, suffix .top.json).",
        ),
        click.option(
            "--report-dir",
            "report_dir",
            type=NotAnOptionPath(file_okay=False, path_type=Path),
            default=None,
            help="Write run_report.json and events.jsonl here (default: inside a folder output; "
            "commands writing single files keep no report unless this is given). Never emptied.",
        ),
        *([_workers_option()] if workers else []),
        click.option(
            "--force", is_flag=True, help="Replace existing outputs (atomically; never foreign files)."
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary, only errors."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def executor_option(choices=EXECUTORS, default: str = "processes") -> Callable:
    """The ``--executor`` option, one definition for every command that runs work in parallel."""
    return click.option(
        "--executor",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="How work items run: " + ", ".join(choices) + ".",
    )


SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"


def scheduler_option() -> Callable:
    """The ``--scheduler`` option (or ``DASK_SCHEDULER_ADDRESS``): run the work on an existing Dask cluster.

    Pass the value through :func:`executor_for` with the command's ``--executor``.
    """
    return click.option(
        "--scheduler",
        envvar=SCHEDULER_VARIABLE,
        default=None,
        metavar="ADDRESS",
        help=f"Run the work on the Dask cluster at this scheduler (tcp://host:8786; or ${SCHEDULER_VARIABLE}). "
        "Inputs and outputs must be on a filesystem every worker sees. Implies --executor dask.",
    )


def executor_for(executor: str, scheduler: str | None) -> str:
    """The executor to use: ``dask`` when a scheduler is given, unless another one was asked for by name.

    ``--scheduler`` with an explicit ``--executor processes`` (say) is a contradiction: InputError.
    """
    if not scheduler:
        return executor
    ctx = click.get_current_context(silent=True)
    explicit = ctx is not None and ctx.get_parameter_source("executor") not in (
        None,
        click.core.ParameterSource.DEFAULT,
    )
    if explicit and executor != "dask":
        raise InputError(
            f"--scheduler {scheduler} runs on a Dask cluster; it cannot be used with --executor {executor}"
        )
    return "dask"


def _exit(message: str, code: int) -> None:
    """Say ``message`` on stderr and exit with ``code``; a stderr that cannot take it (its reader gone:
    ``2>&1 | grep -q ...``) loses the line, never the exit code."""
    with contextlib.suppress(OSError):
        click.echo(message, err=True)
    sys.exit(code)


def _interrupted(code: int) -> None:
    interrupts.ignore_further()
    with contextlib.suppress(Exception):
        click.echo("interrupted", err=True)
    interrupts.exit_interrupted(code)


def _os_error_line(exc: OSError) -> str:
    """``error: <reason in words>[: <file>]``, the reason from the errno: a library's own text can be
    longer and carry the errno's digits (pyarrow: "Error writing bytes to file. Detail: [errno 28] ...")."""
    if exc.errno == errno.ENOENT and not exc.filename and _cwd_gone():
        return "error: the current folder no longer exists (it was deleted or moved); cd to one that does"
    where = f": {exc.filename}" if exc.filename else ""
    reason = os.strerror(exc.errno) if exc.errno else exc.strerror or _one_line(exc)
    return f"error: {reason}{where}"


def _cwd_gone() -> bool:
    """Whether the working folder was removed under the command (``os.getcwd`` then fails with ENOENT and no
    file name, wherever a relative path is made absolute)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return True
    return False


def _too_many_files_line(exc: OSError) -> str:
    """A limit of the environment, not a bug: say which and how to raise it."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if exc.errno == errno.ENFILE:
        return "error: the system's table of open files is full; close other programs or use fewer --workers"
    return (
        f"error: too many open files (ulimit -n is {soft}); raise it (ulimit -n 4096) or use fewer --workers"
    )


def handle_errors(bad_input: tuple[type[BaseException], ...] = ()) -> Callable:
    """Run a command under the exit-code table: one line on stderr, never a traceback.

    ``bad_input`` are the package's own exception types that mean bad input (exit 2), besides
    :class:`perfkit.errors.InputError`. SIGTERM is turned into :class:`Interrupted` first, so cleanup
    runs as it does for Ctrl-C. ``PERFKIT_TRACEBACK=1`` re-raises unexpected errors, for debugging.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            interrupts.install()
            try:
                result = fn(*args, **kwargs)
                interrupts.raise_if_received()  # an interrupt that something swallowed still ends the command
                return result
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                raise
            except KeyboardInterrupt:
                _interrupted(130)
            except Interrupted as exc:
                _interrupted(exc.exit_code)
            except Exception as exc:
                _handle_exception(exc, bad_input)

        return wrapper

    return decorate


def _interrupt_inside(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or Interrupted an exception was raised from (a Ctrl-C inside a C extension's
    import surfaces as ``SystemError`` caused by it), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (KeyboardInterrupt, Interrupted)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _handle_exception(exc: Exception, bad_input: tuple[type[BaseException], ...]) -> None:
    """Exit under the table for an exception that is not itself an interrupt (never returns)."""
    cause = _interrupt_inside(exc)
    if cause is not None:
        _interrupted(cause.exit_code if isinstance(cause, Interrupted) else 130)
    signum = interrupts.received()
    if signum is not None:
        _interrupted(128 + signum)
    debug = bool(os.environ.get("PERFKIT_TRACEBACK"))
    if isinstance(exc, (InputError, *bad_input)):
        _exit(f"error: {_one_line(exc)}", EXIT_BAD_INPUT)
    if isinstance(exc, WorkerLost):
        _exit(f"error: {_one_line(exc)}", EXIT_BUG)
    if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM and not debug):
        # ENOMEM: a library's allocation or memory map that the address-space limit refused (pyarrow's
        # "Memory mapping file failed: Cannot allocate memory" under ulimit -v).
        _exit("error: out of memory; try a smaller size or fewer --workers", EXIT_BAD_INPUT)
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE) and not debug:
        _exit(_too_many_files_line(exc), EXIT_BAD_INPUT)
    if isinstance(exc, BrokenPipeError):
        # stdout closed early (`| head`): the Unix convention is to stop quietly.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    if isinstance(exc, OSError) and exc.errno in _USER_OS_ERRORS and not debug:
        _exit(_os_error_line(exc), EXIT_BAD_INPUT)
    if debug:
        raise exc
    _bug(exc)


def _bug(exc: BaseException) -> None:
    _exit(
        f"internal error: {type(exc).__name__}: {_one_line(exc)} (this is a bug; please report it with "
        "the command line, or rerun with PERFKIT_TRACEBACK=1 for details)",
        EXIT_BUG,
    )


@contextlib.contextmanager
def _past_click() -> Iterator[None]:
    """Ctrl-C as :class:`Interrupted`, which click lets through: click catches ``KeyboardInterrupt``
    itself and prints a blank line before re-raising it as ``Abort``, so ``interrupted`` would not be
    the one line on stderr."""
    try:
        yield
    except KeyboardInterrupt as exc:
        raise Interrupted(signal.SIGINT) from exc


class Group(click.Group):
    """A click group whose usage errors are one line (``error: seg1b s1: Invalid value ...``), exit 2."""

    def make_context(self, info_name, args, parent=None, **extra):
        with _past_click():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx):
        with _past_click():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        interrupts.install()
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help as written, on stderr
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else (prog_name or self.name)
            hint = f" (see '{where} --help')"
            _exit(f"error: {where}: {_one_line(exc.format_message())}{hint}", exc.exit_code)
        except click.ClickException as exc:
            _exit(f"error: {_one_line(exc.format_message())}", exc.exit_code)
        except click.Abort:
            _interrupted(130)
        except KeyboardInterrupt:
            _interrupted(130)
        except Interrupted as exc:
            _interrupted(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


def write_stdout(data) -> None:
    """Write all of ``data`` (bytes) to standard output, then flush.

    A write to a pipe whose reader leaves mid-write (``| head -c 1``) can return short without an error:
    CPython's buffered writer then reports the bytes that went and drops the rest, and the command would
    exit 0 with its output cut. So write until all is taken; the next write fails with EPIPE, and the
    exit table turns that BrokenPipeError into the quiet 141 of the Unix convention. A standard output
    that was closed when the command started (``>&-``) is refused rather than written to ``/dev/null``:
    this output is the command's result (:mod:`perfkit.stdstreams`).
    """
    if stdstreams.closed_at_start(1):
        raise InputError("standard output is closed (the command was started with >&-): nothing written")
    out = sys.stdout.buffer
    view = memoryview(data).cast("B")
    while view:
        taken = out.write(view)
        if not taken:
            raise BrokenPipeError(errno.EPIPE, "standard output took no bytes")
        view = view[taken:]
    out.flush()


def profiling(path: str | os.PathLike | None):
    """``perfkit.profile(path)``, or a no-op context when ``path`` is None."""
    return profile(path) if path is not None else contextlib.nullcontext()


class Progress:
    """A rich progress bar (done/total, rate, ETA), or nothing when quiet or not on a terminal.

    Totals may be weighted (estimated cells, records): counts are shown rounded, with thousands
    separators and ``unit`` ("tiles", "games"), never as raw floats.
    """

    def __init__(self, total: float | None, description: str, quiet: bool = False, unit: str = ""):
        self.enabled = not quiet and sys.stdout.isatty()
        self._bar = None
        self._task = None
        self.total = total
        self.description = description
        self.unit = f" {unit}" if unit else ""

    def _counts(self, done: float) -> str:
        total = "?" if self.total is None else f"{self.total:,.0f}"
        return f"{done:,.0f}/{total}{self.unit}"

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[counts]}"),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                self.description, total=self.total, rate="", counts=self._counts(0)
            )
        return self

    def advance(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)
            task = self._bar.tasks[0]
            speed = task.speed
            self._bar.update(
                self._task,
                rate=f"{speed:,.0f}{self.unit}/s" if speed else "",
                counts=self._counts(task.completed),
            )

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@contextlib.contextmanager
def progress(
    total: float | None, description: str, quiet: bool = False, unit: str = ""
) -> Iterator[Progress]:
    """Context manager form of :class:`Progress`."""
    with Progress(total, description, quiet, unit) as bar:
        yield bar
