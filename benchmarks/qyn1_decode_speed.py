"""qyn1 structural decode speed per core, and the same measurement for another qyn1 source tree.

    uv run --frozen python benchmarks/qyn1_decode_speed.py
    git archive <rev> packages/qyn1/src | tar -x -C /tmp/old
    uv run --frozen python benchmarks/qyn1_decode_speed.py --compare /tmp/old/packages/qyn1/src

The files are the held-out stdlib sample of ``make bench-qyn1``'s stage figures (every 8th held-out file
that is UTF-8 Python). Every 128 KiB chunk the ``python`` codec takes is encoded once (the format is the
same in both trees, so both decode the same payloads), then ``codec.decode_chunk`` decodes them all, pass
after pass, in one process on one core: MB/s of source, median over the passes, by wall clock and by the
thread's CPU time (the CPU figure is the steadier one on a shared machine). With ``--compare`` the other
tree runs in a subprocess of its own, alternating with this one, ``--rounds`` times: compare the medians of
the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def measure(every: int, passes: int) -> dict:
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
    total = sum(n for _, n in chunks)
    for payload, n in chunks:  # warm-up: tables built, kernels loaded
        codec.decode_chunk(payload, n)
    wall, cpu = [], []
    for _ in range(passes):
        t0, c0 = time.perf_counter(), time.thread_time()
        for payload, n in chunks:
            codec.decode_chunk(payload, n)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return {
        "chunks": len(chunks),
        "source_mb": total / 1e6,
        "wall_mb_s": total / 1e6 / statistics.median(wall),
        "cpu_mb_s": total / 1e6 / statistics.median(cpu),
    }


def _child(src: str | None, every: int, passes: int) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--every", str(every), "--passes", str(passes)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", metavar="SRC", help="another tree's packages/qyn1/src, measured alternately")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.every, args.passes)))
        return
    from perfkit import bench

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    runs: dict[str, list[dict]] = {"this tree": [], **({args.compare: []} if args.compare else {})}
    for _ in range(args.rounds if args.compare else 1):
        for name in runs:
            runs[name].append(_child(None if name == "this tree" else name, args.every, args.passes))
    first = runs["this tree"][0]
    print(
        f"structural decode, one core: {first['chunks']} chunks, {first['source_mb']:.2f} MB of held-out source"
    )
    med = {}
    for name, rs in runs.items():
        med[name] = {k: statistics.median(r[k] for r in rs) for k in ("wall_mb_s", "cpu_mb_s")}
        print(
            f"  {name:<40} {med[name]['wall_mb_s']:7.2f} MB/s wall  {med[name]['cpu_mb_s']:7.2f} MB/s CPU"
            f"  (median of {len(rs)} runs x {args.passes} passes)"
        )
    if args.compare:
        r = med["this tree"]["cpu_mb_s"] / med[args.compare]["cpu_mb_s"]
        print(f"  this tree / other tree, CPU time: {r:.2f}x")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    bench.record("qyn1", "decode_speed", {"runs": runs, "medians": med, "every": args.every})
    print("recorded to benchmarks/results/qyn1.jsonl")


if __name__ == "__main__":
    main()
