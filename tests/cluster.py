"""A real Dask cluster on this machine for tests: ``dask scheduler`` and ``dask worker`` as separate OS
processes, the way a cluster runs them, torn down (the whole process group) even when a test fails.

    with dask_cluster(tmp_path, workers=2) as cluster:
        run_command(["seg1b", "s1", ..., "--scheduler", cluster.address])
        cluster.kill_worker(0)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))
START_TIMEOUT_S = 60.0


@dataclass
class Cluster:
    """A running scheduler and its workers (each ``dask worker`` without a nanny: one process each)."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker, as the OOM killer or a lost node would."""
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(5)

    def processes(self) -> list[subprocess.Popen]:
        return [self.scheduler, *self.workers]


def _wait_for(predicate, what: str, procs: list[subprocess.Popen], timeout_s: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: {proc.args[:2]} exited with {proc.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {timeout_s:g} s")


def _workers_connected(scheduler_file: Path, count: int) -> bool:
    from distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout=10, set_as_default=False) as client:
        return len(client.scheduler_info()["workers"]) >= count


@contextlib.contextmanager
def dask_cluster(tmp_path: Path, workers: int = 2, *, hidden: Path | None = None) -> Iterator[Cluster]:
    """Start a scheduler on a free loopback port and ``workers`` single-threaded workers; stop them all.

    ``hidden``: a folder the LAST worker does not see (it runs in its own mount namespace with an
    empty tmpfs over that folder), as on a cluster node without the shared filesystem; needs root.
    """
    folder = tmp_path / "dask-cluster"
    folder.mkdir()
    scheduler_file = folder / "scheduler.json"
    # The repository root on the path, so workers can import test modules' task functions.
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, NUMBA_NUM_THREADS="1", DASK_DISTRIBUTED__WORKER__DAEMON="False", PYTHONPATH=path)
    logs = []
    procs: list[subprocess.Popen] = []

    def start(argv: list[str], name: str) -> subprocess.Popen:
        log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - closed in the finally below
        logs.append(log)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        procs.append(proc)
        return proc

    try:
        scheduler = start(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            "scheduler",
        )
        _wait_for(scheduler_file.exists, "dask scheduler", procs)
        address = _wait_for(
            lambda: json.loads(scheduler_file.read_text() or "{}").get("address"),
            "dask scheduler address",
            procs,
        )
        cluster = Cluster(address, scheduler)
        for i in range(workers):
            argv = [
                DASK,
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{i}",
                "--local-directory",
                str(folder / f"w{i}"),
            ]
            if hidden is not None and i == workers - 1:
                script = 'mount -t tmpfs perfkit-hidden "$0" && exec "$@"'
                argv = [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    script,
                    str(hidden),
                    *argv,
                ]
            cluster.workers.append(start(argv, f"worker{i}"))
        _wait_for(lambda: _workers_connected(scheduler_file, workers), "dask workers", procs)
        yield cluster
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        for log in logs:
            log.close()


def run_report(folder: Path) -> dict:
    """The run report of a finished folder output; the run must have succeeded."""
    report = json.loads((folder / "run_report.json").read_text())
    assert report["status"] == "ok", report.get("error")
    return report


def receipts(folder: Path) -> dict[str, str]:
    """``{output: digest}`` of a finished folder output's run report."""
    return {name: r["digest"] for name, r in run_report(folder)["receipts"].items()}
