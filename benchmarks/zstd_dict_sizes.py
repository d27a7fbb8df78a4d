"""zstd-19 with a trained dictionary at several dictionary sizes: which size the qyn1 benchmark's peer uses.

    uv run --frozen python benchmarks/zstd_dict_sizes.py                  # 32 KiB .. 768 KiB, optimised
    uv run --frozen python benchmarks/zstd_dict_sizes.py 112640 262144    # chosen sizes, optimised
    uv run --frozen python benchmarks/zstd_dict_sizes.py 8388608:4000:8   # size:k:d, no optimiser (seconds)

Each dictionary is trained on the *training* split of the stdlib corpus only (``qyn1.corpus``, the files qyn1's
tables come from) by zstd's own trainer with its parameter optimiser (fastCOVER, k and d searched; minutes per
size), then every held-out file is compressed on its own at level 19 with it. Prints the ratio, the k/d the
optimiser chose (``qyn1.profiling.ZSTD_DICT_PARAMS`` records them, so the benchmark rebuilds the same
dictionary in about a second) and the training time. The dictionary itself is not counted per file.
"""

from __future__ import annotations

import sys
import time

import zstandard
from qyn1 import corpus, profiling

DEFAULT_SIZES = ["32768", "65536", "112640", "262144", "524288", "786432"]


def main() -> None:
    specs = sys.argv[1:] or DEFAULT_SIZES
    train, held = corpus.split()
    tr = [p.read_bytes() for p in train]
    hd = [p.read_bytes() for p in held]
    total = sum(map(len, hd))
    print(
        f"training files {len(tr)} ({sum(map(len, tr)) / 1e6:.1f} MB), held-out files {len(hd)} ({total / 1e6:.1f} MB)"
    )
    plain = zstandard.ZstdCompressor(level=19)
    print(f"zstd-19 without dictionary: ratio {total / sum(len(plain.compress(d)) for d in hd):.4f}")
    for spec in specs:
        size, *kd = (int(x) for x in spec.split(":"))
        t0 = time.perf_counter()
        if kd:
            zd = zstandard.train_dictionary(size, tr, k=kd[0], d=kd[1], level=19, threads=1)
        else:
            zd = profiling.zstd_dictionary(tr, size, optimise=True)
        t_train = time.perf_counter() - t0
        comp = zstandard.ZstdCompressor(level=19, dict_data=zd)
        blobs = [comp.compress(d) for d in hd]
        dec = zstandard.ZstdDecompressor(dict_data=zd)
        assert all(dec.decompress(b) == d for b, d in zip(blobs, hd, strict=True))
        print(
            f"dictionary {size:>9,} bytes asked, {len(zd.as_bytes()):,} made (k={zd.k}, d={zd.d}): "
            f"ratio {total / sum(map(len, blobs)):.4f}  "
            f"(trained in {t_train:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
