"""Is the peer's trained dictionary as good as it can be? qyn1's tables v3 learned from the stdlib training half
plus the pinned PyPI wheels' ``*.py``; the benchmark's zstd-19 dictionary learns from the stdlib training half
only. This trains zstd's 8 MiB dictionary (``qyn1.profiling.zstd_dictionary``, as ``qyn1_classes.py``) on the
stdlib half plus all, 1/4, 1/10, 1/20 and 1/40 of the wheel files (a fixed random sample), and scores each on
the same held-out Python files as ``qyn1_classes.py --max-mb 3 --only python``: per-file zstd-19 with the
dictionary, total bytes in / total bytes out. Ratios only, no timings; one record, ``zstd_dictionary_fairness``.

    uv run --frozen python benchmarks/qyn1_zstd_dictionary_fairness.py   # ~3 min of one core, ~1.5 GB

Needs the wheels in the training cache (``qyn1-train`` fetches them: docs/qyn1.md).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import zstandard
from qyn1 import corpus, profiling

from perfkit import bench

sys.path.insert(0, str(Path(__file__).parent))
import qyn1_classes  # the benchmark's own held-out sample

FRACTIONS = (1, 4, 10, 20, 40)  # of the wheel files added to the stdlib training half


def main() -> None:
    held = qyn1_classes.classes(3 << 20)["python (stdlib held-out)"]
    data = [p.read_bytes() for p in held]
    total = sum(map(len, data))
    train, _ = corpus.split()
    stdlib_train = [p.read_bytes() for p in train]
    wheels = corpus.pypi_training_files()
    if not wheels:
        sys.exit("no wheel files in the training cache: fetch them first (docs/qyn1.md, training)")

    def ratio(samples: list[bytes]) -> float:
        compressor = zstandard.ZstdCompressor(level=19, dict_data=profiling.zstd_dictionary(samples))
        return total / sum(len(compressor.compress(d)) for d in data)

    result = {"held_out_files": len(data), "held_out_bytes": total, "wheel_files": len(wheels)}
    result["stdlib_half_only"] = ratio(stdlib_train)
    print(f"held-out: {len(data)} files, {total:,} bytes; stdlib half only: {result['stdlib_half_only']:.4f}")
    for frac in FRACTIONS:
        sample = wheels if frac == 1 else random.Random(1).sample(wheels, len(wheels) // frac)
        result[f"with_1_{frac}_of_wheels"] = r = ratio(stdlib_train + sample)
        print(f"stdlib half + 1/{frac} of the wheel files ({len(sample)}): {r:.4f}", flush=True)
    result["best"] = max(v for k, v in result.items() if k.startswith(("stdlib_half", "with_")))
    print(f"best zstd-19 + dictionary ratio: {result['best']:.4f}")
    bench.record("qyn1", "zstd_dictionary_fairness", result)


if __name__ == "__main__":
    main()
