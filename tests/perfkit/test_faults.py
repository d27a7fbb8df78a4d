"""Faults survived: a worker process that dies mid-task is replaced and its task retried, up to a limit;
a task that raises is never retried; a real Dask cluster (separate scheduler and worker processes) runs
the work, survives a killed worker and refuses workers that cannot see the run's paths."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
from perfkit.errors import InputError, WorkerLost
from perfkit.parallel import Task, map_tasks, reporting_to
from perfkit.run import Run

from tests.cluster import dask_cluster
from tests.perfkit import _tasks

pytestmark = pytest.mark.xdist_group("processes")


def _tasks_for(folder, mode_of):
    return [Task(f"k{i}", (i, mode_of(i), str(folder)), cost=8 - i) for i in range(6)]


def test_process_worker_killed_mid_task_is_retried_and_recorded(tmp_path):
    tasks = _tasks_for(tmp_path, lambda i: "die-once" if i == 2 else "ok")
    (tmp_path / "clean").mkdir()
    clean = map_tasks(_tasks.survive, _tasks_for(tmp_path / "clean", lambda i: "ok"), executor="serial")
    with Run("test", tmp_path / "report") as run, reporting_to(run):
        got = map_tasks(_tasks.survive, tasks, executor="processes", workers=2)
    assert {k: r.value for k, r in got.items()} == {k: r.value for k, r in clean.items()}
    assert got["k2"].attempts == 2
    assert all(r.attempts == 1 for k, r in got.items() if k != "k2")
    assert run._metrics["retried_items"] == {"k2": 2}


def _fake_rounds(monkeypatch, rounds):
    """`parallel._process_round` replaced by `rounds`, one function a round: each gets the round's tasks and
    the collector and returns what a round returns (None, or ``(started, exit_codes)`` of a broken pool)."""
    from perfkit import parallel

    calls = iter(rounds)
    monkeypatch.setattr(
        parallel, "_process_round", lambda fn, tasks, collect, *a: next(calls)(tasks, collect)
    )


def _finish(tasks, collect, n=None):
    from perfkit.parallel import TaskResult

    for tok, t in tasks[:n]:
        collect(TaskResult(t.key, t.payload, 0.0, "w", 0.0, 0.0), tok)


def test_a_worker_killed_between_two_tasks_reruns_the_rest(monkeypatch):
    """The pool breaks with no task in flight (its worker died between tasks, as seg1b's fault test's kill
    can land) after the round finished some: the rest run again, no task is charged. Until 2026-12-07 this
    ended the run with "died before running any task"."""
    tasks = [Task(f"k{i}", i) for i in range(4)]
    _fake_rounds(
        monkeypatch,
        [
            lambda ts, collect: (_finish(ts, collect, 2), ({0: 11, 1: 12}, {11: -9, 12: -15}))[1],
            lambda ts, collect: _finish(ts, collect),
        ],
    )
    got = map_tasks(_tasks.survive, tasks, executor="processes", workers=2)
    assert sorted(got) == ["k0", "k1", "k2", "k3"]
    assert all(r.attempts == 1 for r in got.values())


def test_a_pool_that_dies_before_any_task_is_not_retried(monkeypatch):
    tasks = [Task(f"k{i}", i) for i in range(3)]
    _fake_rounds(monkeypatch, [lambda ts, collect: ({}, {11: 1, 12: 1})])
    with pytest.raises(WorkerLost, match="died before running any task"):
        map_tasks(_tasks.survive, tasks, executor="processes", workers=2)


def test_process_task_that_always_kills_its_worker_fails_cleanly(tmp_path):
    tasks = _tasks_for(tmp_path, lambda i: "die-always" if i == 4 else "ok")
    t0 = time.monotonic()
    with pytest.raises(WorkerLost, match=r"task 'k4' lost its worker process 3 times \(killed by SIGKILL\)"):
        map_tasks(_tasks.survive, tasks, executor="processes", workers=2, max_attempts=3)
    assert time.monotonic() - t0 < 30
    # Every start of k4 announced itself: exactly three.
    assert len(list(tmp_path.glob("started-k4-*"))) == 3


def test_process_task_that_raises_is_not_retried(tmp_path):
    tasks = _tasks_for(tmp_path, lambda i: "raise" if i == 1 else "ok")
    with pytest.raises(ValueError, match="task k1 raised"):
        map_tasks(_tasks.survive, tasks, executor="processes", workers=2)
    assert len(list(tmp_path.glob("started-k1-*"))) == 1


@pytest.mark.slow
def test_dask_cluster_of_separate_processes_gives_the_local_result_and_survives_a_killed_worker(tmp_path):
    tasks = [Task(f"k{i}", (i, "slow", str(tmp_path)), cost=10 - i) for i in range(8)]
    local = map_tasks(_tasks.survive, tasks, executor="serial")
    for marker in tmp_path.glob("started-*"):
        marker.unlink()
    with dask_cluster(tmp_path, workers=2) as cluster:
        again = map_tasks(_tasks.survive, tasks, executor="dask", scheduler=cluster.address)
        assert {k: r.value for k, r in again.items()} == {k: r.value for k, r in local.items()}
        assert {r.worker for r in again.values()} and all(r.attempts == 1 for r in again.values())

        for marker in tmp_path.glob("started-*"):
            marker.unlink()
        victim = cluster.workers[0].pid

        hold = tmp_path / "hold"  # slow tasks wait while it exists: the victim is mid-task when killed
        hold.touch()

        def kill_when_busy():
            deadline = time.monotonic() + 30
            try:
                while time.monotonic() < deadline:
                    if list(tmp_path.glob(f"started-*-{victim}")):
                        # The start is announced to the scheduler through the worker's batched event
                        # stream (flushed every few ms): killed within those ms, a worker may never
                        # report it (seen once in a loaded CI run: retried_items {}). The task holds
                        # while `hold` exists, so it is still mid-task after this pause.
                        time.sleep(0.3)
                        cluster.kill_worker(0)
                        return
                    time.sleep(0.02)
            finally:
                hold.unlink()

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        with Run("test", tmp_path / "report") as run, reporting_to(run):
            survived = map_tasks(_tasks.survive, tasks, executor="dask", scheduler=cluster.address)
        killer.join()
        assert cluster.workers[0].poll() is not None, "the worker was never killed"
        assert {k: r.value for k, r in survived.items()} == {k: r.value for k, r in local.items()}
        retried = run._metrics.get("retried_items") or {}
        assert retried and all(n == 2 for n in retried.values()), retried
        victims = {m.name.split("-")[1] for m in tmp_path.glob(f"started-*-{victim}")}
        assert set(retried) <= victims


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root for a mount namespace"
)
def test_dask_worker_that_cannot_see_the_input_is_named_and_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "input.bin").write_bytes(b"x")
    with (
        dask_cluster(tmp_path, workers=2, hidden=shared) as cluster,
        Run("test", None) as run,
        reporting_to(run, [(shared / "input.bin", False)]),
        pytest.raises(InputError, match=r"Dask worker tcp://\S+ cannot see .*/shared/input.bin: a cluster"),
    ):
        map_tasks(_tasks.fail_on, [Task("a", 1)], executor="dask", scheduler=cluster.address)


def test_dask_scheduler_that_cannot_be_reached_is_one_input_error():
    with pytest.raises(InputError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        map_tasks(_tasks.fail_on, [Task("a", 1)], executor="dask", scheduler="tcp://127.0.0.1:9")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:notaport", "nonsense", "tcp://host-without-port"])
def test_malformed_scheduler_address_is_one_input_error_at_once(address):
    t0 = time.monotonic()
    with pytest.raises(InputError, match="bad Dask scheduler address"):
        map_tasks(_tasks.fail_on, [Task("a", 1)], executor="dask", scheduler=address)
    assert time.monotonic() - t0 < 5
