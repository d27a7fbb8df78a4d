"""The ``QYN1`` binary container: streamed writing, random-access reading, everything authenticated.

Layout (all integers little-endian)::

    header  48 bytes  magic "QYN1", u8 version=1, u8 kdf (1 key file, 2 Argon2id), u16 flags=0,
                      u32 opslimit, u32 memlimit, 16-byte salt, u16 tables version, u32 chunk size, 10 zero
    chunks            ChaCha20-Poly1305 ciphertext+tag of each chunk payload, file by file, in table order
    table             ChaCha20-Poly1305 of the file table (below)
    trailer 24 bytes  u64 table offset, u32 table length, 4 zero, magic "QYN1END\\0"

File table (plaintext): ``u32 n_files``, then per file ``u16 path length, UTF-8 path, u32 mode,
u64 size, 32-byte BLAKE2b-256 of the plaintext, u32 n_chunks`` and per chunk ``u32 stored length,
u32 plaintext length``. Chunk offsets are implied: chunks tile ``[48, table offset)`` exactly, which the
reader checks, so an inserted, dropped or extended byte range is caught before any decryption.

Keys and nonces: subkey = BLAKE2b(master, package salt) (``qyn1.keys``); the nonce of chunk ``j`` of file
``i`` is ``(1, i, j)`` as three u32, the table's ``(2, 0, 0)`` -- unique under a per-package subkey.
Associated data binds the whole header, the file index, the chunk index, a final-chunk flag and the path
(chunks), or the header and the table offset (table): a chunk cannot be reordered, dropped, truncated
or moved to another file or package without failing authentication.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from qyn1 import codec, keys
from qyn1.crypto import fast as aead
from qyn1.errors import AuthenticationError, CodecError, FormatError, Qyn1Error, UnsafePathError
from qyn1.tables import TABLES_VERSION

MAGIC = b"QYN1"
END_MAGIC = b"QYN1END\x00"
VERSION = 1
_HEADER = struct.Struct("<4sBBHII16sHI10x")
_TRAILER = struct.Struct("<QII8s")
HEADER_SIZE = _HEADER.size
TRAILER_SIZE = _TRAILER.size
TAG_SIZE = 16
MAX_CHUNK = 64 << 20
MAX_PATH = 4096
_DOMAIN_CHUNK, _DOMAIN_TABLE = 1, 2


def nonce_for(domain: int, file_index: int, chunk_index: int) -> bytes:
    return struct.pack("<III", domain, file_index, chunk_index)


def chunk_aad(header: bytes, file_index: int, chunk_index: int, final: bool, path: str) -> bytes:
    return header + struct.pack("<IIB", file_index, chunk_index, 1 if final else 0) + path.encode("utf-8")


def table_aad(header: bytes, table_offset: int) -> bytes:
    return header + struct.pack("<Q", table_offset) + b"file-table"


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


@dataclass
class Entry:
    """One file of a package."""

    index: int
    path: str
    mode: int
    size: int
    digest: bytes
    chunks: list[tuple[int, int, int]] = field(default_factory=list)  # (offset, stored length, plain length)

    @property
    def stored_size(self) -> int:
        return sum(c[1] for c in self.chunks)


@dataclass(frozen=True)
class Header:
    kdf: int
    opslimit: int
    memlimit: int
    salt: bytes
    tables_version: int
    chunk_size: int

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            VERSION,
            self.kdf,
            0,
            self.opslimit,
            self.memlimit,
            self.salt,
            self.tables_version,
            self.chunk_size,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        if len(raw) < HEADER_SIZE:
            raise FormatError("not a qyn1 package: file too short")
        magic, version, kdf, flags, ops, mem, salt, tv, cs = _HEADER.unpack(raw[:HEADER_SIZE])
        if magic != MAGIC:
            raise FormatError("not a qyn1 package: bad magic")
        if version != VERSION:
            raise FormatError(f"unsupported qyn1 container version {version} (this qyn1 reads {VERSION})")
        if kdf not in (keys.KDF_KEYFILE, keys.KDF_ARGON2ID) or flags != 0 or raw[38:HEADER_SIZE] != bytes(10):
            raise FormatError("corrupted qyn1 header")
        if tv != TABLES_VERSION:
            raise FormatError(f"package uses model tables v{tv}; this qyn1 ships v{TABLES_VERSION}")
        return cls(kdf, ops, mem, salt, tv, cs)


def _encode_table(entries: list[Entry]) -> bytes:
    out = bytearray(struct.pack("<I", len(entries)))
    for e in entries:
        p = e.path.encode("utf-8")
        out += struct.pack("<H", len(p)) + p
        out += struct.pack("<IQ", e.mode, e.size) + e.digest + struct.pack("<I", len(e.chunks))
        for _, clen, plen in e.chunks:
            out += struct.pack("<II", clen, plen)
    return bytes(out)


def _decode_table(raw: bytes, table_offset: int) -> list[Entry]:
    pos = 0
    n = len(raw)

    def take(k: int) -> bytes:
        nonlocal pos
        if pos + k > n:
            raise FormatError("file table is truncated")
        v = raw[pos : pos + k]
        pos += k
        return v

    (count,) = struct.unpack("<I", take(4))
    if count > n // 47:  # the smallest possible entry is 2+1+4+8+32+4 bytes
        raise FormatError("file table: implausible file count")
    entries = []
    offset = HEADER_SIZE
    seen = set()
    for i in range(count):
        (plen,) = struct.unpack("<H", take(2))
        try:
            path = take(plen).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("file table: path is not UTF-8") from None
        if path in seen:
            raise FormatError(f"file table: duplicate path {path!r}")
        seen.add(path)
        mode, size = struct.unpack("<IQ", take(12))
        dig = take(32)
        (nch,) = struct.unpack("<I", take(4))
        if nch > (n - pos) // 8:
            raise FormatError(f"file table: implausible chunk count for {path!r}")
        e = Entry(i, path, mode, size, dig)
        total = 0
        for _ in range(nch):
            clen, plain = struct.unpack("<II", take(8))
            if clen < TAG_SIZE + 1 or clen > MAX_CHUNK + 1024 or plain > MAX_CHUNK:
                raise FormatError(f"file table: bad chunk length in {path!r}")
            e.chunks.append((offset, clen, plain))
            offset += clen
            total += plain
        if total != size or (size > 0 and nch == 0):
            raise FormatError(f"file table: chunk sizes of {path!r} do not add up")
        entries.append(e)
    if pos != n:
        raise FormatError("file table has trailing bytes")
    if offset != table_offset:
        raise FormatError("chunks do not tile the data region (bytes inserted, removed or reordered)")
    return entries


class Writer:
    """Streamed package writer: header first, chunks as they come, the encrypted table and trailer last."""

    def __init__(
        self, f: BinaryIO, key_source: keys.KeySource, chunk_size: int, *, salt: bytes | None = None
    ):
        self.f = f
        salt = secrets.token_bytes(keys.SALT_SIZE) if salt is None else bytes(salt)
        if len(salt) != keys.SALT_SIZE:
            raise ValueError("salt must be 16 bytes")
        ops, mem = (
            (key_source.opslimit, key_source.memlimit) if key_source.kdf == keys.KDF_ARGON2ID else (0, 0)
        )
        self.header = Header(key_source.kdf, ops, mem, salt, TABLES_VERSION, chunk_size)
        self.header_bytes = self.header.pack()
        self.key = keys.derive_subkey(key_source.master(key_source.kdf, salt, ops, mem), salt)
        self.entries: list[Entry] = []
        self.paths: set[str] = set()
        self.offset = 0
        self._write(self.header_bytes)

    def _write(self, b: bytes) -> None:
        self.f.write(b)
        self.offset += len(b)

    def add_file(
        self, path: str, mode: int, size: int, file_digest: bytes, payloads: Iterable[tuple[bytes, int]]
    ) -> Entry:
        """Append one file; ``payloads`` yields ``(codec payload, plaintext length)`` per chunk."""
        check_path(path)
        if path in self.paths:
            raise Qyn1Error(f"duplicate path in package: {path!r}")
        self.paths.add(path)
        idx = len(self.entries)
        e = Entry(idx, path, mode & 0o7777, size, file_digest)
        payloads = list(payloads) if not isinstance(payloads, list) else payloads
        n = len(payloads)
        for j, (payload, plain) in enumerate(payloads):
            ct = aead.aead_encrypt(
                self.key,
                nonce_for(_DOMAIN_CHUNK, idx, j),
                payload,
                chunk_aad(self.header_bytes, idx, j, j == n - 1, path),
            )
            e.chunks.append((self.offset, len(ct), plain))
            self._write(ct)
        if sum(c[2] for c in e.chunks) != size:
            raise Qyn1Error(f"internal: chunk sizes of {path!r} do not add up")
        self.entries.append(e)
        return e

    def add_file_stream(self, path: str, mode: int, pieces: Iterable[bytes], encode) -> Entry:
        """Append one file from an iterator of plaintext pieces, holding one piece (and its encoding) at a
        time: ``encode(piece) -> payload``; size and digest are computed on the way."""
        check_path(path)
        if path in self.paths:
            raise Qyn1Error(f"duplicate path in package: {path!r}")
        self.paths.add(path)
        idx = len(self.entries)
        h = hashlib.blake2b(digest_size=32)
        e = Entry(idx, path, mode & 0o7777, 0, b"")
        it = iter(pieces)
        cur = next(it, None)
        j = 0
        while cur is not None:
            nxt = next(it, None)  # one piece of look-ahead: the last chunk carries the final flag
            h.update(cur)
            payload = encode(cur)
            ct = aead.aead_encrypt(
                self.key,
                nonce_for(_DOMAIN_CHUNK, idx, j),
                payload,
                chunk_aad(self.header_bytes, idx, j, nxt is None, path),
            )
            e.chunks.append((self.offset, len(ct), len(cur)))
            self._write(ct)
            e.size += len(cur)
            cur = nxt
            j += 1
        e.digest = h.digest()
        self.entries.append(e)
        return e

    def close(self) -> None:
        table_offset = self.offset
        ct = aead.aead_encrypt(
            self.key,
            nonce_for(_DOMAIN_TABLE, 0, 0),
            _encode_table(self.entries),
            table_aad(self.header_bytes, table_offset),
        )
        self._write(ct)
        self._write(_TRAILER.pack(table_offset, len(ct), 0, END_MAGIC))


class Reader:
    """Random-access reader: the header, trailer and table are read and authenticated on open; file
    contents are decrypted chunk by chunk on demand."""

    def __init__(self, f: BinaryIO, key_source: keys.KeySource):
        self.f = f
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size < HEADER_SIZE + TRAILER_SIZE + TAG_SIZE:
            raise FormatError("not a qyn1 package: file too short (truncated?)")
        f.seek(0)
        self.header_bytes = f.read(HEADER_SIZE)
        self.header = Header.unpack(self.header_bytes)
        f.seek(size - TRAILER_SIZE)
        table_offset, table_len, pad, end = _TRAILER.unpack(f.read(TRAILER_SIZE))
        if end != END_MAGIC or pad != 0:
            raise FormatError("no qyn1 trailer at the end of the package (truncated or extended?)")
        if (
            table_offset < HEADER_SIZE
            or table_offset + table_len + TRAILER_SIZE != size
            or table_len < TAG_SIZE
        ):
            raise FormatError("package length does not match its trailer (truncated or extended?)")
        h = self.header
        master = key_source.master(h.kdf, h.salt, h.opslimit, h.memlimit)
        self.key = keys.derive_subkey(master, h.salt)
        f.seek(table_offset)
        try:
            table = aead.aead_decrypt(
                self.key,
                nonce_for(_DOMAIN_TABLE, 0, 0),
                f.read(table_len),
                table_aad(self.header_bytes, table_offset),
            )
        except AuthenticationError:
            raise AuthenticationError(
                "the file table failed authentication: wrong key or passphrase, or the header/table was modified"
            ) from None
        self.entries = _decode_table(table, table_offset)
        self.by_path = {e.path: e for e in self.entries}

    def entry(self, path: str) -> Entry:
        try:
            return self.by_path[path]
        except KeyError:
            raise Qyn1Error(f"no file {path!r} in the package") from None

    def iter_chunks(self, e: Entry) -> Iterator[bytes]:
        """Decrypted, authenticated and decoded chunks of one file, in order (digest checked at the end)."""
        yield from decrypt_entry_chunks(self.f, self.key, self.header_bytes, e)

    def read(self, e: Entry) -> bytes:
        return b"".join(self.iter_chunks(e))


def decrypt_entry_chunks(f: BinaryIO, key: bytes, header_bytes: bytes, e: Entry) -> Iterator[bytes]:
    h = hashlib.blake2b(digest_size=32)
    n = len(e.chunks)
    for j, (offset, clen, plain) in enumerate(e.chunks):
        f.seek(offset)
        ct = f.read(clen)
        if len(ct) != clen:
            raise FormatError(f"{e.path}: chunk {j} is truncated")
        try:
            payload = aead.aead_decrypt(
                key,
                nonce_for(_DOMAIN_CHUNK, e.index, j),
                ct,
                chunk_aad(header_bytes, e.index, j, j == n - 1, e.path),
            )
        except AuthenticationError:
            raise AuthenticationError(
                f"{e.path}: chunk {j} of {n} failed authentication (modified, reordered, moved or truncated)"
            ) from None
        try:
            data = codec.decode_chunk(payload, plain)
        except CodecError as exc:
            raise CodecError(f"{e.path}: chunk {j} of {n} does not decode: {exc}") from None
        h.update(data)
        yield data
    if h.digest() != e.digest:
        raise AuthenticationError(f"{e.path}: content digest mismatch after decoding")


def check_path(path: str) -> None:
    """Refuse paths that could escape an output directory: absolute, drive-qualified, '..', empty or
    '.' components, backslashes, NUL, over-long."""
    if not path or len(path.encode("utf-8")) > MAX_PATH:
        raise UnsafePathError(f"unsafe path in package: {path!r}")
    if "\\" in path or "\0" in path or path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UnsafePathError(f"unsafe path in package: {path!r}")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise UnsafePathError(f"unsafe path in package: {path!r}")
