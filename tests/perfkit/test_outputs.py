"""perfkit.outputs: outputs never over inputs, replaced only with force and atomically, foreign files kept."""

from __future__ import annotations

import os

import pytest
from perfkit.errors import InputError
from perfkit.outputs import MARKER, Outputs


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_new_file_output_is_staged_privately_then_published(tmp_path):
    out = tmp_path / "sub" / "out.parquet"
    outputs = Outputs()
    staged = outputs.file(out)
    assert staged.parent == out.parent and staged.name.startswith(".pk-")
    assert staged.stat().st_mode & 0o777 == 0o600
    assert not out.exists()
    staged.write_text("new")
    outputs.commit()
    assert out.read_text() == "new"
    assert _tree(tmp_path) == ["sub", "sub/out.parquet"]


@pytest.mark.parametrize("relation", ["same", "inside-input-folder", "contains-input", "symlink", "hardlink"])
def test_output_overlapping_an_input_is_refused_before_anything_is_written(tmp_path, relation):
    data = tmp_path / "data"
    data.mkdir()
    day = data / "day.dbn.zst"
    day.write_bytes(b"input bytes")
    inputs, target = [day], day
    if relation == "inside-input-folder":
        inputs, target = [data], data / "bars.parquet"
    elif relation == "contains-input":
        target = tmp_path
    elif relation == "symlink":
        (tmp_path / "link").symlink_to(data)
        target = tmp_path / "link" / "day.dbn.zst"
    elif relation == "hardlink":
        os.link(day, tmp_path / "hard.dbn.zst")
        target = tmp_path / "hard.dbn.zst"
    before = _tree(tmp_path)
    with pytest.raises(InputError, match="input"):
        Outputs(inputs, force=True).file(target) if relation != "contains-input" else Outputs(
            inputs, force=True
        ).directory(target)
    assert day.read_bytes() == b"input bytes"
    assert _tree(tmp_path) == before


def test_existing_output_needs_force_and_is_replaced_atomically(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(InputError, match="--force"):
        Outputs().file(out)
    outputs = Outputs(force=True)
    staged = outputs.file(out)
    staged.write_text("new")
    assert out.read_text() == "old"  # untouched until the commit
    outputs.commit()
    assert out.read_text() == "new"


def test_folder_with_foreign_files_is_never_replaced_even_with_force(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="did not write"):
        Outputs(force=True).directory(folder)
    assert (folder / "thesis.tex").read_text() == "years of work"
    assert _tree(tmp_path) == ["results", "results/thesis.tex"]


def test_folder_written_by_perfkit_is_swapped_whole_with_force(tmp_path):
    folder = tmp_path / "s1"
    first = Outputs()
    (first.directory(folder) / "tiles").mkdir()
    first.commit()
    assert sorted(os.listdir(folder)) == [MARKER, "tiles"]
    with pytest.raises(InputError, match="--force"):
        Outputs().directory(folder)
    second = Outputs(force=True)
    staged = second.directory(folder)
    (staged / "tiles").mkdir()
    (staged / "tiles" / "part-0").write_text("v2")
    assert not (folder / "tiles" / "part-0").exists()  # old output whole until the commit
    second.commit()
    assert (folder / "tiles" / "part-0").read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["s1"]


def test_a_file_added_later_to_an_owned_folder_blocks_replacement(tmp_path):
    folder = tmp_path / "s6"
    first = Outputs()
    (first.directory(folder) / "sites.parquet").write_text("x")
    first.commit()
    (folder / "notes.md").write_text("mine")
    with pytest.raises(InputError, match=r"notes\.md"):
        Outputs(force=True).directory(folder)
    assert (folder / "notes.md").read_text() == "mine"


def test_empty_existing_folder_is_used_without_force(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    outputs = Outputs()
    (outputs.directory(folder) / "a").write_text("a")
    outputs.commit()
    assert (folder / "a").read_text() == "a"


def test_discard_removes_staging_and_created_parents_only(tmp_path):
    (tmp_path / "keep").write_text("k")
    outputs = Outputs()
    staged = outputs.directory(tmp_path / "new" / "deeper" / "out")
    (staged / "half").write_text("partial")
    outputs.discard()
    assert _tree(tmp_path) == ["keep"]


def test_kind_mismatches_and_bad_names_are_one_line_errors(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="is a folder"):
        Outputs(force=True).file(tmp_path / "adir")
    with pytest.raises(InputError, match="not a folder"):
        Outputs(force=True).directory(tmp_path / "afile")
    with pytest.raises(InputError, match="not a folder"):
        Outputs().file(tmp_path / "afile" / "under.parquet")
    with pytest.raises(InputError, match="longer than 255 bytes"):
        Outputs().file(tmp_path / ("x" * 256))
    with pytest.raises(InputError, match="cannot"):
        Outputs().file("/proc/perfkit-test.pstats")
    assert _tree(tmp_path) == ["adir", "afile"]


def test_longest_legal_name_is_writable(tmp_path):
    out = tmp_path / ("n" * 255)
    outputs = Outputs()
    outputs.file(out).write_text("ok")
    outputs.commit()
    assert out.read_text() == "ok"


def test_two_outputs_may_not_overlap(tmp_path):
    outputs = Outputs()
    outputs.directory(tmp_path / "out")
    with pytest.raises(InputError, match="overlaps"):
        outputs.file(tmp_path / "out" / "x.parquet")
    outputs.discard()


def test_stale_temporaries_of_a_dead_run_are_swept(tmp_path):
    out = tmp_path / "big.qyn"
    dead_pid = _dead_pid()
    from perfkit._atomic import _target_tag

    stale = tmp_path / f".pk-{_target_tag(out)}-{dead_pid}-abcdef.tmp"
    stale.write_bytes(b"36 MB of nothing")
    other = tmp_path / f".pk-00000000-{dead_pid}-abcdef.tmp"  # another target's: not ours to sweep
    other.write_text("x")
    live = tmp_path / f".pk-{_target_tag(out)}-{os.getppid()}-abcdef.tmp"  # a live run's: kept
    live.write_text("x")
    outputs = Outputs()
    outputs.file(out).write_text("new")
    outputs.commit()
    assert not stale.exists() and other.exists() and live.exists()


def test_report_dir_keeps_foreign_files_and_refuses_foreign_reports(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "notes.txt").write_text("mine")
    outputs = Outputs()
    staged = outputs.report_dir(reports)
    (staged / "run_report.json").write_text('{"schema_version": 1, "pipeline": "x"}')
    (staged / "events.jsonl").write_text('{"event": "run_start"}\n')
    outputs.commit()
    assert sorted(os.listdir(reports)) == ["events.jsonl", "notes.txt", "run_report.json"]
    Outputs().report_dir(reports)  # a perfkit report there may be replaced
    (reports / "run_report.json").write_text("my own json")
    with pytest.raises(InputError, match="not a perfkit report"):
        Outputs().report_dir(reports)


def test_report_dir_inside_an_input_is_refused(tmp_path):
    s1 = tmp_path / "s1"
    s1.mkdir()
    with pytest.raises(InputError, match="input"):
        Outputs([s1]).report_dir(s1)
    with pytest.raises(InputError, match="input"):
        Outputs([s1]).report_dir(s1 / "reports")


def _dead_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_pipes_and_devices_are_never_replaced_even_with_force(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="device, pipe or socket"):
        Outputs(force=True).file(fifo)
    with pytest.raises(InputError, match="device, pipe or socket"):
        Outputs(force=True).file("/dev/null")
    (tmp_path / "link").symlink_to(fifo)
    with pytest.raises(InputError, match="links to"):
        Outputs(force=True).file(tmp_path / "link")
    assert fifo.is_fifo() and (tmp_path / "link").is_symlink()


@pytest.mark.parametrize("force", [False, True])
def test_a_link_to_a_folder_is_named_as_a_link_and_its_folder_kept(tmp_path, force):
    """``--out link --force`` where ``link`` points at a user's folder: refused, saying it is a link (the
    message said the folder "is not a folder"); nothing in the folder it points to is touched."""
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    (tmp_path / "link").symlink_to("precious")
    with pytest.raises(InputError, match=r"is a symbolic link \(to precious\); not replacing it"):
        Outputs(force=force).directory(tmp_path / "link")
    assert (folder / "notes.txt").read_text() == "keep" and (tmp_path / "link").is_symlink()


@pytest.mark.parametrize("force", [False, True])
def test_links_to_a_file_descriptor_are_never_replaced(tmp_path, force):
    """``-o /dev/stdout`` with stdout sent to a file: the link's target is then a regular file, so only
    following the link hop by hop shows it is a descriptor. Replacing it would replace the link (as root:
    the system's /dev/stdout) and never reach standard output."""
    redirected = tmp_path / "captured.txt"
    redirected.write_text("")
    mine = tmp_path / "mystdout"
    mine.symlink_to("/proc/self/fd/1")
    (tmp_path / "chain").symlink_to("mystdout")
    (tmp_path / "fds").symlink_to("/dev/fd")
    with open(redirected, "w") as fh:
        saved = os.dup(1)
        os.dup2(fh.fileno(), 1)
        try:
            for path in (mine, tmp_path / "chain", tmp_path / "fds" / "1", "/dev/stdout", "/proc/self/fd/1"):
                assert os.path.isfile(path)  # what the device check sees: a regular file
                with pytest.raises(InputError, match="open file descriptor"):
                    Outputs(force=force).file(path)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    assert mine.is_symlink() and os.readlink(mine) == "/proc/self/fd/1"
    assert os.readlink("/dev/stdout").endswith("/fd/1")
    assert redirected.read_text() == ""


def test_the_current_folder_is_not_a_folder_output(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(InputError, match="current folder"):
        Outputs(force=True).directory(".")
    with pytest.raises(InputError, match="current folder"):
        Outputs(force=True).directory(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["work"]


def test_unwritable_report_dir_is_named(tmp_path):
    with pytest.raises(InputError, match=r"--report-dir /proc/perfkit-test: "):
        Outputs().report_dir("/proc/perfkit-test")


def test_temporaries_a_dead_worker_left_in_a_folder_output_are_not_committed(tmp_path):
    out = tmp_path / "out"
    outputs = Outputs()
    staged = outputs.directory(out)
    (staged / "part").mkdir()
    (staged / "part" / "a.parquet").write_text("a")
    # What a worker SIGKILLed mid-write leaves (its task is retried and writes the file again).
    (staged / "part" / ".pk-1a2b3c4d-99999-0f0f.tmp").write_text("half")
    (staged / ".pk-1a2b3c4d-99999-0e0e.tmp").mkdir()
    outputs.commit()
    assert _tree(out) == [MARKER, "part", "part/a.parquet"]


def test_dash_is_standard_output_never_a_file_named_dash(tmp_path, monkeypatch):
    """`mbp10 bars day.dbn.zst -o -` wrote a Parquet file named '-' and exited 0; a Unix user meant stdout.
    `./-` still names such a file on purpose."""
    monkeypatch.chdir(tmp_path)
    for claim, what in (
        (lambda o: o.file("-"), "output"),
        (lambda o: o.directory("-"), "output"),
        (lambda o: o.profile("-"), "--profile"),
        (lambda o: o.report_dir("-"), "--report-dir"),
    ):
        with pytest.raises(InputError, match=f"^{what} '-': this command cannot write to standard output"):
            claim(Outputs())
        assert _tree(tmp_path) == []
    outputs = Outputs()
    outputs.file("./-").write_text("on purpose")
    outputs.commit()
    assert (tmp_path / "-").read_text() == "on purpose"


@pytest.mark.parametrize("where", ["tiles/notes.txt", "tiles/deeper/mine.gpkg", "tiles/empty-folder/"])
def test_a_file_of_the_users_inside_a_subfolder_of_an_output_is_never_deleted(tmp_path, where):
    """The marker records the whole tree: a file (or folder) of the user's anywhere below an earlier output
    blocks its replacement, with --force too (a file in `tiles/` was deleted when only the top level was
    checked)."""
    folder = tmp_path / "s1"
    first = Outputs()
    tiles = first.directory(folder) / "tiles"
    tiles.mkdir()
    (tiles / "part-NLD-0000.parquet").write_text("tiles")
    first.commit()
    mine = folder / where
    mine.parent.mkdir(parents=True, exist_ok=True)
    if where.endswith("/"):
        mine.mkdir()
    else:
        mine.write_text("years of work")
    with pytest.raises(InputError, match=where.rstrip("/").replace(".", r"\.")):
        Outputs(force=True).directory(folder)
    assert mine.is_dir() if where.endswith("/") else mine.read_text() == "years of work"
    assert (folder / "tiles" / "part-NLD-0000.parquet").read_text() == "tiles"


def test_a_marker_of_an_older_perfkit_does_not_vouch_for_subfolders(tmp_path):
    """Markers written before the whole tree was recorded list only the top level: what lies below it cannot
    be told apart from the user's files, so the folder is not replaced (and the message says why)."""
    folder = tmp_path / "out"
    (folder / "silver").mkdir(parents=True)
    (folder / "silver" / "day.parquet").write_text("old output or yours?")
    (folder / "run_report.json").write_text("{}")
    (folder / MARKER).write_text('{"owner": "mbp10 run", "entries": ["run_report.json", "silver"]}\n')
    with pytest.raises(InputError, match="older perfkit"):
        Outputs(force=True).directory(folder)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.parquet").write_text("a")
    (flat / MARKER).write_text('{"owner": "x", "entries": ["a.parquet"]}\n')
    Outputs(force=True).directory(flat)  # nothing below the top level: replaceable as before


def test_report_dir_in_another_outputs_folder_needs_force(tmp_path):
    """`--report-dir` pointed at an earlier command's output folder would replace that output's report."""
    folder = tmp_path / "s6"
    first = Outputs()
    (first.directory(folder) / "sites").mkdir()
    first.report_dir(folder)
    (first.staged(folder) / "run_report.json").write_text('{"schema_version": 1, "pipeline": "seg1b"}')
    first.commit()
    assert (folder / "run_report.json").exists()
    with pytest.raises(InputError, match="output folder of an earlier run"):
        Outputs().report_dir(folder)
    Outputs(force=True).report_dir(folder)
    with pytest.raises(InputError, match="the output of an earlier run"):
        Outputs(force=True).report_dir(folder / "sites")


@pytest.mark.parametrize("kind", ["file", "dir", "profile"])
def test_nothing_is_written_inside_an_earlier_runs_output(tmp_path, kind):
    """A profile or a second output inside another run's folder joins its dataset and blocks its next
    --force (the auditor's G14: `--profile out/s1/tiles/x.pstats`)."""
    first = Outputs()
    (first.directory(tmp_path / "s1") / "tiles").mkdir()
    first.commit()
    target = tmp_path / "s1" / "tiles" / "x.pstats"
    outputs = Outputs(force=True)
    claim = {"file": outputs.file, "dir": outputs.directory, "profile": outputs.profile}[kind]
    with pytest.raises(InputError, match=r"inside .*s1, the output of an earlier run"):
        claim(target)
    assert _tree(tmp_path) == ["s1", f"s1/{MARKER}", "s1/tiles"]
