"""``batted-ball season`` on a real Dask cluster, with workers killed mid-run, and resumed after a kill -9.

Every run is the installed console script in a scratch folder; every result is compared with one
uninterrupted local (serial) season of the same games and seed: the receipts in the run report must be
equal. The cluster is ``dask scheduler`` + two ``dask worker`` processes (tests/cluster.py), torn down
even when a test fails. Kills are timed by the run's live event log (``events.jsonl`` in the output's
staging folder), not by fixed delays, so they land mid-run whatever the machine's load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.cluster import dask_cluster, receipts, run_report
from tests.hostile import assert_one_line, finish, logged_events, run, start, temporaries

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]
GAMES = 40
SEASON = ["batted-ball", "season", "--games", str(GAMES), "--seed", "7", "--quiet"]
TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict:
    """The receipts of an uninterrupted serial season, the reference every other run must equal."""
    folder = tmp_path_factory.mktemp("local")
    done = run([*SEASON, "--executor", "serial", "--out", "season"], folder, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return receipts(folder / "season")


def _completed(folder: Path) -> list[dict]:
    """The ``item_complete`` events logged so far by the run writing into ``folder``."""
    return logged_events(folder, "item_complete")


def _wait_for_games(proc: subprocess.Popen, folder: Path, n: int) -> list[dict]:
    """Wait until the run has completed at least ``n`` games (or ended); return their events."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        events = _completed(folder)
        if len(events) >= n:
            return events
        time.sleep(0.02)
    return _completed(folder)


def test_season_on_a_cluster_equals_the_local_run_also_with_a_worker_killed(tmp_path, local):
    """Two seasons on a two-worker cluster: one untouched, one whose worker 0 is SIGKILLed once the
    first game is done. Both give the local receipts. What the second can guarantee: the run completes
    on the remaining worker with the same receipts, and any game Dask ran again is reported with 2
    attempts. It cannot say which games are retried, so it does not assert that any is: the game worker 0
    was playing if it was mid-game (it may be between games)."""
    with dask_cluster(tmp_path, workers=2) as cluster:
        plain = run(
            [*SEASON, "--scheduler", cluster.address, "--out", "cluster"], tmp_path, timeout=TIMEOUT_S
        )
        assert plain.returncode == 0, plain.stderr
        # The address from the environment this time, as a user of a cluster would set it once.
        proc = start([*SEASON, "--out", "killed"], tmp_path, DASK_SCHEDULER_ADDRESS=cluster.address)
        events = _wait_for_games(proc, tmp_path, 1)
        cluster.kill_worker(0)
        err = finish(proc, TIMEOUT_S)
    assert proc.returncode == 0, err
    assert 1 <= len(events) < GAMES, "the kill did not land mid-run"
    assert receipts(tmp_path / "cluster") == local
    assert receipts(tmp_path / "killed") == local
    report = run_report(tmp_path / "killed")
    assert report["config"]["executor"] == "dask" and report["config"]["scheduler"] == cluster.address
    retried = report["metrics"].get("retried_items") or {}
    assert all(n == 2 for n in retried.values()), retried


def test_process_pool_season_retries_the_game_of_a_killed_worker(tmp_path, local):
    """A pool worker (a child of the season process that has completed a game) is SIGKILLed while the
    season runs: the pool is restarted, the game it was playing is charged one lost attempt and run
    again, and the season gives the local receipts."""
    proc = start([*SEASON, "--executor", "processes", "--workers", "2", "--out", "season"], tmp_path)
    try:
        events = _wait_for_games(proc, tmp_path, 1)
        children = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        workers = sorted({int(e["worker"].removeprefix("pid-")) for e in events} & children)
        assert workers, f"no pool worker found among {children} ({len(events)} games done)"
        os.kill(workers[0], signal.SIGKILL)
    finally:
        err = finish(proc, TIMEOUT_S)
    assert proc.returncode == 0, err
    assert len(events) < GAMES, "the kill did not land mid-run"
    assert receipts(tmp_path / "season") == local
    # The pool charges the game that was running on the dead worker (it announced its start); if that
    # worker was between games, the games then running on the other one (stopped with the broken pool).
    retried = run_report(tmp_path / "season")["metrics"].get("retried_items") or {}
    assert retried and all(n == 2 for n in retried.values()), retried


def test_killed_season_resumes_with_the_uninterrupted_receipts(tmp_path, local):
    """kill -9 of the season process mid-run leaves its staging folder with a journal of the finished
    games. A rerun with another --seed and --resume is refused in one line and keeps that work; a rerun
    with the same options (another executor may be chosen) plays only the rest and gives the receipts of
    the uninterrupted run."""
    argv = [*SEASON, "--executor", "serial", "--out", "season"]
    proc = start(argv, tmp_path)
    try:
        events = _wait_for_games(proc, tmp_path, 8)
        proc.send_signal(signal.SIGKILL)
    finally:
        finish(proc, TIMEOUT_S)
    assert 8 <= len(events) < GAMES, "the kill did not land mid-run"
    partial = [p for p in tmp_path.glob(".pk-*") if p.is_dir()]
    assert len(partial) == 1 and not (tmp_path / "season").exists()
    journaled = sorted(partial[0].glob(".perfkit-journal/games-*.pkl"))
    assert len(journaled) >= len(events)

    other = [*SEASON, "--seed", "8", "--executor", "serial", "--out", "season", "--resume"]
    refused = run(other, tmp_path, timeout=TIMEOUT_S)
    line = assert_one_line(refused.stderr, 2)
    assert "--resume: the interrupted run of" in line and "(seed)" in line, line
    assert sorted(partial[0].glob(".perfkit-journal/games-*.pkl")) == journaled

    again = [*SEASON, "--executor", "threads", "--workers", "2", "--out", "season", "--resume"]
    resumed = run(again, tmp_path, timeout=TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert receipts(tmp_path / "season") == local
    report = run_report(tmp_path / "season")
    assert report["metrics"]["resumed_items"] == len(journaled) < GAMES
    assert sum(item["worker"] == "resumed" for item in report["items"].values()) == len(journaled)
    assert not temporaries(tmp_path) and not (tmp_path / "season" / ".perfkit-journal").exists()
