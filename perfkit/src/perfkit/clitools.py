"""Pieces every pipeline CLI shares: common options, one-line errors, profiling, progress bars."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from perfkit._atomic import atomic_path
from perfkit.profiling import profile

__all__ = ["Progress", "atomic_path", "common_options", "handle_errors", "profiling", "progress"]


def common_options(fn: Callable) -> Callable:
    """Add ``--profile``, ``--report-dir``, ``--workers`` and ``--quiet`` to a click command."""
    options = [
        click.option(
            "--profile",
            "profile",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write a cProfile .pstats here (and profile_top.json beside it).",
        ),
        click.option(
            "--report-dir",
            "report_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where run_report.json and events.jsonl go (default: beside the output).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=os.cpu_count() or 1,
            show_default=True,
            help="Parallel workers.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary, only errors."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def handle_errors(bad_input: tuple[type[BaseException], ...] = ()) -> Callable:
    """Turn exceptions into one line on stderr: bad input -> exit 2, anything else -> exit 1.

    ``PERFKIT_TRACEBACK=1`` re-raises instead, for debugging.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                raise
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                sys.exit(130)
            except Exception as exc:
                if os.environ.get("PERFKIT_TRACEBACK"):
                    raise
                message = " ".join(str(exc).split()) or type(exc).__name__
                if bad_input and isinstance(exc, bad_input):
                    click.echo(f"error: {message}", err=True)
                    sys.exit(2)
                click.echo(f"internal error: {type(exc).__name__}: {message}", err=True)
                sys.exit(1)

        return wrapper

    return decorate


def profiling(path: str | os.PathLike | None):
    """``perfkit.profile(path)``, or a no-op context when ``path`` is None."""
    return profile(path) if path is not None else contextlib.nullcontext()


class Progress:
    """A rich progress bar (done/total, rate, ETA), or nothing when quiet or not on a terminal."""

    def __init__(self, total: float | None, description: str, quiet: bool = False):
        self.enabled = not quiet and sys.stdout.isatty()
        self._bar = None
        self._task = None
        self.total = total
        self.description = description

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, rate="")
        return self

    def advance(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)
            speed = self._bar.tasks[0].speed
            self._bar.update(self._task, rate=f"{speed:,.1f}/s" if speed else "")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@contextlib.contextmanager
def progress(total: float | None, description: str, quiet: bool = False) -> Iterator[Progress]:
    """Context manager form of :class:`Progress`."""
    with Progress(total, description, quiet) as bar:
        yield bar
