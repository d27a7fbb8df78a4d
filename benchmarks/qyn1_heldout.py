"""qyn1's per-file ratio on the held-out stdlib files, and where the bytes go (the figure each modelling step of
docs/perf/qyn1.md "How the ratio got there" was measured with).

    uv run --frozen python benchmarks/qyn1_heldout.py            # ratio only (~10-30 s on 2 processes)
    uv run --frozen python benchmarks/qyn1_heldout.py --streams  # + ideal bytes per stream

Per file: ``pipeline.encode_bytes`` (128 KiB chunks, codec chosen per chunk exactly as ``qyn1 pack`` does,
every structural chunk verified by decoding) + 16 bytes of authentication tag per chunk, i.e. what a package
stores for the file. Held-out files only (``qyn1.corpus``: never used to build the tables).
"""

from __future__ import annotations

import argparse
import os
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np


def _work(task: tuple[list[str], bool]) -> tuple[int, int, dict[str, float]]:
    from qyn1 import codec, corpus, pipeline
    from qyn1.python import pipeline as pe

    paths, streams = task
    root = corpus.stdlib_root()
    size_in = size_out = 0
    costs: dict[str, float] = {}
    v, models = pe.vocab(), pe._models()
    for p in paths:
        data = Path(p).read_bytes()
        ef = pipeline.encode_bytes(data, 128 * 1024, arcpath=os.path.relpath(p, root))
        size_in += len(data)
        size_out += sum(len(c) + 16 for c, _ in ef.chunks)
        if not streams:
            continue
        for payload, n in ef.chunks:
            piece = codec.decode_chunk(payload, n)  # the chunk's own text, however the pack cut it
            if payload[0] != codec.PYTHON:
                costs["(byte-level chunks)"] = costs.get("(byte-level chunks)", 0.0) + len(payload)
                continue
            st = pe.analyze(piece.decode("utf-8"), v)
            for name in pe.STREAMS:
                syms, ext = st[name]
                if len(syms):
                    m, coded, rows = pe._coded(name, models[name], syms, ext)
                    bits = len(coded) * m.scale_bits - np.log2(m.freq[rows, coded].astype(np.float64)).sum()
                    costs[name] = costs.get(name, 0.0) + bits / 8
            costs["names extra bits"] = costs.get("names extra bits", 0.0) + st["_extra"][1].sum() / 8
    return size_in, size_out, costs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", action="store_true", help="also the ideal size of every stream")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    from qyn1 import corpus

    _, held = corpus.split()
    paths = [str(p) for p in held]
    t0 = time.perf_counter()
    with Pool(args.processes) as pool:
        res = pool.map(_work, [(paths[i::8], args.streams) for i in range(8)])
    size_in = sum(r[0] for r in res)
    size_out = sum(r[1] for r in res)
    print(
        f"held-out files {len(paths)}: {size_in:,} -> {size_out:,} bytes, per-file ratio {size_in / size_out:.4f} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    if args.streams:
        costs: dict[str, float] = {}
        for _, _, c in res:
            for k, x in c.items():
                costs[k] = costs.get(k, 0.0) + x
        total = sum(costs.values())
        for k, x in sorted(costs.items(), key=lambda kv: -kv[1]):
            print(f"  {k:<20} {x:12,.0f} B  {100 * x / total:5.1f} %")


if __name__ == "__main__":
    main()
