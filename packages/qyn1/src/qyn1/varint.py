"""Little helpers for the binary formats: LEB128 varints with strict bounds."""

from __future__ import annotations

from qyn1.errors import CodecError


def put(out: bytearray, v: int) -> None:
    if v < 0:
        raise ValueError("varint must be non-negative")
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def get(buf, pos: int, limit: int = 1 << 40) -> tuple[int, int]:
    """Read a varint at ``pos``; returns (value, new_pos). Raises CodecError when malformed or > limit."""
    v = 0
    shift = 0
    n = len(buf)
    while True:
        if pos >= n:
            raise CodecError("truncated varint")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise CodecError("varint too long")
    if v > limit:
        raise CodecError("varint out of range")
    return v, pos


class Reader:
    """Sequential reader over a payload with bounds-checked fields."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf, pos: int = 0):
        self.buf = buf
        self.pos = pos

    def varint(self, limit: int = 1 << 40) -> int:
        v, self.pos = get(self.buf, self.pos, limit)
        return v

    def u8(self) -> int:
        if self.pos >= len(self.buf):
            raise CodecError("truncated payload")
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise CodecError("truncated payload")
        v = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return v

    def blob(self, limit: int = 1 << 32) -> bytes:
        return self.take(self.varint(limit))

    def at_end(self) -> bool:
        return self.pos == len(self.buf)
