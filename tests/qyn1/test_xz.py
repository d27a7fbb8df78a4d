"""The ``xz`` chunk codec (LZMA2 after the x86 branch filter): chosen on machine code where it is smallest,
byte-exact, and malformed bodies refused or caught by length, never a crash."""

from __future__ import annotations

import lzma
from pathlib import Path

import brotli
import pytest
from qyn1 import codec
from qyn1.errors import CodecError


def _machine_code() -> bytes:
    """16 KiB of a real x86-64 shared object: the interpreter's own ``_lzma`` extension module."""
    import _lzma

    data = Path(_lzma.__file__).read_bytes()
    if not data.startswith(b"\x7fELF") or data[18] != 62:  # e_machine 62: x86-64
        pytest.fail(f"{_lzma.__file__} is not an x86-64 ELF file")
    return data[: 48 << 10]


def test_machine_code_takes_xz_with_the_x86_filter():
    data = _machine_code()
    payload = codec.encode_chunk(data, python=False)
    assert codec.codec_of(payload) == "xz" and payload[1] == 1  # variant 1: x86 filter + LZMA2
    assert len(payload) < len(brotli.compress(data, quality=11, lgwin=24))
    # the branch filter is what wins: LZMA2 alone with the same options is larger
    plain = lzma.compress(data, format=lzma.FORMAT_RAW, filters=codec._xz_filters(0, len(data), True))
    assert len(payload) < len(plain)
    assert codec.decode_chunk(payload, len(data)) == data


@pytest.mark.parametrize("variant", sorted(codec.XZ_FILTERS))
def test_every_filter_chain_round_trips(variant):
    data = _machine_code()[:5000] + b"text\n" * 100
    assert codec.decode_chunk(bytes([codec.XZ]) + codec._encode_xz(data, variant), len(data)) == data


def test_malformed_xz_bodies():
    data = _machine_code()[:8000]
    body = codec._encode_xz(data, 1)
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 0x40
    for bad in (b"", b"\x09" + body[1:], body[:1], body[: len(body) // 2], bytes(flipped), body + b"\0" * 9):
        try:
            out = codec.decode_chunk(bytes([codec.XZ]) + bad, len(data))
        except CodecError:
            continue
        assert len(out) == len(data) and (bad == body or out != data)
    for n in (len(data) - 1, len(data) + 1):  # more or fewer bytes than the file table says
        with pytest.raises(CodecError):
            codec.decode_chunk(bytes([codec.XZ]) + body, n)
