"""qyn1's library functions (docs/qyn1.md, "Modules") called as a careless notebook user would.

Each case was a hang, a lost input or an unhelpful error before (noted per test): now the right answer or a
`Qyn1Error` / `TypeError` naming the argument. No package byte changes (validation only).
"""

from __future__ import annotations

import contextlib
import signal

import numpy as np
import pytest
from qyn1 import codec, extraction, keys, pipeline
from qyn1.errors import KeyError_, Qyn1Error
from qyn1.rans import Model, decode, encode

from ._helpers import KEY, key_source


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise TimeoutError in this (main) thread after `seconds`: a regression to the old endless loop
    fails the test instead of hanging the suite."""

    def fire(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.py").write_text("def f(x):\n    return x + 1\n")
    (folder / "b.txt").write_text("notes\n" * 20)
    return folder


def test_pack_refuses_to_write_over_one_of_its_sources(src):
    # before: the package replaced src/a.py, the file being packed
    before = (src / "a.py").read_bytes()
    specs = pipeline.collect_sources([src])
    with pytest.raises(Qyn1Error, match="is the source file"):
        pipeline.pack(specs, src / "a.py", key_source(), chunk_size=4096)
    assert (src / "a.py").read_bytes() == before
    with pytest.raises(Qyn1Error, match="is a folder"):  # before: IsADirectoryError naming a temporary
        pipeline.pack(specs, src, key_source(), chunk_size=4096)
    assert sorted(p.name for p in src.iterdir()) == ["a.py", "b.txt"]


@pytest.mark.parametrize("chunk_size", [0, -5, "64", 2.5, True])
def test_pack_refuses_a_chunk_size_that_cuts_nothing(src, tmp_path, chunk_size):
    # before: 0 and -5 looped for ever in split_chunks, filling memory with empty chunks; "64" a struct.error
    specs = pipeline.collect_sources([src])
    with deadline(20), pytest.raises(Qyn1Error, match="chunk_size must be a whole number"):
        pipeline.pack(specs, tmp_path / "p.qyn", key_source(), chunk_size=chunk_size)
    assert not (tmp_path / "p.qyn").exists()


def test_split_chunks_refuses_a_size_below_one():
    with deadline(20), pytest.raises(ValueError, match="at least 1"):
        codec.split_chunks(b"line\n" * 10, 0)


def test_one_source_given_as_a_string(src):
    # before: the string's characters were the sources ("no such file or folder: '/'")
    assert pipeline.collect_sources(str(src)) == pipeline.collect_sources([src])


def test_keys_must_be_a_key_source(src, tmp_path):
    with pytest.raises(TypeError, match="KeySource key must be bytes, not str"):  # before: accepted
        keys.KeySource(key="ab" * 16)
    specs = pipeline.collect_sources([src])
    with pytest.raises(
        TypeError, match=r"key_source must be a qyn1\.keys\.KeySource"
    ):  # AttributeError 'kdf'
        pipeline.pack(specs, tmp_path / "p.qyn", KEY, chunk_size=4096)
    pipeline.pack(specs, tmp_path / "p.qyn", key_source(), chunk_size=4096)
    with pytest.raises(TypeError, match="key_source must be"):
        extraction.unpack(tmp_path / "p.qyn", tmp_path / "out", KEY)
    with pytest.raises(TypeError, match="key_source must be"):
        extraction.verify(tmp_path / "p.qyn", KEY)
    assert not (tmp_path / "out").exists()


def test_verify_a_package_held_in_memory(src, tmp_path):
    specs = pipeline.collect_sources([src])
    pipeline.pack(specs, tmp_path / "p.qyn", key_source(), chunk_size=4096)
    blob = (tmp_path / "p.qyn").read_bytes()
    st = extraction.verify(
        blob, key_source()
    )  # before: AttributeError "'bytes' object has no attribute 'seek'"
    assert st.files == 2 and st.bytes_in == sum(s.size for s in specs)
    with pytest.raises(Qyn1Error):
        extraction.verify(blob[:-1], key_source())


def test_rans_takes_big_endian_symbols():
    # before: a Numba TypingError ("non-precise type pyobject") from inside the kernel's typing
    model = Model(np.full(16, 256), 12, name="flat")
    syms = np.arange(16, dtype=np.int32).repeat(3)
    data = encode(model, syms.astype(">i4"))
    assert data == encode(model, syms)
    assert (decode(model, data, len(syms)) == syms).all()


def test_write_key_never_truncates_a_file_that_holds_data(tmp_path):
    # before: O_TRUNC replaced an existing key, so every package made with it became unreadable
    path = tmp_path / "project.key"
    keys.write_key(path)
    first = path.read_bytes()
    with pytest.raises(KeyError_, match="already holds data"):
        keys.write_key(path)
    assert path.read_bytes() == first and len(first) == 32
    empty = tmp_path / "staged.key"  # what `qyn1 keygen` gives it: its perfkit.job staging file
    empty.write_bytes(b"")
    keys.write_key(empty)
    assert len(empty.read_bytes()) == 32 and empty.read_bytes() != first


def test_pack_takes_file_specs_and_unpack_one_path_as_a_string(src, tmp_path):
    with pytest.raises(
        TypeError, match="FileSpec list of collect_sources"
    ):  # before: AttributeError 'arcpath'
        pipeline.pack([str(src)], tmp_path / "p.qyn", key_source(), chunk_size=4096)
    pipeline.pack(pipeline.collect_sources([src]), tmp_path / "p.qyn", key_source(), chunk_size=4096)
    # before: the string's characters were the paths ("no file 'a' in the package")
    extraction.unpack(tmp_path / "p.qyn", tmp_path / "out", key_source(), paths="a.py")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.py"]


def test_match_model_checks_k_and_the_row_map():
    from qyn1 import match, rans

    syms = np.array([1, 2, 3, 1, 2, 3, 1, 2, 3, 4] * 3, dtype=np.int32)
    for k in (0, -3):  # before: the kernel read syms[i - k] past the end of the array for k < 0
        with pytest.raises(ValueError, match="at least 1"):
            match.match_symbols(syms, k, 9)
    coded, flag = match.match_symbols(syms.astype(">i4"), 3, 9)  # before: a Numba TypingError
    want = match.match_symbols(syms, 3, 9)
    assert coded.tolist() == want[0].tolist() and flag.tolist() == want[1].tolist()
    # decode_match's rowmap too short for the model's context rows: the kernel read past its end
    nsym = 10
    freq = rans.quantize(np.ones((3, nsym)), 12)
    model = rans.Model(
        freq, 12, np.append(np.arange(nsym - 1), 0), name="m", ctxmap=np.zeros(nsym - 1, np.int32)
    )
    dec = rans.StreamDecoder(rans.encode(rans.Model(np.full(16, 256), 12), np.arange(5)))  # any valid stream
    with pytest.raises(ValueError, match="rowmap needs"):
        match.decode_match(dec, model, 5, np.zeros(match.MATCH_NFLAG - 1, np.int32), 3)
    with pytest.raises(ValueError, match="rowmap needs"):
        match.decode_match(dec, model, 5, np.full(match.MATCH_NFLAG, 3, np.int32), 3)  # row 3 of 3 rows


@pytest.mark.parametrize(
    ("kw", "match"), [({"memlimit": 2**40}, "memlimit"), ({"opslimit": 10**6}, "opslimit 1000000")]
)
def test_passphrase_limits_are_checked_when_the_key_source_is_made(kw, match):
    # before: pack failed with struct.error ("'I' format requires ...") or called its own header
    # "a damaged or foreign package"
    with pytest.raises(KeyError_, match=f"Argon2id {match}.*qyn1 accepts"):
        keys.KeySource.from_passphrase("a passphrase", **kw)


def test_one_exclude_pattern_as_a_string(src):
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00" * 8)
    want = ["a.py", "b.txt"]
    assert [s.arcpath for s in pipeline.collect_sources([src], exclude=("__pycache__",))] == want
    # before: the string's characters were the patterns, so nothing was excluded, without a word
    assert [s.arcpath for s in pipeline.collect_sources([src], exclude="__pycache__")] == want
