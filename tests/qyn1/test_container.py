"""Container format: round trips, random access, and every kind of tampering fails cleanly."""

from __future__ import annotations

import io
import struct

import pytest
from qyn1 import codec, container
from qyn1.errors import AuthenticationError, CodecError, FormatError, KeyError_, Qyn1Error, UnsafePathError

from ._helpers import KEY, key_source, pack_bytes, read_all

FILES = {
    "a/one.py": b"import sys\nprint(sys.argv)\n" * 50,
    "a/two.py": b"x = 1\n",
    "b/blob.bin": bytes(range(256)) * 20,
    "empty": b"",
}


def test_round_trip_and_random_access():
    blob = pack_bytes(FILES)
    assert read_all(blob) == FILES
    r = container.Reader(io.BytesIO(blob), key_source())
    assert [e.path for e in r.entries] == sorted(FILES)
    assert r.read(r.entry("a/two.py")) == FILES["a/two.py"]
    with pytest.raises(Qyn1Error, match="no file"):
        r.entry("nope")


def test_payloads_decrypted_apart_then_decoded_together():
    """``decrypt_payload`` (authenticated, codec byte checked against the table) then ``codec.decode_chunks``
    gives what ``Reader.read`` does; a payload whose codec differs from the table's is refused."""
    blob = pack_bytes(FILES)
    r = container.Reader(io.BytesIO(blob), key_source())
    entries = [e for e in r.entries if e.chunks]
    items = [(container.decrypt_payload(r.f, r.key, r.header_bytes, e, 0), e.chunks[0][2]) for e in entries]
    assert codec.decode_chunks(items) == [FILES[e.path] for e in entries]
    e = entries[0]
    e.codecs = [e.codecs[0] ^ 1]
    with pytest.raises(CodecError, match="codec differs"):
        container.decrypt_payload(r.f, r.key, r.header_bytes, e, 0)


def test_deterministic_given_salt_and_random_otherwise():
    assert pack_bytes(FILES) == pack_bytes(FILES)
    assert pack_bytes(FILES) != pack_bytes(FILES, salt=bytes(16))
    assert read_all(pack_bytes(FILES, salt=bytes(16))) == FILES


def test_no_plaintext_in_package():
    secret = b"SECRET-TOKEN-" * 40
    blob = pack_bytes({"s.txt": secret})
    assert b"SECRET" not in blob and b"s.txt" not in blob


def _chunked():
    # stored-codec chunks of identical length so that two chunks can be swapped byte for byte
    import random

    rng = random.Random(1)
    data = {p: bytes(rng.randrange(256) for _ in range(4096)) for p in ("f1", "f2")}
    return data, pack_bytes(data, chunk_size=1024, exact_chunks=True)


def test_every_bit_flip_in_header_table_or_chunk_is_caught():
    _data, blob = _chunked()
    for pos in list(range(0, container.HEADER_SIZE)) + list(range(container.HEADER_SIZE, len(blob), 97)):
        bad = bytearray(blob)
        bad[pos] ^= 0x04
        with pytest.raises(Qyn1Error):
            read_all(bytes(bad))


def test_chunk_errors_name_file_and_chunk():
    _data, blob = _chunked()
    r = container.Reader(io.BytesIO(blob), key_source())
    e = r.entry("f2")
    off = e.chunks[2][0]
    bad = bytearray(blob)
    bad[off + 5] ^= 1
    with pytest.raises(AuthenticationError, match=r"f2: chunk 2 of 4"):
        read_all(bytes(bad))


def test_swapped_and_moved_chunks_fail():
    data, blob = _chunked()
    r = container.Reader(io.BytesIO(blob), key_source())
    f1, f2 = r.entry("f1"), r.entry("f2")
    (o0, l0, _), (o1, l1, _) = f1.chunks[0], f1.chunks[1]
    assert l0 == l1
    swapped = bytearray(blob)
    swapped[o0 : o0 + l0], swapped[o1 : o1 + l1] = blob[o1 : o1 + l1], blob[o0 : o0 + l0]
    with pytest.raises(AuthenticationError, match="f1: chunk 0"):
        read_all(bytes(swapped))
    moved = bytearray(blob)  # chunk 0 of f2 replaced by chunk 0 of f1
    p0 = f2.chunks[0][0]
    moved[p0 : p0 + l0] = blob[o0 : o0 + l0]
    with pytest.raises(AuthenticationError, match="f2: chunk 0"):
        read_all(bytes(moved))
    other = pack_bytes(
        data, chunk_size=1024, salt=bytes(16), exact_chunks=True
    )  # a chunk from another package
    spliced = bytearray(blob)
    spliced[o0 : o0 + l0] = other[o0 : o0 + l0]
    with pytest.raises(AuthenticationError, match="f1: chunk 0"):
        read_all(bytes(spliced))


def test_truncated_and_extended():
    _, blob = _chunked()
    for cut in (1, 10, container.TRAILER_SIZE, container.TRAILER_SIZE + 1, len(blob) // 2, len(blob) - 10):
        with pytest.raises(FormatError):
            read_all(blob[: len(blob) - cut])
    with pytest.raises(FormatError):
        read_all(blob + b"\0")
    with pytest.raises(FormatError):
        read_all(blob + blob[-container.TRAILER_SIZE :])
    # a dropped final chunk with a forged trailer: the table no longer tiles / authenticates
    r = container.Reader(io.BytesIO(blob), key_source())
    last = r.entries[-1].chunks[-1]
    table_off, table_len, _, magic = struct.unpack("<QII8s", blob[-container.TRAILER_SIZE :])
    forged = blob[: last[0]] + blob[table_off : table_off + table_len]
    forged += struct.pack("<QII8s", last[0], table_len, 0, magic)
    with pytest.raises(Qyn1Error):
        read_all(forged)


def test_wrong_key_and_kdf_mismatch():
    blob = pack_bytes(FILES)
    with pytest.raises(AuthenticationError, match="wrong key"):
        read_all(blob, key=bytes(32))
    from qyn1 import keys

    with pytest.raises(KeyError_):
        container.Reader(io.BytesIO(blob), keys.KeySource.from_passphrase("pw"))


def test_passphrase_package():
    from qyn1 import keys, pipeline

    ks = keys.KeySource.from_passphrase("correct horse", opslimit=1, memlimit=8192 * 1024)
    f = io.BytesIO()
    w = container.Writer(f, ks, 65536)
    ef = pipeline.encode_bytes(b"x = 1\n", 65536, arcpath="x.py")
    w.add_file("x.py", 0o600, ef.size, ef.digest, ef.chunks)
    w.close()
    r = container.Reader(io.BytesIO(f.getvalue()), ks)
    assert r.read(r.entries[0]) == b"x = 1\n"
    with pytest.raises(AuthenticationError):
        container.Reader(
            io.BytesIO(f.getvalue()),
            keys.KeySource.from_passphrase("wrong", opslimit=1, memlimit=8192 * 1024),
        )


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", "C:/x", "a/.", ""]
)
def test_unsafe_paths_rejected(path):
    with pytest.raises(UnsafePathError):
        container.check_path(path)
    w = container.Writer(io.BytesIO(), key_source(KEY), 1024)
    with pytest.raises(UnsafePathError):
        w.add_file(path, 0o644, 0, container.digest(b""), [])


def test_solid_groups_round_trip_and_one_file_decrypts_one_chunk(monkeypatch):
    """Small files share blocks (cross-file context); reading one decrypts only the chunk holding it."""
    files = {f"pkg/m{i:02d}.py": f"def f{i}(x):\n    return x * {i}\n".encode() * (i + 1) for i in range(30)}
    files |= {f"data/t{i}.json": b'{"key": %d, "values": [1, 2, 3]}\n' % i for i in range(20)}
    files["empty.txt"] = b""
    blob = pack_bytes(files, solid=True)
    assert read_all(blob) == files
    r = container.Reader(io.BytesIO(blob), key_source())
    assert len(r.blocks) < len(files) // 10 and any(e.shared for e in r.entries)
    calls = []
    real = container.aead.aead_decrypt
    monkeypatch.setattr(container.aead, "aead_decrypt", lambda *a: calls.append(1) or real(*a))
    assert r.read(r.entry("pkg/m17.py")) == files["pkg/m17.py"]
    assert len(calls) == 1
    assert sum(e.stored_size for e in r.entries) == pytest.approx(
        sum(b.stored_size for b in r.blocks), abs=60
    )


def test_table_parser_refuses_blocks_that_do_not_add_up():
    """The parser alone (its input is authenticated): files must tile their block exactly, name a block that
    exists, and every block must be used."""
    blk = container.Block(0, [(container.HEADER_SIZE, 40, 10)], [0])
    end = container.HEADER_SIZE + 40

    def entry(path, size, block=0):
        return container.Entry(0, path, 0o644, size, bytes(32), block)

    for entries, message in (
        ([entry("a", 4)], "do not add up"),
        ([entry("a", 10), entry("b", 1)], "do not add up"),
        ([entry("a", 10, block=1)], "names block"),
        ([entry("a", 5), entry("a", 5)], "duplicate path"),
        ([], "do not add up"),
    ):
        with pytest.raises(FormatError, match=message):
            container._decode_table(container._encode_table([blk], entries), end)
    _, entries = container._decode_table(container._encode_table([blk], [entry("a", 3), entry("b", 7)]), end)
    assert [(e.path, e.offset, e.shared) for e in entries] == [("a", 0, True), ("b", 3, True)]


def test_file_table_is_compressed_and_a_table_that_does_not_decompress_is_refused(monkeypatch):
    """Paths repeat their folders, so the table is stored brotli-compressed: smaller than its plaintext, and
    a table that is not a brotli stream (or decompresses past ``MAX_TABLE``) is one FormatError."""
    files = {f"pkg/sub/module_{i:03d}.py": b"x = %d\n" % i for i in range(60)}
    blob = pack_bytes(files)
    r = container.Reader(io.BytesIO(blob), key_source())
    raw = container._encode_table(r.blocks, r.entries)
    stored = struct.unpack("<QII8s", blob[-container.TRAILER_SIZE :])[1] - container.TAG_SIZE
    assert stored < len(raw) * 0.6
    assert container._decompress_table(container._compress_table(raw)) == raw
    for bad in (raw, container._compress_table(raw)[:-3], container._compress_table(raw) + b"\0"):
        with pytest.raises(FormatError, match="file table does not decompress"):
            container._decompress_table(bad)
    monkeypatch.setattr(container, "MAX_TABLE", len(raw) - 1)
    with pytest.raises(FormatError, match="at most"):
        container._decompress_table(container._compress_table(raw))
