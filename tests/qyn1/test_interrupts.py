"""Ctrl-C, SIGTERM and SIGKILL at every moment of a real ``qyn1 pack --workers 2`` (and once of ``unpack`` and
of ``verify``).

The corpus is a slice of this interpreter's standard library (~5 MB of Python in ~450 files: a few
seconds of work for two process workers). Each signal is sent to the whole process group, as a
terminal's Ctrl-C is, when the run reaches a moment seen from outside, not after a fixed delay (the
machine's load changes how long each phase takes):

* ``imports``: the CLI's signal handlers are installed (``perfkit.launch``) and it is importing;
* ``fork-server start-up``: the fork server exists and is importing numba and the kernels;
* ``worker start-up``: the first worker has been forked from the server;
* ``mid-run``: both workers of the pool are up and encoding (0.3 s after they appear);
* ``unpacking`` (unpack): decoded files are appearing in the output's staging folder;
* ``verifying`` (verify): the two workers of its pool are up, decoding.

The contract: exit 130 (SIGINT) or 143 (SIGTERM), exactly one stderr line ``interrupted``, the parent
gone within 2 s of the signal, no process of the group alive 2 s later (workers, fork server, resource
tracker), the previous package byte-identical, no ``.pk-*`` temporary left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from qyn1 import corpus

from tests.hostile import (
    Interrupted,
    group_processes,
    run,
    temporaries,
    with_children_killed,
)

from ._helpers import KEY, pack_bytes, start

SLICE = ("idlelib", "unittest", "lib2to3", "tkinter", "asyncio", "email", "xml", "multiprocessing")
SOURCES = [str(corpus.stdlib_root() / d) for d in SLICE if (corpus.stdlib_root() / d).is_dir()]
# one folder holding a copy of the slice (made once per module, below): paths in a package are relative to
# each source given, so the eight folders named one by one would clash on their own __init__.py
PACK = ["qyn1", "pack", "<slice>", "--exclude", "__pycache__", "-o", "big.qyn", "--key", "k.key"]
PACK += ["--workers", "2", "--executor", "processes", "--force", "--quiet"]


@pytest.fixture(scope="module", autouse=True)
def _slice_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("slice")
    for src in SOURCES:
        shutil.copytree(src, root / Path(src).name, ignore=shutil.ignore_patterns("__pycache__"))
    PACK[2] = str(root)
    yield
    shutil.rmtree(root, ignore_errors=True)


pytestmark = pytest.mark.skipif(
    sum(p.stat().st_size for s in SOURCES for p in Path(s).rglob("*.py")) < 3_000_000,
    reason="this interpreter's standard library lacks the folders of the interrupt corpus",
)


# -- moments, seen from outside ---------------------------------------------------------------------
def _handles_sigterm(pid: int) -> bool:
    """The process catches SIGTERM: ``perfkit.launch`` installed its handlers, the CLI is importing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def _fork_server_processes(pid: int) -> int:
    return sum("forkserver" in row for row in group_processes(pid))


def _pool_busy(pid: int) -> bool:
    """The fork server and the pool's two workers, seen twice 0.2 s apart (not the warm-up worker leaving
    while the first pool worker arrives)."""
    if _fork_server_processes(pid) < 3:
        return False
    time.sleep(0.2)
    return _fork_server_processes(pid) >= 3


def _staged_files(folder: Path) -> int:
    return sum(1 for d in folder.glob(".pk-*") if d.is_dir() for p in d.rglob("*.py"))


MOMENTS: dict[str, tuple[Callable[[subprocess.Popen, Path], bool], float]] = {
    "imports": (lambda proc, cwd: _handles_sigterm(proc.pid), 0.05),
    "fork-server-start-up": (lambda proc, cwd: _fork_server_processes(proc.pid) >= 1, 0.3),
    "worker-start-up": (lambda proc, cwd: _fork_server_processes(proc.pid) >= 2, 0.0),
    "mid-run": (lambda proc, cwd: _pool_busy(proc.pid), 0.3),
    "unpacking": (lambda proc, cwd: _staged_files(cwd) >= 1, 0.0),  # unpack's staging folder has files
    # verify: its pool's two workers are up (the warm-up's one worker has been joined before): decoding
    "verifying": (lambda proc, cwd: _fork_server_processes(proc.pid) >= 3, 0.05),
}


def signal_when(
    argv: list[str], cwd: Path, moment: str, *, sig: int = signal.SIGINT, timeout: float = 120
) -> Interrupted:
    """``tests.hostile.interrupt``, with the signal sent when ``moment`` is reached (plus its delay)."""
    ready, delay_s = MOMENTS[moment]
    proc = start(argv, cwd)
    try:
        deadline = time.monotonic() + timeout
        while not ready(proc, cwd):
            assert proc.poll() is None, f"finished before {moment}: {proc.returncode}\n{proc.stderr.read()}"
            assert time.monotonic() < deadline, f"{moment} not reached in {timeout} s"
            time.sleep(0.01)
        time.sleep(delay_s)
        t0 = time.monotonic()
        os.killpg(proc.pid, sig)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            err += "\n[did not stop within 30 s; killed]"
        stop_s = time.monotonic() - t0
        survivors = group_processes(proc.pid)
        end = time.monotonic() + 2.0
        while survivors and time.monotonic() < end:
            time.sleep(0.1)
            survivors = group_processes(proc.pid)
        return Interrupted(proc.returncode, err, stop_s, survivors, proc.pid)
    finally:
        with_children_killed(proc.pid)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def scratch(tmp_path) -> Path:
    """A key and a previous package (``big.qyn``) the interrupted runs must leave as they found it."""
    (tmp_path / "k.key").write_bytes(KEY)
    (tmp_path / "big.qyn").write_bytes(pack_bytes({"previous/a.py": b"x = 1\n"}))
    return tmp_path


def assert_clean_stop(r: Interrupted, code: int, folder: Path, previous: bytes) -> None:
    """The contract, in full: exit code, one line ``interrupted``, stopped within 2 s, no survivors, the
    previous package byte-identical, no temporaries."""
    assert r.returncode == code, f"exit {r.returncode}, expected {code}\n{r.stderr}"
    assert r.survivors == [], r.survivors
    assert (folder / "big.qyn").read_bytes() == previous
    assert not temporaries(folder), temporaries(folder)
    assert r.stderr.splitlines() == ["interrupted"], r.stderr
    assert r.stop_s < 2.0, f"the parent took {r.stop_s:.2f} s to stop"


@pytest.mark.parametrize(
    "moment",
    [
        "imports",
        "fork-server-start-up",
        "worker-start-up",
        "mid-run",
    ],
)
def test_sigint_pack(scratch, moment):
    previous = (scratch / "big.qyn").read_bytes()
    r = signal_when(PACK, scratch, moment)
    assert_clean_stop(r, 130, scratch, previous)


def test_sigterm_pack_mid_run(scratch):
    previous = (scratch / "big.qyn").read_bytes()
    r = signal_when(PACK, scratch, "mid-run", sig=signal.SIGTERM)
    assert_clean_stop(r, 143, scratch, previous)


def test_sigkill_parent_leaves_no_process_and_the_next_run_sweeps_its_temporary(scratch):
    """SIGKILL the parent mid-run: workers, fork server and resource tracker exit within 5 s; the killed
    run's staging file stays (nothing could remove it) until the next run writing ``big.qyn`` sweeps it."""
    previous = (scratch / "big.qyn").read_bytes()
    proc_before, survivors = _kill_parent_mid_run(scratch)
    assert sum("forkserver" in row for row in proc_before) >= 3, proc_before  # server + 2 workers were up
    assert any("resource_track" in row for row in proc_before), proc_before  # (ps cuts rows at 80 columns)
    assert survivors == [], survivors
    assert (scratch / "big.qyn").read_bytes() == previous
    stale = temporaries(scratch)
    assert stale, "the killed run left no staging file (was it killed mid-run?)"
    (scratch / "a.py").write_text("a = 1\n")
    res = run(
        ["qyn1", "pack", "a.py", "-o", "big.qyn", "--key", "k.key", "--workers", "1", "--force", "-q"],
        scratch,
    )
    assert res.returncode == 0, res.stderr
    assert not temporaries(scratch), f"not swept: {temporaries(scratch)} (was {stale})"
    assert (scratch / "big.qyn").read_bytes() != previous


def _kill_parent_mid_run(folder: Path) -> tuple[list[str], list[str]]:
    """``tests.hostile.kill_parent``, with the kill sent mid-run (workers up), not after a fixed delay."""
    proc = start(PACK, folder)
    try:
        deadline = time.monotonic() + 120
        while not _pool_busy(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, "mid-run not reached"
            time.sleep(0.01)
        time.sleep(0.3)
        before = group_processes(proc.pid)
        proc.kill()
        proc.wait()
        survivors = group_processes(proc.pid)
        end = time.monotonic() + 5.0
        while survivors and time.monotonic() < end:
            time.sleep(0.2)
            survivors = group_processes(proc.pid)
        return before, survivors
    finally:
        with_children_killed(proc.pid)


def test_sigint_unpack_and_verify_of_a_big_package(scratch):
    """Ctrl-C while ``unpack --workers 2`` is writing files: no output folder appears, nothing is left. Then
    Ctrl-C while ``verify --workers 2`` decodes on its two workers: the same clean stop."""
    res = run([*PACK[:-1]], scratch)  # the whole slice, packed for real (replacing the small package)
    assert res.returncode == 0, res.stderr
    previous = (scratch / "big.qyn").read_bytes()
    argv = ["qyn1", "unpack", "big.qyn", "-o", "out", "--key", "k.key", "--workers", "2", "--quiet"]
    r = signal_when(argv, scratch, "unpacking")
    assert_clean_stop(r, 130, scratch, previous)
    assert not (scratch / "out").exists()
    argv = ["qyn1", "verify", "big.qyn", "--key", "k.key", "--workers", "2", "--quiet"]
    r = signal_when(argv, scratch, "verifying")
    assert_clean_stop(r, 130, scratch, previous)
