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
