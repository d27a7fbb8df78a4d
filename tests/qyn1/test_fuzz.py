"""Fuzzing the container parser (hypothesis): whatever the bytes, only qyn1's own clean errors."""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qyn1 import codec, container
from qyn1.errors import Qyn1Error

from ._helpers import key_source, pack_bytes

# small on purpose (a structural chunk, a stored chunk, a multi-chunk file): each case stays cheap
VALID = pack_bytes(
    {"m.py": b"def f(x):\n    return x + 1  # one\n" * 3, "z.bin": bytes(range(200)) * 2}, chunk_size=256
)
KS = key_source()

KINDS = ("flip", "cut", "insert", "delete", "dup")


def _mutations(raw: bytes):
    """Decode fuzz bytes into mutations: 5 bytes each (kind, 24-bit position, argument). Plain bytes keep
    hypothesis' own overhead per case low, so 10,000 cases run in seconds; it still shrinks them."""
    out = []
    for i in range(0, len(raw) - 4, 5):
        kind = KINDS[raw[i] % len(KINDS)]
        pos = int.from_bytes(raw[i + 1 : i + 4], "little") % (len(VALID) + 1)
        arg = raw[i + 4] or 1
        out.append((kind, pos, arg if kind != "delete" else arg % 64 + 1))
    return out


def _apply(blob: bytearray, m) -> bytearray:
    kind, pos, arg = m
    if kind == "flip" and pos < len(blob):
        blob[pos] ^= arg
    elif kind == "cut":
        del blob[pos:]
    elif kind == "insert":
        blob[pos:pos] = bytes([arg])
    elif kind == "delete":
        del blob[pos : pos + arg]
    elif kind == "dup":
        blob[pos:pos] = blob[pos : pos + arg % 64 + 1]
    return blob


def _read(blob: bytes) -> None:
    r = container.Reader(io.BytesIO(blob), KS)
    for e in r.entries:
        r.read(e)


@settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=5, max_size=20))
def test_mutated_packages_fail_cleanly(raw):
    blob = bytearray(VALID)
    for m in _mutations(raw):
        blob = _apply(blob, m)
    if bytes(blob) == VALID:
        _read(bytes(blob))
        return
    try:
        _read(bytes(blob))
    except Qyn1Error:
        return
    raise AssertionError("a modified package was accepted")


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=400), st.integers(0, 1 << 20))
def test_table_parser_only_raises_format_errors(raw, table_offset):
    # the table parser only ever sees authenticated bytes, but must still never crash on any input
    with contextlib.suppress(Qyn1Error):
        container._decode_table(raw, table_offset)


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from([0, 1, 2, 3, 6, 7]), st.binary(max_size=300), st.integers(0, 2000))
def test_chunk_decoder_only_raises_codec_errors(codec_id, body, n):
    try:
        out = codec.decode_chunk(bytes([codec_id]) + body, n)
    except Qyn1Error:
        return
    assert len(out) == n


def test_structure_aware_fuzz_reaches_every_parser_stage():
    """Mutations inside each section of a valid package (the table and payloads re-encrypted with the key,
    so they pass authentication): only clean errors, and the cases reach the table parser's checks and the
    chunk decoders, not just the first length check (``tests/qyn1/_fuzz_stages.py``;
    ``benchmarks/qyn1_fuzz_stages.py`` prints the counts at scale)."""
    from . import _fuzz_stages as fz

    res = fz.run_cases(25, seed=1)
    parse_checks = {s for s in res["table"] if s.startswith("table-parse:")}
    assert len(parse_checks) >= 5, res["table"]
    assert res["payload"]["codec"] > 0 and res["ciphertext"]["chunk-auth"] > 0, res
    assert res["header"]["header"] > 0 and res["trailer"]["header"] > 0
