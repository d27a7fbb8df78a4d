"""qyn1 pack, one core: MB/s of source per CPU-second, this tree against another, alternated in one run, with a
byte-equality check of the packages both trees write.

    git archive <rev> packages/qyn1/src | tar -x -C /tmp/old
    uv run --frozen python benchmarks/qyn1_pack_speed.py --compare /tmp/old/packages/qyn1/src

The input is a folder (``--source``, e.g. an installed package) or the stdlib corpus (``qyn1.corpus``) copied flat into one temporary folder (every ``--every``-th
file; 1: all 1,790), packed serially in-process as ``docs/perf/qyn1.md`` ("Bytes unchanged") packs it:
``pipeline.pack(..., chunk_size=128 KiB, workers=1, salt=bytes(range(100, 116)))``, key ``bytes(range(32))``. Each
tree runs in a subprocess of its own (``tree_child.measure_in_child``), ``--rounds`` times, alternating, with
its tables and kernels loaded first (``qyn1.preload``, as a pack's workers have them). Reported per run: the
pack's thread CPU time and wall time, the CPU time of the structural encoder alone on the same files' Python
chunks (``encode_text``: analysis, coding and the self-check decode) and of its analysis
(``qyn1.python.pipeline.analyze``), and the package's SHA-256, which must be the same for every run of both
trees (a speed change that changes a byte is a format change).
"""

from __future__ import annotations

import argparse
import contextlib
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
CHUNK = 128 * 1024


def copy_corpus(dest: Path, every: int) -> None:
    """The stdlib corpus's ``.py`` files, every ``every``-th in path order, flat (``/`` -> ``__``) in ``dest``."""
    from qyn1 import corpus

    root = corpus.stdlib_root()
    for p in corpus.corpus_files(root)[::every]:
        shutil.copyfile(p, dest / p.relative_to(root).as_posix().replace("/", "__"))


def measure(folder: str) -> dict:
    import qyn1.preload  # noqa: F401 -- tables built, kernels loaded, as in a worker
    from qyn1 import codec, keys, pipeline
    from qyn1.python import pipeline as pe
    from qyn1.python.tokens import vocab

    specs = pipeline.collect_sources([folder], ("__pycache__",))
    total = sum(s.size for s in specs)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p.qyn"
        t0, c0 = time.perf_counter(), time.thread_time()
        st = pipeline.pack(specs, out, keys.KeySource(key=KEY), chunk_size=CHUNK, workers=1, salt=SALT)
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
        package = out.read_bytes()
    pieces = []
    for b in pipeline.plan_blocks(specs, CHUNK):
        if b.python:  # the chunks the pack cuts (older trees: no text_runs, one run a block)
            datas = [Path(f.source).read_bytes() for f in b.files]
            runs = pipeline.text_runs(datas) if hasattr(pipeline, "text_runs") else [b"".join(datas)]
            pieces += [c for run in runs for c in codec.split_chunks(run, CHUNK)]
    texts = []
    for p in pieces:
        with contextlib.suppress(UnicodeDecodeError):  # the structural codec takes UTF-8 only
            texts.append(p.decode("utf-8"))
    v = vocab()
    c0 = time.thread_time()
    for p in pieces:
        pe.encode_text(p)
    structural = time.thread_time() - c0
    c0 = time.thread_time()
    for t in texts:
        pe.analyze(t, v)
    analysis = time.thread_time() - c0
    return {
        "files": len(specs),
        "source_mb": total / 1e6,
        "python_chunk_mb": sum(map(len, pieces)) / 1e6,
        "package_bytes": len(package),
        "sha256": hashlib.sha256(package).hexdigest(),
        "codecs": st.codecs,
        "pack_cpu_s": cpu,
        "pack_wall_s": wall,
        "structural_cpu_s": structural,
        "analysis_cpu_s": analysis,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--compare",
        metavar="SRC",
        action="append",
        default=[],
        help="another tree's packages/qyn1/src, measured alternately (may be given more than once)",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--this", metavar="SRC", help="measure this packages/qyn1/src as 'this tree' (default: the checkout)"
    )
    ap.add_argument("--every", type=int, default=1, help="take every N-th file of the stdlib corpus")
    ap.add_argument(
        "--source",
        metavar="DIR",
        help="pack this folder instead of the stdlib corpus (e.g. an installed package)",
    )
    ap.add_argument("--no-record", action="store_true", help="do not append to benchmarks/results/qyn1.jsonl")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.folder)))
        return
    from perfkit import bench

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    trees = {"this tree": args.this}
    for src in args.compare:
        trees[src] = src
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        if args.source is None:
            copy_corpus(Path(tmp), args.every)
        for _ in range(args.rounds):
            for name, src in trees.items():
                runs[name].append(measure_in_child(__file__, src, folder=args.source or tmp))
    first = runs["this tree"][0]
    mb = first["source_mb"]
    print(
        f"qyn1 pack, one core: {first['files']} files of {args.source or 'the stdlib'}, {mb:.2f} MB of source "
        f"({first['python_chunk_mb']:.2f} MB in Python chunks), codecs {first['codecs']}"
    )
    med = {}
    for name, rs in runs.items():
        m = med[name] = {
            "pack_cpu_mb_s": statistics.median(mb / r["pack_cpu_s"] for r in rs),
            "pack_wall_mb_s": statistics.median(mb / r["pack_wall_s"] for r in rs),
            "structural_cpu_mb_s": statistics.median(
                r["python_chunk_mb"] / r["structural_cpu_s"] for r in rs
            ),
            "analysis_cpu_mb_s": statistics.median(r["python_chunk_mb"] / r["analysis_cpu_s"] for r in rs),
        }
        print(
            f"  {name:<36} pack {m['pack_cpu_mb_s']:5.2f} MB/s CPU ({m['pack_wall_mb_s']:5.2f} wall)"
            f"  structural encoder {m['structural_cpu_mb_s']:5.2f}  its analysis {m['analysis_cpu_mb_s']:6.2f}"
            f"  (median of {len(rs)} runs)"
        )
    same = len({r["sha256"] for rs in runs.values() for r in rs}) == 1
    for other in args.compare:
        print(f"  this tree / {other}:")
        for k, label in (
            ("pack_cpu_s", "pack"),
            ("structural_cpu_s", "structural encoder"),
            ("analysis_cpu_s", "analysis"),
        ):
            r = [b[k] / a[k] for a, b in zip(runs["this tree"], runs[other], strict=True)]
            print(
                f"  this tree / other, {label} CPU: {statistics.median(r):.2f}x (pairs {', '.join(f'{x:.2f}' for x in r)})"
            )
    print(f"  the same package in every run: {'yes' if same else 'NO'} (sha256 {first['sha256']})")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if not args.no_record:
        bench.record(
            "qyn1", "pack_speed", {"runs": runs, "medians": med, "every": args.every, "identical": same}
        )
        print("recorded to benchmarks/results/qyn1.jsonl")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
