"""Long commands against a real Dask cluster on this machine (``dask scheduler`` + two ``dask worker``
processes, see tests/cluster.py): the receipts equal the local run's, also when a worker is killed in
the middle of the run. Here ``mbp10 run``; each other long command has the same check in its package's
tests (tests/<package>/test_cluster.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster import dask_cluster

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]
BIN = Path(sys.executable).parent


def _run(argv, cwd, **kwargs):
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True, **kwargs)


def _receipts(folder: Path) -> dict:
    report = json.loads((folder / "run_report.json").read_text())
    assert report["status"] == "ok"
    return {name: r["digest"] for name, r in report["receipts"].items()}


def _days(folder: Path, dates: list[str], records: int) -> None:
    folder.mkdir()
    for i, date in enumerate(dates):
        out = folder / f"{date}.dbn.zst"
        done = _run(
            [
                "mbp10",
                "synth",
                "--date",
                date,
                "--records",
                str(records),
                "--seed",
                str(i + 1),
                "--out",
                str(out),
                "--quiet",
            ],
            folder,
        )
        assert done.returncode == 0, done.stderr


DATES = [f"2024-01-{d:02d}" for d in (2, 3, 4, 5, 8, 9)]


def test_mbp10_run_on_a_cluster_gives_the_local_receipts_also_with_a_worker_killed_mid_run(tmp_path):
    """One cluster, two runs on it: the address from ``DASK_SCHEDULER_ADDRESS`` (no flag), then
    ``--scheduler`` with worker 0 SIGKILLed once the first task has finished. (seg1b, qyn1 and
    batted-ball have the same check in their own tests/<package>/test_cluster.py.)"""
    _days(tmp_path / "days", DATES, 30_000)
    run = ["mbp10", "run", "--input-dir", "days", "--dates", f"{DATES[0]}..{DATES[-1]}", "--quiet"]
    local = _run([*run, "--out", "local"], tmp_path)
    assert local.returncode == 0, local.stderr
    with dask_cluster(tmp_path, workers=2) as cluster:
        env = dict(os.environ, DASK_SCHEDULER_ADDRESS=cluster.address)
        on_cluster = _run([*run, "--out", "cluster"], tmp_path, env=env)
        assert on_cluster.returncode == 0, on_cluster.stderr
        argv = [
            str(BIN / "mbp10"),
            *run[1:],
            "--executor",
            "dask",
            "--scheduler",
            cluster.address,
            "--out",
            "killed",
        ]
        proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill worker 0 once the first task (a date's bars) has finished: mid-run (the events log is in the
        # staging folder; mbp10 logs its items only after both passes).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            logs = list(tmp_path.glob(".pk-*/events.jsonl"))
            if logs and '"task"' in logs[0].read_text():
                cluster.kill_worker(0)
                break
            time.sleep(0.05)
        _, err = proc.communicate(timeout=300)
        killed = cluster.workers[0].poll() is not None
    assert _receipts(tmp_path / "cluster") == _receipts(tmp_path / "local")
    assert proc.returncode == 0, err
    assert killed, "the run ended before a worker could be killed"
    assert _receipts(tmp_path / "killed") == _receipts(tmp_path / "local")
    report = json.loads((tmp_path / "killed" / "run_report.json").read_text())
    # Worker 0 was busy when it was killed unless the run was in its last item: then nothing is retried.
    retried = report["metrics"].get("retried_items") or {}
    assert all(n == 2 for n in retried.values()), retried
