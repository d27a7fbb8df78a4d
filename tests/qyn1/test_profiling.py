"""The per-file peers of ``qyn1 bench`` and the benchmark, with the trained-dictionary zstd peer."""

from __future__ import annotations

import pytest
from qyn1 import profiling

zstandard = pytest.importorskip("zstandard")


def _samples(n: int, salt: str) -> list[bytes]:
    return [
        (
            f"def handler_{i}_{salt}(request, value={i}):\n    return request.get('key_{i % 7}', value) + {i}\n"
            * 3
        ).encode()
        for i in range(n)
    ]


def test_dictionary_peer_is_trained_on_the_given_files_and_round_trips():
    train, held = _samples(300, "train"), _samples(20, "held")
    peers = profiling.peer_codecs(train, dict_size=4096)
    assert {"zlib-9", "lzma-9", "zstd-19", "zstd-19+dict"} <= set(peers)
    comp, decomp = peers["zstd-19+dict"]
    assert all(decomp(comp(d)) == d for d in held)
    row = profiling.measure_peer(held, comp, decomp)
    assert row["ratio"] > profiling.measure_peer(held, *peers["zstd-19"])["ratio"]
    assert "zstd-19+dict" not in profiling.peer_codecs()  # no training files, no dictionary peer


def test_bench_times_each_codec_after_its_one_time_set_up(monkeypatch):
    """`qyn1 bench` (compare_codecs): every codec, qyn1 included, has compressed the warm-up samples before
    the timed pass over the user's files (before, a dictionary's tables and qyn1's model tables were built
    inside it: 0.00 and 0.02 MB/s for two small files)."""
    calls: list[bytes] = []

    def peers(train=None):
        return {"stored": (lambda b: calls.append(bytes(b)) or bytes(b), lambda b: b)}

    encoded: list[bytes] = []
    real = profiling.codec.encode_chunk
    monkeypatch.setattr(profiling, "peer_codecs", peers)
    monkeypatch.setattr(profiling.codec, "encode_chunk", lambda b, **kw: encoded.append(b) or real(b, **kw))
    data = b"x = [1, 2, 3]\n" * 5
    rows = profiling.compare_codecs([data])
    assert calls == [*profiling.WARM_UP, data]
    assert encoded == [*profiling.WARM_UP, data]
    assert set(rows) == {"qyn1", "stored"} and rows["stored"]["ratio"] == 1.0
