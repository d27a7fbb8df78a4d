"""The context-mixing coder (``qyn1.cm``): byte-exact round trips with and without the priming text, the
choice recorded per chunk, and malformed bodies that never crash."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from qyn1 import codec
from qyn1.cm import kernels, mixer, model, statemap, tables
from qyn1.errors import CodecError

from perfkit import numba_cache

# the compiled twins below call into these modules: their cache entries must follow those files' contents
numba_cache.depend_on(
    __file__, modules=["qyn1.cm.kernels", "qyn1.cm.mixer", "qyn1.cm.statemap", "qyn1.cm.tables"]
)

_RNG = np.random.default_rng(13)
CASES = {
    "json": b'{"name": "x", "version": "1.2.3", "dependencies": {"a": "^1.0.0", "b": "~2.1"}}\n' * 7,
    "c": b"#ifndef X_H\n#define X_H\nstatic inline int f(int a) { return a << 2; }\n#endif\n",
    "random": _RNG.integers(0, 256, 3000, dtype=np.uint8).tobytes(),
    "run": b"\0" * 5000 + b"x" + b"\0" * 300,
    "one": b"a",
}
CASES["slices"] = CASES["c"] * 900  # 77 KB: two kernel calls (model.SLICE) each way


@pytest.mark.parametrize("primer", [model.PRIMER_NONE, model.PRIMER_TEXT])
@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip(name, primer):
    data = CASES[name]
    body = model.encode(data, primer)
    if body is None:  # only when coding would not be smaller than the data: stored wins
        assert name == "random"
        return
    assert model.decode(body, len(data)) == data


def test_text_chunk_takes_cm_and_is_recorded():
    """Repetitive structured text that is not Python: the cm coder wins over zstd/brotli, and the chunk's
    first byte names it (what the file table's codec counts come from)."""
    data = CASES["json"] + CASES["c"] * 3
    payload = codec.encode_chunk(data, python=False)
    assert codec.codec_of(payload) == "cm"
    assert len(payload) < len(codec._encode_brotli(data))
    assert codec.decode_chunk(payload, len(data)) == data


def test_malformed_bodies_decode_to_some_bytes_or_refuse():
    """Cut, flipped and random bodies: CodecError or exactly ``n`` bytes (the digest catches them)."""
    data = CASES["c"] * 5
    body = model.encode(data)
    variants = [body[:3], body[:-2], bytes([body[0]]) + bytes(len(body) - 1), b"\x07" + body[1:], b""]
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 0x10
    variants.append(bytes(flipped))
    variants += [bytes([1]) + _RNG.integers(0, 256, k, dtype=np.uint8).tobytes() for k in (0, 5, 200)]
    for v in variants:
        try:
            out = model.decode(v, len(data))
        except CodecError:
            continue
        assert len(out) == len(data)
        assert v == body or out != data


def test_python_max_lets_cm_compete_on_python_chunks():
    """``python_cm`` (the ``python-max`` preset) adds the cm coder to a Python chunk's candidates: never a
    larger payload than without it, and the file still round-trips through ``pipeline.encode_bytes``."""
    from qyn1 import pipeline

    data = b"".join(
        b"TABLE_%d = {'name': 'n%d', 'weight': %d.5, 'tags': ['a', 'b']}\n" % (i, i, i) for i in range(300)
    )
    plain = codec.encode_chunk(data)
    both = codec.encode_chunk(data, python_cm=True)
    assert len(both) <= len(plain)
    assert codec.decode_chunk(both, len(data)) == data
    ef = pipeline.encode_bytes(data, 4096, arcpath="t.py", python_cm=True)
    assert b"".join(codec.decode_chunk(c, n) for c, n in ef.chunks) == data


def test_cm_takes_a_python_chunk_only_by_the_margin(monkeypatch):
    """Default presets: on a chunk the structural codec codes, cm's payload wins only when it is
    ``CM_PYTHON_MARGIN`` times smaller than the structural one (cm decodes ~20x slower); ``python_cm``
    (``python-max``) lets it win by size alone. The cm body's length is what decides, so it is stubbed."""
    data = b"".join(b"TABLE_%d = {'name': 'n%d', 'weight': %d.5}\n" % (i, i, i) for i in range(300))
    own = codec.encode_chunk(data, general=False)
    assert own[0] == codec.PYTHON
    structural = len(own)
    monkeypatch.setattr(codec, "_encode_zstd", lambda d: d)  # general coders out of the way
    monkeypatch.setattr(codec, "_encode_brotli", lambda d: d)
    monkeypatch.setattr(codec, "_probe", lambda d: b"")  # the probe always lets them try
    just_inside = int(structural / codec.CM_PYTHON_MARGIN) - 1  # + codec byte = the bound
    for body_len, default, python_max in (
        (just_inside, codec.CM, codec.CM),
        (just_inside + 1, codec.PYTHON, codec.CM),
    ):
        monkeypatch.setattr("qyn1.cm.encode", lambda d, k=body_len: b"\1" * k)
        assert codec.encode_chunk(data)[0] == default
        assert codec.encode_chunk(data, python_cm=True)[0] == python_max


def test_shipped_primed_model_is_its_text_primed():
    """The shipped model is exactly what priming a fresh model with the shipped text gives (the kernel and
    tables it was built with are the ones decoding with it), and it stays well inside the 8 MB budget."""
    from importlib import resources

    assert model.has_primer(), "the primed cm model is missing from qyn1's package data"
    shipped = model.primed(model.PRIMER_TEXT)
    rebuilt = model.prime(shipped.buf[: shipped.start].tobytes())
    for a, b in zip(shipped.arrays(), rebuilt.arrays(), strict=True):
        assert np.array_equal(a, b)
    assert (resources.files("qyn1") / "data" / model.PRIMER_FILE).stat().st_size < 3 << 20


def test_reading_one_file_decodes_its_cm_chunk_only_up_to_the_file(monkeypatch):
    """``cat`` of a file early in a solid cm block stops the sequential decoder at the file's end (the
    chunk is still authenticated whole, the file's digest checked); reading every file decodes whole chunks."""
    import io

    from qyn1 import container

    from ._helpers import key_source, pack_bytes

    files = {"a.h": CASES["c"], "b.json": CASES["json"] * 40}  # one block, .h first (ordered by extension)
    blob = pack_bytes(files, solid=True)
    asked = []
    real = model.decode
    monkeypatch.setattr("qyn1.cm.decode", lambda body, n: asked.append(n) or real(body, n))
    r = container.Reader(io.BytesIO(blob), key_source())
    by_path = {e.path: e for e in r.entries}
    first, second = by_path["a.h"], by_path["b.json"]
    assert first.block == second.block and first.offset == 0 and first.codecs == [codec.CM]
    assert r.read(first) == files["a.h"]
    assert asked == [len(files["a.h"])]
    assert r.read(second) == files["b.json"]
    assert asked[-1] == len(files["a.h"]) + len(files["b.json"])


@njit(cache=True)
def _mixer_scalar(mix, ws, x, err):  # the loops qyn1.cm.mixer replaces, as the kernel had them
    dot = np.int64(0)
    for k in range(10):
        dot += np.int64(x[k]) * np.int64(mix[ws + k])
    for k in range(10):
        w = np.int64(mix[ws + k]) + ((np.int64(x[k]) * err) >> 16)
        mix[ws + k] = min(max(w, -0x3FFFFFFF), 0x3FFFFFFF)
    return dot


@njit(cache=True)
def _mixer_vector(mix, ws, x, err):
    # the kernel hands its inputs as a tuple
    xt = (x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9])
    dot = mixer.mix_dot(mix, ws, xt)
    mixer.mix_update(mix, ws, xt, err)
    return dot


def test_vector_mixer_is_the_scalar_mixer():
    """The explicit vector mixer gives the scalar loops' dot product and weights, at the weights' bounds too
    (inputs are stretched probabilities, |x| <= 2047; the error at most 4095 * 256)."""
    rng = np.random.default_rng(5)
    for t in range(2000):
        mix = rng.integers(-0x3FFFFFFF, 0x40000000, 30).astype(np.int32)
        if t % 2:
            mix = rng.choice(np.array([0x3FFFFFFF, -0x3FFFFFFF, 0x3FFFFF00, -0x3FFFFF00], np.int32), 30)
        x = rng.integers(-2047, 2048, 10).astype(np.int32)
        err = int(rng.integers(-4095 * 256, 4095 * 256 + 1))
        ws = int(rng.integers(0, 21))
        a, b = mix.copy(), mix.copy()
        assert _mixer_scalar(a, ws, x, err) == _mixer_vector(b, ws, x, err)
        assert np.array_equal(a, b)


@njit(cache=True)
def _statemap_scalar(t, y, limits):  # the kernel's scalar update (qyn1.cm.kernels._sm_update) on each lane
    out = t.copy()
    for k in range(8):
        kernels._sm_update(out, k, y, limits[k])
    return out


@njit(cache=True)
def _statemap_vector(t, y, limits):
    out = t.copy()
    statemap.update8(out, y, limits)
    return out


def test_vector_statemap_is_the_scalar_update():
    """The eight-lane StateMap update gives the scalar update's entries: on random 32-bit entries and on every
    count 0..1023 (the float quotient must be the table's ``DT[n]`` for each), for both bits and both
    limits the kernel uses, at the counts' and probabilities' extremes too."""
    rng = np.random.default_rng(11)
    limits = np.array([1023] * 7 + [255], np.int32)
    counts = np.arange(1024, dtype=np.uint32)
    extremes = np.array(
        [0, 1023, 1022, 254, 255, 256, 0xFFFFFC00, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF], np.uint32
    )
    for t in range(3000):
        if t < 128:  # every count, with random probabilities
            v = (rng.integers(0, 1 << 22, 8).astype(np.uint32) << np.uint32(10)) | counts[t * 8 : t * 8 + 8]
        elif t < 256:
            v = rng.choice(extremes, 8)
        else:
            v = rng.integers(0, 1 << 32, 8, dtype=np.uint64).astype(np.uint32)
        for y in (0, 1):
            assert np.array_equal(_statemap_vector(v, y, limits), _statemap_scalar(v, y, limits))
    # the float quotient is the table on all counts
    assert np.array_equal(
        np.floor(np.float32(16384) / (2 * counts.astype(np.float32) + 3)).astype(np.int64), tables.DT
    )
