"""perfkit.job: where a command's report goes, and what is left after success, bad input or a failure."""

from __future__ import annotations

import json
import os

import pytest
from perfkit.errors import InputError
from perfkit.job import job


class DomainError(Exception):
    pass


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_folder_output_carries_its_report(tmp_path):
    with job("demo", "build", config={"n": 1}, directories=[tmp_path / "out"]) as j:
        (j.path(tmp_path / "out") / "data.txt").write_text("x")
        j.run.count("rows", 3)
    report = json.loads((tmp_path / "out" / "run_report.json").read_text())
    assert report["status"] == "ok" and report["config"] == {"command": "build", "n": 1}
    assert j.report_path == tmp_path / "out" / "run_report.json"
    assert sorted(os.listdir(tmp_path / "out")) == [
        ".perfkit-output",
        "data.txt",
        "events.jsonl",
        "run_report.json",
    ]


def test_one_file_output_keeps_no_report_unless_asked(tmp_path):
    with job("demo", "one", files=[tmp_path / "a.parquet"]) as j:
        j.path(tmp_path / "a.parquet").write_text("a")
    assert _tree(tmp_path) == ["a.parquet"]
    assert j.report_path is None and j.run.report["status"] == "ok"
    with job("demo", "one", files=[tmp_path / "b.parquet"], report_dir=tmp_path / "rep") as j:
        j.path(tmp_path / "b.parquet").write_text("b")
    assert _tree(tmp_path) == ["a.parquet", "b.parquet", "rep", "rep/events.jsonl", "rep/run_report.json"]


@pytest.mark.parametrize("error", [InputError("day.dbn: bad header"), DomainError("field 'x' missing")])
def test_bad_input_leaves_nothing_at_all(tmp_path, error):
    with (
        pytest.raises(type(error)),
        job(
            "demo",
            "x",
            directories=[tmp_path / "new" / "out"],
            report_dir=tmp_path / "rep",
            profile=tmp_path / "p.pstats",
            bad_input=(DomainError,),
        ) as j,
    ):
        (j.path(tmp_path / "new" / "out") / "half").write_text("partial")
        raise error
    assert _tree(tmp_path) == []


def test_a_failed_run_keeps_the_old_output_and_reports_only_to_report_dir(tmp_path):
    out = tmp_path / "out"
    with job("demo", "x", directories=[out]) as j:
        (j.path(out) / "v.txt").write_text("v1")
    with pytest.raises(KeyboardInterrupt), job("demo", "x", directories=[out], force=True) as j:
        (j.path(out) / "v.txt").write_text("v2-partial")
        raise KeyboardInterrupt
    assert (out / "v.txt").read_text() == "v1"
    assert json.loads((out / "run_report.json").read_text())["status"] == "ok"
    with (
        pytest.raises(RuntimeError),
        job("demo", "x", directories=[out], force=True, report_dir=tmp_path / "r") as j,
    ):
        raise RuntimeError("bug")
    failed = json.loads((tmp_path / "r" / "run_report.json").read_text())
    assert failed["status"] == "failed" and "bug" in failed["error"]
    assert (out / "v.txt").read_text() == "v1"
    assert not [p for p in tmp_path.rglob(".pk-*")]


def test_profile_is_an_output_too(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("input")
    with pytest.raises(InputError, match="input"), job("demo", "x", inputs=[src], profile=src):
        pass
    with job("demo", "x", inputs=[src], profile=tmp_path / "prof" / "run.pstats"):
        sum(range(1000))
    assert _tree(tmp_path / "prof") == ["run.pstats", "run.top.json"]
    assert src.read_text() == "input"


def test_report_dir_equal_to_the_output_folder_reports_inside_it(tmp_path):
    out = tmp_path / "out"
    with job("demo", "x", directories=[out], report_dir=out) as j:
        (j.path(out) / "d").write_text("d")
    assert sorted(os.listdir(out)) == [".perfkit-output", "d", "events.jsonl", "run_report.json"]


def test_a_swallowed_interrupt_never_lets_the_outputs_be_committed(tmp_path):
    """A Ctrl-C raised where Python can only print it (a weakref callback, ``__del__``) is lost as an
    exception; the signal is remembered, and the job refuses to commit after it."""
    import contextlib
    import signal

    from perfkit import interrupts

    interrupts.install()
    out = tmp_path / "out.txt"
    with pytest.raises(KeyboardInterrupt), job("demo", "x", files=[out]) as j:
        j.path(out).write_text("complete-looking")
        with contextlib.suppress(KeyboardInterrupt):  # someone else's code swallows it
            signal.raise_signal(signal.SIGINT)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_ctrl_c_while_the_run_sets_up_still_leaves_a_failed_report(tmp_path, monkeypatch):
    """The run's live log exists before its set-up ends (a test times its Ctrl-C by that file): a SIGINT
    landing in between left no report at all in ``--report-dir`` (seen once in CI). The signal is held until
    the run is entered, so its exit writes the ``failed`` report."""
    import signal

    from perfkit.run import Run

    from perfkit import interrupts

    interrupts.install()
    event = Run._event

    def signal_at_start(self, name, **fields):
        event(self, name, **fields)
        if name == "run_start":
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Run, "_event", signal_at_start)
    out, rep = tmp_path / "out.txt", tmp_path / "rep"
    with pytest.raises(KeyboardInterrupt), job("demo", "x", files=[out], report_dir=rep) as j:
        j.path(out).write_text("never committed")
    assert json.loads((rep / "run_report.json").read_text())["status"] == "failed"
    assert _tree(tmp_path) == ["rep", "rep/events.jsonl", "rep/run_report.json"]


@pytest.mark.parametrize("code", [28, 122])  # ENOSPC, EDQUOT
def test_a_write_that_finds_no_room_names_the_output_and_leaves_nothing(tmp_path, code):
    """write(2) names no file when the disk is full: the error that leaves the job names the output."""
    out = tmp_path / "out"
    with pytest.raises(OSError) as caught, job("demo", "x", directories=[out]) as j:
        (j.path(out) / "half").write_text("partial")
        raise OSError(code, os.strerror(code))
    assert caught.value.errno == code and caught.value.filename == str(out)
    assert _tree(tmp_path) == []


def test_a_failed_run_whose_report_cannot_be_written_shows_the_runs_own_error(tmp_path, monkeypatch):
    """On a full disk the report of the failed run fails to write too; the user sees the first error."""
    from perfkit import run as run_module

    def no_room(*args, **kwargs):
        raise OSError(28, os.strerror(28))

    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="the run's own failure"), job("demo", "x", directories=[out]):
        monkeypatch.setattr(run_module, "write_text_atomic", no_room)
        raise RuntimeError("the run's own failure")
    assert _tree(tmp_path) == []


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_an_output_another_run_wrote_meanwhile_is_not_replaced_without_force(tmp_path, kind):
    """The same command started twice: the run that ends second must not silently replace the other's output."""
    out = tmp_path / ("out.parquet" if kind == "file" else "out")
    claims = {"files": [out]} if kind == "file" else {"directories": [out]}
    with pytest.raises(InputError, match="written while this run ran"), job("demo", "x", **claims) as j:
        mine = j.path(out) if kind == "file" else j.path(out) / "data.txt"
        mine.write_text("this run's")
        with job("demo", "x", **claims) as other:  # starts and ends while the first one runs
            theirs = other.path(out) if kind == "file" else other.path(out) / "data.txt"
            theirs.write_text("the other run's")
    assert (out if kind == "file" else out / "data.txt").read_text() == "the other run's"
    assert _tree(tmp_path) == (
        [out.name]
        if kind == "file"
        else sorted(["out", "out/.perfkit-output", "out/data.txt", "out/events.jsonl", "out/run_report.json"])
    )


def test_with_force_an_output_written_meanwhile_is_replaced_but_never_a_users_file(tmp_path):
    out = tmp_path / "out"
    with job("demo", "x", directories=[out], force=True) as j:
        (j.path(out) / "data.txt").write_text("this run's")
        with job("demo", "x", directories=[out]) as other:
            (other.path(out) / "data.txt").write_text("the other run's")
    assert (out / "data.txt").read_text() == "this run's"
    with (
        pytest.raises(InputError, match="did not write"),
        job("demo", "x", directories=[out], force=True) as j,
    ):
        (j.path(out) / "data.txt").write_text("a third run's")
        (out / "notes.txt").write_text("the user's notes")  # put there while the run ran
    assert (out / "notes.txt").read_text() == "the user's notes" and (
        out / "data.txt"
    ).read_text() == "this run's"


def test_a_committed_output_is_on_the_disk_before_and_after_its_rename(tmp_path, monkeypatch):
    """A crash or power cut after the rename must find the whole new output (the old one is gone with --force):
    the staged file is fsynced and the staged folder's file system synced before the rename, and the folder
    holding each target is fsynced after it."""
    from perfkit import _atomic

    calls = []

    def fsync(path, flags=os.O_RDONLY):
        directory = bool(flags & os.O_DIRECTORY)
        calls.append(
            (
                "folder" if directory else "file",
                path,
                (tmp_path / "a.txt").exists(),
                (tmp_path / "out").exists(),
            )
        )

    def sync_filesystem(folder):
        calls.append(("filesystem", folder, (tmp_path / "a.txt").exists(), (tmp_path / "out").exists()))

    monkeypatch.setattr(_atomic, "_fsync", fsync)
    monkeypatch.setattr(_atomic, "_sync_filesystem", sync_filesystem)
    with job("demo", "x", files=[tmp_path / "a.txt"], directories=[tmp_path / "out"]) as j:
        out_staged, file_staged = j.path(tmp_path / "out"), j.path(tmp_path / "a.txt")
        file_staged.write_text("new")
        (out_staged / "data.txt").write_text("new")
    assert ("filesystem", out_staged, False, False) in calls  # the folder's data, before its rename
    assert ("folder", tmp_path, False, True) in calls  # the folder's rename
    assert ("file", file_staged, False, True) in calls  # the file's data, before its rename
    assert ("folder", tmp_path, True, True) in calls  # the file's rename
    assert (tmp_path / "a.txt").read_text() == "new" and (tmp_path / "out" / "data.txt").read_text() == "new"


def test_flush_syncs_a_real_file_and_folder(tmp_path):
    from perfkit._atomic import flush, sync_folder

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    flush(tmp_path / "d")
    flush(tmp_path / "d" / "f")
    sync_folder(tmp_path)
