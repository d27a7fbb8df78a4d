"""qyn1 structural decode speed per core, and the same measurement for another qyn1 source tree.

    uv run --frozen python benchmarks/qyn1_decode_speed.py
    git archive <rev> packages/qyn1/src | tar -x -C /tmp/old
    uv run --frozen python benchmarks/qyn1_decode_speed.py --compare /tmp/old/packages/qyn1/src

The files are the held-out stdlib sample of ``make bench-qyn1``'s stage figures (every 8th held-out file
that is UTF-8 Python). Every 128 KiB chunk the ``python`` codec takes is encoded once (the format is the
same in both trees, so both decode the same payloads), then they are all decoded, pass after pass, in one
process on one core: ``--batch`` chunks per ``qyn1.python.decode_texts`` call (stream-major), and this
tree again one ``codec.decode_chunk`` call per chunk. The ``--compare`` tree decodes in batches too, or one
chunk a call when it has no ``decode_texts`` (its line says which). MB/s of
source, median over the passes, by wall clock and by the thread's CPU time (the CPU figure is the steadier
one on a shared machine). With ``--compare`` the other tree runs in a subprocess of its own, alternating
with this one, ``--rounds`` times: compare the medians of the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from tree_child import measure_in_child


def held_out_python_chunks(every: int) -> list[tuple[bytes, int]]:
    """(payload, source length) of every 128 KiB chunk of every `every`-th held-out stdlib file that the codec
    rule sends to the structural coder."""
    from qyn1 import codec, corpus, pipeline

    root = corpus.stdlib_root()
    held = [p for p in corpus.corpus_files() if not corpus.is_training(p.relative_to(root).as_posix())]
    chunks = []
    for p in held[::every]:
        data = p.read_bytes()
        if not pipeline.is_python_candidate("x.py", data):
            continue
        for piece in codec.split_chunks(data, 128 * 1024):
            payload = codec.encode_chunk(piece, general=False)
            if codec.codec_of(payload) == "python":
                chunks.append((payload, len(piece)))
    return chunks


def measure(every: int, passes: int, batch: int) -> dict:
    from qyn1 import codec
    from qyn1 import python as pyenc

    chunks = held_out_python_chunks(every)
    total = sum(n for _, n in chunks)
    batched = batch > 1 and hasattr(pyenc, "decode_texts")  # a tree before the batch decoder: one by one
    batches = [
        ([p[1:] for p, _ in chunks[i : i + batch]], [n for _, n in chunks[i : i + batch]])
        for i in range(0, len(chunks), batch)
    ]

    def one_pass():
        if batched:
            for bodies, limits in batches:
                for out, n in zip(pyenc.decode_texts(bodies, limits), limits, strict=True):
                    assert len(out) == n
        else:
            for payload, n in chunks:
                codec.decode_chunk(payload, n)

    one_pass()  # warm-up: tables built, kernels loaded
    wall, cpu = [], []
    for _ in range(passes):
        t0, c0 = time.perf_counter(), time.thread_time()
        one_pass()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return {
        "batch": batch if batched else 1,
        "chunks": len(chunks),
        "source_mb": total / 1e6,
        "wall_mb_s": total / 1e6 / statistics.median(wall),
        "cpu_mb_s": total / 1e6 / statistics.median(cpu),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", metavar="SRC", help="another tree's packages/qyn1/src, measured alternately")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument(
        "--batch", type=int, default=64, help="python chunks per decode_texts call (1: one at a time)"
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.every, args.passes, args.batch)))
        return
    from perfkit import bench

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    this = f"this tree, batches of {args.batch}"
    trees = {this: (None, args.batch), "this tree, one chunk a call": (None, 1)}
    if args.compare:
        trees[args.compare] = (args.compare, args.batch)
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds if args.compare else 1):
        for name, (src, batch) in trees.items():
            runs[name].append(
                measure_in_child(__file__, src, every=args.every, passes=args.passes, batch=batch)
            )
    first = runs[this][0]
    print(
        f"structural decode, one core: {first['chunks']} chunks, {first['source_mb']:.2f} MB of held-out source"
    )
    med = {}
    for name, rs in runs.items():
        med[name] = {k: statistics.median(r[k] for r in rs) for k in ("wall_mb_s", "cpu_mb_s")}
        label = name if name in (this, "this tree, one chunk a call") else f"{name} (batch {rs[0]['batch']})"
        print(
            f"  {label:<40} {med[name]['wall_mb_s']:7.2f} MB/s wall  {med[name]['cpu_mb_s']:7.2f} MB/s CPU"
            f"  (median of {len(rs)} runs x {args.passes} passes)"
        )
    for name in list(trees)[1:]:
        r = med[this]["cpu_mb_s"] / med[name]["cpu_mb_s"]
        pairs = ", ".join(
            f"{x['cpu_mb_s'] / y['cpu_mb_s']:.2f}" for x, y in zip(runs[this], runs[name], strict=True)
        )
        print(f"  batches / {name}, CPU time: {r:.2f}x (rounds {pairs})")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    bench.record(
        "qyn1", "decode_speed", {"runs": runs, "medians": med, "every": args.every, "batch": args.batch}
    )
    print("recorded to benchmarks/results/qyn1.jsonl")


if __name__ == "__main__":
    main()
