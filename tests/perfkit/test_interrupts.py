"""Interrupts and orphans through perfkit's process executor: clean stop within 2 s, no survivors.

Runs ``_slow_cli.py`` (a real click CLI on ``perfkit.job`` and ``map_tasks``) as a subprocess in its own
session; signals go to the whole process group, as a terminal's Ctrl-C does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile import at_least, interrupt, kill_parent, run, temporaries

SCRIPT = str(Path(__file__).with_name("_slow_cli.py"))


def _argv(out: str, *extra: str) -> list[str]:
    return [sys.executable, SCRIPT, "go", out, "--workers", "2", *extra]


@pytest.fixture
def previous(tmp_path) -> Path:
    """A finished earlier run whose output must survive interrupted reruns."""
    result = run(_argv("out", "--tasks", "2", "--task-s", "0"), tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / "result.txt"


def _tasks_running(folder: Path):
    return lambda _pgid: (folder / "running").exists()


# Moments: while importing (0.3 s after start), as the first helper process appears (pool or cluster
# start-up), and 0.5 s after the first task started in a worker (mid-run).
MOMENTS = ["imports", "start-up", "mid-run"]
EXECUTORS = {
    "spawn": ["--executor", "processes"],
    "forkserver": ["--executor", "processes", "--preload"],
    "dask": ["--executor", "dask"],
}


def _moment(name: str, folder: Path):
    return {"imports": (0.3, None), "start-up": (0.0, at_least(2)), "mid-run": (0.5, _tasks_running(folder))}[
        name
    ]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_sigint_stops_cleanly_and_keeps_the_previous_output(tmp_path, previous, moment, executor):
    argv = _argv("out", "--force", "--mark", "running", *EXECUTORS[executor])
    after_s, when = _moment(moment, tmp_path)
    res = interrupt(argv, tmp_path, after_s=after_s, when=when, sig=signal.SIGINT)
    assert res.returncode == 130, res.stderr
    assert res.stderr.strip() == "interrupted", res.stderr
    assert res.stop_s < 2.0
    assert res.survivors == []
    assert previous.read_text() == "2 tasks\n"
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_sigterm_stops_cleanly(tmp_path, previous, executor):
    argv = _argv("out", "--force", "--mark", "running", *EXECUTORS[executor])
    res = interrupt(argv, tmp_path, after_s=0.5, when=_tasks_running(tmp_path), sig=signal.SIGTERM)
    assert res.returncode == 143, res.stderr
    assert res.stderr.strip() == "interrupted"
    assert res.stop_s < 2.0 and res.survivors == []
    assert previous.read_text() == "2 tasks\n"
    assert temporaries(tmp_path) == []


# Runs the script named by the next argument with SIGHUP's disposition set first ({} = SIG_DFL or SIG_IGN).
_RUN_WITH_SIGHUP = (
    "import runpy, signal, sys; signal.signal(signal.SIGHUP, signal.{}); sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_sighup_of_a_closed_terminal_stops_cleanly(tmp_path, previous, executor):
    """The terminal or SSH session closes: the shell sends SIGHUP to the job's process group. The run
    stops as it does for SIGTERM (exit 129), its workers ignore the signal and are stopped by the parent,
    and nothing is left: before, the parent died at once, leaving its staging folder and a warning."""
    # Started with SIGHUP at its default, as from an interactive shell (pytest itself may have been started
    # with it ignored, e.g. in the background, and an ignored SIGHUP is kept: the `nohup` case below).
    argv = [sys.executable, "-c", _RUN_WITH_SIGHUP.format("SIG_DFL"), SCRIPT, "go", "out", "--workers", "2"]
    argv += ["--force", "--mark", "running", *EXECUTORS[executor]]
    res = interrupt(argv, tmp_path, after_s=0.5, when=_tasks_running(tmp_path), sig=signal.SIGHUP)
    assert res.returncode == 129, res.stderr
    assert res.stderr.strip() == "interrupted"
    assert res.stop_s < 2.0 and res.survivors == []
    assert previous.read_text() == "2 tasks\n"
    assert temporaries(tmp_path) == []


def test_a_run_under_nohup_keeps_running_through_sighup(tmp_path):
    """``nohup`` starts the command with SIGHUP ignored: it must stay ignored, the run finishing normally."""
    argv = [
        sys.executable,
        "-c",
        _RUN_WITH_SIGHUP.format("SIG_IGN"),
        SCRIPT,
        "go",
        "out",
        "--workers",
        "2",
        "--tasks",
        "2",
        "--task-s",
        "1.5",
        "--mark",
        "running",
    ]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "running").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGHUP)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr
    assert (tmp_path / "out" / "result.txt").read_text() == "2 tasks\n"
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_sigkilled_parent_leaves_no_workers_and_the_next_run_sweeps_its_temporaries(tmp_path, executor):
    argv = _argv("out", "--task-s", "30", "--mark", "running", *EXECUTORS[executor])
    before, survivors = kill_parent(argv, tmp_path, after_s=0.5, when=_tasks_running(tmp_path), wait_s=5.0)
    assert len(before) >= 3, before  # the parent and its workers were running
    assert survivors == [], survivors
    assert temporaries(tmp_path), "the killed run should have left its staging folder"
    result = run(_argv("out", "--tasks", "1", "--task-s", "0"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert temporaries(tmp_path) == []
    assert (tmp_path / "out" / "result.txt").read_text() == "1 tasks\n"


def _buffered(argv: list[str], cwd: Path, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """Run ``_slow_cli.py`` with stdout block-buffered, as Python has it on a pipe or file by default
    (``PYTHONUNBUFFERED``, set on some machines, would hide what happens to the last buffered bytes)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, SCRIPT, "go", *argv], cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE,
        text=True, timeout=120,
    )  # fmt: skip


def test_a_finished_command_ends_its_process_with_atexit_run_and_stdout_flushed(tmp_path):
    """A command's own process ends with ``os._exit`` once the command returns (no interpreter
    teardown): ``atexit`` handlers still run and buffered stdout still arrives."""
    proc = _buffered(
        ["out", "--tasks", "2", "--task-s", "0", "--workers", "2", "--exit-mark", "exit.txt"], tmp_path
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "2 tasks done\n"
    assert (tmp_path / "exit.txt").read_text() == "atexit ran\n"
    assert (tmp_path / "out" / "result.txt").read_text() == "2 tasks\n"


def test_a_finished_command_whose_stdout_was_closed_stops_quietly(tmp_path):
    """Its reader gone (``| head``), the command's last buffered output cannot be written: no traceback,
    no "Exception ignored" from the interpreter's exit (which would then exit 120), the Unix status 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = _buffered(
            ["out", "--tasks", "1", "--task-s", "0", "--executor", "serial", "--quiet"], tmp_path, write_end
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_pool_start_up_keeps_signals_held_even_when_the_resource_tracker_starts():
    """multiprocessing's resource tracker unblocks SIGINT/SIGTERM when it starts; perfkit starts it first,
    so the workers of a pool are never spawned with Ctrl-C live (they would print a traceback)."""
    code = (
        "import signal, perfkit.parallel as p, multiprocessing as mp, concurrent.futures as cf\n"
        "p._start_resource_tracker()\n"
        "from perfkit import interrupts\n"
        "with interrupts.deferred():\n"
        "    pool = cf.ProcessPoolExecutor(1, mp_context=mp.get_context('spawn'))\n"
        "    pool.submit(int, 1).result()\n"
        "    print(sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))\n"
        "pool.shutdown()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted([int(signal.SIGINT), int(signal.SIGTERM), int(signal.SIGHUP)]))


def test_ctrl_c_that_an_import_turns_into_another_error_is_still_an_interrupt(tmp_path):
    """numpy re-raises a KeyboardInterrupt that hits its C extension's import as ``ImportError: numpy._core
    .umath failed to import`` (seen once in this suite at 0.3 s). A module that does the same, with the
    signal sent from inside its import so the moment is certain: the command says ``interrupted``, exit 130."""
    (tmp_path / "wrapping_app.py").write_text(
        "import os, signal, time\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    raise ImportError('wrapping_app._core failed to import') from None\n"
        "main = None\n"
    )
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from perfkit.launch import launch; launch('wrapping_app:main')"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert (res.returncode, res.stderr) == (130, "interrupted\n")
