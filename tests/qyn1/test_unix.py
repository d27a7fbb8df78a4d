"""Unix conventions of the qyn1 command line (issue 13): ``-`` for standard input/output, a quiet exit when
the reader of a pipe goes away, keys from the environment, ``list`` with a header and ``--json``, paths
relative to each source, links never followed by ``keygen --force``, private plaintext while unpacking."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess

from qyn1 import container, extraction

from tests.hostile import command, temporaries

from ._helpers import KEY, key_source, pack_bytes

ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def _sh(script: str, cwd, **env) -> subprocess.CompletedProcess:
    """Run a shell pipeline with ``qyn1`` resolved to the installed console script."""
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + script.replace("qyn1 ", command("qyn1") + " ")],
        cwd=cwd,
        capture_output=True,
        env={**ENV, **env},
        timeout=120,
    )


def _project(tmp_path, n=3):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    for i in range(n):
        (src / "pkg" / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    (src / "README.md").write_text("# readme\n")
    (tmp_path / "k.key").write_bytes(KEY)
    return src


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_stdout_stdin_round_trip_and_cat(tmp_path):
    src = _project(tmp_path)
    res = _sh(
        "qyn1 pack src -o - --key k.key --workers 1 | qyn1 unpack - -o out --key k.key --workers 1 "
        "--report-dir reports --quiet",
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert _tree(tmp_path / "out") == {
        **_tree(src),
        ".perfkit-output": (tmp_path / "out/.perfkit-output").read_bytes(),
    }
    assert b"packed 4 files" in res.stderr  # the summary goes to stderr when stdout carries the package
    (tmp_path / "p.qyn").write_bytes(pack_bytes({"pkg/m1.py": (src / "pkg/m1.py").read_bytes()}))
    res = _sh("qyn1 cat - pkg/m1.py --key k.key < p.qyn", tmp_path)
    assert res.returncode == 0 and res.stdout == (src / "pkg/m1.py").read_bytes(), res.stderr
    assert not (tmp_path / "-").exists() and not temporaries(tmp_path)


def test_list_into_a_closed_pipe_exits_quietly(tmp_path):
    (tmp_path / "k.key").write_bytes(KEY)
    files = {f"pkg/m{i:04d}.py": b"x = %d\n" % i for i in range(3000)}  # a listing far larger than a pipe
    (tmp_path / "p.qyn").write_bytes(pack_bytes(files, solid=True))
    res = _sh("qyn1 list p.qyn --key k.key | head -1", tmp_path)
    assert res.stderr == b"" and res.stdout.split() == [
        b"mode",
        b"size",
        b"stored",
        b"chunks",
        b"codecs",
        b"path",
    ]
    assert res.returncode in (0, 141)  # 141: like any Unix tool stopped by SIGPIPE, silently


def _first_byte_then_close(argv, cwd) -> tuple[int, bytes]:
    """Run ``qyn1 ARGV`` with a reader that takes one byte of its output and leaves (``| head -c 1``)."""
    proc = subprocess.Popen(
        [command("qyn1"), *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    assert len(proc.stdout.read(1)) == 1
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_cat_and_list_json_into_a_reader_that_leaves_exit_141(tmp_path):
    """A write to a pipe whose reader left returns short with no error in CPython's buffered writer: a
    plain write exited 0 with the output cut (audit Q3). Both outputs are far larger than a pipe."""
    (tmp_path / "k.key").write_bytes(KEY)
    files = {f"pkg/{'long_name_' * 15}{i:04d}.txt": b"x = %d\n" % i for i in range(300)}  # --json: 120 KB
    files["big.bin"] = bytes(range(256)) * 1024  # 256 KiB, 4 pipe buffers
    (tmp_path / "p.qyn").write_bytes(pack_bytes(files, solid=True))
    for argv in (["cat", "p.qyn", "big.bin"], ["list", "p.qyn", "--json"]):
        code, err = _first_byte_then_close([*argv, "--key", "k.key"], tmp_path)
        assert (code, err) == (141, b""), argv


def test_key_from_the_environment_hex_or_base64(tmp_path):
    (tmp_path / "p.qyn").write_bytes(pack_bytes({"README.md": b"# r\n", "pkg/m0.py": b"x = 0\n"}, solid=True))
    for value in (KEY.hex().upper(), base64.b64encode(KEY).decode().rstrip("=")):  # hex; base64, no padding
        res = _sh("qyn1 list p.qyn --key-env QK --json", tmp_path, QK=value)
        assert res.returncode == 0, (value, res.stderr)
        rows = json.loads(res.stdout)
        assert sorted(r["path"] for r in rows) == ["README.md", "pkg/m0.py"]
        assert all(r["codecs"] for r in rows)


def test_paths_are_relative_to_each_source_like_tar_C(tmp_path):
    _project(tmp_path)
    (tmp_path / "extra.txt").write_text("extra\n")
    res = _sh(
        "qyn1 pack src extra.txt -o p.qyn --key k.key --workers 1 --quiet && "
        "qyn1 unpack p.qyn -o out --key k.key --workers 1 --report-dir rep --quiet && "
        "rm out/.perfkit-output && rm extra.txt && diff -r src/pkg out/pkg",
        tmp_path,
    )
    assert res.returncode == 0, res.stderr + res.stdout
    assert (tmp_path / "out" / "extra.txt").read_text() == "extra\n"


def test_keygen_force_replaces_a_link_not_its_target(tmp_path):
    (tmp_path / "target.bin").write_bytes(b"precious")
    os.symlink("target.bin", tmp_path / "link.bin")
    res = _sh("qyn1 keygen --force link.bin", tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "target.bin").read_bytes() == b"precious"
    assert not (tmp_path / "link.bin").is_symlink() and len((tmp_path / "link.bin").read_bytes()) == 32
    assert stat.S_IMODE((tmp_path / "link.bin").stat().st_mode) == 0o600


def test_unpacked_plaintext_is_private_until_verified(tmp_path, monkeypatch):
    """Every piece is written into a file of mode 0600; the stored mode (here 0644) comes after its digest
    matched. Checked inside the decode task, at each write."""
    files = {"a.py": b"a = 1\n" * 100, "big.bin": os.urandom(3000)}
    pkg = tmp_path / "p.qyn"
    pkg.write_bytes(pack_bytes(files, solid=True))
    f, r = extraction.open_package(pkg, key_source())
    f.close()
    (tmp_path / "d").mkdir()
    items = [(e, str(tmp_path / "d" / e.path)) for e in r.entries]
    seen = []
    real = extraction._pieces  # the decode task's pieces of one file (batch decoding, 6371a79)

    def spy(e, chunks):
        for piece in real(e, chunks):
            seen.append(stat.S_IMODE(os.stat(tmp_path / "d" / e.path).st_mode))
            yield piece

    monkeypatch.setattr(extraction, "_pieces", spy)
    extraction._decode_task((str(pkg), r.key, r.header_bytes, items))
    assert seen and set(seen) == {0o600}
    assert {e.path: stat.S_IMODE(os.stat(t).st_mode) for e, t in items} == {"a.py": 0o644, "big.bin": 0o644}


def test_failed_unpacks_leave_nothing(tmp_path):
    """Bit flips anywhere after the header: exit 2, no output folder, no empty folders, no temporaries."""
    src = _project(tmp_path, n=5)
    (src / "deep" / "er").mkdir(parents=True)
    (src / "deep" / "er" / "x.py").write_text("x = 1\n")
    assert _sh("qyn1 pack src -o p.qyn --key k.key --workers 1 --quiet", tmp_path).returncode == 0
    blob = (tmp_path / "p.qyn").read_bytes()
    for pos in range(container.HEADER_SIZE, len(blob), max(1, len(blob) // 3)):
        bad = bytearray(blob)
        bad[pos] ^= 0x10
        (tmp_path / "bad.qyn").write_bytes(bytes(bad))
        res = _sh("qyn1 unpack bad.qyn -o out --key k.key --workers 1 --quiet", tmp_path)
        assert res.returncode == 2 and len(res.stderr.splitlines()) == 1, (pos, res.stderr)
        assert not (tmp_path / "out").exists() and not temporaries(tmp_path), pos
