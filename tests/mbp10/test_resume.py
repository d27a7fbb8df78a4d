"""`mbp10 run` after a `kill -9` (resumed with `--resume`) and with a process-pool worker SIGKILLed mid-date.

Every run is the installed console script in a scratch folder over the same six small synthetic days, and
every result is compared with one uninterrupted serial run: the receipts (and counters) of the run report
must be equal. Kills are timed by what the run has visibly finished (its journal entries, its live event
log in the staging folder), not by fixed delays, so they land mid-run whatever the machine's load. Runs on
a real Dask cluster are in tests/integration/test_cluster_runs.py.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.cluster import run_report
from tests.hostile import assert_one_line, finish, logged_events, run, start, temporaries

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]
DATES = [dt.date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9)]
RECORDS = 60_000  # a date's bars take ~0.1-0.5 s: there is a mid-run to kill in
ALL = "2024-01-02..2024-01-09"
TIMEOUT_S = 180.0


def _run_argv(*options: str, dates: str = ALL) -> list[str]:
    return ["mbp10", "run", "--input-dir", "days", "--dates", dates, "--quiet", *options]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A scratch folder holding days/ (one synthetic DBN file a date)."""
    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_day, synth_header

    root = tmp_path_factory.mktemp("resume")
    (root / "days").mkdir()
    for i, date in enumerate(DATES):
        path = root / "days" / f"ES-{date:%Y%m%d}.dbn.zst"
        write_dbn(path, synth_header(date), synth_day(date, RECORDS, seed=11 + i))
    return root


def _receipts(report: dict) -> dict:
    return {name: r["digest"] for name, r in report["receipts"].items()}


@pytest.fixture(scope="module")
def local(folder) -> dict:
    """The report of an uninterrupted serial run, the reference every other run must equal."""
    done = run(_run_argv("--executor", "serial", "--out", "local"), folder, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return run_report(folder / "local")


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.glob(".pk-*") if p.is_dir()]


def _journaled(folder: Path) -> list[str]:
    return sorted(p.name for part in _partials(folder) for p in part.glob(".perfkit-journal/*.pkl"))


def _task_events(folder: Path) -> list[dict]:
    """The ``task`` events (one a finished date pass) logged so far by the run staged in ``folder``."""
    return logged_events(folder, "task")


def _wait(proc: subprocess.Popen, ready) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.02)


def test_killed_run_resumes_with_the_uninterrupted_receipts(folder, local):
    """kill -9 of `mbp10 run` once two dates' bars are journaled leaves its staging folder. A rerun with
    --resume and another --horizon-bars, other --dates or a touched input is refused in one line and keeps
    that work; a
    rerun with the same options (another executor) computes only the rest and gives the uninterrupted
    receipts and counters, without the journal or the staging area in the output."""
    proc = start(_run_argv("--executor", "serial", "--out", "out"), folder)
    try:
        _wait(proc, lambda: sum(name.startswith("bars-") for name in _journaled(folder)) >= 2)
        proc.send_signal(signal.SIGKILL)
    finally:
        finish(proc, TIMEOUT_S)
    journaled = _journaled(folder)
    assert 2 <= len(journaled) < 2 * len(DATES), f"the kill did not land mid-run: {journaled}"
    assert len(_partials(folder)) == 1 and not (folder / "out").exists()

    same = ("--executor", "serial", "--out", "out", "--resume")
    for argv, named in (
        (_run_argv(*same, "--horizon-bars", "60"), "(horizon_bars)"),
        (_run_argv(*same, dates="2024-01-02..2024-01-05"), "(dates, input_files)"),  # one input fewer
    ):
        refused = run(argv, folder, timeout=TIMEOUT_S)
        line = assert_one_line(refused.stderr, 2)
        assert "--resume: the interrupted run of" in line and named in line, line
        assert _journaled(folder) == journaled and not (folder / "out").exists()
    # An input touched since the killed run (as a re-download would) counts as another option too.
    touched = next((folder / "days").iterdir())
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        refused = run(_run_argv(*same), folder, timeout=TIMEOUT_S)
    finally:
        os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "(input_files)" in assert_one_line(refused.stderr, 2)
    assert _journaled(folder) == journaled

    again = _run_argv("--executor", "threads", "--workers", "2", "--out", "out", "--resume")
    resumed = run(again, folder, timeout=TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    report = run_report(folder / "out")
    assert _receipts(report) == _receipts(local)
    assert report["counters"] == local["counters"]
    assert report["metrics"]["resumed_items"] == len(journaled)
    assert sorted(p.name for p in (folder / "out").iterdir()) == sorted(
        p.name for p in (folder / "local").iterdir()
    )
    assert not temporaries(folder) and not (folder / "out" / ".perfkit-journal").exists()


def test_process_pool_worker_killed_mid_run_is_retried(folder, local):
    """A pool worker (a child of the run that has finished a date) is SIGKILLed while dates remain: the
    pool is restarted, the date it was running is charged a lost attempt and run again, and the run gives
    the uninterrupted receipts."""
    argv = _run_argv("--executor", "processes", "--workers", "2", "--out", "pool")
    proc = start(argv, folder)
    try:
        _wait(proc, lambda: any(e["worker"].startswith("pid-") for e in _task_events(folder)))
        events = [e for e in _task_events(folder) if e["worker"].startswith("pid-")]
        children = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        workers = sorted({int(e["worker"].removeprefix("pid-")) for e in events} & children)
        assert workers, f"no pool worker found among {children} ({len(events)} dates done)"
        os.kill(workers[0], signal.SIGKILL)
    finally:
        err = finish(proc, TIMEOUT_S)
    assert proc.returncode == 0, err
    assert len(events) < len(DATES), "the kill did not land mid-run"
    report = run_report(folder / "pool")
    assert _receipts(report) == _receipts(local)
    assert report["counters"] == local["counters"]
    # The pool charges the date that was running on the dead worker (it announced its start); if that
    # worker was between dates, the dates then running on the other one (stopped with the broken pool).
    retried = report["metrics"].get("retried_items") or {}
    assert retried and all(n == 2 for n in retried.values()), retried
