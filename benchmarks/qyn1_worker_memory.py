"""qyn1 worker memory and the 2-worker pack and unpack walls, this tree against others, alternated in one run:
the figures ``make bench-qyn1`` prints.

    git archive <rev> packages/qyn1/src | tar -x -C /tmp/old
    uv run --frozen python benchmarks/qyn1_worker_memory.py --compare /tmp/old/packages/qyn1/src --rounds 3

Each run is a fresh process (``tree_child.measure_in_child``) that does what ``benchmarks/bench_qyn1.py`` does
first: the workers' warm-up, then a 2-worker process pack of the whole stdlib corpus (``qyn1.corpus``, 128 KiB
chunks) and its unpack. It reports the largest worker's figures (perfkit: peak RSS, unique and PSS bytes; the
workers fork from a server that preloaded ``qyn1.preload`` to pack, ``qyn1.preload_decode`` to unpack), the
package's SHA-256 (fixed key and salt: it must be the same for every run of both trees) and whether the unpack
gave back every file byte for byte, and the pack's and the unpack's wall seconds (the pack timed after the
warm-up, as ``bench_qyn1.py`` times it; MB/s per core = source MB / wall / workers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tree_child import measure_in_child

KEY = bytes(range(32))
SALT = bytes(range(100, 116))
FIGURES = ("peak_unique_bytes", "peak_pss_bytes", "peak_rss_bytes")


def measure(workers: int) -> dict:
    from qyn1 import corpus, extraction, keys, pipeline

    root = corpus.stdlib_root()
    files = corpus.corpus_files()
    specs = [
        pipeline.FileSpec(p.relative_to(root).as_posix(), str(p), p.stat().st_size, 0o644) for p in files
    ]
    ks = keys.KeySource(key=KEY)
    tmp = Path(tempfile.mkdtemp(prefix="qyn1-mem-"))
    try:
        pkg = tmp / "stdlib.qyn"
        pipeline.warm_up("processes", workers)
        t0 = time.perf_counter()
        st = pipeline.pack(
            specs, pkg, ks, chunk_size=128 * 1024, workers=workers, executor="processes", salt=SALT
        )
        t1 = time.perf_counter()
        ust = extraction.unpack(pkg, tmp / "out", ks, workers=workers, executor="processes")
        t2 = time.perf_counter()
        bad = sum((tmp / "out" / s.arcpath).read_bytes() != Path(s.source).read_bytes() for s in specs)
        sha = hashlib.sha256(pkg.read_bytes()).hexdigest()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "pack": st.worker_memory,
        "unpack": ust.worker_memory,
        "sha256": sha,
        "bad_files": bad,
        "mb": sum(s.size for s in specs) / 1e6,
        "pack_s": t1 - t0,
        "unpack_s": t2 - t1,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--compare",
        metavar="SRC",
        action="append",
        default=[],
        help="another tree's packages/qyn1/src, measured alternately (required; may be given more than once)",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.workers)))
        return
    if not args.compare:
        ap.error("--compare SRC is required")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    trees: dict[str, str | None] = {"this tree": None}
    trees.update({src: src for src in args.compare})
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, src in trees.items():
            runs[name].append(measure_in_child(__file__, src, workers=args.workers))
    print(f"largest worker, MiB (median of {args.rounds} runs; every run in brackets)")
    for stage in ("pack", "unpack"):
        for name, rs in runs.items():
            cells = []
            for k in FIGURES:
                vals = [r[stage].get(k, 0) / 2**20 for r in rs]
                cells.append(
                    f"{k[5:-6]:>6} {statistics.median(vals):6.1f} ({' '.join(f'{v:.1f}' for v in vals)})"
                )
            print(f"  {stage:<6} {name:<10} " + "   ".join(cells))
    base = runs["this tree"]
    for step in ("pack", "unpack"):
        print(f"{step} on {args.workers} workers, MB/s of source per core (median; every run in brackets):")
        for name, rs in runs.items():
            vals = [r["mb"] / r[f"{step}_s"] / args.workers for r in rs]
            line = f"  {name:<10} {statistics.median(vals):6.2f} ({' '.join(f'{v:.2f}' for v in vals)})"
            if name != "this tree":
                pairs = [b[f"{step}_s"] / a[f"{step}_s"] for a, b in zip(base, rs, strict=True)]
                line += (
                    f"   this tree {statistics.median(pairs):.2f}x ({' '.join(f'{x:.2f}' for x in pairs)})"
                )
            print(line)
    same = len({r["sha256"] for rs in runs.values() for r in rs}) == 1
    exact = all(r["bad_files"] == 0 for rs in runs.values() for r in rs)
    print(
        f"the same package in every run: {'yes' if same else 'NO'} (sha256 {runs['this tree'][0]['sha256']})"
    )
    print(f"every unpack byte-exact: {'yes' if exact else 'NO'}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if not (same and exact):
        sys.exit(1)


if __name__ == "__main__":
    main()
