"""The qyn1 command line: every command, exit codes, and unpack's refusal to write unsafe or unverified
files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from qyn1 import container, extraction, pipeline, tables
from qyn1.cli import main

from ._helpers import KEY, key_source, make_project


def run(*args, ok=True):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    return r


@pytest.fixture
def packed(tmp_path):
    proj = make_project(tmp_path)
    key = tmp_path / "k.key"
    run("keygen", key)
    out = tmp_path / "p.qyn"
    run("pack", proj, "-o", out, "--key", key, "--workers", "1", "--preset", "small")
    return proj, key, out


_REPORT = ("run_report.json", "events.jsonl", ".perfkit-output")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pack_list_cat_verify_unpack(packed, tmp_path):
    proj, key, out = packed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key", "p.qyn", "proj"]  # one file, no report
    listing = run("list", out, "--key", key).output.splitlines()
    assert listing[0].split() == ["mode", "size", "stored", "chunks", "codecs", "path"]
    assert len(listing) == 1 + len(_tree(proj))
    assert any(line.endswith(" pkg/core.py") for line in listing)  # relative to the source given
    rows = json.loads(run("list", out, "--key", key, "--json").output)
    assert {r["path"]: r["size"] for r in rows} == {k: len(v) for k, v in _tree(proj).items()}
    assert all(
        set(r["codecs"]) <= {"stored", "bytes-o0", "bytes-o1", "python", "zstd", "brotli", "cm"} for r in rows
    )
    cat = run("cat", out, "pkg/core.py", "--key", key)
    assert cat.stdout_bytes == (proj / "pkg" / "core.py").read_bytes()
    assert "ok:" in run("verify", out, "--key", key).output
    dest = tmp_path / "restored"
    run("unpack", out, "-o", dest, "--key", key, "--workers", "1")
    assert _tree(dest) == {**_tree(proj), **{k: v for k, v in _tree(dest).items() if k in _REPORT}}
    report = json.loads((dest / "run_report.json").read_text())  # a folder output keeps the report
    assert report["status"] == "ok" and report["counters"]["files"] == len(_tree(proj))
    assert (
        os.stat(dest / "pkg" / "core.py").st_mode & 0o777 == os.stat(proj / "pkg" / "core.py").st_mode & 0o777
    )


def test_passphrase_and_presets(tmp_path, monkeypatch):
    proj = make_project(tmp_path)
    (proj / "pyproject.toml").write_text('[tool.qyn1]\npreset = "small"\nchunk_size = 4096\n')
    monkeypatch.setenv("QYN1_PW", "hunter22")
    out = tmp_path / "p.qyn"
    run("pack", proj, "-o", out, "--passphrase-env", "QYN1_PW", "--quiet")
    f, r = extraction.open_package(out, __import__("qyn1.keys").keys.KeySource.from_passphrase("hunter22"))
    with f:
        assert r.header.chunk_size == 4096
        assert max(len(e.chunks) for e in r.entries) > 1
    bad = run("list", out, "--key", tmp_path / "nokey", ok=False)
    assert bad.exit_code == 2
    assert "python-web" in run("presets").output


def test_wrong_key_exit_2(packed, tmp_path):
    _, _, out = packed
    other = tmp_path / "other.key"
    run("keygen", other)
    r = run("verify", out, "--key", other, ok=False)
    assert r.exit_code == 2 and "wrong key" in r.stderr
    assert run("keygen", other, ok=False).exit_code == 2  # refuses to overwrite


def test_tampered_unpack_writes_nothing(packed, tmp_path):
    _, key, out = packed
    f, r = extraction.open_package(out, key_source(Path(key).read_bytes()))
    with f:
        e = r.entries[-1]  # the last block: every other block verifies before this one fails
        sharing = [x.path for x in r.entries if x.block == e.block]  # the first of them names the chunk
    blob = bytearray(out.read_bytes())
    blob[e.chunks[0][0] + 3] ^= 0x80
    out.write_bytes(bytes(blob))
    dest = tmp_path / "dest"
    res = run("unpack", out, "-o", dest, "--key", key, "--workers", "1", ok=False)
    assert res.exit_code == 2
    assert f"{sharing[0]}: chunk 0 of {len(e.chunks)} failed authentication" in res.stderr
    assert not dest.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".pk-")] == []


def test_truncated_and_extended_exit_2(packed, tmp_path):
    _, key, out = packed
    blob = out.read_bytes()
    for variant in (blob[:-1], blob + b"x", blob[: len(blob) // 2]):
        out.write_bytes(variant)
        assert run("verify", out, "--key", key, ok=False).exit_code == 2
    out.write_bytes(b"not a package at all, just text that is long enough to have a trailer region")
    assert run("list", out, "--key", key, ok=False).exit_code == 2


def _evil_package(tmp_path, path: str) -> Path:
    out = tmp_path / "evil.qyn"
    real = container.check_path
    container.check_path = lambda p: None  # build what a hostile writer would
    try:
        with open(out, "wb") as f:
            w = container.Writer(f, key_source(KEY), 1024)
            ef = pipeline.encode_bytes(b"owned\n", 1024, arcpath="x.txt")
            w.add_file(path, 0o644, ef.size, ef.digest, ef.chunks)
            w.close()
    finally:
        container.check_path = real
    return out


@pytest.mark.parametrize("path", ["/tmp/qyn1-evil-abs.txt", "../qyn1-evil.txt", "a/../../qyn1-evil.txt"])
def test_unpack_refuses_escaping_paths(tmp_path, path):
    out = _evil_package(tmp_path, path)
    key = tmp_path / "k.key"
    key.write_bytes(KEY)
    dest = tmp_path / "d" / "dest"
    r = run("unpack", out, "-o", dest, "--key", key, ok=False)
    assert r.exit_code == 2 and "unsafe path" in r.stderr
    assert not Path("/tmp/qyn1-evil-abs.txt").exists()
    assert not (tmp_path / "d" / "qyn1-evil.txt").exists() and not (tmp_path / "qyn1-evil.txt").exists()


def test_unpack_refuses_links_out_of_the_output_dir(tmp_path):
    out = _evil_package(tmp_path, "link/escape.txt")
    key = tmp_path / "k.key"
    key.write_bytes(KEY)
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside)
    for force in ((), ("--force",)):  # a folder holding a file unpack did not write is never replaced
        r = run("unpack", out, "-o", dest, "--key", key, *force, ok=False)
        assert r.exit_code == 2
        assert list(outside.iterdir()) == [] and [p.name for p in dest.iterdir()] == ["link"]


def test_every_command_has_help_and_docs():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "qyn1.md").read_text()
    for name, cmd in main.commands.items():
        assert cmd.help and "Example:" in cmd.help, name
        assert f"qyn1 {name}" in doc, name


def test_package_with_other_tables_version_refused(packed, tmp_path):
    # the u16 tables version sits at header offset 32 ("QYN1", version, kdf, flags, opslimit, memlimit, salt)
    _, key, out = packed
    blob = bytearray(out.read_bytes())
    assert int.from_bytes(blob[32:34], "little") == tables.TABLES_VERSION
    blob[32:34] = (tables.TABLES_VERSION - 1).to_bytes(2, "little")
    out.write_bytes(bytes(blob))
    for cmd in (("verify", out), ("list", out), ("unpack", out, "-o", tmp_path / "dest")):
        res = run(*cmd, "--key", key, ok=False)
        assert res.exit_code == 2
        msg = f"package uses model tables v{tables.TABLES_VERSION - 1}; this qyn1 ships v{tables.TABLES_VERSION}"
        assert res.stderr.strip().splitlines() == [f"error: {msg}"]


def test_keygen_creates_the_folder_and_reports_unwritable_paths(tmp_path):
    key = tmp_path / "new" / "dir" / "k.key"
    run("keygen", key)
    assert len(key.read_bytes()) == 32 and (key.stat().st_mode & 0o777) == 0o600
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("keygen", blocker / "k.key", ok=False)
    assert r.exit_code == 2 and "is not a folder" in r.stderr and "Traceback" not in r.output


def test_keygen_replaces_a_key_only_with_force_and_keeps_it_private(tmp_path):
    key = tmp_path / "k.key"
    run("keygen", key)
    first = key.read_bytes()
    r = run("keygen", key, ok=False)
    assert r.exit_code == 2 and "pass --force" in r.stderr and key.read_bytes() == first
    run("keygen", key, "--force")
    assert key.read_bytes() != first and len(key.read_bytes()) == 32
    assert key.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key"]


_NO_NUMBA_PARENT = """
import sys
from click.testing import CliRunner
from qyn1 import cli, extraction, keys

package, key, out = sys.argv[1:]
r = CliRunner().invoke(cli.main, ["list", package, "--key", key])
assert r.exit_code == 0, r.output
f, reader = extraction.open_package(package, keys.KeySource.from_file(key))
with f:
    targets = extraction._targets(reader.entries, out, {})
assert len(targets) == len(reader.entries) > 1
loaded = sorted(m for m in ("numba", "scipy", "llvmlite", "qyn1.cm", "qyn1.rans") if m in sys.modules)
assert not loaded, loaded
"""


def test_list_and_an_unpack_parent_do_not_load_numba(packed, tmp_path):
    """``qyn1 list`` and the parent of a process-worker unpack (open the package, read its table, check
    every target) never decode, so they must not import numba and the coders (~0.3 s of a command: docs/perf/
    qyn1.md, "Unpack, round 9"): an import of them at the top of a module on that path fails this."""
    import subprocess
    import sys

    _, key, out = packed
    p = subprocess.run(
        [sys.executable, "-c", _NO_NUMBA_PARENT, str(out), str(key), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr


def test_unpack_and_verify_choose_one_process_for_a_small_package_unless_workers_given(packed, tmp_path):
    """Without ``--workers`` a package quick to decode is decoded in the command's process (no fork server);
    a ``--workers`` the user gives is kept. The run report says which (``metrics.workers_used``)."""
    _, key, out = packed
    for argv, used in (((), 1), (("--workers", "2"), 2)):
        dest, reports = tmp_path / f"d{used}", tmp_path / f"r{used}"
        run("unpack", out, "-o", dest, "--key", key, "--report-dir", reports / "u", "-q", *argv)
        run("verify", out, "--key", key, "--report-dir", reports / "v", "-q", *argv)
        for sub in ("u", "v"):
            report = json.loads((reports / sub / "run_report.json").read_text())
            assert report["metrics"]["workers_used"] == used, (argv, sub)


def test_a_passphrase_package_runs_argon2id_once_per_command(tmp_path, monkeypatch):
    """unpack and verify open the package twice (the table first, to choose their workers): the Argon2id
    derivation, the expensive part of opening with a passphrase, runs once for both opens."""
    from nacl import pwhash
    from qyn1 import keys

    proj = make_project(tmp_path)
    monkeypatch.setenv("QYN1_PW", "hunter22")
    out = tmp_path / "p.qyn"
    run("pack", proj, "-o", out, "--passphrase-env", "QYN1_PW", "--workers", "1", "--quiet")
    calls = []
    real = pwhash.argon2id.kdf
    monkeypatch.setattr(pwhash.argon2id, "kdf", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    for argv in (("unpack", out, "-o", tmp_path / "d"), ("verify", out)):
        keys._argon2id.cache_clear()
        calls.clear()
        run(*argv, "--passphrase-env", "QYN1_PW", "-q")
        assert len(calls) == 1, argv


def test_pack_counts_what_it_skips_and_follows_no_link_out_of_the_source(tmp_path):
    """A package holds regular files only: links (to a file, a folder, outside, nowhere), fifos and empty
    folders inside a source are left out, counted in the summary and the run report (audit Q2); an
    excluded one is not counted, and no link is followed (nothing from outside the source is read)."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text("secret\n")
    (outside / "dir" / "inner.txt").write_text("inner\n")
    src = tmp_path / "src"
    (src / "emptydir").mkdir(parents=True)
    (src / "sub" / "ignored").mkdir(parents=True)
    (src / "a.py").write_text("x = 1\n")
    (src / "sub" / "b.py").write_text("y = 2\n")
    os.symlink("a.py", src / "link.py")
    os.symlink(outside / "secret.txt", src / "abs.lnk")
    os.symlink(outside / "dir", src / "sub" / "dirlink")
    os.symlink("nowhere", src / "dangling")
    os.mkfifo(src / "fifo")
    os.mkfifo(src / "sub" / "ignored" / "fifo2")  # excluded with its folder: not counted
    key = tmp_path / "k.key"
    key.write_bytes(KEY)
    out, rep = tmp_path / "p.qyn", tmp_path / "rep"
    args = ("pack", src, "-o", out, "--key", key, "--workers", "1", "--preset", "small", "--report-dir", rep)
    res = run(*args, "--exclude", "ignored")
    assert res.output.startswith("packed 2 files (skipped: 4 symlinks, 1 fifo, 1 empty folder), "), res.output
    counters = json.loads((rep / "run_report.json").read_text())["counters"]
    assert {k: v for k, v in counters.items() if k.startswith("skipped_")} == {
        "skipped_symlinks": 4,
        "skipped_fifos": 1,
        "skipped_sockets": 0,
        "skipped_devices": 0,
        "skipped_empty_folders": 1,
    }
    f, r = extraction.open_package(out, key_source())
    with f:
        assert {e.path: r.read(e) for e in r.entries} == {"a.py": b"x = 1\n", "sub/b.py": b"y = 2\n"}
    (src / "emptydir").rmdir()
    for p in ("link.py", "abs.lnk", "sub/dirlink", "dangling", "fifo"):
        (src / p).unlink()
    assert "skipped" not in run(*args, "--force", "--exclude", "ignored").output


def test_list_escapes_unprintable_names_and_errors_show_undecodable_bytes_as_x(tmp_path):
    """One file is one row of ``list`` (a newline in a name written as ``\\n``), ``--json`` keeps the exact
    name (audit Q4); an error names the bytes of a non-UTF-8 name as ``\\xff``, never ``\\udcff`` (Q5)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "nl\nname.py").write_text("x = 1\n")
    (src / "tab\tname.txt").write_text("t\n")
    key = tmp_path / "k.key"
    key.write_bytes(KEY)
    out = tmp_path / "p.qyn"
    run("pack", src, "-o", out, "--key", key, "--workers", "1", "--preset", "small", "--quiet")
    listing = run("list", out, "--key", key).output.splitlines()
    assert len(listing) == 3 and [line.split()[-1] for line in listing[1:]] == [
        "nl\\nname.py",
        "tab\\tname.txt",
    ]
    assert [r["path"] for r in json.loads(run("list", out, "--key", key, "--json").output)] == [
        "nl\nname.py",
        "tab\tname.txt",
    ]
    os.close(os.open(os.path.join(os.fsencode(src), b"\xff\xfe.py"), os.O_CREAT | os.O_WRONLY, 0o644))
    bad = run("pack", src, "-o", tmp_path / "q.qyn", "--key", key, "--workers", "1", ok=False)
    assert bad.exit_code == 2 and "\\xff\\xfe.py" in bad.output and "udc" not in bad.output, bad.output
    cat = run("cat", out, os.fsdecode(b"\xff.py"), "--key", key, ok=False)
    assert cat.exit_code == 2 and "no file '\\xff.py' in the package" in cat.output, cat.output
