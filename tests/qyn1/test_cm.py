"""The context-mixing coder (``qyn1.cm``): byte-exact round trips with and without the priming text, the
choice recorded per chunk, and malformed bodies that never crash."""

from __future__ import annotations

import numpy as np
import pytest
from qyn1 import codec
from qyn1.cm import model
from qyn1.errors import CodecError

_RNG = np.random.default_rng(13)
CASES = {
    "json": b'{"name": "x", "version": "1.2.3", "dependencies": {"a": "^1.0.0", "b": "~2.1"}}\n' * 7,
    "c": b"#ifndef X_H\n#define X_H\nstatic inline int f(int a) { return a << 2; }\n#endif\n",
    "random": _RNG.integers(0, 256, 3000, dtype=np.uint8).tobytes(),
    "run": b"\0" * 5000 + b"x" + b"\0" * 300,
    "one": b"a",
}


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
