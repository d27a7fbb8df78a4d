"""A tiny pipeline CLI for perfkit's own interrupt and orphan tests: slow tasks in a process pool.

``python _slow_cli.py go OUT --tasks N --task-s S --workers W [--preload]`` writes OUT/result.txt through
``perfkit.job``; each task sleeps S seconds in a worker process.
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path

import click
from perfkit.clitools import Group, common_options, executor_option, handle_errors
from perfkit.job import job
from perfkit.parallel import Task, map_tasks


def slow_task(payload: tuple[float, str | None]) -> float:
    seconds, mark = payload
    if mark:
        Path(mark).touch()  # tells a test that tasks are running
    time.sleep(seconds)
    return seconds


@click.group(cls=Group)
def main() -> None:
    """Slow test pipeline."""


@main.command()
@click.argument("out", type=click.Path())
@click.option("--tasks", type=int, default=6)
@click.option("--task-s", type=float, default=3.0)
@click.option("--preload", is_flag=True)
@click.option("--mark", default=None, help="A file each task touches when it starts.")
@click.option("--exit-mark", default=None, help="A file an atexit handler writes when the process ends.")
@executor_option()
@common_options
@handle_errors()
def go(out, tasks, task_s, preload, mark, exit_mark, executor, profile, report_dir, workers, force, quiet):
    """Run slow tasks and write OUT/result.txt; print (buffered, not flushed) how many ran."""
    if exit_mark:
        atexit.register(Path(exit_mark).write_text, "atexit ran\n")
    with job(
        "slow", "go", config={}, directories=[out], force=force, report_dir=report_dir, profile=profile
    ) as j:
        results = map_tasks(
            slow_task,
            [Task(str(i), (task_s, mark)) for i in range(tasks)],
            executor=executor,
            workers=workers,
            preload=["json"] if preload else (),
        )
        (j.path(out) / "result.txt").write_text(f"{len(results)} tasks\n")
    print(f"{len(results)} tasks done")
