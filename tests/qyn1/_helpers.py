"""Small deterministic projects and package-building helpers for the qyn1 tests."""

from __future__ import annotations

import io
import os
import random
import subprocess
from pathlib import Path

from qyn1 import codec, container, keys, pipeline

from tests.hostile import command

KEY = bytes(range(32))
SALT = bytes(range(100, 116))


def start(argv: list[str], cwd: Path) -> subprocess.Popen:
    """An installed console script (``argv[0]``) started in ``cwd`` in a session of its own (the caller
    kills the group when done: ``tests.hostile.with_children_killed``); stderr piped, no stdin, no terminal."""
    return subprocess.Popen(
        [command(argv[0]), *argv[1:]],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        start_new_session=True,
    )


def key_source(key: bytes = KEY) -> keys.KeySource:
    return keys.KeySource(key=key)


def make_project(root: Path) -> Path:
    """A little tree: Python modules, a non-UTF-8 file, a binary blob, an empty file, a syntax error."""
    proj = root / "proj"
    (proj / "pkg" / "sub").mkdir(parents=True)
    (proj / "pkg" / "__init__.py").write_text('"""Package docstring."""\nfrom .core import run\n')
    (proj / "pkg" / "core.py").write_text(
        "import os\n\n\ndef run(argv=None):\n    # say hello\n    name = os.environ.get('USER', \"world\")\n"
        "    return f'hello {name}!'  # trailing comment\n\r\nclass Thing:\n\tx = 0x1F + 1.5e3j\n"
    )
    (proj / "pkg" / "sub" / "broken.py").write_text("def f(:\n    return 'unterminated\n")
    (proj / "pkg" / "latin1.py").write_bytes("# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n".encode("latin-1"))
    rng = random.Random(5)
    (proj / "data.bin").write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    (proj / "empty.txt").write_bytes(b"")
    (proj / "README.md").write_text("# proj\n\nSome text.\n" * 20)
    big = "".join(f"def func_{i}(a, b):\n    return a * {i} + b  # {i}\n\n" for i in range(3000))
    (proj / "pkg" / "big.py").write_text(big)
    return proj


def pack_bytes(
    files: dict[str, bytes],
    *,
    chunk_size: int = 64 * 1024,
    key: bytes = KEY,
    salt: bytes = SALT,
    python: bool | None = None,
    solid: bool = False,
    exact_chunks: bool = False,
) -> bytes:
    """Build a package in memory from ``{path: content}`` (no file system, deterministic): each file a
    block of its own, or with ``solid`` the blocks ``qyn1 pack`` plans (small files grouped); with
    ``exact_chunks`` every file is cut at exactly ``chunk_size`` whatever its kind (many small chunks)."""
    f = io.BytesIO()
    w = container.Writer(f, key_source(key), chunk_size, salt=salt)
    if solid:
        specs = [pipeline.FileSpec(p, p, len(d), 0o644) for p, d in sorted(files.items())]
        for b in pipeline.plan_blocks(specs, chunk_size):
            eb = pipeline.encode_block(
                [files[s.arcpath] for s in b.files], b.python, chunk_size, machine=b.machine
            )
            w.add_block(
                [(s.arcpath, 0o644, n, d) for s, (n, d) in zip(b.files, eb.files, strict=True)], eb.chunks
            )
    for path in [] if solid else sorted(files):
        data = files[path]
        if exact_chunks:
            pieces = codec.split_chunks(data, chunk_size, at_lines=False) if data else []
            chunks = [(codec.encode_chunk(c, python=False), len(c)) for c in pieces]
            w.add_file(path, 0o644, len(data), container.digest(data), chunks)
            continue
        ef = pipeline.encode_bytes(data, chunk_size, python=python, arcpath=path)
        w.add_file(path, 0o644, ef.size, ef.digest, ef.chunks)
    w.close()
    return f.getvalue()


def read_all(blob: bytes, key: bytes = KEY) -> dict[str, bytes]:
    r = container.Reader(io.BytesIO(blob), key_source(key))
    return {e.path: r.read(e) for e in r.entries}


def single_file_round_trip(path: str) -> bool:
    """Pack one file alone in a package (in memory), read it back: True when byte-exact.
    Module-level so process workers can run it."""
    data = open(path, "rb").read()  # noqa: SIM115 -- tiny helper run in workers
    name = path.rsplit("/", 1)[-1]
    return read_all(pack_bytes({name: data}, chunk_size=128 * 1024)) == {name: data}
