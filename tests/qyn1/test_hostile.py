"""Hostile input for every qyn1 command that writes, as a careless or hostile user would type it.

Each row runs the real ``qyn1`` console script in a scratch folder (``tests/hostile.py``): expected exit
code, exactly one stderr line naming the path or value, no traceback, every file that was there before
untouched, no perfkit temporaries left. The scratch folder always holds ``k.key`` (a key file),
``a.py``, ``src/`` (two files) and ``p.qyn`` (a package of ``src/`` made with ``k.key``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from qyn1 import extraction, pipeline

import tests.hostile
from tests.hostile import Case, check_case, run, snapshot, temporaries

from ._helpers import KEY, key_source, pack_bytes

ROOT = os.geteuid() == 0
SRC = {"src/a.py": b"import os\n\n\ndef f(x):\n    return os.sep + x\n", "src/b.txt": b"plain text\n"}
PACKED_SRC = {k.removeprefix("src/"): v for k, v in SRC.items()}  # `pack src`: paths relative to src
K = ["--key", "k.key"]
PACK = ["qyn1", "pack", "src", *K, "--workers", "1", "--quiet"]
UNPACK = ["qyn1", "unpack", "p.qyn", *K, "--workers", "1", "--quiet"]


# -- setups ---------------------------------------------------------------------------------------
_scratch: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    if "dir" in _scratch:
        shutil.rmtree(_scratch.pop("dir"), ignore_errors=True)


@functools.cache
def _package(files: tuple[tuple[str, bytes], ...] = tuple(SRC.items())) -> bytes:
    return pack_bytes(dict(files))


@functools.cache
def _prior_unpack() -> Path:
    """A real earlier ``unpack`` output (with its perfkit marker), written once through ``perfkit.job``."""
    from perfkit.job import job

    _scratch.setdefault("dir", Path(tempfile.mkdtemp(prefix="qyn1-hostile-")))
    pkg = _scratch["dir"] / "p.qyn"
    pkg.write_bytes(_package())
    out = _scratch["dir"] / "out"
    with job("qyn1", "unpack", inputs=[pkg], directories=[out]) as j:
        extraction.extract(pkg, j.path(out), key_source(), workers=1)
    return out


def base(folder: Path) -> None:
    (folder / "k.key").write_bytes(KEY)
    (folder / "a.py").write_text("print('a')\n")
    for name, data in SRC.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "p.qyn").write_bytes(_package())


def with_(*steps):
    """The base scratch folder, then each ``step(folder)``."""

    def setup(folder: Path) -> None:
        base(folder)
        for step in steps:
            step(folder)

    return setup


def write(name: str, data: bytes | str):
    def step(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return step


def mkdir(name: str, mode: int | None = None):
    def step(folder: Path) -> None:
        (folder / name).mkdir(parents=True, exist_ok=True)
        if mode is not None:
            os.chmod(folder / name, mode)

    return step


def fifo(name: str):
    return lambda folder: os.mkfifo(folder / name)


def symlink(name: str, target: str):
    return lambda folder: os.symlink(target, folder / name)


def chmod(name: str, mode: int):
    return lambda folder: os.chmod(folder / name, mode)


def prior_unpack(name: str):
    return lambda folder: shutil.copytree(_prior_unpack(), folder / name, symlinks=True)


def truncated(folder: Path) -> None:
    (folder / "p.qyn").write_bytes(_package()[:-40])


def flipped(folder: Path) -> None:
    """One bit flipped in the first chunk (``a.py``'s) of ``p.qyn``."""
    blob = bytearray(_package())
    blob[60] ^= 1
    (folder / "p.qyn").write_bytes(bytes(blob))


def garbage(folder: Path) -> None:
    (folder / "p.qyn").write_bytes(os.urandom(3000))


def other_key(folder: Path) -> None:
    (folder / "other.key").write_bytes(bytes(range(1, 33)))


def reserved_name(folder: Path) -> None:
    (folder / "p.qyn").write_bytes(_package((("run_report.json", b"{}\n"),)))


def _crafted(files: list[tuple[str, bytes]]) -> bytes:
    """A package whose table lists ``files`` in exactly this order, each a block of its own (what a
    hostile writer could make: qyn1's own pack refuses clashes before writing)."""
    import io

    from qyn1 import container

    f = io.BytesIO()
    w = container.Writer(f, key_source(), 65536)
    for path, data in files:
        ef = pipeline.encode_bytes(data, 65536, arcpath=path)
        w.add_file(path, 0o644, ef.size, ef.digest, ef.chunks)
    w.close()
    return f.getvalue()


def crafted(*files: tuple[str, bytes]):
    return lambda folder: (folder / "p.qyn").write_bytes(_crafted(list(files)))


def _passphrase_package(folder: Path, opslimit: int | None = None, version: int | None = None) -> None:
    """``p.qyn`` made with the passphrase ``pw`` (cheap Argon2id), its header's opslimit (bytes 8-11) or
    container version (byte 4) then overwritten as a forger would."""
    import io

    from qyn1 import container, keys

    f = io.BytesIO()
    w = container.Writer(f, keys.KeySource.from_passphrase("pw", opslimit=1, memlimit=8 << 20), 65536)
    ef = pipeline.encode_bytes(b"x = 1\n", 65536, arcpath="x.py")
    w.add_file("x.py", 0o644, ef.size, ef.digest, ef.chunks)
    w.close()
    blob = bytearray(f.getvalue())
    if opslimit is not None:
        blob[8:12] = opslimit.to_bytes(4, "little")
    if version is not None:
        blob[4] = version
    (folder / "p.qyn").write_bytes(bytes(blob))


PW = ["--passphrase-env", "QPW"]
CASES = [
    # packages that could not be unpacked are refused at pack (issue 13)
    Case(
        "pack-file-and-folder-of-the-same-name",
        ["qyn1", "pack", "s1", "s2", *K, "-o", "x.qyn"],
        2,
        "would be a file and a folder",
        with_(write("s1/a", "x\n"), write("s2/a/b.py", "y = 1\n")),
    ),
    Case(
        "pack-stdin-as-source", [*PACK[:2], "-", *PACK[3:], "-o", "x.qyn"], 2, "not standard input", with_()
    ),
    Case("unpack-to-stdout", [*UNPACK, "-o", "-"], 2, "not standard output", with_()),
    # verify decodes on --workers process workers, as unpack does (docs/perf/qyn1.md, "Unpack, round 9")
    Case("verify-workers-zero", ["qyn1", "verify", "p.qyn", *K, "--workers", "0"], 2, "Invalid value for '--workers'", with_()),
    Case("verify-executor-dask", ["qyn1", "verify", "p.qyn", *K, "--executor", "dask"], 2, "Invalid value for '--executor'", with_()),
    Case("verify-two-workers", ["qyn1", "verify", "p.qyn", *K, "--workers", "2", "-q"], 0, "", with_()),
    Case("verify-tampered-on-two-workers", ["qyn1", "verify", "p.qyn", *K, "--workers", "2"], 2, "a.py: chunk 0 of 1 failed authentication", with_(flipped)),
    # crafted packages: refused before anything is written, no folder left behind
    Case(
        "unpack-crafted-file-inside-a-file",
        [*UNPACK, "-o", "out"],
        2,
        "cannot be unpacked",
        with_(crafted(("a/b.py", b"b = 1\n"), ("a", b"a\n"))),
    ),
    Case(
        "unpack-crafted-name-too-long",
        [*UNPACK, "-o", "out"],
        2,
        "longer than this file system allows",
        with_(crafted(("d/" + "n" * 300, b"x\n"))),
    ),
    Case(
        "unpack-crafted-reserved-marker",
        [*UNPACK, "-o", "out"],
        2,
        "perfkit's record",
        with_(crafted((".perfkit-output", b"{}\n"))),
    ),
    # passphrase parameters bounded before any key derivation (0xFFFFFFFF used to spin for hours)
    Case(
        "verify-absurd-opslimit",
        ["qyn1", "verify", "p.qyn", *PW],
        2,
        "opslimit 4294967295",
        with_(lambda f: _passphrase_package(f, opslimit=0xFFFFFFFF)),
        env={"QPW": "pw"},
    ),
    Case(
        "list-absurd-opslimit",
        ["qyn1", "list", "p.qyn", *PW],
        2,
        "damaged or foreign package",
        with_(lambda f: _passphrase_package(f, opslimit=1 << 20)),
        env={"QPW": "pw"},
    ),
    Case(
        "list-previous-container-format",
        ["qyn1", "list", "p.qyn", *PW],
        2,
        "format version 1",
        with_(lambda f: _passphrase_package(f, version=1)),
        env={"QPW": "pw"},
    ),
    Case(
        "list-container-format-3-before-xz",
        ["qyn1", "list", "p.qyn", *PW],
        2,
        "format version 3; this qyn1 reads only version 4",
        with_(lambda f: _passphrase_package(f, version=3)),
        env={"QPW": "pw"},
    ),
    # keys from the environment; messages in words, never errno text
    Case("key-env-unset", ["qyn1", "list", "p.qyn", "--key-env", "QK_UNSET"], 2, "not set", with_()),
    Case(
        "key-env-not-a-key",
        ["qyn1", "list", "p.qyn", "--key-env", "QK"],
        2,
        "does not hold a 32-byte key",
        with_(),
        env={"QK": "00ff" * 8},
    ),
    Case(
        "key-and-key-env",
        ["qyn1", "list", "p.qyn", *K, "--key-env", "QK"],
        2,
        "exactly one of",
        with_(),
        env={"QK": KEY.hex()},
    ),
    Case(
        "passphrase-file-missing",
        ["qyn1", "list", "p.qyn", "--passphrase-file", "nope.txt"],
        2,
        "nope.txt': No such file or directory",
        with_(),
    ),
    Case("list-missing-package", ["qyn1", "list", "nope.qyn", *K], 2, "nope.qyn': No such file", with_()),
    # a device named as a key, passphrase or bench file: was read whole (/dev/zero: 24 GB, then the OOM killer)
    Case("pack-key-is-a-device", [*PACK[:3], "--key", "/dev/zero", "-o", "x.qyn"], 2, "is not a 32-byte key", with_()),
    Case(
        "pack-passphrase-file-is-a-device",
        [*PACK[:3], "--passphrase-file", "/dev/zero", "-o", "x.qyn"],
        2,
        "no line break in its first 4096 bytes",
        with_(),
    ),
    Case("bench-of-a-device", ["qyn1", "bench", "/dev/zero"], 2, "/dev/zero: not a regular file", with_()),
    # outputs against inputs: refused before any work, naming both paths
    Case("pack-output-inside-input", [*PACK, "-o", "src/x.qyn"], 2, "inside the input folder", with_()),
    Case(
        "pack-output-is-input",
        ["qyn1", "pack", "a.py", "-o", "a.py", *K, "--force"],
        2,
        "is the input",
        with_(),
    ),
    Case("pack-output-is-key", [*PACK, "-o", "k.key", "--force"], 2, "is the input k.key", with_()),
    Case(
        "pack-output-is-passphrase-file",
        ["qyn1", "pack", "src", "-o", "pw.txt", "--passphrase-file", "pw.txt", "--force"],
        2,
        "is the input pw.txt",
        with_(write("pw.txt", "hunter22\n")),
    ),
    # the file forgotten: `-o --force` wrote a package named '--force' and exited 0 (NotAnOptionPath)
    Case("pack-output-is-an-option", [*PACK, "-o", "--force"], 2, "'--force' is an option, not a path", with_()),
    Case("pack-output-is-a-folder", [*PACK, "-o", "."], 2, "is a directory", with_()),
    Case("pack-profile-is-input", [*PACK, "-o", "x.qyn", "--profile", "src/a.py"], 2, "--profile", with_()),
    Case(
        "pack-profile-is-key", [*PACK, "-o", "x.qyn", "--profile", "k.key"], 2, "is the input k.key", with_()
    ),
    Case(
        "pack-report-dir-is-input", [*PACK, "-o", "x.qyn", "--report-dir", "src"], 2, "--report-dir", with_()
    ),
    Case("unpack-into-cwd-holding-package", [*UNPACK, "-o", "."], 2, "current folder", with_()),
    Case(
        "unpack-into-folder-holding-package",
        ["qyn1", "unpack", "d/p.qyn", *K, "-o", "d", "--force"],
        2,
        "would contain the input",
        with_(mkdir("d"), lambda f: shutil.copy(f / "p.qyn", f / "d" / "p.qyn")),
    ),
    Case(
        "unpack-output-is-key-folder",
        ["qyn1", "unpack", "p.qyn", "--key", "kd/k.key", "-o", "kd", "--force"],
        2,
        "would contain the input",
        with_(mkdir("kd"), lambda f: shutil.copy(f / "k.key", f / "kd" / "k.key")),
    ),
    # existing outputs
    Case("pack-existing-output-no-force", [*PACK, "-o", "p.qyn"], 2, "pass --force", with_()),
    Case("keygen-existing-key-no-force", ["qyn1", "keygen", "k.key"], 2, "pass --force", with_()),
    Case("keygen-into-a-folder", ["qyn1", "keygen", "src", "--force"], 2, "is a directory", with_()),
    # a path ending in "/" names a folder: keygen wrote a key FILE "k" (docs audit D29)
    Case("keygen-path-with-a-trailing-slash", ["qyn1", "keygen", "k/"], 2, "ends with a slash", with_()),
    # 0 was "internal error: slice step cannot be zero", exit 1; -1 walked the files backwards (D33)
    Case("bench-every-zero", ["qyn1", "bench", "--every", "0"], 2, "Invalid value for '--every'", with_()),
    Case("bench-every-negative", ["qyn1", "bench", "--every", "-1"], 2, "Invalid value for '--every'", with_()),
    Case(
        "unpack-existing-output-no-force",
        [*UNPACK, "-o", "out"],
        2,
        "pass --force",
        with_(prior_unpack("out")),
    ),
    Case("unpack-foreign-folder-no-force", [*UNPACK, "-o", "src"], 2, "pass --force", with_()),
    Case("unpack-foreign-folder-force", [*UNPACK, "-o", "src", "--force"], 2, "did not write (a.py", with_()),
    Case(
        "unpack-prior-output-plus-foreign-file",
        [*UNPACK, "-o", "out", "--force"],
        2,
        "did not write (mine.txt)",
        with_(prior_unpack("out"), write("out/mine.txt", "keep me\n")),
    ),
    Case("pack-over-a-fifo", [*PACK, "-o", "ff", "--force"], 2, "pipe", with_(fifo("ff"))),
    Case(
        "pack-over-a-link-to-a-fifo",  # as -o /dev/stdout is: the link must not be replaced by a file
        [*PACK, "-o", "out", "--force"],
        2,
        "pipe",
        with_(fifo("ff"), symlink("out", "ff")),
    ),
    # bad packages and keys
    Case(
        "unpack-wrong-key",
        ["qyn1", "unpack", "p.qyn", "--key", "other.key", "-o", "out"],
        2,
        "wrong key",
        with_(other_key),
    ),
    Case("unpack-truncated-package", [*UNPACK, "-o", "out"], 2, "truncated", with_(truncated)),
    Case("unpack-garbage-package", [*UNPACK, "-o", "out"], 2, "not a qyn1 package", with_(garbage)),
    Case(
        "unpack-key-is-not-a-key",
        ["qyn1", "unpack", "p.qyn", "--key", "a.py", "-o", "out"],
        2,
        "not a 32-byte key",
        with_(),
    ),
    Case("unpack-package-holds-report-name", [*UNPACK, "-o", "out"], 2, "run report", with_(reserved_name)),
    # bad sources
    Case(
        "pack-empty-folder",
        [*PACK[:2], "empty", *PACK[3:], "-o", "x.qyn"],
        2,
        "nothing to pack",
        with_(mkdir("empty")),
    ),
    Case(
        "pack-fifo-source",
        [*PACK[:2], "ff", *PACK[3:], "-o", "x.qyn"],
        2,
        "not a regular file",
        with_(fifo("ff")),
    ),
    Case(
        "pack-symlink-loop",
        [*PACK[:2], "l1", *PACK[3:], "-o", "x.qyn"],
        2,
        "leads nowhere",
        with_(symlink("l1", "l2"), symlink("l2", "l1")),
    ),
    Case(
        "pack-unreadable-file",
        [*PACK[:2], "src", "/proc/self/mem", *PACK[3:], "-o", "x.qyn"],
        2,
        "cannot read '/proc/self/mem'",
        with_(),
    ),
    Case(
        "pack-non-utf8-name",
        [*PACK, "-o", "x.qyn"],
        2,
        "not valid UTF-8",
        with_(lambda f: (f / "src" / os.fsdecode(b"bad\xff.py")).write_text("x = 1\n")),
    ),
    Case(
        "pack-backslash-name", [*PACK, "-o", "x.qyn"], 2, "portably", with_(write("src/a\\b.py", "x = 1\n"))
    ),
    # bad output places and options
    Case("pack-output-parent-is-a-file", [*PACK, "-o", "a.py/x.qyn"], 2, "not a folder", with_()),
    Case("pack-output-in-proc", [*PACK, "-o", "/proc/x.qyn"], 2, "/proc/x.qyn", with_()),
    Case("unpack-output-in-proc", [*UNPACK, "-o", "/proc/qyn1-out"], 2, "/proc/qyn1-out", with_()),
    Case("pack-workers-10000", [*PACK[:-3], "--workers", "10000", "-o", "x.qyn"], 2, "--workers", with_()),
    Case(
        "pack-pyproject-workers-10000",
        [*PACK[:-3], "-o", "x.qyn"],
        2,
        "workers must be between",
        with_(write("src/pyproject.toml", "[tool.qyn1]\nworkers = 10000\n")),
    ),
    # [tool.qyn1] errors name the file and the key; an unknown key is refused, not ignored (audit Q6)
    Case("pack-pyproject-unknown-preset", [*PACK, "-o", "x.qyn"], 2, "[tool.qyn1] in src/pyproject.toml key 'preset': unknown preset 'bogus'", with_(write("src/pyproject.toml", '[tool.qyn1]\npreset = "bogus"\n'))),
    Case("pack-pyproject-unknown-key", [*PACK, "-o", "x.qyn"], 2, "[tool.qyn1] in src/pyproject.toml: unknown key 'bogus_key'", with_(write("src/pyproject.toml", "[tool.qyn1]\nbogus_key = 1\n"))),
    Case("pack-pyproject-chunk-size-names-the-key", [*PACK, "-o", "x.qyn"], 2, "src/pyproject.toml key 'chunk_size': chunk size must be", with_(write("src/pyproject.toml", "[tool.qyn1]\nchunk_size = 1\n"))),
    # overlapping sources are refused naming both, not stored twice (audit Q7)
    Case("pack-source-inside-another", [*PACK[:2], "src", "src/sub", *PACK[3:], "-o", "x.qyn"], 2, "sources overlap: 'src/sub' is inside 'src'", with_(write("src/sub/c.py", "c = 1\n"))),
    Case("pack-file-source-inside-a-folder-source", [*PACK[:2], "src/a.py", "src", *PACK[3:], "-o", "x.qyn"], 2, "sources overlap: 'src/a.py' is inside 'src'", with_()),
    Case("pack-folder-given-twice", [*PACK[:2], "src", "./src", *PACK[3:], "-o", "x.qyn"], 2, "sources overlap: 'src' is given twice", with_()),
    Case("pack-chunk-size-0", [*PACK, "-o", "x.qyn", "--chunk-size", "0"], 2, "--chunk-size", with_()),
    # -- a Dask cluster named where it cannot be used: refused before anything is claimed or contacted --
    Case("pack-scheduler-with-processes", [*PACK, "-o", "x.qyn", "--executor", "processes", "--scheduler", "tcp://127.0.0.1:1"], 2, "--scheduler tcp://127.0.0.1:1 runs on a Dask cluster; it cannot be used with --executor processes", with_()),
    Case("unpack-scheduler-env-with-threads", [*UNPACK, "-o", "out", "--executor", "threads"], 2, "it cannot be used with --executor threads", with_(), env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:1"}),
    Case("unpack-stdin-on-a-cluster", ["qyn1", "unpack", "-", *K, "-o", "out", "--scheduler", "tcp://127.0.0.1:1"], 2, "cannot come from standard input", with_()),
]  # fmt: skip
# Rows that wait for a timeout (perfkit gives a scheduler 10 s to answer).
SLOW_CASES = [
    Case("pack-scheduler-unreachable", [*PACK, "-o", "x.qyn", "--scheduler", "tcp://127.0.0.1:1"], 2, "cannot reach the Dask scheduler at tcp://127.0.0.1:1", with_()),
]  # fmt: skip
NOT_AS_ROOT = [
    Case(
        "pack-unreadable-file-mode-000", [*PACK, "-o", "x.qyn"], 2, "cannot read", with_(chmod("src/a.py", 0))
    ),
    Case(
        "pack-unlistable-folder",
        [*PACK, "-o", "x.qyn"],
        2,
        "cannot list folder",
        with_(mkdir("src/locked", 0)),
    ),
    Case(
        "pack-read-only-folder", [*PACK, "-o", "ro/x.qyn"], 2, "permission denied", with_(mkdir("ro", 0o555))
    ),
]
# perfkit: a worker's error during a process pool run makes the resource tracker print "leaked semaphore"
# warnings (3 more stderr lines) -- reported to perfkit; passes once the pool is cleaned up on that path
PERFKIT_GAPS = [
    Case(
        "pack-unreadable-file-2-workers",
        [
            "qyn1",
            "pack",
            "src",
            "/proc/self/mem",
            *K,
            "--workers",
            "2",
            "--executor",
            "processes",
            "-o",
            "x.qyn",
        ],
        2,
        "cannot read '/proc/self/mem'",
        with_(),
    ),
]


def _snapshot_without_reading_pipes(folder: Path) -> dict[str, str]:
    """``tests.hostile.snapshot``, except that a named pipe is recorded, not read (reading one blocks
    until a writer comes: the shared helper hangs on the FIFO rows; reported, to be fixed there)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            out[rel] = "-> " + os.readlink(path)
        elif stat.S_ISDIR(mode):
            out[rel] = "<dir>"
        elif not stat.S_ISREG(mode):
            out[rel] = f"<special {stat.S_IFMT(mode):o}>"
        else:
            out[rel] = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    return out


@pytest.fixture(autouse=True)
def _fifo_safe_snapshot(monkeypatch):
    monkeypatch.setattr(tests.hostile, "snapshot", _snapshot_without_reading_pipes)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case, tmp_path):
    res = check_case(case, tmp_path)
    assert "[Errno" not in res.stderr  # messages in words


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=[c.id for c in SLOW_CASES])
def test_hostile_slow(case, tmp_path):
    check_case(case, tmp_path)


@pytest.mark.skipif(ROOT, reason="permission bits do not stop root")
@pytest.mark.parametrize("case", NOT_AS_ROOT, ids=[c.id for c in NOT_AS_ROOT])
def test_hostile_permissions(case, tmp_path):
    try:
        check_case(case, tmp_path)
    finally:
        for path in tmp_path.rglob("*"):
            if not path.is_symlink():
                os.chmod(path, 0o700)


@pytest.mark.parametrize("case", PERFKIT_GAPS, ids=[c.id for c in PERFKIT_GAPS])
def test_hostile_perfkit_gaps(case, tmp_path):
    check_case(case, tmp_path)


def _entries(pkg: Path) -> dict[str, bytes]:
    f, r = extraction.open_package(pkg, key_source())
    with f:
        return {e.path: r.read(e) for e in r.entries}


def test_folder_source_packs_only_its_regular_files(tmp_path):
    """Inside a folder source, pipes and links (a loop, one to the parent) are skipped, never read."""
    case = Case(
        "pack-folder-with-fifo-and-links",
        [*PACK, "-o", "x.qyn"],
        0,
        "",
        with_(fifo("src/ff"), symlink("src/l1", "l2"), symlink("src/l2", "l1"), symlink("src/up", "..")),
    )
    check_case(case, tmp_path)
    assert _entries(tmp_path / "x.qyn") == PACKED_SRC


ODD_NAMES = [
    "a" * 240 + ".py",  # 243 bytes: the longest name a run's temporaries used to push over the limit
    "b" * 255,  # the longest legal name
    "-n.py",
    "two words.py",
    "line\nbreak.py",
    "caf\u00e9 \u6587\u4ef6.py",
    "c:d",  # not at the top: only a leading drive letter is unportable
    ".hidden",
]


def test_odd_names_pack_and_unpack(tmp_path):
    (tmp_path / "k.key").write_bytes(KEY)
    files = {f"src/sub/{name}": f"x = {i}\n".encode() for i, name in enumerate(ODD_NAMES)}
    for name, data in files.items():
        (tmp_path / "odd" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "odd" / name).write_bytes(data)
    res = run(["qyn1", "pack", "odd/src", "-o", "odd.qyn", *K, "--workers", "1", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr
    res = run(["qyn1", "unpack", "odd.qyn", "-o", "back", *K, "--workers", "1", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr
    back = {p.name: p.read_bytes() for p in (tmp_path / "back" / "sub").iterdir()}
    assert back == {k.removeprefix("src/sub/"): v for k, v in files.items()}
    assert not temporaries(tmp_path)


def test_unpack_over_an_earlier_unpack_needs_force_and_replaces_it_whole(tmp_path):
    base(tmp_path)
    shutil.copytree(_prior_unpack(), tmp_path / "out", symlinks=True)
    before = snapshot(tmp_path)
    (tmp_path / "q.qyn").write_bytes(_package((("new/c.py", b"c = 3\n"),)))
    res = run(["qyn1", "unpack", "q.qyn", *K, "-o", "out", "--quiet"], tmp_path)
    assert res.returncode == 2 and "pass --force" in res.stderr
    assert snapshot(tmp_path) == {**before, "q.qyn": snapshot(tmp_path)["q.qyn"]}
    res = run(["qyn1", "unpack", "q.qyn", *K, "-o", "out", "--force", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    assert (out / "new" / "c.py").read_bytes() == b"c = 3\n"
    assert not (out / "src").exists()  # the earlier unpack is gone, not merged
    assert (out / "run_report.json").is_file()  # the report of a folder output is kept inside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "k.key", "out", "p.qyn", "q.qyn", "src"]
    assert not temporaries(tmp_path)


def test_pack_with_force_replaces_the_package_and_writes_one_file(tmp_path):
    base(tmp_path)
    old = (tmp_path / "p.qyn").read_bytes()
    res = run([*PACK, "-o", "p.qyn", "--force"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "p.qyn").read_bytes() != old and _entries(tmp_path / "p.qyn") == PACKED_SRC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "k.key", "p.qyn", "src"]  # no report folder
