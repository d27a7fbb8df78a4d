"""Byte-exact round trip of the CPython standard library on this machine (the qyn1 corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest
from qyn1 import codec, corpus, extraction, pipeline

from ._helpers import key_source

ROOT = corpus.stdlib_root()
FILES = corpus.corpus_files()
# the awkward ones: not UTF-8, deliberately invalid Python, BOMs, CRLF
AWKWARD = [
    p
    for p in FILES
    if p.relative_to(ROOT)
    .as_posix()
    .startswith(("lib2to3/tests/data/", "test/tokenizedata/", "test/encoded_modules/"))
]


def test_corpus_is_there():
    assert len(FILES) > 1000, "the stdlib corpus should have ~1,800 files"
    assert len(AWKWARD) >= 5


def test_awkward_and_sampled_files_single(tmp_path):
    sample = AWKWARD + FILES[::40]
    for p in sample:
        data = p.read_bytes()
        ef = pipeline.encode_bytes(data, 64 * 1024, arcpath=p.name)
        back = b"".join(codec.decode_chunk(c, n) for c, n in ef.chunks)
        assert back == data, p


def test_sampled_project_pack_unpack(tmp_path):
    specs = [
        pipeline.FileSpec(p.relative_to(ROOT).as_posix(), str(p), p.stat().st_size, 0o644)
        for p in AWKWARD + FILES[7::60]
    ]
    out = tmp_path / "lib.qyn"
    pipeline.pack(specs, out, key_source(), chunk_size=128 * 1024, workers=1, executor="serial")
    dest = tmp_path / "d"
    extraction.unpack(out, dest, key_source(), workers=1)
    for s in specs:
        assert (dest / s.arcpath).read_bytes() == Path(s.source).read_bytes(), s.arcpath


@pytest.mark.slow
def test_whole_stdlib_as_one_project(tmp_path):
    specs = [
        pipeline.FileSpec(p.relative_to(ROOT).as_posix(), str(p), p.stat().st_size, 0o644) for p in FILES
    ]
    out = tmp_path / "stdlib.qyn"
    st = pipeline.pack(specs, out, key_source(), chunk_size=128 * 1024, workers=2, executor="processes")
    assert st.files == len(FILES)
    dest = tmp_path / "d"
    extraction.unpack(out, dest, key_source(), workers=2, executor="processes")
    bad = [s.arcpath for s in specs if (dest / s.arcpath).read_bytes() != Path(s.source).read_bytes()]
    assert bad == []
    assert st.ratio > 4.0


@pytest.mark.slow
def test_every_stdlib_file_as_its_own_package():
    from perfkit.parallel import Task, map_tasks

    from ._helpers import single_file_round_trip

    tasks = [Task(key=str(p), payload=str(p), cost=p.stat().st_size) for p in FILES]
    res = map_tasks(single_file_round_trip, tasks, executor="processes", workers=2)
    assert [k for k, r in res.items() if not r.value] == []
