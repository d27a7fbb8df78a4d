"""Where a 2-worker ``qyn1`` unpack's wall goes: the parent's CPU and its time before the first task, each
worker's tasks on a timeline (start, end, CPU), the idle tail, and optionally a cProfile of every decode task.

    uv run --frozen python benchmarks/qyn1_unpack_timeline.py --package p.qyn --key k.key --runs 3 [--worker-profile DIR]

The package is any ``qyn1`` package (``--make`` packs the stdlib corpus of ``make bench-qyn1`` into it first, with
a fixed key and salt). The workers' fork server is warmed first (``pipeline.warm_up``), as in ``make bench-qyn1``,
so the runs time what ``extraction.unpack`` does: the parent's checks and folders, the decode tasks (which
create, write and verify the files), the rename. Each run unpacks into a new folder and the outputs are kept
until the end: deleting 1,790 files just before a run made file creation on the shared host several times
slower (docs/perf/qyn1.md, "Unpack, round 8"); ``--churn`` deletes the previous output first, to see that case.
Times are wall clock on a shared machine: compare runs of one invocation only.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import tempfile
import time
from pathlib import Path

PROFILE_DIR_VARIABLE = "QYN1_TIMELINE_PROFILE_DIR"


def _profiled_decode(payload):
    """The decode task under cProfile, one .pstats per task (the fork server imports this script as __main__,
    so workers find this function; the folder comes through the environment, set before the server starts)."""
    from qyn1 import extraction

    pr = cProfile.Profile()
    pr.enable()
    try:
        return extraction._decode_task(payload)
    finally:
        pr.disable()
        pr.dump_stats(
            os.path.join(os.environ[PROFILE_DIR_VARIABLE], f"{os.getpid()}-{time.time_ns()}.pstats")
        )


def make_package(path: Path, key: bytes) -> None:
    from qyn1 import corpus, keys, pipeline

    root = corpus.stdlib_root()
    specs = [
        pipeline.FileSpec(p.relative_to(root).as_posix(), str(p), p.stat().st_size, 0o644)
        for p in corpus.corpus_files()
    ]
    pipeline.warm_up("processes", 2)
    st = pipeline.pack(
        specs,
        path,
        keys.KeySource(key=key),
        chunk_size=128 * 1024,
        workers=2,
        executor="processes",
        salt=b"\1" * 16,
    )
    print(f"packed {st.files} files, {st.bytes_in:,} -> {st.bytes_out:,} bytes, codecs {st.codecs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True, help="32-byte key file (written with --make)")
    ap.add_argument("--make", action="store_true", help="pack the stdlib corpus into --package first")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--churn", action="store_true", help="delete the previous run's output just before each run"
    )
    ap.add_argument("--worker-profile", type=Path, help="cProfile every decode task into this folder")
    ap.add_argument("--tasks", action="store_true", help="print every task, not only each worker's summary")
    args = ap.parse_args()

    from qyn1 import extraction, keys, pipeline

    fn = extraction._decode_task
    if args.worker_profile:
        args.worker_profile.mkdir(parents=True, exist_ok=True)
        os.environ[PROFILE_DIR_VARIABLE] = str(args.worker_profile.resolve())  # before the fork server starts
        fn = _profiled_decode
    if args.make:
        args.key.write_bytes(bytes(range(32)))
        args.key.chmod(0o600)
        make_package(args.package, args.key.read_bytes())
    ks = keys.KeySource(key=args.key.read_bytes())
    t0 = time.perf_counter()
    pipeline.warm_up("processes", args.workers)
    print(f"fork server warm-up {time.perf_counter() - t0:.2f} s (not in the runs)")
    seen: dict = {}
    real_map = extraction.map_tasks

    def spy(_fn, tasks, **kw):
        tasks = list(tasks)
        seen["submitted"] = time.time()
        seen["cost"] = {t.key: t.cost for t in tasks}
        seen["res"] = real_map(fn, tasks, **kw)
        seen["returned"] = time.time()
        return seen["res"]

    extraction.map_tasks = spy
    scratch = Path(tempfile.mkdtemp(prefix="qyn1-timeline-", dir=args.package.parent))
    try:
        prev = None
        for i in range(args.runs):
            if args.churn and prev is not None:
                shutil.rmtree(prev)
            out = scratch / f"out{i}"
            c0, w0, t0 = time.process_time(), time.time(), time.perf_counter()
            extraction.unpack(args.package, out, ks, workers=args.workers, executor="processes")
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            prev = out
            res = seen["res"]
            wcpu = sum(r.extra.get("cpu_s", 0.0) for r in res.values())
            by_worker: dict[str, list] = {}
            for r in sorted(res.values(), key=lambda r: r.started_s):
                by_worker.setdefault(r.worker, []).append(r)
            ends = sorted(rs[-1].finished_s for rs in by_worker.values())
            print(
                f"run {i}: wall {wall:.3f} s, parent CPU {cpu:.3f} s, workers' CPU {wcpu:.3f} s; tasks submitted at "
                f"+{seen['submitted'] - w0:.3f} s, all back at +{seen['returned'] - w0:.3f} s; idle tail "
                f"{ends[-1] - ends[0]:.3f} s; load {os.getloadavg()[0]:.2f}"
            )
            for w, rs in by_worker.items():
                print(
                    f"  {w}: {len(rs)} tasks, +{rs[0].started_s - w0:.3f} .. +{rs[-1].finished_s - w0:.3f} s, busy "
                    f"{sum(r.elapsed_s for r in rs):.3f} s, CPU {sum(r.extra.get('cpu_s', 0.0) for r in rs):.3f} s"
                )
                for r in rs if args.tasks else ():
                    print(
                        f"    {r.key:9s} cost {seen['cost'][r.key]:>9,.0f}  +{r.started_s - w0:.3f} .. "
                        f"+{r.finished_s - w0:.3f} s  CPU {r.extra.get('cpu_s', 0.0):.3f} s"
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.worker_profile:
        import pstats

        files = sorted(str(p) for p in args.worker_profile.glob("*.pstats"))
        print(f"\nthe decode tasks of all runs ({len(files)} profiles), by own time:")
        stats = pstats.Stats(*files)
        stats.files = []  # not the list of the profiles' names
        stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
