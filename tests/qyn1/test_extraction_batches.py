"""Unpack and verify decode a group's chunks a batch at a time (``extraction._Batches``): with batches cut
small, every file still comes back byte for byte across batch, block, file and codec boundaries, and a bad
chunk inside a batch raises exactly the error the chunk-by-chunk reader (``container.Reader``) raises."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from qyn1 import codec, container, extraction, pipeline
from qyn1.errors import Qyn1Error
from qyn1.python import layout, names

from ._helpers import KEY, SALT, key_source


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(extraction, "BATCH_CHUNKS", 3)
    monkeypatch.setattr(extraction, "BATCH_SOURCE", 20_000)


def _package(files: dict[str, bytes], damage=lambda path, j, p: p) -> bytes:
    """A package of ``files`` (4 KiB chunks, each file a block), every chunk payload passed through
    ``damage(path, j, payload)`` before it is encrypted (so a damaged one still authenticates)."""
    f = io.BytesIO()
    w = container.Writer(f, key_source(), 4096, salt=SALT)
    for path, data in files.items():
        ef = pipeline.encode_bytes(data, 4096, arcpath=path)
        w.add_file(
            path, 0o644, ef.size, ef.digest, [(damage(path, j, p), n) for j, (p, n) in enumerate(ef.chunks)]
        )
    w.close()
    return f.getvalue()


_FILES = {
    "a.py": b"x = 1\n",
    "b.py": Path(names.__file__).read_bytes(),
    "c.bin": random.Random(3).randbytes(3000),
    "e.py": b"",
    "d.py": Path(layout.__file__).read_bytes(),
}


def test_unpack_in_small_batches_round_trips(tmp_path, small_batches):
    pkg = tmp_path / "p.qyn"
    pkg.write_bytes(_package(_FILES))
    with open(pkg, "rb") as f:
        r = container.Reader(f, key_source())
        codecs = [codec.NAMES[c] for b in r.blocks for c in b.codecs]
        assert codecs.count("python") > 2 * extraction.BATCH_CHUNKS and len(set(codecs)) > 1
    dest = tmp_path / "d"
    extraction.unpack(pkg, dest, key_source(), workers=1, executor="serial")
    assert {p: (dest / p).read_bytes() for p in _FILES} == _FILES
    assert extraction.verify(pkg, key_source()).files == len(_FILES)


def _error(fn) -> str:
    with pytest.raises(Qyn1Error) as e:
        fn()
    return f"{type(e.value).__name__}: {e.value}"


@pytest.mark.parametrize("case", ["tampered", "undecodable"])
def test_a_bad_chunk_in_a_batch_raises_the_per_chunk_error(tmp_path, small_batches, case):
    if case == "undecodable":  # authenticates, but the python body is cut short
        blob = _package(_FILES, lambda path, j, p: p[: len(p) // 2] if (path, j) == ("b.py", 4) else p)
    else:  # a ciphertext byte flipped in chunk 4 of b.py's block
        blob = bytearray(_package(_FILES))
        r = container.Reader(io.BytesIO(bytes(blob)), key_source())
        assert r.entry("b.py").codecs[4] == codec.PYTHON
        blob[r.entry("b.py").chunks[4][0] + 5] ^= 1
        blob = bytes(blob)
    pkg = tmp_path / "p.qyn"
    pkg.write_bytes(blob)
    r = container.Reader(io.BytesIO(blob), key_source(KEY))
    per_chunk = _error(lambda: [r.read(e) for e in r.entries])
    assert "b.py: chunk 4 of" in per_chunk
    assert _error(lambda: extraction.verify(pkg, key_source())) == per_chunk
    dest = tmp_path / "d"
    unpack = _error(lambda: extraction.unpack(pkg, dest, key_source(), workers=1, executor="serial"))
    assert unpack == per_chunk and not dest.exists()


def test_a_table_listing_a_blocks_files_apart_still_verifies(tmp_path, small_batches):
    """A table may list one block's files with another block's files between them (the format allows any
    order; qyn1's writer keeps a block's files together): the chunk the later file shares with the earlier
    one was decoded in a batch long gone, and is decoded again on its own rather than missed."""
    shared = [b"first = 1\n", b"third = 3\n"]
    ef = pipeline.encode_bytes(b"".join(shared), 4096, arcpath="s.py")
    f = io.BytesIO()
    w = container.Writer(f, key_source(), 4096, salt=SALT)
    w.add_block(
        [(f"{n}.py", 0o644, len(d), container.digest(d)) for n, d in zip("ac", shared, strict=True)],
        ef.chunks,
    )
    middle = Path(names.__file__).read_bytes()  # several chunks: the batch moves on
    em = pipeline.encode_bytes(middle, 4096, arcpath="b.py")
    w.add_file("b.py", 0o644, em.size, em.digest, em.chunks)
    w.entries[1:] = [w.entries[2], w.entries[1]]  # a, b, c: block 0, block 1, block 0 again
    w.close()
    pkg = tmp_path / "p.qyn"
    pkg.write_bytes(f.getvalue())
    with open(pkg, "rb") as fh:
        r = container.Reader(fh, key_source())
        assert [(e.path, e.block) for e in r.entries] == [("a.py", 0), ("b.py", 1), ("c.py", 0)]
        assert len(r.blocks[1].chunks) > extraction.BATCH_CHUNKS
    assert extraction.verify(pkg, key_source()).files == 3
