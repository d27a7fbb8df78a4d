"""Chunk codecs: what goes inside one encrypted chunk.

Payload = ``u8 codec id`` + codec body. The encoder tries the structural Python codec for text that
decodes as UTF-8 (and whose lexer round-trips) and the byte-level codecs for everything, keeping the
smallest; ``stored`` bounds the worst case at +1 byte.

* 0 ``stored``: the bytes as they are.
* 1 ``bytes-o0``: order-0 rANS, the table (present-symbol bitmap + 12-bit frequencies) sent in the chunk.
* 2 ``bytes-o1``: order-1 rANS with the shipped byte model trained on Python source (no table sent).
* 3 ``python``: the structural encoder (``qyn1.encode``) -- token streams with context-conditioned models.
"""

from __future__ import annotations

import numpy as np

from qyn1 import rans, tables, varint
from qyn1.errors import CodecError

STORED, BYTES_O0, BYTES_O1, PYTHON = 0, 1, 2, 3
NAMES = {STORED: "stored", BYTES_O0: "bytes-o0", BYTES_O1: "bytes-o1", PYTHON: "python"}
_O0_SCALE = 12


def _encode_o0(data: bytes) -> bytes:
    a = np.frombuffer(data, dtype=np.uint8)
    counts = np.bincount(a, minlength=256)
    present = np.flatnonzero(counts)
    bitmap = np.zeros(256, dtype=np.uint8)
    bitmap[present] = 1
    freq = rans.quantize(counts[present], _O0_SCALE)
    remap = np.zeros(256, dtype=np.int32)
    remap[present] = np.arange(len(present))
    out = bytearray(np.packbits(bitmap).tobytes())
    for f in freq:
        varint.put(out, int(f) - 1)
    model = rans.Model(freq, _O0_SCALE, name="bytes-o0")
    out += rans.encode(model, remap[a])
    return bytes(out)


def _decode_o0(body: bytes, n: int) -> bytes:
    r = varint.Reader(body)
    bitmap = np.unpackbits(np.frombuffer(r.take(32), dtype=np.uint8))
    present = np.flatnonzero(bitmap)
    if len(present) == 0:
        raise CodecError("empty symbol set in bytes-o0 chunk")
    freq = np.array([r.varint(1 << _O0_SCALE) + 1 for _ in present], dtype=np.int64)
    if freq.sum() != 1 << _O0_SCALE:
        raise CodecError("bad bytes-o0 frequency table")
    model = rans.Model(freq, _O0_SCALE, name="bytes-o0")
    syms = rans.decode(model, body[r.pos :], n)
    return present.astype(np.uint8)[syms].tobytes()


def _encode_o1(data: bytes) -> bytes:
    return rans.encode(tables.model("bytes_o1"), np.frombuffer(data, dtype=np.uint8))


def _decode_o1(body: bytes, n: int) -> bytes:
    return rans.decode(tables.model("bytes_o1"), body, n, dtype=np.uint8).tobytes()


def encode_chunk(data: bytes, *, python: bool = True) -> bytes:
    """Encode one chunk with the best codec available; ``python=False`` skips the structural codec."""
    data = bytes(data)
    best = bytes([STORED]) + data
    if not data:
        return best
    candidates = []
    if python and tables.has_python():
        from qyn1 import encode as pyenc  # local import: heavy module, only for text

        body = pyenc.encode_text(data)
        if body is not None:
            candidates.append(bytes([PYTHON]) + body)
    if not candidates or len(candidates[0]) > len(data) // 3:
        if tables.available():
            candidates.append(bytes([BYTES_O1]) + _encode_o1(data))
        if len(data) > 64:
            candidates.append(bytes([BYTES_O0]) + _encode_o0(data))
    for c in candidates:
        if len(c) < len(best):
            best = c
    return best


def decode_chunk(payload: bytes, n: int) -> bytes:
    """Decode a chunk payload to exactly ``n`` bytes; CodecError when malformed."""
    if not payload:
        raise CodecError("empty chunk payload")
    codec = payload[0]
    body = payload[1:]
    if codec == STORED:
        out = bytes(body)
    elif codec == BYTES_O0:
        out = _decode_o0(body, n)
    elif codec == BYTES_O1:
        out = _decode_o1(body, n)
    elif codec == PYTHON:
        from qyn1 import encode as pyenc

        out = pyenc.decode_text(body)
    else:
        raise CodecError(f"unknown chunk codec {codec}")
    if len(out) != n:
        raise CodecError("decoded chunk has the wrong length")
    return out


def codec_of(payload: bytes) -> str:
    return NAMES.get(payload[0], "?") if payload else "?"


def split_chunks(data: bytes, chunk_size: int, *, at_lines: bool = True) -> list[bytes]:
    """Split into chunks of at most ``chunk_size`` bytes; with ``at_lines``, cut after a newline where one
    exists in the second half of the window (keeps tokens and UTF-8 sequences whole for the structural
    codec), else at exact multiples of ``chunk_size``."""
    if len(data) <= chunk_size:
        return [data]
    out = []
    pos = 0
    n = len(data)
    while pos < n:
        end = min(pos + chunk_size, n)
        if end < n and at_lines:
            cut = data.rfind(b"\n", pos + chunk_size // 2, end)
            if cut >= 0:
                end = cut + 1
        out.append(data[pos:end])
        pos = end
    return out
