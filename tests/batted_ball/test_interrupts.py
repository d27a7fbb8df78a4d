"""Interrupting ``batted-ball season --executor processes --workers 2``: at every phase, by every signal.

The phases of a run, measured on the 2-core CI machine under load (seconds from the start):
imports until ~1-1.6 (the output's staging folder appears when the command claims it), the teams
(league generation, in the parent) until ~3-5, worker start-up (two spawned workers import the package
and build the league) until the first game completes at ~8-16, then games. Signals are sent when a
phase is observed (the process table, the staging folder, the live event log), not after fixed
delays, so the tests hit the phase they name whatever the machine's load.

Each run replaces (``--force``) a previous season output, which must be intact afterwards, with no
``.pk-*`` temporary left and no process of the run's group alive 2 s after the parent exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile import command, group_processes, run, snapshot, temporaries, with_children_killed

GAMES = "1000"  # far more than finish before the last signal: every run is cut mid-season
SEASON = [
    "batted-ball",
    "season",
    "--games",
    GAMES,
    "--seed",
    "5",
    "--executor",
    "processes",
    "--workers",
    "2",
]
OUT = "X"
PHASE_TIMEOUT_S = 120.0


# -- phases ---------------------------------------------------------------------------------------
def _staging(folder: Path) -> list[Path]:
    return [p for p in folder.glob(".pk-*") if p.is_dir()]


def _events(folder: Path) -> str:
    text = ""
    for staging in _staging(folder):
        with contextlib.suppress(OSError):
            text += (staging / "events.jsonl").read_text()
    return text


def imports(_folder: Path, _pgid: int) -> bool:
    """Still importing: nothing claimed yet (the run is a fraction of a second old)."""
    return True


def teams(folder: Path, pgid: int) -> bool:
    """The output is claimed and the league is being built; no worker started yet."""
    return bool(_staging(folder)) and len(group_processes(pgid)) == 1


def workers_spawned(folder: Path, pgid: int) -> bool:
    """The pool's first processes exist (the resource tracker, then the workers); no game completed."""
    return len(group_processes(pgid)) >= 2 and "item_complete" not in _events(folder)


def mid_run(folder: Path, _pgid: int) -> bool:
    """Games are completing."""
    return "item_complete" in _events(folder)


@dataclass
class Stopped:
    returncode: int
    stderr: str
    stop_s: float
    survivors: list[str]
    phase_s: float  # when the phase was seen, from the start


def _start(argv: list[str], cwd: Path, stderr=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen(
        [command(argv[0]), *argv[1:]],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        start_new_session=True,
    )


def _wait_for(proc: subprocess.Popen, folder: Path, phase: Callable, min_s: float = 0.0) -> float:
    t0 = time.monotonic()
    time.sleep(min_s)
    while not phase(folder, proc.pid):
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before the phase {phase.__name__}")
        if time.monotonic() - t0 > PHASE_TIMEOUT_S:
            with_children_killed(proc.pid)
            raise AssertionError(f"phase {phase.__name__} not seen within {PHASE_TIMEOUT_S} s")
        time.sleep(0.02)
    return time.monotonic() - t0


def interrupt_at(
    folder: Path, phase: Callable, sig: int, min_s: float = 0.0, settle_s: float = 0.0
) -> Stopped:
    """Start the season, send ``sig`` to its process group (a terminal's Ctrl-C) ``settle_s`` after
    ``phase`` holds (and not before ``min_s``)."""
    proc = _start([*SEASON, "--out", OUT, "--force"], folder)
    try:
        phase_s = _wait_for(proc, folder, phase, min_s) + settle_s
        time.sleep(settle_s)
        t0 = time.monotonic()
        os.killpg(proc.pid, sig)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            err += "\n[did not stop within 30 s; killed]"
        stop_s = time.monotonic() - t0
        deadline = time.monotonic() + 2.0
        survivors = group_processes(proc.pid)
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = group_processes(proc.pid)
        return Stopped(proc.returncode, err, stop_s, survivors, phase_s)
    finally:
        with_children_killed(proc.pid)


# -- a previous output every run must leave intact ----------------------------------------------------
@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("previous")
    result = run(
        [
            "batted-ball",
            "season",
            "--games",
            "1",
            "--seed",
            "1",
            "--executor",
            "serial",
            "--out",
            OUT,
            "--quiet",
        ],
        folder,
    )
    assert result.returncode == 0, result.stderr
    return folder / OUT


@pytest.fixture
def scratch(previous: Path, tmp_path: Path) -> Path:
    shutil.copytree(previous, tmp_path / OUT)
    return tmp_path


CASES = [
    # id, phase, signal, not before (s), settle after the phase (s), exit code
    pytest.param(imports, signal.SIGINT, 0.3, 0.0, 130, id="sigint-imports"),
    pytest.param(teams, signal.SIGINT, 0.0, 0.0, 130, id="sigint-teams"),
    pytest.param(workers_spawned, signal.SIGINT, 0.0, 0.0, 130, id="sigint-worker-spawn"),
    pytest.param(workers_spawned, signal.SIGINT, 0.0, 1.0, 130, id="sigint-worker-start-up"),
    pytest.param(mid_run, signal.SIGINT, 0.0, 0.0, 130, id="sigint-mid-run"),
    pytest.param(workers_spawned, signal.SIGTERM, 0.0, 0.0, 143, id="sigterm-worker-spawn"),
]


@pytest.mark.parametrize(("phase", "sig", "min_s", "settle_s", "code"), CASES)
def test_interrupt(scratch: Path, phase, sig, min_s, settle_s, code):
    before = snapshot(scratch)
    stopped = interrupt_at(scratch, phase, sig, min_s, settle_s)
    where = f"{phase.__name__} (signal at {stopped.phase_s:.1f} s)"
    assert stopped.returncode == code, f"{where}: exit {stopped.returncode}\n{stopped.stderr}"
    assert stopped.stderr == "interrupted\n", f"{where}: stderr {stopped.stderr!r}"
    assert stopped.stop_s < 2.0, f"{where}: took {stopped.stop_s:.2f} s to stop"
    assert not stopped.survivors, f"{where}: survivors {stopped.survivors}"
    assert snapshot(scratch) == before, f"{where}: the previous output changed"
    assert not temporaries(scratch), f"{where}: left {temporaries(scratch)}"


# -- SIGKILL of the parent alone, then the next run sweeps what it left ----------------------------------
@pytest.fixture(scope="module")
def killed(tmp_path_factory, previous: Path):
    """SIGKILL only the parent mid-run; report its group's processes before and 5 s after."""
    folder = tmp_path_factory.mktemp("killed")
    shutil.copytree(previous, folder / OUT)
    before_snapshot = snapshot(folder / OUT)
    proc = _start([*SEASON, "--out", OUT, "--force"], folder, stderr=subprocess.DEVNULL)
    try:
        _wait_for(proc, folder, mid_run)
        alive_before = group_processes(proc.pid)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 5.0
        survivors = group_processes(proc.pid)
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = group_processes(proc.pid)
    finally:
        with_children_killed(proc.pid)
    return folder, before_snapshot, alive_before, survivors


def test_sigkill_of_the_parent_leaves_no_workers(killed):
    folder, before_snapshot, alive_before, survivors = killed
    assert len(alive_before) >= 3, alive_before  # the parent and its two workers were running
    assert not survivors, f"alive 5 s after the parent was killed: {survivors}"
    assert snapshot(folder / OUT) == before_snapshot  # the killed run never touched the output


def test_next_run_sweeps_the_killed_runs_temporaries(killed):
    folder, *_ = killed
    assert temporaries(folder), "the SIGKILLed run should have left its staging folder"
    result = run(
        [
            "batted-ball",
            "season",
            "--games",
            "1",
            "--seed",
            "2",
            "--executor",
            "serial",
            "--out",
            OUT,
            "--force",
            "--quiet",
        ],
        folder,
    )
    assert result.returncode == 0, result.stderr
    assert not temporaries(folder), temporaries(folder)
    assert '"seed": 2' in (folder / OUT / "league.json").read_text()


# -- a single command: Ctrl-C while it builds the league, with an explicit --report-dir ------------------
def test_game_interrupted_keeps_a_failed_report_only_in_report_dir(tmp_path: Path):
    """``game`` is one long call chain (league generation, then the game): Ctrl-C is acted on at once,
    and the explicit ``--report-dir`` keeps a ``failed`` report (the only place a failed run leaves one)."""
    import json

    proc = _start(["batted-ball", "game", "--seed", "3", "--report-dir", "R"], tmp_path)
    try:
        # the run has started: its staged report folder holds the live event log
        _wait_for(proc, tmp_path, lambda folder, _pgid: any(folder.rglob(".pk-*/events.jsonl")))
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        stop_s = time.monotonic() - t0
    finally:
        with_children_killed(proc.pid)
    assert proc.returncode == 130 and err == "interrupted\n", (proc.returncode, err)
    assert stop_s < 2.0, stop_s
    assert json.loads((tmp_path / "R" / "run_report.json").read_text())["status"] == "failed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R"] and not temporaries(tmp_path)
