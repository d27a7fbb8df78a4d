"""Helpers of the hostile-input suite: run a console command as a user would and check the contract.

Every pipeline's ``tests/<pipeline>/test_hostile.py`` is a table of :class:`Case` rows (argv, setup,
expected exit code, a fragment of the one stderr line) checked by :func:`check_case`; interrupt and
orphan tests use :func:`interrupt` and :func:`group_processes`. Commands run as real subprocesses of
the installed console scripts, in their own session, so signals and process tables are real.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Case:
    """One hostile-input row: ``argv`` run in a scratch folder after ``setup(folder)``."""

    id: str
    argv: list[str]
    exit_code: int
    stderr_has: str = ""
    setup: Callable[[Path], None] | None = None
    untouched: bool = True  # every file present before the run is byte-identical after it
    env: dict = field(default_factory=dict)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def command(name: str) -> str:
    """Path of an installed console script (``seg1b``, ``mbp10``...)."""
    path = BIN / name
    return str(path) if path.exists() else name


def run(argv: list[str], cwd: Path, timeout: float = 120, env: dict | None = None) -> Result:
    """Run ``argv`` (its first element a console-script name) in ``cwd``; never on a terminal."""
    full_env = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    full_env.pop("PERFKIT_TRACEBACK", None)
    proc = subprocess.run(
        [command(argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: relative path -> content digest (``<dir>`` for folders)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        mode = path.lstat().st_mode
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            out[rel] = f"<special {stat.S_IFMT(mode):o}>"  # a FIFO or device: never read it
        elif path.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    return out


def temporaries(folder: Path) -> list[str]:
    """perfkit temporaries (``.pk-*``) left anywhere under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".pk-*"))


def assert_one_line(stderr: str, code: int) -> str:
    """stderr is one line and has no traceback; returns the line."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{stderr}"
    if code == 2:
        assert lines[0].startswith("error: "), lines[0]
    if code == 1:
        assert lines[0].startswith("internal error: "), lines[0]
    return lines[0]


def check_case(case: Case, folder: Path) -> Result:
    """Run one row and check: exit code, one stderr line containing ``stderr_has``, no traceback,
    earlier files untouched (when ``untouched``), no perfkit temporaries left."""
    if case.setup is not None:
        case.setup(folder)
    before = snapshot(folder)
    result = run(case.argv, folder, env=case.env)
    assert result.returncode == case.exit_code, (
        f"{case.id}: exit {result.returncode}, expected {case.exit_code}\n{result.stderr}"
    )
    if case.exit_code != 0:
        line = assert_one_line(result.stderr, case.exit_code)
        assert case.stderr_has.lower() in line.lower(), f"{case.id}: {line!r} lacks {case.stderr_has!r}"
    else:
        assert "Traceback" not in result.stderr, result.stderr
    if case.untouched:
        after = snapshot(folder)
        changed = {k for k in before if after.get(k) != before[k]}
        assert not changed, f"{case.id}: changed or removed {sorted(changed)}"
        if case.exit_code != 0:
            assert set(after) == set(before), f"{case.id}: left {sorted(set(after) - set(before))}"
    assert not temporaries(folder), f"{case.id}: temporaries left {temporaries(folder)}"
    return result


def group_processes(pgid: int) -> list[str]:
    """Live processes of process group ``pgid`` (``pid cmd``), zombies excluded."""
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,stat=,args=", "-g", str(pgid)], capture_output=True, text=True
    )
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and not parts[1].startswith("Z"):
            rows.append(line.strip())
    return rows


def _start(argv: list[str], cwd: Path, env: dict | None, *, stderr) -> subprocess.Popen:
    """Start a console command in its own session (its own process group), as a user's shell would."""
    return subprocess.Popen(
        [command(argv[0]), *argv[1:]],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})},
        start_new_session=True,
    )


def start(argv: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    """Start a console command in its own session with stderr kept, for a test that acts while it runs."""
    return _start(argv, cwd, env, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for a command started with :func:`start`; return its stderr; leave nothing of its group."""
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        with_children_killed(proc.pid)
    return err


def logged_events(folder: Path, event: str) -> list[dict]:
    """The ``event`` records logged so far by a run staging its folder output in ``folder``."""
    records = []
    for log in folder.glob(".pk-*/events.jsonl"):
        with contextlib.suppress(OSError):
            for line in log.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("event") == event:
                        records.append(record)
    return records


def _wait_until(proc: subprocess.Popen, when: Callable[[int], bool] | None, timeout: float) -> None:
    """Poll ``when(pgid)`` every 20 ms until it holds, the process ends, or ``timeout`` passes."""
    if when is None:
        return
    deadline = time.monotonic() + timeout
    while not when(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


def _survivors_after(pgid: int, wait_s: float) -> list[str]:
    """The group's live processes, waiting up to ``wait_s`` for stragglers to exit."""
    deadline = time.monotonic() + wait_s
    survivors = group_processes(pgid)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.1)
        survivors = group_processes(pgid)
    return survivors


@dataclass
class Interrupted:
    returncode: int
    stderr: str
    stop_s: float  # from the signal to the parent's exit
    survivors: list[str]  # processes of the group still alive 2 s after the parent exited
    pgid: int


def interrupt(
    argv: list[str],
    cwd: Path,
    *,
    after_s: float,
    sig: int = signal.SIGINT,
    whole_group: bool = True,
    env: dict | None = None,
    timeout: float = 60,
    when: Callable[[int], bool] | None = None,
) -> Interrupted:
    """Start ``argv`` in its own session, send ``sig`` (to the whole process group, as a terminal's
    Ctrl-C does, or to the parent only) and report how it stopped.

    The signal goes ``after_s`` seconds after the start, or, with ``when``, ``after_s`` seconds after
    ``when(pgid)`` first returns True (polled every 20 ms; e.g. :func:`at_least` processes), so a moment
    such as "worker start-up" is hit whatever the machine's load.
    """
    proc = _start(argv, cwd, env, stderr=subprocess.PIPE)
    _wait_until(proc, when, timeout)
    time.sleep(after_s)
    t0 = time.monotonic()
    try:
        if whole_group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        err += "\n[hostile: did not stop within the timeout; killed]"
    stop_s = time.monotonic() - t0
    survivors = _survivors_after(proc.pid, 2.0)
    with_children_killed(proc.pid)
    return Interrupted(proc.returncode, err, stop_s, survivors, proc.pid)


def at_least(n: int) -> Callable[[int], bool]:
    """A ``when`` condition: the process group has at least ``n`` live processes."""
    return lambda pgid: len(group_processes(pgid)) >= n


def kill_parent(
    argv: list[str],
    cwd: Path,
    *,
    after_s: float,
    env: dict | None = None,
    wait_s: float = 5.0,
    when: Callable[[int], bool] | None = None,
    timeout: float = 60,
):
    """SIGKILL only the parent ``after_s`` after the start (or after ``when(pgid)``, as in :func:`interrupt`);
    return the group's processes just before, and those still alive ``wait_s`` later."""
    proc = _start(argv, cwd, env, stderr=subprocess.DEVNULL)
    _wait_until(proc, when, timeout)
    time.sleep(after_s)
    before = group_processes(proc.pid)
    proc.kill()
    proc.wait()
    survivors = _survivors_after(proc.pid, wait_s)
    with_children_killed(proc.pid)
    return before, survivors


def with_children_killed(pgid: int) -> None:
    """Clean up after a test that failed: SIGKILL anything left in the group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
