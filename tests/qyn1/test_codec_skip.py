"""The skip of zstd-19/brotli-11 on a chunk the structural codec takes (``codec._lz_may_win``): they still run
wherever they may beat cm, and where the skip fires the payload is the one trying every coder would choose."""

from __future__ import annotations

import math
import random

import pytest
from qyn1 import codec

_RNG = random.Random(13)
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BLOB = bytes(_RNG.choice(_B64) for _ in range(6000))
# a random base64 literal twice: LZ codes the second copy as one match, and brotli-11 wins (~4.5 KB against
# cm's ~5.0 KB and the structural ~7.4 KB); the zstd probe lets the general coders try
LZ_WINS = b"X = '" + _BLOB + b"'\nY = '" + _BLOB + b"'\n"
# a table written as Python: cm ~7.1 KB, brotli-11 ~7.8 KB, brotli-5 ~10.7 KB, structural ~16.7 KB
TABLE = (
    b"CODES = (\n"
    + b"".join(
        b"    0x%04x,  # %s\n" % (_RNG.randrange(65536), bytes(_RNG.choice(b"abcdefgh") for _ in range(6)))
        for _ in range(1500)
    )
    + b")\n"
)


@pytest.fixture
def lz_calls(monkeypatch):
    """Count the zstd-19/brotli-11 trials (they still run)."""
    calls = []
    for name in ("_encode_zstd", "_encode_brotli"):
        orig = getattr(codec, name)
        monkeypatch.setattr(codec, name, lambda d, o=orig, n=name: calls.append(n) or o(d))
    return calls


def _exhaustive(data: bytes, monkeypatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(codec, "_lz_may_win", lambda d, n: True)
        return codec.encode_chunk(data)


def test_lz_still_tried_where_it_wins(lz_calls, monkeypatch):
    payload = codec.encode_chunk(LZ_WINS)
    assert codec.codec_of(payload) == "brotli"
    assert sorted(lz_calls) == ["_encode_brotli", "_encode_zstd"]
    assert payload == _exhaustive(LZ_WINS, monkeypatch)
    assert codec.decode_chunk(payload, len(LZ_WINS)) == LZ_WINS


def test_skip_fires_on_a_table_and_changes_nothing(lz_calls, monkeypatch):
    payload = codec.encode_chunk(TABLE)
    assert codec.codec_of(payload) == "cm"
    assert lz_calls == []  # cm's body < brotli-5's / BROTLI5_GAIN: zstd-19 and brotli-11 skipped
    assert payload == _exhaustive(TABLE, monkeypatch)
    assert codec.decode_chunk(payload, len(TABLE)) == TABLE


def test_skip_only_below_the_bound(monkeypatch):
    """The guard itself, with cm's and brotli-5's body lengths stubbed: the LZ trials are skipped only when cm
    is admitted (``CM_PYTHON_MARGIN``) and its body times ``BROTLI5_GAIN`` is below brotli-5's."""
    data = b"".join(b"TABLE_%d = {'name': 'n%d', 'weight': %d.5}\n" % (i, i, i) for i in range(300))
    structural = len(codec.encode_chunk(data, general=False))
    calls = []
    monkeypatch.setattr(codec, "_probe", lambda d: b"")  # the zstd probe always lets the general coders try
    monkeypatch.setattr(codec, "_encode_zstd", lambda d: calls.append("zstd") or d)
    monkeypatch.setattr(codec, "_encode_brotli", lambda d: calls.append("brotli") or d)
    probe = 1400
    monkeypatch.setattr(codec, "_probe_brotli", lambda d: b"\1" * probe)
    edge = math.ceil(probe / codec.BROTLI5_GAIN) - 1  # the longest cm body below brotli-5's / BROTLI5_GAIN
    assert edge * codec.BROTLI5_GAIN < probe <= (edge + 1) * codec.BROTLI5_GAIN
    assert edge + 2 <= structural / codec.CM_PYTHON_MARGIN  # cm admitted at these lengths
    for cm_len, skipped in ((edge, True), (edge + 1, False), (structural, False)):
        calls.clear()
        monkeypatch.setattr("qyn1.cm.encode", lambda d, k=cm_len: b"\1" * k)
        codec.encode_chunk(data)
        assert calls == ([] if skipped else ["zstd", "brotli"]), cm_len


def test_python_max_skips_on_the_same_bound(lz_calls):
    """``python_cm`` (the python-max preset, where cm wins by size alone) skips on the same bound."""
    assert codec.codec_of(codec.encode_chunk(TABLE, python_cm=True)) == "cm"
    assert lz_calls == []
    assert codec.codec_of(codec.encode_chunk(LZ_WINS, python_cm=True)) == "brotli"
    assert sorted(lz_calls) == ["_encode_brotli", "_encode_zstd"]
