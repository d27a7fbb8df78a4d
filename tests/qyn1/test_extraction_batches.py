"""Unpack and verify decode a group's chunks a batch at a time (``extraction._Batches``): with batches cut
small, every file still comes back byte for byte across batch, block, file and codec boundaries, and a bad
chunk inside a batch raises exactly the error the chunk-by-chunk reader (``container.Reader``) raises."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from qyn1 import codec, container, extraction, pipeline
from qyn1.errors import Qyn1Error
from qyn1.python import layout, names

from ._helpers import KEY, SALT, key_source, make_project


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(extraction, "BATCH_CHUNKS", 3)
    monkeypatch.setattr(extraction, "BATCH_SOURCE", 20_000)


def test_unpack_in_small_batches_round_trips(tmp_path, small_batches):
    proj = make_project(tmp_path)
    for m in (names, layout):  # real source: python chunks
        (proj / "pkg" / Path(m.__file__).name).write_bytes(Path(m.__file__).read_bytes())
    specs = pipeline.collect_sources([proj])
    out = tmp_path / "p.qyn"
    pipeline.pack(specs, out, key_source(), chunk_size=8192, workers=1, executor="serial", salt=SALT)
    with open(out, "rb") as f:
        r = container.Reader(f, key_source())
        codecs = {codec.NAMES[c] for b in r.blocks for c in b.codecs}
        assert "python" in codecs and len(codecs) > 1
        assert sum(len(b.chunks) for b in r.blocks) > 3 * extraction.BATCH_CHUNKS
    dest = tmp_path / "d"
    extraction.unpack(out, dest, key_source(), workers=1, executor="serial")
    for s in specs:
        assert (dest / s.arcpath).read_bytes() == Path(s.source).read_bytes()
    assert extraction.verify(out, key_source()).files == len(specs)


def _error(fn) -> str:
    with pytest.raises(Qyn1Error) as e:
        fn()
    return f"{type(e.value).__name__}: {e.value}"


def _package(big: bytes, damage) -> bytes:
    """A package of three files, ``b.py``'s chunks passed through ``damage(j, payload)`` before they are
    encrypted (so they authenticate)."""
    f = io.BytesIO()
    w = container.Writer(f, key_source(), 4096, salt=SALT)
    for path, data in (("a.py", b"x = 1\n"), ("b.py", big), ("c.py", b"y = 2\n")):
        ef = pipeline.encode_bytes(data, 4096, arcpath=path)
        chunks = [(damage(j, p) if path == "b.py" else p, n) for j, (p, n) in enumerate(ef.chunks)]
        w.add_file(path, 0o644, ef.size, ef.digest, chunks)
    w.close()
    return f.getvalue()


@pytest.mark.parametrize("case", ["tampered", "undecodable"])
def test_a_bad_chunk_in_a_batch_raises_the_per_chunk_error(tmp_path, small_batches, case):
    big = Path(names.__file__).read_bytes()
    if case == "undecodable":  # authenticates, but the python body is cut short
        blob = _package(big, lambda j, p: p[: len(p) // 2] if j == 4 else p)
    else:  # a ciphertext byte flipped in chunk 4 of b.py's block
        blob = bytearray(_package(big, lambda j, p: p))
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
