"""mbp10 benchmark: bar5s kernel vs the per-record reference, kernel throughput, JIT compile time, one
~1.9M-record synthetic day end to end, a multi-instrument day (a parent pull's outrights and calendar spreads
of one session, every instrument computed) end to end, and (--full) 20 synthetic days on 2 workers. Speed-ups
are also given against 159k ticks/s, the best rate of the plan this project grew from (Numba, one core).

The kernel is timed two ways: over a whole day held in memory (~700 MB of records: bounded by memory
bandwidth, which the other users of the machine share) and inside the streaming pipeline (`day_bars`), where
each call gets a block the decoder has just written in the same thread (`ahead=0`, in cache): the sum of the
kernel calls' own time, one thread. End-to-end figures give wall time and the process's CPU time, and the load
average before and after, since the machine is shared; they run as the pipeline does (a reader thread
decompressing `READ_AHEAD` blocks ahead when a core is free as the day starts) and, alternating in the same
process, always with the reader thread and always decoded in the caller's thread (`ahead=0`).

    make bench-mbp10            # kernel vs reference on a slice, compile time, one day end to end
    make bench-mbp10 FULL=1     # ... and 20 days through `mbp10 run --workers 2`

Synthetic days are generated once into reports/bench-mbp10/days/ (deterministic, seed 1) and reused.
Figures go to benchmarks/results/mbp10.jsonl (perfkit.bench.record) and the `make bench` summary table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mbp10.bars import compute_bars
from mbp10.dbn import read_dbn, write_dbn
from mbp10.episodes import EpisodeParams
from mbp10.ingest import ingest_file
from mbp10.io import READ_AHEAD
from mbp10.pipeline import day_bars, day_features
from mbp10.reference import bars_reference
from mbp10.symbology import Selection
from mbp10.synth import synth_day, synth_header, synth_instruments

from perfkit import bench

#: The plan this project grew from reached 159k ticks/s (one core, Numba): every rate is also given against it.
PLAN_BEST_PER_S = 159_000
#: A parent pull's instruments for one session: five quarterly outrights and every calendar spread between
#: them (records: the front month half of them, each later instrument half of the one before, at least 40).
MULTI_SYMBOLS = (
    "ESH4", "ESM4", "ESU4", "ESZ4", "ESH5",
    "ESH4-ESM4", "ESM4-ESU4", "ESU4-ESZ4", "ESZ4-ESH5", "ESH4-ESU4", "ESM4-ESZ4", "ESU4-ESH5", "ESH4-ESZ4",
    "ESM4-ESH5", "ESH4-ESH5",
)  # fmt: skip
REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "reports" / "bench-mbp10"
DAY_RECORDS = 1_900_000
FIRST_DATE = dt.date(2024, 1, 2)

COLD_COMPILE = """
import json, time, numpy as np
t0 = time.perf_counter()
from mbp10.bars import compute_bars
from mbp10.synth import synth_day
import datetime as dt
rec = synth_day(dt.date(2024, 1, 2), 200, seed=1)
t1 = time.perf_counter()
compute_bars(rec)
t2 = time.perf_counter()
compute_bars(rec)
t3 = time.perf_counter()
print(json.dumps({"synth_first_s": t1 - t0, "bar5s_first_call_s": t2 - t1, "bar5s_second_call_s": t3 - t2}))
"""


def day_file(date: dt.date, records: int = DAY_RECORDS) -> Path:
    path = WORK / "days" / f"ES-{date.isoformat()}.dbn.zst"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = synth_day(date, records, seed=1)
        tmp = path.with_suffix(".tmp")
        write_dbn(tmp, synth_header(date), rec)
        tmp.replace(path)
    return path


def multi_day_file(date: dt.date, records: int = DAY_RECORDS) -> Path:
    path = WORK / f"multi-{len(MULTI_SYMBOLS)}" / f"ES.FUT-{date.isoformat()}.dbn.zst"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = synth_instruments(date, records, 1, MULTI_SYMBOLS)
        tmp = path.with_suffix(".tmp")
        write_dbn(tmp, synth_header(date, MULTI_SYMBOLS, parent="ES.FUT"), rec)
        tmp.replace(path)
    return path


MODES = {"pipeline": None, "read_ahead": READ_AHEAD, "caller_thread": 0}  # day_bars(ahead=...)


def end_to_end(path: Path, repeats: int, selection: Selection | None = None) -> tuple[dict, dict, tuple]:
    """Every stage of one day from its .dbn.zst (warm: kernels compiled and cached, file in the page cache):
    decode + bar5s (`day_bars`), then levels, distance, episodes, approach, vectors (`day_features`). As the
    pipeline runs it (a reader thread decompressing `READ_AHEAD` blocks ahead when a core is free as the day
    starts: `io.read_ahead`) and, alternating with it in the same process, always with the reader thread and
    always decoded in the caller's thread (`ahead=0`, the code before the reader thread)."""
    times = {
        mode: {"decode+bar5s": [], "levels..vectors": [], "total": [], "total_cpu": [], "read_ahead": []}
        for mode in MODES
    }
    order = list(MODES)
    for i in range(repeats + 1):
        for mode in order if i % 2 else order[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            bars, stats = day_bars(path, selection=selection, ahead=MODES[mode])
            t1 = time.perf_counter()
            res = day_features(FIRST_DATE, bars, None, None, EpisodeParams())
            t2, c2 = time.perf_counter(), time.process_time()
            if i:  # the first pass is the warm-up
                times[mode]["decode+bar5s"].append(t1 - t0)
                times[mode]["levels..vectors"].append(t2 - t1)
                times[mode]["total"].append(t2 - t0)
                times[mode]["total_cpu"].append(c2 - c0)
                times[mode]["read_ahead"].append(stats.read_ahead)
    med = {mode: {k: float(np.median(v)) for k, v in t.items()} for mode, t in times.items()}
    return med, times, (bars, stats, res)


def caller_thread_line(med: dict, times: dict, n: int) -> None:
    used = sum(1 for a in times["pipeline"]["read_ahead"] if a)
    print(
        f"  (the reader thread ran in {used} of {len(times['pipeline']['read_ahead'])} of these runs: a core was free)"
    )
    c = med["caller_thread"]
    for mode, label in (("read_ahead", f"always with the reader thread ({READ_AHEAD} blocks ahead)"),
                        ("caller_thread", "decoded in the caller's thread (ahead=0)")):  # fmt: skip
        m = med[mode]
        print(
            f"  the same, {label}, alternating: {m['total']:.3f} s (decode+bar5s {m['decode+bar5s']:.3f} s), "
            f"{n / m['total'] / 1e6:.1f} M records/s; CPU {m['total_cpu']:.3f} s"
        )
    r = med["read_ahead"]
    print(
        f"  reader thread / caller's thread: end to end {r['total'] / c['total']:.2f}x the time, "
        f"{r['total_cpu'] / c['total_cpu']:.2f}x the CPU; as the pipeline chose: "
        f"{med['pipeline']['total'] / c['total']:.2f}x the time"
    )


def multi_instrument_day(path: Path, repeats: int) -> dict:
    """A parent-pull day: decode + bar5s of every instrument (books split by instrument_id), then every
    later stage per instrument. Warm."""
    both, every, (bars, stats, res) = end_to_end(path, repeats, Selection(spreads=True))
    med, times = both["pipeline"], every["pipeline"]
    rate = stats.records / med["total"]
    print(
        f"multi-instrument day ({len(MULTI_SYMBOLS)} instruments, {stats.records:,} records -> "
        f"{bars.num_rows:,} bars, {res.episodes.num_rows} touches): {med['total']:.3f} s end to end "
        f"(decode+bar5s {med['decode+bar5s']:.3f} s; best {min(times['total']):.3f} s), "
        f"{rate / 1e6:.1f} M records/s decoded, {rate / PLAN_BEST_PER_S:.0f}x the plan's 159k/s; "
        f"CPU {med['total_cpu']:.3f} s = {stats.records / med['total_cpu'] / 1e6:.1f} M records per CPU-second"
    )
    caller_thread_line(both, every, stats.records)
    return {"records": stats.records, "instruments": len(MULTI_SYMBOLS), "median_s": med, "times": times,
            "records_per_s": rate, "records_per_cpu_s": stats.records / med["total_cpu"],
            "modes_median_s": both, "modes_times": every}  # fmt: skip


def compile_times() -> dict:
    """First-call time of the kernels in fresh interpreters: with an empty Numba cache (JIT compile) and
    again with that cache populated (cache load)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="mbp10-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "cached"):
            r = subprocess.run(
                [sys.executable, "-c", COLD_COMPILE], env=env, capture_output=True, text=True, check=True
            )
            out[label] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def bench_kernel_vs_reference(rec: np.ndarray, n_slice: int, repeats: int) -> dict:
    part = np.ascontiguousarray(rec[500_000 : 500_000 + n_slice])
    cmp = bench.compare(
        lambda: bars_reference(part),
        lambda: compute_bars(part),
        warmup=1,
        repeats=repeats,
        name=f"bar5s reference vs kernel, {n_slice:,}-record slice",
        units=n_slice,
        unit_name="records",
    )
    print(cmp.line())
    d = cmp.to_dict()
    print(f"reference: {d['reference']['records_per_s']:,.0f} records/s")
    return d


def bench_kernel_throughput(rec: np.ndarray, repeats: int) -> dict:
    # the kernel reads the decoded records in place (word views over the decompressed bytes)
    t = bench.measure(
        lambda: compute_bars(rec), warmup=1, repeats=repeats, units=len(rec), unit_name="records"
    )
    d = t.to_dict(len(rec), "records")
    print(
        f"bar5s kernel, whole day in memory ({len(rec):,} records): median {t.median_s:.3f} s, "
        f"{d['records_per_s'] / 1e6:.1f} M records/s"
    )
    return d


def kernel_in_cache(rec: np.ndarray, block: int = 2_000, warm: str = "kernel") -> dict:
    """The kernel's own speed per core with its input in cache: the day in blocks of `block` records
    (736 KB, inside one core's 1.25 MB L2); each block is first brought into cache untimed, then folded into
    the real state (timed, thread CPU and wall). `warm="kernel"` brings it by folding it into a scratch copy
    of the state (the measure of the rounds before): the timed pass then meets records the branch predictor
    has just seen; `warm="read"` by a read of its bytes only (an XOR over every word), so the timed pass
    meets them fresh, as in a real run. The bars are checked against `compute_bars` of the whole day, so
    the timed passes did the real work."""
    from mbp10.bar_columns import FLOAT_COLUMNS, INT_COLUMNS
    from mbp10.kernels import bar5s_multi, bar5s_multi_finish, new_output, new_slot_state
    from mbp10.records import record_words

    whole = compute_bars(rec)
    w64, w32, b8 = record_words(rec)
    rows = whole.num_rows + 1  # every row the day opens: the kernel never stops for room
    state, nout, out = new_slot_state(1), np.zeros(1, np.int64), new_output(rows)
    scratch, row_slot = new_output(rows), np.zeros(rows, np.int64)
    slot, keep, ip = np.zeros(block, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64)

    def fold(part, st, n_out, bars):  # one block of the one instrument (slot 0), as `compute_bars` folds it
        ip[0] = -1
        bar5s_multi(*part, 0, slot[: len(part[0])], keep, ip, *st, n_out, bars[0], row_slot, bars[1], bars[2])

    cpu = wall = 0.0
    for s in range(0, len(rec), block):
        part = (w64[s : s + block], w32[s : s + block], b8[s : s + block])
        if warm == "kernel":
            fold(part, [a.copy() for a in state], nout.copy(), scratch)
        else:
            np.bitwise_xor.reduce(part[0], axis=None)
        t, c = time.perf_counter(), time.thread_time()
        fold(part, state, nout, out)
        cpu += time.thread_time() - c
        wall += time.perf_counter() - t
    n = bar5s_multi_finish(state[0], state[1], nout, out[1], out[2])
    same = n == whole.num_rows and all(
        np.array_equal(o[:n, j], whole.column(name).to_numpy(), equal_nan=o.dtype.kind == "f")
        for o, names in ((out[1], INT_COLUMNS), (out[2], FLOAT_COLUMNS))
        for j, name in enumerate(names)
    )
    assert same, "the in-cache pass gave other bars than compute_bars"
    rate, rate_cpu = len(rec) / wall, len(rec) / cpu
    how = "each run through the kernel once" if warm == "kernel" else "each read once, bytes only,"
    print(
        f"bar5s kernel, input in cache ({len(rec):,} records in {block:,}-record blocks, {how} before "
        f"its timed pass, one thread): {rate / 1e6:.1f} M records/s (thread CPU time: {rate_cpu / 1e6:.1f} M), "
        f"{rate / PLAN_BEST_PER_S:.0f}x the plan's 159k/s"
    )
    return {"records": len(rec), "block": block, "wall_s": wall, "cpu_s": cpu, "records_per_s": rate,
            "records_per_cpu_s": rate_cpu}  # fmt: skip


def kernel_in_pipeline(path: Path, repeats: int) -> dict:
    """The bar5s kernel as `day_bars` runs it (`bar5s_multi`: every instrument of a block in one pass), each
    call on a block the decoder has just written. The kernel calls' own time is summed (wall and thread CPU),
    one thread; records / that time."""
    import mbp10.bars

    kernel = mbp10.bars.bar5s_multi
    spent = {"wall": 0.0, "cpu": 0.0}

    def timed(*args):
        t, c = time.perf_counter(), time.thread_time()
        out = kernel(*args)
        spent["cpu"] += time.thread_time() - c
        spent["wall"] += time.perf_counter() - t
        return out

    runs: dict[str, list[float]] = {"wall": [], "cpu": []}
    mbp10.bars.bar5s_multi = timed
    try:
        for i in range(repeats + 1):
            spent.update(wall=0.0, cpu=0.0)
            _, stats = day_bars(path, ahead=0)  # blocks this thread has just decoded, as before the reader
            if i:
                runs["wall"].append(spent["wall"])
                runs["cpu"].append(spent["cpu"])
    finally:
        mbp10.bars.bar5s_multi = kernel
    n = stats.records
    rate = {k: n / float(np.median(v)) for k, v in runs.items()}
    best = n / min(runs["wall"])
    print(
        f"bar5s kernel inside the streaming pipeline ({n:,} records, blocks in cache, one thread): median "
        f"{rate['wall'] / 1e6:.1f} M records/s (best {best / 1e6:.1f}; thread CPU time: "
        f"{rate['cpu'] / 1e6:.1f} M records/s), {rate['wall'] / PLAN_BEST_PER_S:.0f}x the plan's 159k/s"
    )
    return {"records": n, "times": runs, "records_per_s": rate["wall"], "records_per_cpu_s": rate["cpu"],
            "best_records_per_s": best}  # fmt: skip


def one_day(path: Path, repeats: int) -> dict:
    """Every stage of one day from its .dbn.zst: decode + bar5s, levels, distance, episodes, approach,
    vectors (`end_to_end`)."""
    both, every, (bars, stats, res) = end_to_end(path, repeats)
    med, stages = both["pipeline"], every["pipeline"]
    touches = res.episodes.num_rows
    print(
        f"one day end to end ({stats.records:,} records -> {bars.num_rows:,} bars, {touches} touches): "
        f"{med['total']:.3f} s (decode+bar5s {med['decode+bar5s']:.3f} s, levels..vectors "
        f"{med['levels..vectors']:.3f} s), {stats.records / med['decode+bar5s'] / 1e6:.1f} M records/s decoded; "
        f"CPU {med['total_cpu']:.3f} s = {stats.records / med['total_cpu'] / 1e6:.1f} M records per CPU-second"
    )
    caller_thread_line(both, every, stats.records)
    with tempfile.TemporaryDirectory(prefix="mbp10-bronze-") as tmp:
        t0 = time.perf_counter()
        ingest_file(path, Path(tmp) / "bronze.parquet")
        bronze_s = time.perf_counter() - t0
    print(f"bronze ingest (separate stage, zstd-3 Parquet): {bronze_s:.2f} s")
    return {
        "records": stats.records,
        "bars": bars.num_rows,
        "touches": touches,
        "median_s": med,
        "times": stages,
        "modes_median_s": both,
        "modes_times": every,
        "bronze_ingest_s": bronze_s,
    }


def twenty_days(workers: int) -> dict:
    dates = [FIRST_DATE + dt.timedelta(days=i) for i in range(20)]
    for d in dates:
        day_file(d)
    out = WORK / "run20"
    # `mbp10 run` never replaces a folder it did not write (and an earlier run's only with --force): the
    # benchmark owns this scratch folder, so it clears it itself.
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        str(Path(sys.executable).with_name("mbp10")),
        "run",
        "--input-dir",
        str(WORK / "days"),
        "--dates",
        f"{dates[0]}..{dates[-1]}",
        "--workers",
        str(workers),
        "--executor",
        "processes",
        "--out",
        str(out),
        "--quiet",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    report = json.loads((out / "run_report.json").read_text())
    peak = report.get("peak_rss_bytes")
    children = report.get("peak_rss_children_bytes")
    print(
        f"20 days on {workers} workers: {wall:.1f} s wall (report {report['wall_s']:.1f} s), "
        f"{report['counters']['records']:,} records, peak RSS parent {peak / 2**30:.2f} GiB, "
        f"largest child {children / 2**30 if children else float('nan'):.2f} GiB"
    )
    return {
        "wall_s": wall,
        "report_wall_s": report["wall_s"],
        "records": report["counters"]["records"],
        "peak_rss_bytes": peak,
        "peak_rss_children_bytes": children,
        "stages": report["stages"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="also run 20 synthetic days on 2 workers")
    ap.add_argument("--slice", type=int, default=10_000, help="records in the kernel-vs-reference slice")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    path = day_file(FIRST_DATE)
    rec = read_dbn(path).records
    results: dict = {"day_records": len(rec), "load_average_start": os.getloadavg()}
    print(f"load average at start: {results['load_average_start']}")
    results["compile"] = compile_times()
    c = results["compile"]
    print(
        f"JIT compile (empty cache): synth {c['cold']['synth_first_s']:.1f} s, bar5s first call "
        f"{c['cold']['bar5s_first_call_s']:.1f} s; from the cache: {c['cached']['bar5s_first_call_s']:.2f} s"
    )
    results["kernel_vs_reference"] = bench_kernel_vs_reference(rec, args.slice, max(3, args.repeats // 2))
    results["kernel"] = bench_kernel_throughput(rec, args.repeats)
    results["kernel_in_cache"] = kernel_in_cache(rec)
    results["kernel_in_cache_fresh"] = kernel_in_cache(rec, warm="read")
    del rec
    results["kernel_in_pipeline"] = kernel_in_pipeline(path, args.repeats)
    results["one_day"] = one_day(path, args.repeats)
    results["multi_day"] = multi_instrument_day(multi_day_file(FIRST_DATE), args.repeats)
    if args.full:
        results["twenty_days"] = twenty_days(2)
    results["load_average_end"] = os.getloadavg()
    print(f"load average at end: {results['load_average_end']}")
    bench.record("mbp10", "full" if args.full else "default", results)
    kv = results["kernel_vs_reference"]
    day = results["one_day"]
    plan = {
        "kernel_slice": kv["fast"]["records_per_s"] / PLAN_BEST_PER_S,
        "kernel_day_in_memory": results["kernel"]["records_per_s"] / PLAN_BEST_PER_S,
        "kernel_in_cache": results["kernel_in_cache"]["records_per_s"] / PLAN_BEST_PER_S,
        "kernel_in_pipeline": results["kernel_in_pipeline"]["records_per_s"] / PLAN_BEST_PER_S,
        "day_end_to_end": day["records"] / day["median_s"]["total"] / PLAN_BEST_PER_S,
        "multi_day_end_to_end": results["multi_day"]["records_per_s"] / PLAN_BEST_PER_S,
    }
    results["vs_plan_159k"] = plan
    print("against the plan's 159k ticks/s:", {k: f"{v:.0f}x" for k, v in plan.items()})
    figures = {
        "kernel_vs_reference": f"{kv['ratio']:.0f}x",
        "kernel_Mrec_per_s": round(results["kernel"]["records_per_s"] / 1e6, 1),
        "kernel_in_cache_Mrec_per_s": round(results["kernel_in_cache"]["records_per_s"] / 1e6, 1),
        "kernel_in_cache_fresh_Mrec_per_s": round(results["kernel_in_cache_fresh"]["records_per_s"] / 1e6, 1),
        "kernel_in_pipeline_Mrec_per_s": round(results["kernel_in_pipeline"]["records_per_s"] / 1e6, 1),
        "compile_s": round(c["cold"]["bar5s_first_call_s"], 1),
        "day_end_to_end_s": round(results["one_day"]["median_s"]["total"], 2),
        "multi_day_Mrec_per_s": round(results["multi_day"]["records_per_s"] / 1e6, 1),
        "kernel_vs_159k": f"{plan['kernel_day_in_memory']:.0f}x",
    }
    if args.full:
        figures["20_days_2_workers_s"] = round(results["twenty_days"]["wall_s"], 1)
    bench.summary_row("mbp10", "full" if args.full else "default", **figures)
    print("summary:", figures)


if __name__ == "__main__":
    main()
