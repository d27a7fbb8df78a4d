"""qyn1's context-mixing coder (``qyn1.cm``): encode and decode MB/s per core, this tree against another,
alternated in one run, with a byte-equality check of everything both trees code.

    git archive <rev> packages/qyn1/src | tar -x -C /tmp/old
    uv run --frozen python benchmarks/qyn1_cm_speed.py --compare /tmp/old/packages/qyn1/src

The inputs are fixed: the stdlib corpus files (``qyn1.corpus``) concatenated in path order and cut into the
128 KiB chunks ``qyn1 pack`` makes (``codec.split_chunks``), every ``--every``-th one up to ``--mb`` MB. Each
tree runs in a subprocess of its own, ``--rounds`` times, alternating: it encodes every chunk with the shipped
primer (``cm.encode``), decodes every body (``cm.decode``, checked against the input), ``--passes`` times, and
reports the thread's CPU time (the steadier figure on a shared machine) and wall time per direction, plus
SHA-256 digests of (a) every encoded body, (b) the same chunks' first 16 KiB encoded with no primer, and (c)
the model arrays after priming on the first 64 KiB (the ``PRIME`` mode that builds the shipped model). The
trees must agree on all three; a speed change that changes a byte is a format change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time

from tree_child import measure_in_child


def inputs(every: int, mb: float) -> list[bytes]:
    from qyn1 import codec, corpus

    data = b"".join(p.read_bytes() for p in corpus.corpus_files())
    chunks = codec.split_chunks(data, 128 * 1024)[::every]
    out, total = [], 0
    for c in chunks:
        if total >= mb * 1e6:
            break
        out.append(c)
        total += len(c)
    return out


def measure(every: int, mb: float, passes: int) -> dict:
    from qyn1.cm import model

    chunks = inputs(every, mb)
    total = sum(map(len, chunks))
    model.primed(model.PRIMER_TEXT)  # loaded once per process, as in a worker
    model.decode(model.encode(chunks[0][:100]), 100)  # kernels loaded
    digests = {}
    h = hashlib.sha256()
    bodies = [model.encode(c) for c in chunks]
    for b in bodies:
        h.update(len(b).to_bytes(4, "little") + b)
    digests["encoded"] = h.hexdigest()
    h = hashlib.sha256()
    for c in chunks:
        h.update(model.encode(c[:16384], model.PRIMER_NONE) or b"-")
    digests["no_primer"] = h.hexdigest()
    h = hashlib.sha256()
    for a in model.prime(chunks[0][:65536]).arrays():
        h.update(a.tobytes())
    digests["primed"] = h.hexdigest()
    times = {"encode": ([], []), "decode": ([], [])}
    for _ in range(passes):
        t0, c0 = time.perf_counter(), time.thread_time()
        for c in chunks:
            model.encode(c)
        times["encode"][0].append(time.perf_counter() - t0)
        times["encode"][1].append(time.thread_time() - c0)
        t0, c0 = time.perf_counter(), time.thread_time()
        for c, b in zip(chunks, bodies, strict=True):
            assert model.decode(b, len(c)) == c
        times["decode"][0].append(time.perf_counter() - t0)
        times["decode"][1].append(time.thread_time() - c0)
    res = {"chunks": len(chunks), "source_mb": total / 1e6, "digests": digests}
    for k, (wall, cpu) in times.items():
        res[f"{k}_wall_mb_s"] = total / 1e6 / statistics.median(wall)
        res[f"{k}_cpu_mb_s"] = total / 1e6 / statistics.median(cpu)
    return res


KEYS = ("encode_cpu_mb_s", "decode_cpu_mb_s", "encode_wall_mb_s", "decode_wall_mb_s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", metavar="SRC", help="another tree's packages/qyn1/src, measured alternately")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--every", type=int, default=24, help="take every N-th 128 KiB chunk of the stdlib")
    ap.add_argument("--mb", type=float, default=1.0, help="stop once this many MB of source are taken")
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--no-record", action="store_true", help="do not append to benchmarks/results/qyn1.jsonl")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.every, args.mb, args.passes)))
        return
    from perfkit import bench

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    trees = {"this tree": None}
    if args.compare:
        trees[args.compare] = args.compare
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, src in trees.items():
            runs[name].append(
                measure_in_child(__file__, src, every=args.every, mb=args.mb, passes=args.passes)
            )
    first = runs["this tree"][0]
    print(
        f"cm coder, one core: {first['chunks']} chunks of the stdlib, {first['source_mb']:.2f} MB of source"
    )
    med = {}
    for name, rs in runs.items():
        med[name] = {k: statistics.median(r[k] for r in rs) for k in KEYS}
        m = med[name]
        print(
            f"  {name:<36} encode {m['encode_cpu_mb_s']:5.2f} MB/s CPU ({m['encode_wall_mb_s']:5.2f} wall)"
            f"  decode {m['decode_cpu_mb_s']:5.2f} MB/s CPU ({m['decode_wall_mb_s']:5.2f} wall)"
            f"  (median of {len(rs)} runs x {args.passes} passes)"
        )
    same = len({json.dumps(r["digests"], sort_keys=True) for rs in runs.values() for r in rs}) == 1
    if args.compare:
        ratios = {
            k: [a[k] / b[k] for a, b in zip(runs["this tree"], runs[args.compare], strict=True)]
            for k in KEYS[:2]
        }
        for k, r in ratios.items():
            print(
                f"  this tree / other, {k[:6]} CPU: {statistics.median(r):.2f}x (pairs {', '.join(f'{x:.2f}' for x in r)})"
            )
    print(f"  identical bytes in every run (encoded, no primer, primed model): {'yes' if same else 'NO'}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if not args.no_record:
        bench.record(
            "qyn1",
            "cm_speed",
            {"runs": runs, "medians": med, "every": args.every, "mb": args.mb, "identical": same},
        )
        print("recorded to benchmarks/results/qyn1.jsonl")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
