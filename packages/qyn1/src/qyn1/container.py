"""The ``QYN1`` binary container (version 4): streamed writing, random-access reading, everything
authenticated.

Layout (all integers little-endian)::

    header  48 bytes  magic "QYN1", u8 version=4, u8 kdf (1 key file, 2 Argon2id), u16 flags=0,
                      u32 opslimit, u32 memlimit, 16-byte salt, u16 tables version, u32 chunk size, 10 zero
    chunks            ChaCha20-Poly1305 ciphertext+tag of each chunk payload, block by block, in table order
    table             ChaCha20-Poly1305 of the brotli-compressed file table (below)
    trailer 24 bytes  u64 table offset, u32 table length, 4 zero, magic "QYN1END\\0"

A **block** is the concatenation of one or more files (a large file alone, or a solid group of small files
that share compression context), cut into chunks that are coded and encrypted on their own; reading one file
decodes only the chunks of its block that overlap it. File table (plaintext): ``u32 n_blocks``, per block
``u32 n_chunks`` and per chunk ``u32 stored length, u32 plaintext length``; then ``u32 n_files`` and per file
``u16 path length, UTF-8 path, u32 mode, u64 size, 32-byte BLAKE2b-256 of the plaintext, u32 block``,
compressed with brotli (quality ``TABLE_QUALITY``; paths repeat their folders: 40-50 % smaller for installed packages, ~1 %
of a whole package; decompressed after authentication, at most ``MAX_TABLE`` bytes). A
file's offset in its block is implied (the files of a block follow each other in table order), and the
files of each block must add up to exactly its plaintext; chunk offsets are implied too: chunks tile
``[48, table offset)`` exactly, which the reader checks, so an inserted, dropped or extended byte range is
caught before any decryption.

Keys and nonces: subkey = BLAKE2b(master, package salt) (``qyn1.keys``); the nonce of chunk ``j`` of block
``i`` is ``(1, i, j)`` as three u32, the table's ``(2, 0, 0)`` -- unique under a per-package subkey.
Associated data binds the whole header, the block index, the chunk index and a final-chunk flag (chunks),
or the header and the table offset (table); the authenticated table binds paths to blocks and digests: a
chunk cannot be reordered, dropped, truncated or moved to another block or package without failing.

Earlier versions are refused with a one-line message naming the version: 1 (one block per file, paths in
the chunk associated data), 2 (the same layout as 4, without the ``cm`` and ``xz`` chunk codecs,
``qyn1.codec``), 3 (without ``xz``).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import brotli

from qyn1 import codec, keys
from qyn1.crypto import fast as aead
from qyn1.errors import AuthenticationError, CodecError, FormatError, Qyn1Error, UnsafePathError
from qyn1.tables import TABLES_VERSION

MAGIC = b"QYN1"
END_MAGIC = b"QYN1END\x00"
VERSION = 4
_HEADER = struct.Struct("<4sBBHII16sHI10x")
_TRAILER = struct.Struct("<QII8s")
HEADER_SIZE = _HEADER.size
TRAILER_SIZE = _TRAILER.size
TAG_SIZE = 16
MAX_CHUNK = 64 << 20
MAX_PATH = 4096
MAX_TABLE = 256 << 20  # decompressed file table: ~2.5 million files of ordinary path lengths
_DOMAIN_CHUNK, _DOMAIN_TABLE = 1, 2


def nonce_for(domain: int, block_index: int, chunk_index: int) -> bytes:
    return struct.pack("<III", domain, block_index, chunk_index)


def chunk_aad(header: bytes, block_index: int, chunk_index: int, final: bool) -> bytes:
    return header + struct.pack("<IIB", block_index, chunk_index, 1 if final else 0) + b"block"


def table_aad(header: bytes, table_offset: int) -> bytes:
    return header + struct.pack("<Q", table_offset) + b"file-table"


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


@dataclass
class Block:
    """Chunks of one block: ``(package offset, stored length, plaintext length)`` each."""

    index: int
    chunks: list[tuple[int, int, int]] = field(default_factory=list)
    codecs: list[int] = field(default_factory=list)  # the codec id of each chunk (qyn1.codec)

    @property
    def size(self) -> int:
        return sum(c[2] for c in self.chunks)

    @property
    def stored_size(self) -> int:
        return sum(c[1] for c in self.chunks)


@dataclass
class Entry:
    """One file of a package: ``offset`` bytes into block ``block``; ``chunks`` are its block's chunks."""

    index: int
    path: str
    mode: int
    size: int
    digest: bytes
    block: int = 0
    offset: int = 0
    chunks: list[tuple[int, int, int]] = field(default_factory=list)
    codecs: list[int] = field(default_factory=list)
    shared: bool = False  # other files share the block

    @property
    def stored_size(self) -> int:
        """Stored bytes of its block; a file in a shared block gets its share by size (rounded)."""
        total = sum(c[1] for c in self.chunks)
        if not self.shared:
            return total
        plain = sum(c[2] for c in self.chunks)
        return round(total * self.size / plain) if plain else 0

    def chunk_span(self) -> range:
        """Indices of the chunks of its block that hold a byte of this file (empty for an empty file)."""
        first, pos = None, 0
        end = self.offset + self.size
        for j, (_, _, plain) in enumerate(self.chunks):
            if first is None and pos + plain > self.offset:
                first = j
            pos += plain
            if pos >= end and first is not None:
                return range(first, j + 1)
        return range(0)


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
            raise FormatError(
                f"package is in qyn1 container format version {version}; this qyn1 reads only version "
                f"{VERSION} (unpack it with the qyn1 that made it)"
            )
        if kdf not in (keys.KDF_KEYFILE, keys.KDF_ARGON2ID) or flags != 0 or raw[38:HEADER_SIZE] != bytes(10):
            raise FormatError("corrupted qyn1 header")
        if tv != TABLES_VERSION:
            raise FormatError(f"package uses model tables v{tv}; this qyn1 ships v{TABLES_VERSION}")
        return cls(kdf, ops, mem, salt, tv, cs)


def _encode_table(blocks: list[Block], entries: list[Entry]) -> bytes:
    out = bytearray(struct.pack("<I", len(blocks)))
    for b in blocks:
        out += struct.pack("<I", len(b.chunks))
        for (_, clen, plen), cid in zip(b.chunks, b.codecs, strict=True):
            out += struct.pack("<IIB", clen, plen, cid)
    out += struct.pack("<I", len(entries))
    for e in entries:
        p = e.path.encode("utf-8")
        out += struct.pack("<H", len(p)) + p
        out += struct.pack("<IQ", e.mode, e.size) + e.digest + struct.pack("<I", e.block)
    return bytes(out)


# The table is compressed once, by the parent, after every block is written: a serial tail of the pack. Quality 9
# against 11 on the stdlib's table (~138 KB, a third of it 32-byte digests that do not compress): ~27 against
# ~420 ms; the stdlib packed on 2 workers 1.10x faster, the package 2,498 bytes (0.06 %) larger
# (docs/perf/qyn1.md, "The file table's quality"); decoders read either.
TABLE_QUALITY = 9


def _compress_table(raw: bytes) -> bytes:
    return brotli.compress(raw, quality=TABLE_QUALITY)


def _decompress_table(body: bytes) -> bytes:
    d = brotli.Decompressor()
    try:
        raw = d.process(body, output_buffer_limit=MAX_TABLE + 1)
    except brotli.error:
        raise FormatError("file table does not decompress") from None
    if len(raw) > MAX_TABLE or not d.is_finished():
        raise FormatError(f"file table does not decompress to at most {MAX_TABLE} bytes")
    return raw


class _Cursor:
    """Bounds-checked reads from the (authenticated) table bytes."""

    def __init__(self, raw: bytes):
        self.raw, self.pos = raw, 0

    def take(self, k: int) -> bytes:
        if self.pos + k > len(self.raw):
            raise FormatError("file table is truncated")
        v = self.raw[self.pos : self.pos + k]
        self.pos += k
        return v

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def left(self) -> int:
        return len(self.raw) - self.pos


def _decode_table(raw: bytes, table_offset: int) -> tuple[list[Block], list[Entry]]:
    c = _Cursor(raw)
    n_blocks = c.u32()
    if n_blocks > c.left() // 4:
        raise FormatError("file table: implausible block count")
    blocks = []
    offset = HEADER_SIZE
    for b in range(n_blocks):
        nch = c.u32()
        if nch > c.left() // 9:
            raise FormatError(f"file table: implausible chunk count in block {b}")
        block = Block(b)
        for _ in range(nch):
            clen, plain, cid = struct.unpack("<IIB", c.take(9))
            if clen < TAG_SIZE + 1 or clen > MAX_CHUNK + 1024 or plain > MAX_CHUNK or plain == 0:
                raise FormatError(f"file table: bad chunk length in block {b}")
            if cid not in codec.NAMES:
                raise FormatError(f"file table: unknown codec {cid} in block {b}")
            block.chunks.append((offset, clen, plain))
            block.codecs.append(cid)
            offset += clen
        blocks.append(block)
    if offset != table_offset:
        raise FormatError("chunks do not tile the data region (bytes inserted, removed or reordered)")
    count = c.u32()
    if count > c.left() // 51:  # the smallest possible entry is 2+1+4+8+32+4 bytes
        raise FormatError("file table: implausible file count")
    entries = []
    filled = [0] * n_blocks
    users = [0] * n_blocks
    seen = set()
    for i in range(count):
        (plen,) = struct.unpack("<H", c.take(2))
        try:
            path = c.take(plen).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("file table: path is not UTF-8") from None
        if path in seen:
            raise FormatError(f"file table: duplicate path {path!r}")
        seen.add(path)
        mode, size = struct.unpack("<IQ", c.take(12))
        dig = c.take(32)
        b = c.u32()
        if b >= n_blocks:
            raise FormatError(f"file table: {path!r} names block {b} of {n_blocks}")
        e = Entry(i, path, mode, size, dig, b, filled[b], blocks[b].chunks, blocks[b].codecs)
        filled[b] += size
        users[b] += 1
        entries.append(e)
    if c.left():
        raise FormatError("file table has trailing bytes")
    for b, block in enumerate(blocks):
        if filled[b] != block.size or users[b] == 0:
            raise FormatError(f"file table: the files of block {b} do not add up to its contents")
    for e in entries:
        e.shared = users[e.block] > 1
    return blocks, entries


class Writer:
    """Streamed package writer: header first, blocks as they come, the encrypted table and trailer last."""

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
        self.blocks: list[Block] = []
        self.entries: list[Entry] = []
        self.paths: set[str] = set()
        self.offset = 0
        self._write(self.header_bytes)

    def _write(self, b: bytes) -> None:
        self.f.write(b)
        self.offset += len(b)

    def _add_entry(
        self, path: str, mode: int, size: int, file_digest: bytes, block: Block, offset: int
    ) -> Entry:
        check_path(path)
        if path in self.paths:
            raise Qyn1Error(f"duplicate path in package: {path!r}")
        self.paths.add(path)
        e = Entry(
            len(self.entries), path, mode & 0o7777, size, file_digest, block.index, offset, block.chunks
        )
        e.codecs = block.codecs
        self.entries.append(e)
        return e

    def _encrypt(self, block: Block, j: int, payload: bytes, plain: int, final: bool) -> None:
        ct = aead.aead_encrypt(
            self.key,
            nonce_for(_DOMAIN_CHUNK, block.index, j),
            payload,
            chunk_aad(self.header_bytes, block.index, j, final),
        )
        block.chunks.append((self.offset, len(ct), plain))
        block.codecs.append(payload[0] if payload else codec.STORED)
        self._write(ct)

    def add_block(
        self, files: list[tuple[str, int, int, bytes]], payloads: list[tuple[bytes, int]]
    ) -> list[Entry]:
        """Append one block: ``files`` are ``(path, mode, size, digest)`` in block order, ``payloads``
        ``(codec payload, plaintext length)`` per chunk; the sizes must add up."""
        if sum(f[2] for f in files) != sum(p[1] for p in payloads) or not files:
            raise Qyn1Error("internal: the files of a block do not add up to its chunks")
        for path, *_ in files:
            check_path(path)
        block = Block(len(self.blocks))
        self.blocks.append(block)
        for j, (payload, plain) in enumerate(payloads):
            self._encrypt(block, j, payload, plain, j == len(payloads) - 1)
        entries, offset = [], 0
        for path, mode, size, dig in files:
            entries.append(self._add_entry(path, mode, size, dig, block, offset))
            offset += size
        return entries

    def add_file(
        self, path: str, mode: int, size: int, file_digest: bytes, payloads: Iterable[tuple[bytes, int]]
    ) -> Entry:
        """Append one file as a block of its own."""
        return self.add_block([(path, mode, size, file_digest)], list(payloads))[0]

    def add_file_stream(self, path: str, mode: int, pieces: Iterable[bytes], encode) -> Entry:
        """Append one file as a block of its own from an iterator of plaintext pieces, holding one piece
        (and its encoding) at a time: ``encode(piece) -> payload``; size and digest computed on the way."""
        check_path(path)
        block = Block(len(self.blocks))
        self.blocks.append(block)
        h = hashlib.blake2b(digest_size=32)
        size = 0
        it = iter(pieces)
        cur = next(it, None)
        j = 0
        while cur is not None:
            nxt = next(it, None)  # one piece of look-ahead: the last chunk carries the final flag
            h.update(cur)
            self._encrypt(block, j, encode(cur), len(cur), nxt is None)
            size += len(cur)
            cur = nxt
            j += 1
        return self._add_entry(path, mode, size, h.digest(), block, 0)

    def close(self) -> None:
        table_offset = self.offset
        ct = aead.aead_encrypt(
            self.key,
            nonce_for(_DOMAIN_TABLE, 0, 0),
            _compress_table(_encode_table(self.blocks, self.entries)),
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
        self.blocks, self.entries = _decode_table(_decompress_table(table), table_offset)
        self.by_path = {e.path: e for e in self.entries}

    def entry(self, path: str) -> Entry:
        try:
            return self.by_path[path]
        except KeyError:
            raise Qyn1Error(f"no file {path!r} in the package") from None

    def iter_chunks(self, e: Entry) -> Iterator[bytes]:
        """The file's bytes, piece by piece, from only the chunks of its block that overlap it
        (authenticated, decoded, digest checked at the end)."""
        return entry_pieces(self.f, self.key, self.header_bytes, e, ChunkCache(), prefix=True)

    def read(self, e: Entry) -> bytes:
        return b"".join(self.iter_chunks(e))


class ChunkCache:
    """The last decoded chunk, so consecutive files of one solid block decode a shared chunk once."""

    def __init__(self):
        self.key: tuple[int, int] | None = None
        self.data = b""


def decrypt_payload(f: BinaryIO, key: bytes, header_bytes: bytes, e: Entry, j: int) -> bytes:
    """Chunk ``j`` of ``e``'s block, authenticated and decrypted but not decoded: its codec payload, whose
    codec byte is checked against the file table's (decode it with ``codec.decode_chunk``, or several at once
    with ``codec.decode_chunks``); errors name ``e`` (a file that needs it)."""
    n = len(e.chunks)
    offset, clen, _ = e.chunks[j]
    f.seek(offset)
    ct = f.read(clen)
    if len(ct) != clen:
        raise FormatError(f"{e.path}: chunk {j} is truncated")
    try:
        payload = aead.aead_decrypt(
            key, nonce_for(_DOMAIN_CHUNK, e.block, j), ct, chunk_aad(header_bytes, e.block, j, j == n - 1)
        )
    except AuthenticationError:
        raise AuthenticationError(
            f"{e.path}: chunk {j} of {n} failed authentication (modified, reordered, moved or truncated)"
        ) from None
    if not payload or payload[0] != e.codecs[j]:
        raise CodecError(
            f"{e.path}: chunk {j} of {n} does not decode: its codec differs from the file table's"
        )
    return payload


def _decrypt_chunk(f: BinaryIO, key: bytes, header_bytes: bytes, e: Entry, j: int, need: int) -> bytes:
    """Chunk ``j`` of ``e``'s block, authenticated and decoded (at least its first ``need`` bytes:
    ``codec.decode_chunk``); errors name ``e`` (a file that needs it)."""
    payload = decrypt_payload(f, key, header_bytes, e, j)
    try:
        return codec.decode_chunk(payload, e.chunks[j][2], need=need)
    except CodecError as exc:
        raise CodecError(f"{e.path}: chunk {j} of {len(e.chunks)} does not decode: {exc}") from None


def file_pieces(e: Entry, chunk, *, prefix: bool = False):
    """Yield the bytes of one file from the chunks of its block that hold them, ``chunk(j, need)`` giving
    chunk ``j`` decoded (at least its first ``need`` bytes); the digest is checked at the end
    (AuthenticationError), so a caller that consumed every piece has verified the file. ``prefix``
    (reading one file: ``cat``): a chunk only needs decoding up to the file's end, which a sequential
    decoder (``cm``) uses to stop early."""
    h = hashlib.blake2b(digest_size=32)
    span = e.chunk_span()
    start = sum(c[2] for c in e.chunks[: span.start]) if span else 0
    for j in span:
        plain = e.chunks[j][2]
        data = chunk(j, min(plain, e.offset + e.size - start) if prefix else plain)
        piece = data[max(e.offset - start, 0) : min(e.offset + e.size - start, len(data))]
        start += plain
        h.update(piece)
        yield piece
    if h.digest() != e.digest:
        raise AuthenticationError(f"{e.path}: content digest mismatch after decoding")


def entry_pieces(
    f: BinaryIO, key: bytes, header_bytes: bytes, e: Entry, cache: ChunkCache, *, prefix: bool = False
):
    """:func:`file_pieces` with each chunk decrypted and decoded once per ``cache`` (pass one cache to files
    of a block read in order); with ``prefix`` the chunk is still authenticated whole."""

    def chunk(j: int, need: int) -> bytes:
        if cache.key != (e.block, j) or len(cache.data) < need:
            cache.key, cache.data = None, b""
            cache.data = _decrypt_chunk(f, key, header_bytes, e, j, need)
            cache.key = (e.block, j)
        return cache.data

    return file_pieces(e, chunk, prefix=prefix)


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
