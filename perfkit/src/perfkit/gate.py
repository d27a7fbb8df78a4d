"""The CI performance gate: instructions, not seconds, of a small fixed workload per pipeline.

Wall-clock time on a shared CI machine moves 10-40% from run to run; the number of instructions a program
executes does not (valgrind counts them on a synthetic CPU). `perfkit gate` runs each workload of
`benchmarks/gate/workloads.json` under callgrind and compares the count with `benchmarks/gate/baseline.json`:
a workload that needs more than `threshold` (3%) more instructions fails the gate.

Only the workload is counted, and only it runs instrumented. valgrind starts with instrumentation off
(`--instr-atstart=no`: about 5x slower than native instead of 50-100x); the probe imports everything and
runs the command once (imports, lazy imports, Numba cache loads, first-call set-up), then switches
instrumentation and collection on with callgrind client requests, runs the command again, and switches
collection off. The commands run in-process through their console entry points, with one worker, one Numba
thread and PYTHONHASHSEED=0, so the count does not depend on scheduling.

The client requests are valgrind's documented "special instruction" sequence (valgrind.h, amd64), written
to an executable page and called with ctypes, so no compiler or header is needed; outside valgrind the
sequence does nothing and returns 0.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit import interrupts
from perfkit.reports import PerfkitError, load_json

__all__ = ["DEFAULT_THRESHOLD", "GateResult", "compare", "count_instructions", "load_workloads", "run_gate"]

DEFAULT_THRESHOLD = 0.03
# Same environment for the native warm-up and the counted run: one thread everywhere, fixed hashing.
_ENV = {
    "PYTHONHASHSEED": "0",
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PERFKIT_GATE": "1",
    # Numba's cache is keyed by the CPU it sees, and valgrind's synthetic CPU is not the host's: with the
    # host's name, every kernel the native warm-up pass cached was compiled again under valgrind (about
    # 2 of the gate's 4 minutes on a fresh clone). One generic x86-64 target for both passes shares the
    # cache, and makes the counts independent of the CI host's SIMD extensions.
    "NUMBA_CPU_NAME": "generic",
}
_TOTALS = re.compile(r"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


@dataclass
class GateResult:
    """One workload: instructions counted now, the baseline's, and the verdict."""

    name: str
    instructions: int
    baseline: int | None
    wall_s: float
    status: str = "new"  # ok | FAIL | improved | new

    @property
    def change(self) -> float | None:
        if not self.baseline:
            return None
        return self.instructions / self.baseline - 1


# Child processes running now (set-up, native warm-up, valgrind): an interrupt or a failed workload kills
# them all, so Ctrl-C stops the gate at once instead of after the running counts finish.
_RUNNING: set[subprocess.Popen] = set()
_LOCK = threading.Lock()
_STOP = threading.Event()


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a child process (tracked, killable by `_stop_all`): (exit code, its output)."""
    with _LOCK:
        if _STOP.is_set():
            raise PerfkitError("gate stopped")
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _RUNNING.add(proc)
    try:
        out, _ = proc.communicate()
    finally:
        with _LOCK:
            _RUNNING.discard(proc)
    return proc.returncode, out


def _stop_all() -> None:
    with _LOCK:
        _STOP.set()
        procs = list(_RUNNING)
    for proc in procs:
        with contextlib.suppress(OSError):
            proc.kill()


def load_workloads(path: str | Path) -> dict[str, dict[str, Any]]:
    """`{"workloads": {name: {"setup": [argv, ...], "command": argv}}}` (a console script run in-process) or
    `{name: {"call": "FILE.py:FUNCTION"}}` (FUNCTION() builds inputs and returns the work); `{tmp}` and `{out}`
    are filled in, `{repo}` is the folder holding `benchmarks/`, `{stdlib}` this Python's standard library."""
    doc = load_json(path, what="gate workloads")
    workloads = doc.get("workloads") if isinstance(doc, dict) else None
    if not isinstance(workloads, dict) or not workloads:
        raise PerfkitError(f"{path}: expected an object with a non-empty 'workloads' object")
    for name, spec in workloads.items():
        if isinstance(spec, dict) and isinstance(spec.get("call"), str) and ":" in spec["call"]:
            file, function = spec["call"].rsplit(":", 1)
            spec["command"] = ["@call", file, function]
        command = spec.get("command") if isinstance(spec, dict) else None
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise PerfkitError(f"{path}: workload {name!r} needs a 'command' list of strings or a 'call'")
    return workloads


def _fill(argv: list[str], **places: str) -> list[str]:
    return [a.format(**places) for a in argv]


def _entry_point(script: str):
    matches = importlib.metadata.entry_points(group="console_scripts", name=script)
    if not matches:
        raise PerfkitError(f"{script!r} is not a console script of this environment")
    return next(iter(matches)).load()


def _call(argv: list[str]) -> int:
    """Run a console script in this process with stdout/stderr sent to /dev/null; its exit code."""
    main = _entry_point(argv[0])
    saved = sys.argv
    sys.argv = list(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    out, err = os.dup(1), os.dup(2)
    os.dup2(null, 1)
    os.dup2(null, 2)
    try:
        with interrupts.hosted():
            main()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (null, out, err):
            os.close(fd)
        sys.argv = saved


# amd64 System V: rdi = pointer to the request words, rsi = default result. valgrind reads the request from
# rax and answers in rdx; the four rotations of rdi add up to 128 bits (a no-op) and mark the request.
_CLIENT_REQUEST_AMD64 = bytes.fromhex(
    "4889f8"  # mov rax, rdi
    "4889f2"  # mov rdx, rsi
    "48c1c703" "48c1c70d" "48c1c73d" "48c1c733"  # rol rdi, 3 / 13 / 61 / 51
    "4887db"  # xchg rbx, rbx
    "4889d0"  # mov rax, rdx
    "c3"  # ret
)  # fmt: skip
_RUNNING_ON_VALGRIND = 0x1001
_CALLGRIND = (ord("C") << 24) | (ord("T") << 16)  # VG_USERREQ_TOOL_BASE('C', 'T'), callgrind.h
_TOGGLE_COLLECT, _START_INSTRUMENTATION = _CALLGRIND + 2, _CALLGRIND + 4
_request_page: list[Any] = []  # keeps the executable page alive


def _client_request(code: int) -> int:
    """Issue a valgrind client request (no arguments); 0 outside valgrind."""
    import mmap
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        raise PerfkitError(f"perfkit gate issues valgrind requests for x86-64 only, not {platform.machine()}")
    if not _request_page:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(_CLIENT_REQUEST_AMD64)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        kind = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.c_ulong)
        _request_page.extend([page, kind(address)])
    words = (ctypes.c_ulong * 6)(code, 0, 0, 0, 0, 0)
    return int(_request_page[1](words, 0))


@contextlib.contextmanager
def counted() -> Iterator[bool]:
    """Count the block's instructions and nothing else, when this process runs under callgrind started with
    ``--instr-atstart=no --collect-atstart=no`` (as :func:`count_instructions` starts it): instrumentation
    and collection are switched on for the block and collection off after it. Yields whether the process
    runs under valgrind; outside it the block simply runs. For benchmarks that count a kernel's
    instructions per record as well as the gate's workloads."""
    under_valgrind = _client_request(_RUNNING_ON_VALGRIND) > 0
    if under_valgrind:
        _client_request(_START_INSTRUMENTATION)
        _client_request(_TOGGLE_COLLECT)
    try:
        yield under_valgrind
    finally:
        if under_valgrind:
            _client_request(_TOGGLE_COLLECT)


def _function_workload(path: str, name: str):
    """`name()` from the Python file `path`: it builds its inputs and returns the zero-argument work."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_perfkit_gate_{Path(path).stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"gate workload: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


def probe(argv: list[str], scratch: str) -> None:
    """Inside valgrind (or natively, to warm up): run the workload once uncounted, then once counted.

    A command `argv` holds `{out}`, filled with `scratch/a` for the first call and `scratch/b` for the
    counted one (same length, so the two calls handle the same strings). `["@call", FILE, FUNCTION]` is a
    function workload: FUNCTION() builds its inputs (uncounted) and returns the work, called twice.
    """
    if argv[0] == "@call":
        work = _function_workload(argv[1], argv[2])

        def run(_: str) -> int:
            work()
            return 0
    else:

        def run(out: str) -> int:
            code = _call(_fill(argv, out=os.path.join(scratch, out)))
            if code != 0:
                raise SystemExit(f"gate workload failed (exit {code}): {' '.join(argv)}")
            return code

    run("a")
    with counted():
        run("b")


def count_instructions(
    name: str, spec: dict[str, Any], repo: Path, valgrind: str = "valgrind"
) -> tuple[int, float]:
    """Set up, warm natively, then count the workload's instructions under callgrind: (count, wall seconds)."""
    env = {**os.environ, **_ENV}
    with tempfile.TemporaryDirectory(prefix=f"perfkit-gate-{name}-") as tmp:
        places = {"tmp": tmp, "repo": str(repo), "stdlib": sysconfig.get_paths()["stdlib"]}
        for step in spec.get("setup", []):
            argv = _fill(step, **places)
            argv[0] = shutil.which(argv[0], path=str(Path(sys.executable).parent)) or argv[0]
            code, log = _run(argv, env)
            if code != 0:
                tail = log.strip().splitlines()[-1:]
                raise PerfkitError(f"gate workload {name}: set-up step failed: {' '.join(argv)}: {tail}")
        command = json.dumps(_fill(spec["command"], **places, out="{out}"))
        t0 = time.perf_counter()
        for pass_name in ("native", "valgrind"):
            scratch = os.path.join(tmp, pass_name)
            os.mkdir(scratch)
            code = f"import json, perfkit.gate as g; g.probe(json.loads({command!r}), {scratch!r})"
            argv = [sys.executable, "-c", code]
            out_file = os.path.join(tmp, "callgrind.out")
            if pass_name == "valgrind":
                argv = [valgrind, "--tool=callgrind", "--collect-atstart=no", "--instr-atstart=no",
                        f"--callgrind-out-file={out_file}", *argv]  # fmt: skip
            code, log = _run(argv, env)
            if code != 0:
                tail = log.strip().splitlines()[-1:]
                raise PerfkitError(f"gate workload {name} failed ({pass_name}, exit {code}): {tail}")
        wall = time.perf_counter() - t0
        totals = _TOTALS.findall(Path(out_file).read_text(encoding="utf-8", errors="replace"))
        if not totals:
            raise PerfkitError(f"gate workload {name}: callgrind wrote no instruction total")
        return int(totals[-1]), wall


def compare(
    counts: dict[str, tuple[int, float]], baseline: dict[str, int], threshold: float
) -> list[GateResult]:
    """Verdict per workload: FAIL above `threshold` more instructions; improved below the same margin."""
    out = []
    for name, (n, wall) in counts.items():
        r = GateResult(name, n, baseline.get(name), wall)
        if r.change is not None:
            r.status = "FAIL" if r.change > threshold else "improved" if r.change < -threshold else "ok"
        out.append(r)
    return out


def read_baseline(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    doc = load_json(path, what="gate baseline")
    counts = doc.get("instructions") if isinstance(doc, dict) else None
    if not isinstance(counts, dict) or not all(isinstance(v, int) for v in counts.values()):
        raise PerfkitError(f"{path}: expected an object with an 'instructions' object of integers")
    return counts


def write_baseline(path: Path, results: list[GateResult], old: dict[str, int]) -> None:
    from perfkit._atomic import write_json_atomic
    from perfkit._host import git_revision, host_facts

    counts = {**old, **{r.name: r.instructions for r in results}}
    doc = {
        "comment": "Instructions per gate workload (callgrind Ir); update on purpose: make perf-gate UPDATE=1",
        "git_revision": git_revision(),
        "host": host_facts(),
        "valgrind": _valgrind_version(),
        "instructions": dict(sorted(counts.items())),
    }
    write_json_atomic(path, doc)


def _valgrind_version(valgrind: str = "valgrind") -> str | None:
    with contextlib.suppress(OSError):
        return subprocess.run(
            [valgrind, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return None


def run_gate(
    workloads_path: Path, only: list[str] | None = None, jobs: int = 2
) -> dict[str, tuple[int, float]]:
    """Count every (or the `only`) workload, `jobs` at a time: {name: (instructions, wall seconds)}."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise PerfkitError("valgrind not found on PATH (Debian: apt-get install valgrind)")
    workloads = load_workloads(workloads_path)
    names = only or list(workloads)
    unknown = [n for n in names if n not in workloads]
    if unknown:
        raise PerfkitError(f"unknown gate workload(s) {', '.join(unknown)} (known: {', '.join(workloads)})")
    repo = Path(workloads_path).resolve().parent.parent.parent
    _STOP.clear()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {n: pool.submit(count_instructions, n, workloads[n], repo, valgrind) for n in names}
        return {n: f.result() for n, f in futures.items()}
    except BaseException:  # a failed workload, Ctrl-C, SIGTERM: stop the others now
        _stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
