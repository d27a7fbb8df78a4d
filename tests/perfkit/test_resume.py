"""--resume: after a kill -9, the finished work items of a folder output are kept and only the rest run;
the result equals an uninterrupted run's; other options are refused and the partial work kept."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("processes")
ROOT = Path(__file__).resolve().parents[2]


def _argv(out, log, *extra):
    return [sys.executable, "-m", "tests.perfkit._resume_app", str(out), "--log", str(log), *extra]


def _run(argv):
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _kill_after(argv, log: Path, started: int):
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().split()) < started):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name.endswith((".npy", ".txt"))}


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_killed_run_resumes_with_only_the_rest_and_the_same_result(tmp_path, executor):
    full_log, cut_log = tmp_path / "full.log", tmp_path / "cut.log"
    whole = _run(_argv(tmp_path / "whole", full_log, "--executor", executor))
    assert whole.returncode == 0, whole.stderr

    out = tmp_path / "out"
    _kill_after(_argv(out, cut_log, "--executor", executor), cut_log, started=6)
    assert not out.exists()
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".pk-")]
    assert len(partial) == 1 and (partial[0] / ".perfkit-journal").is_dir()
    before = cut_log.read_text().split()

    resumed = _run(_argv(out, cut_log, "--executor", executor, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    again = cut_log.read_text().split()[len(before) :]
    # At least the first finished items were not run again; every item ran to completion once overall.
    assert len(set(before) - set(again)) >= 3
    assert sorted(set(before) | set(again)) == [f"u{i:02d}" for i in range(12)]
    assert _files(out) == _files(tmp_path / "whole")
    assert not (out / ".perfkit-journal").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pk-")]
    report = json.loads((out / "run_report.json").read_text())
    assert report["metrics"]["resumed_items"] == len(set(before) - set(again))
    assert (
        report["results"]["total"]
        == json.loads((tmp_path / "whole" / "run_report.json").read_text())["results"]["total"]
    )


def test_resume_with_other_options_is_refused_and_the_partial_work_kept(tmp_path):
    out, log = tmp_path / "out", tmp_path / "cut.log"
    _kill_after(_argv(out, log), log, started=4)
    refused = _run(_argv(out, log, "--seed", "2", "--resume"))
    assert refused.returncode != 0
    assert "--resume: the interrupted run of" in refused.stderr and "(seed)" in refused.stderr
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".pk-")]
    assert len(partial) == 1 and (partial[0] / ".perfkit-journal").is_dir()
    # Execution-only options may change: the same seed with another executor resumes.
    resumed = _run(_argv(out, log, "--executor", "processes", "--resume"))
    assert resumed.returncode == 0, resumed.stderr


def test_resume_with_nothing_to_resume_runs_everything(tmp_path):
    out, log = tmp_path / "out", tmp_path / "log"
    done = _run(_argv(out, log, "--resume", "--tasks", "3"))
    assert done.returncode == 0, done.stderr
    assert len(log.read_text().split()) == 3
    assert json.loads((out / "run_report.json").read_text())["metrics"]["resumed_items"] == 0


def test_a_task_file_recorded_absent_counts_as_unchanged_while_absent(tmp_path):
    from perfkit.resume import Journal

    journal = Journal(tmp_path, {})
    journal.record("p", "empty", 1, ["tiles/none.parquet"])
    assert journal.finished("p", ["empty"]) == {"empty": 1}
    (tmp_path / "tiles").mkdir()
    (tmp_path / "tiles" / "none.parquet").write_bytes(b"appeared")
    assert journal.finished("p", ["empty"]) == {}
