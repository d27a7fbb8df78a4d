"""Ctrl-C, SIGTERM and SIGKILL on the real ``seg1b`` console script, at the moments that matter (issue 11).

``seg1b s1 --countries ne110m --resolution-arcsec 60 --workers 2`` (the issue's reproduction, at 1:110m: 55 M
tiles, ~1.5 min of units on 2 cores) reruns with ``--force`` over an earlier S1 output and is interrupted at
each phase of its start-up and run. Measured phases (2 busy cores, load ~4): interpreter imports 0-1.5 s;
outputs claimed, countries loaded and units planned within ~0.1 s after; two spawned workers importing
~1 s; the first staged tile file ~1.1 s after the spawn; units from then on. The moments are found by
watching the run (the live event log in its staging folder, the process group, the staged files), not by
fixed sleeps only, so they hold under load.

Every interrupt must: exit 130 (SIGINT) or 143 (SIGTERM) with exactly one stderr line ``interrupted``, stop
within 2 s, leave no process of the group alive, leave the earlier output byte-identical, and leave no
``.pk-*`` temporary.
"""

from __future__ import annotations

import functools
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from tests.hostile import at_least, group_processes, interrupt, kill_parent, run, snapshot, temporaries

S1_RUN = ["seg1b", "s1", "--countries", "ne110m", "--resolution-arcsec", "60", "--workers", "2",
          "--out", "out", "--force", "--quiet"]  # fmt: skip
S1_QUICK = ["seg1b", "s1", "--countries", "ne110m", "--resolution-arcsec", "3600", "--only", "FJI",
            "--workers", "1", "--out", "out", "--force", "--quiet"]  # fmt: skip
IMPORTS_AT_S = 0.5  # the interpreter is importing click/numpy/perfkit (>= 1 s in all)
_scratch: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    if "dir" in _scratch:
        shutil.rmtree(_scratch.pop("dir"), ignore_errors=True)


@functools.cache
def _earlier_output() -> Path:
    """A real earlier S1 output (1-degree cells, FJI and NLD; with its perfkit marker), made once in-process."""
    from seg1b.s1.pipeline import S1Params, run_s1

    d = _scratch.setdefault("dir", Path(tempfile.mkdtemp(prefix="seg1b-interrupts-")))
    run_s1(
        S1Params(
            out=str(d / "out"), countries="ne110m", resolution_arcsec=3600, only=("FJI", "NLD"), workers=1
        )
    )
    return d / "out"


@functools.cache
def _s6_inputs() -> Path:
    """A plan over the earlier S1 output and an earlier S6 output, made once in-process."""
    from seg1b.s6.pipeline import S6Params, run_s6
    from seg1b.sites import run_sites

    d = _earlier_output().parent
    run_sites(d / "out", 20_000, 1, d / "plan.parquet")
    run_s6(
        S6Params(
            tiles=str(d / "out"), sites=str(d / "plan.parquet"), seed=7, out=str(d / "s6"), countries="ne110m"
        )
    )
    return d


def _staged(folder: Path, pattern: str) -> list[Path]:
    return list(folder.glob(f".pk-*/{pattern}"))


def _run_started(folder: Path) -> bool:
    return any('"run_start"' in p.read_text(errors="replace") for p in _staged(folder, "events.jsonl"))


class Moment:
    """A ``when`` condition for ``tests.hostile.interrupt`` that remembers the process group it fired on."""

    def __init__(self, ready):
        self.ready = ready
        self.group: list[str] = []

    def __call__(self, pgid: int) -> bool:
        if self.ready(pgid):
            self.group = group_processes(pgid)
            return True
        return False


def moments(folder: Path) -> dict:
    """name -> (``after_s``, ``when``) for :func:`tests.hostile.interrupt`."""
    workers = at_least(3)  # the parent, the resource tracker and a spawned worker
    return {
        "imports": (IMPORTS_AT_S, None),
        "outputs-claimed": (0.0, Moment(lambda pgid: _run_started(folder))),
        "worker-start-up": (
            0.0,
            Moment(lambda pgid: workers(pgid) and not _staged(folder, "tiles/*.parquet")),
        ),
        "mid-run": (0.0, Moment(lambda pgid: bool(_staged(folder, "tiles/*.parquet")))),
    }


ROWS = [
    ("imports", signal.SIGINT),
    ("outputs-claimed", signal.SIGINT),
    ("worker-start-up", signal.SIGINT),
    ("mid-run", signal.SIGINT),
    ("mid-run", signal.SIGTERM),
]


@pytest.mark.parametrize(("moment", "sig"), ROWS, ids=[f"{m}-{signal.Signals(s).name}" for m, s in ROWS])
def test_s1_interrupted(moment, sig, tmp_path):
    shutil.copytree(_earlier_output(), tmp_path / "out")
    before = snapshot(tmp_path)
    after_s, when = moments(tmp_path)[moment]
    stopped = interrupt(S1_RUN, tmp_path, after_s=after_s, when=when, sig=sig)
    print(
        f"{moment} {signal.Signals(sig).name}: stopped in {stopped.stop_s:.2f} s; group {getattr(when, 'group', '')}"
    )
    if moment in (
        "worker-start-up",
        "mid-run",
    ):  # the right moment: the parent, the resource tracker, workers
        assert len(when.group) >= 3, when.group
    assert stopped.returncode == 128 + sig, (stopped.returncode, stopped.stderr)
    assert [line for line in stopped.stderr.splitlines() if line.strip()] == ["interrupted"], stopped.stderr
    assert stopped.stop_s < 2.0, f"stopped {stopped.stop_s:.2f} s after the signal"
    assert not stopped.survivors, stopped.survivors
    assert snapshot(tmp_path) == before  # the earlier output intact, nothing new (no report: none asked)
    assert not temporaries(tmp_path)


def test_s1_sigkilled_leaves_no_process_and_the_rerun_sweeps_its_temporaries(tmp_path):
    """SIGKILL the parent mid-run: its workers notice and exit within 5 s (no orphans); the killed run's
    staging folder stays behind (nothing could remove it) until the next run of the same output sweeps it."""
    shutil.copytree(_earlier_output(), tmp_path / "out")
    before_out = snapshot(tmp_path / "out")
    group, survivors = kill_parent(
        S1_RUN, tmp_path, after_s=0.0, when=lambda pgid: bool(_staged(tmp_path, "tiles/*.parquet"))
    )
    print(f"SIGKILL of the parent: {len(group)} processes in the group before, {len(survivors)} 5 s after")
    assert sum("multiprocessing.spawn" in p for p in group) >= 1, group  # workers were running
    assert not survivors, survivors
    assert snapshot(tmp_path / "out") == before_out
    assert temporaries(tmp_path), "the killed run's staging folder should still be there"
    result = run(S1_QUICK, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not temporaries(tmp_path), temporaries(tmp_path)  # swept: its pid is gone
    assert snapshot(tmp_path / "out") != before_out  # replaced by the rerun (FJI only)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_s6_interrupted_while_its_process_workers_start(sig, tmp_path):
    """``s6 --executor processes``: the spawned workers import the kernels (~1-2 s) before the first unit."""
    d = _s6_inputs()
    for name in ("out", "s6"):
        shutil.copytree(d / name, tmp_path / name)
    shutil.copy(d / "plan.parquet", tmp_path / "plan.parquet")
    before = snapshot(tmp_path)
    argv = ["seg1b", "s6", "--tiles", "out", "--sites", "plan.parquet", "--seed", "8", "--countries", "ne110m",
            "--executor", "processes", "--workers", "2", "--out", "s6", "--force", "--quiet"]  # fmt: skip
    workers = Moment(at_least(3))
    stopped = interrupt(argv, tmp_path, after_s=0.3, when=workers, sig=sig)
    print(
        f"s6 {signal.Signals(sig).name} at worker start-up: stopped in {stopped.stop_s:.2f} s; group {workers.group}"
    )
    assert len(workers.group) >= 3, workers.group  # the parent, the resource tracker, a worker being spawned
    assert stopped.returncode == 128 + sig, (stopped.returncode, stopped.stderr)
    assert [line for line in stopped.stderr.splitlines() if line.strip()] == ["interrupted"], stopped.stderr
    assert stopped.stop_s < 2.0, f"stopped {stopped.stop_s:.2f} s after the signal"
    assert not stopped.survivors, stopped.survivors
    assert snapshot(tmp_path) == before
    assert not temporaries(tmp_path)


@pytest.mark.parametrize(("after_s", "sig"), [(1.0, signal.SIGINT), (3.0, signal.SIGTERM)])
def test_sites_with_a_large_count_stays_responsive(after_s, sig, tmp_path):
    """30 M sites (~1 GB, ~15 s on one core): drawing, the site-id permutation, its inverse and the writes
    all give way to a signal within 2 s; the earlier plan is untouched."""
    shutil.copytree(_earlier_output(), tmp_path / "s1")
    (tmp_path / "plan.parquet").write_bytes(b"an earlier plan\n")
    before = snapshot(tmp_path)
    argv = ["seg1b", "sites", "--tiles", "s1", "--count", "30000000", "--seed", "1", "--out", "plan.parquet",
            "--force", "--quiet"]  # fmt: skip
    claimed = Moment(lambda pgid: bool(list(tmp_path.glob(".pk-*"))))  # the plan's staging file exists
    stopped = interrupt(argv, tmp_path, after_s=after_s, when=claimed, sig=sig)
    print(f"sites {signal.Signals(sig).name} {after_s} s after the claim: stopped in {stopped.stop_s:.2f} s")
    assert stopped.returncode == 128 + sig, (stopped.returncode, stopped.stderr)
    assert [line for line in stopped.stderr.splitlines() if line.strip()] == ["interrupted"], stopped.stderr
    assert stopped.stop_s < 2.0, f"stopped {stopped.stop_s:.2f} s after the signal"
    assert not stopped.survivors, stopped.survivors
    assert snapshot(tmp_path) == before
    assert not temporaries(tmp_path)
