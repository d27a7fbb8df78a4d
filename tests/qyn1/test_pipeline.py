"""encode_project through perfkit.parallel: identical output for any worker count and executor."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from qyn1 import extraction, pipeline

from ._helpers import SALT, key_source, make_project


def _pack(tmp_path, proj, workers, executor, name):
    out = tmp_path / f"{name}.qyn"
    specs = pipeline.collect_sources([proj])
    pipeline.pack(specs, out, key_source(), chunk_size=8192, workers=workers, executor=executor, salt=SALT)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def test_same_package_for_any_worker_count(tmp_path):
    proj = make_project(tmp_path)
    ref = _pack(tmp_path, proj, 1, "serial", "serial")
    assert _pack(tmp_path, proj, 2, "threads", "threads2") == ref
    assert _pack(tmp_path, proj, 4, "threads", "threads4") == ref


@pytest.mark.slow
def test_same_package_with_process_workers(tmp_path):
    proj = make_project(tmp_path)
    assert _pack(tmp_path, proj, 2, "processes", "proc") == _pack(tmp_path, proj, 1, "serial", "serial")


def test_unpack_with_workers_round_trips(tmp_path):
    proj = make_project(tmp_path)
    specs = pipeline.collect_sources([proj])
    out = tmp_path / "p.qyn"
    pipeline.pack(specs, out, key_source(), chunk_size=8192, workers=1, executor="serial")
    dest = tmp_path / "d"
    st = extraction.unpack(out, dest, key_source(), workers=2, executor="threads")
    assert st.files == len(specs)
    for s in specs:
        assert (dest / s.arcpath).read_bytes() == Path(s.source).read_bytes()


def test_collect_sources_rejects_collisions_and_missing(tmp_path):
    from qyn1.errors import Qyn1Error

    proj = make_project(tmp_path)
    with pytest.raises(Qyn1Error):
        pipeline.collect_sources([proj, proj])
    with pytest.raises(Qyn1Error):
        pipeline.collect_sources([tmp_path / "missing"])
    specs = pipeline.collect_sources([proj], exclude=("*.bin",))
    assert not any(s.arcpath.endswith(".bin") for s in specs)
    (tmp_path / "links").mkdir()
    os.symlink(proj / "README.md", tmp_path / "links" / "readme")
    with pytest.raises(Qyn1Error, match=r"no regular files in .*links' \(skipped: 1 symlink\);"):
        pipeline.collect_sources([tmp_path / "links"])


def test_large_files_stream_to_the_same_package(tmp_path, monkeypatch):
    proj = make_project(tmp_path)
    ref = _pack(tmp_path, proj, 1, "serial", "whole")
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 1000)  # every file above 1000 bytes is streamed
    assert _pack(tmp_path, proj, 2, "threads", "streamed") == ref
    dest = tmp_path / "d"
    extraction.unpack(tmp_path / "streamed.qyn", dest, key_source(), workers=1)
    for s in pipeline.collect_sources([proj]):
        assert (dest / s.arcpath).read_bytes() == Path(s.source).read_bytes()


@pytest.mark.slow
def test_same_package_with_dask_workers(tmp_path):
    proj = make_project(tmp_path)
    assert _pack(tmp_path, proj, 2, "dask", "dask") == _pack(tmp_path, proj, 1, "serial", "serial")


@pytest.mark.slow
def test_process_workers_fork_from_the_preloaded_server_and_report_memory(tmp_path):
    """Pack and unpack with process workers: the workers share the preloaded tables and kernels, so the
    part of their peak memory that is their own is well below their resident size. The unpack reports the
    CPU its workers spent (a thread run reports none)."""
    proj = make_project(tmp_path)
    specs = pipeline.collect_sources([proj])
    out = tmp_path / "p.qyn"
    packed = pipeline.pack(specs, out, key_source(), chunk_size=8192, workers=2, executor="processes")
    unpacked = extraction.unpack(out, tmp_path / "d", key_source(), workers=2, executor="processes")
    for st in (packed, unpacked):
        mem = st.worker_memory
        assert 0 < mem["peak_unique_bytes"] < mem["peak_pss_bytes"] < mem["peak_rss_bytes"]
        assert mem["peak_unique_bytes"] < mem["peak_rss_bytes"] // 2, mem
    assert unpacked.worker_cpu_s > 0
    threads = extraction.unpack(out, tmp_path / "t", key_source(), workers=2, executor="threads")
    assert threads.worker_cpu_s == 0
    for s in specs:
        assert (tmp_path / "d" / s.arcpath).read_bytes() == Path(s.source).read_bytes()


def test_unpack_task_run_again_rewrites_its_files(tmp_path, monkeypatch):
    """A decode task may run twice (its worker died mid-task, or Dask recomputes a finished task whose
    worker was lost): the second run finds the first one's files, also ones already given a read-only
    stored mode, and must rewrite them."""
    from perfkit import parallel

    proj = make_project(tmp_path)
    for p in proj.rglob("*.py"):
        p.chmod(0o444)
    specs = pipeline.collect_sources([proj])
    out = tmp_path / "p.qyn"
    pipeline.pack(specs, out, key_source(), chunk_size=8192, workers=1, executor="serial")

    calls = []

    def twice(fn, tasks, **kw):
        tasks = list(tasks)
        calls.append(len(tasks))
        parallel.map_tasks(fn, tasks, executor="serial")
        return parallel.map_tasks(fn, tasks, executor="serial")

    monkeypatch.setattr(extraction, "map_tasks", twice)
    dest = tmp_path / "d"
    extraction.unpack(out, dest, key_source(), workers=2, executor="threads")
    assert calls and calls[0] > 0  # the decode tasks did run twice
    for s in specs:
        assert (dest / s.arcpath).read_bytes() == Path(s.source).read_bytes()
        assert (dest / s.arcpath).stat().st_mode & 0o777 == s.mode & 0o777


def test_two_paths_that_are_one_file_here_refuse_the_unpack(tmp_path, monkeypatch):
    """The tasks create the files (no placeholders made before them): where two of the package's paths are one
    file (a case-insensitive file system, simulated by lower-casing every target), the unpack is refused once
    the tasks are done and nothing appears; a package without such a pair is unaffected."""
    from qyn1.errors import Qyn1Error

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "A.py").write_text("a = 1\n")
    (proj / "a.py").write_text("b = 2\n")
    (proj / "b.py").write_text("c = 3\n")
    out = tmp_path / "p.qyn"
    pipeline.pack(
        pipeline.collect_sources([proj]), out, key_source(), chunk_size=8192, workers=1, executor="serial"
    )
    real = extraction._safe_target
    monkeypatch.setattr(extraction, "_safe_target", lambda root, path, cache: real(root, path.lower(), cache))
    with pytest.raises(Qyn1Error, match=r"'A\.py' and 'a\.py', which are one file"):
        extraction.unpack(out, tmp_path / "d", key_source(), workers=2, executor="threads")
    assert not (tmp_path / "d").exists()
    (proj / "A.py").unlink()
    pipeline.pack(
        pipeline.collect_sources([proj]), out, key_source(), chunk_size=8192, workers=1, executor="serial"
    )
    extraction.unpack(out, tmp_path / "d", key_source(), workers=2, executor="threads")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["a.py", "b.py"]


def test_machine_code_is_grouped_up_to_a_machine_chunk_and_text_up_to_a_group():
    """Shared objects (by name) go last, in groups of up to ``MACHINE_CHUNK`` (one xz window over related
    binaries), cut into chunks of that size; other non-Python files in groups of up to ``GROUP_BYTES``,
    cut at ``GENERAL_CHUNK``; names and sizes decide alone."""
    mib = 1 << 20
    assert (8 * mib, 4 * mib) == (pipeline.MACHINE_CHUNK, pipeline.GENERAL_CHUNK)
    names = {"a/x.so": 1500_000, "b/y.so": 1500_000, "c/z.so.1.2": 900_000, "lib/w.dll": 8 * mib}
    names |= {"d/t.txt": 700_000, "e/u.txt": 700_000, "m.py": 10, "notes.so.txt": 10, "v.o": 7_000_000}
    specs = [pipeline.FileSpec(p, p, n, 0o644) for p, n in sorted(names.items())]
    assert [p for p in sorted(names) if pipeline.is_machine_code(p)] == [
        "a/x.so",
        "b/y.so",
        "c/z.so.1.2",
        "lib/w.dll",
        "v.o",
    ]
    plan = pipeline.plan_blocks(specs, 128 * 1024)
    assert [[f.arcpath for f in b.files] for b in plan] == [
        ["m.py"],
        ["d/t.txt"],  # text: 1 MiB groups, by extension then path
        ["e/u.txt", "notes.so.txt"],
        ["lib/w.dll"],  # MACHINE_CHUNK or more: a block alone
        ["c/z.so.1.2", "v.o"],  # extensions "2", "o": 7.9 MB, within one 8 MiB group
        ["a/x.so", "b/y.so"],
    ]
    assert [b.machine for b in plan] == [False] * 3 + [True] * 3
    assert [pipeline.chunk_size_for(b.python, 128 * 1024, b.machine) for b in plan] == [128 * 1024] + [
        4 * mib
    ] * 2 + [8 * mib] * 3


def test_a_file_that_is_not_utf8_does_not_take_the_structural_codec_from_its_group(tmp_path):
    """A Python block holding one latin-1 file: the file is chunked apart (``text_runs``), its UTF-8 neighbours
    keep the structural codec, and the package unpacks byte-exact; an all-UTF-8 block is chunked as before."""
    from qyn1 import codec

    code = Path(pipeline.__file__).read_bytes()  # ordinary code: the structural codec wins it
    latin1 = "# -*- coding: latin-1 -*-\nNAME = 'caf\u00e9'\n".encode("latin-1")
    datas = [code, latin1, Path(codec.__file__).read_bytes()]
    assert pipeline.text_runs(datas) == datas
    assert pipeline.text_runs(datas[::2]) == [datas[0] + datas[2]]
    eb = pipeline.encode_block(datas, True, 128 * 1024)
    assert [codec.codec_of(p) for p, _ in eb.chunks][::2] == ["python", "python"]
    assert b"".join(codec.decode_chunk(p, n) for p, n in eb.chunks) == b"".join(datas)
    whole = pipeline.encode_block(datas[::2], True, 128 * 1024)
    assert whole.chunks == [(codec.encode_chunk(datas[0] + datas[2]), len(datas[0]) + len(datas[2]))]
    proj = tmp_path / "proj"
    proj.mkdir()
    for i, d in enumerate(datas):
        (proj / f"m{i}.py").write_bytes(d)
    out = tmp_path / "p.qyn"
    pipeline.pack(pipeline.collect_sources([proj]), out, key_source(), chunk_size=8192, workers=1, salt=SALT)
    extraction.unpack(out, tmp_path / "out", key_source())
    for i, d in enumerate(datas):
        assert (tmp_path / "out" / f"m{i}.py").read_bytes() == d


def test_decode_preload_samples_decode_to_their_text():
    """The decode-only preload warms the decoders with chunk payloads written into it (it has no encoder to
    make them): each must still decode to its text, one for every codec with a Numba decoder or a shipped model.
    On a failure the format changed: the message holds payloads made by today's encoders."""
    from qyn1 import cm, codec, preload_decode
    from qyn1 import python as pyenc

    fresh = {
        codec.PYTHON: lambda t: pyenc.encode_text(t),
        codec.CM: lambda t: cm.encode(t),
        codec.BYTES_O0: codec._encode_o0,
        codec.BYTES_O1: codec._encode_o1,
    }
    seen = set()
    for text, payload in preload_decode.SAMPLES:
        payload = bytes.fromhex(payload)
        hint = (bytes([payload[0]]) + fresh[payload[0]](text)).hex()
        assert codec.decode_chunk(payload, len(text)) == text, f"regenerate: {hint}"
        seen.add(payload[0])
    assert seen == set(fresh)


_DECODE_PRELOAD_ONLY = """
from qyn1 import preload_decode
from qyn1.cm import kernels as cm_kernels
from qyn1.python import decode, scan
from qyn1.rans import kernels as rans_kernels

encoders = [scan._scan_kernel, scan._morph_kernel, rans_kernels._encode_ctx_kernel, rans_kernels._encode_rows_kernel]
loaded = [k.py_func.__name__ for k in encoders if k.signatures]
assert not loaded, f"encoder kernels loaded: {loaded}"
decoders = [decode._decode_batch_kernel, cm_kernels._code, rans_kernels._decode_o1_kernel]
missing = [k.py_func.__name__ for k in decoders if not k.signatures]
assert not missing, f"decoder kernels not loaded: {missing}"
from qyn1.python import tokens
made = {"morphemes", "morph_sym"} & set(vars(tokens.vocab()))
assert not made, f"the morphemes as str objects: {made}"
"""


def test_decode_preload_loads_the_decoders_and_no_encoder():
    """What ``qyn1 unpack`` / ``verify`` workers fork from: the decoding kernels loaded, the encoder's not
    (docs/perf/qyn1.md, "Unpack, round 9"). Fails if the decode preload runs an encoder or misses a decoder."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", _DECODE_PRELOAD_ONLY], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]


def test_verify_on_workers_reports_what_one_pass_reports(tmp_path):
    """Faults in two blocks, the later one in the largest block (its task is handed out first and fails
    first): verify on workers raises the error one serial pass meets first, for any worker count."""
    import io

    from qyn1 import container
    from qyn1.errors import Qyn1Error

    from ._helpers import pack_bytes

    files = {f"m{i:02d}.py": b"value_%d = %d\n" % (i, i) * (2000 if i == 10 else 50) for i in range(12)}
    blob = bytearray(pack_bytes(files))  # each file a block of its own
    entries = {e.path: e for e in container.Reader(io.BytesIO(bytes(blob)), key_source()).entries}
    for name in ("m03.py", "m10.py"):
        blob[entries[name].chunks[0][0] + 5] ^= 1
    path = tmp_path / "p.qyn"
    path.write_bytes(bytes(blob))

    def message(**kw) -> str:
        with pytest.raises(Qyn1Error) as err:
            extraction.verify(path, key_source(), **kw)
        return str(err.value)

    serial = message(workers=1)
    assert serial.startswith("m03.py: ")
    for workers in (2, 3):
        assert message(workers=workers, executor="threads") == serial


def test_a_package_quick_to_decode_is_decoded_in_one_process(tmp_path):
    """``workers_for`` keeps the workers only where the estimated decode (by codec and length, from the table)
    pays for a fork server: a small package gets 1, a cm-heavy table's estimate crosses the bound."""
    from qyn1 import codec, container

    proj = make_project(tmp_path)
    out = tmp_path / "p.qyn"
    pipeline.pack(pipeline.collect_sources([proj]), out, key_source(), chunk_size=8192, workers=1)
    assert extraction.workers_for(out, key_source(), 2) == 1
    assert extraction.workers_for(out, key_source(), 1) == 1
    cm_bytes = int(extraction.SERIAL_DECODE_S * extraction._DECODE_BYTES_PER_S[codec.CM])
    block = container.Block(0, [(0, 1, cm_bytes // 2), (1, 1, cm_bytes // 2 + 1000)], [codec.CM, codec.CM])
    assert extraction.decode_estimate_s([block]) > extraction.SERIAL_DECODE_S
    block.codecs = [codec.ZSTD, codec.CM]
    assert extraction.decode_estimate_s([block]) < extraction.SERIAL_DECODE_S
