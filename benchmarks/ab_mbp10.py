"""A/B of mbp10's one-instrument speed against an earlier commit, on a noisy shared machine.

    .venv/bin/python benchmarks/ab_mbp10.py --base d0f3fc4 --rounds 5
    .venv/bin/python benchmarks/ab_mbp10.py --base df5781b --rounds 5   # the first round's code: host vs code

The earlier commit's `packages/mbp10` is exported (`git archive`) to a temporary folder; each round runs one
fresh process of the base and one of this checkout, alternating (A B A B ...), on the same day file from
`bench_mbp10.py`. Each process times, in CPU seconds of its own (less sensitive than wall time to the other
users of the cores), the best of 3: `day_bars` (decode + bar5s, streamed from the .dbn.zst), the same for
the 15-instrument parent-pull day (every instrument, spreads too; left out when the base predates
instrument selection), both days end to end as `bench_mbp10.py` times them (`day_bars`, then `day_features`
without a previous day; `*_e2e`), the bar5s kernel over the whole day in memory and with its input in cache
(`kernel_cache`: 2,000-record blocks, each read once untimed, then the thread CPU of the timed
`BarAccumulator.update` calls), and the reference loop on a 5,000-record slice; the two `day_bars` and the two
end-to-end runs are also timed in wall seconds (best of 3). Medians over rounds and the new/base ratios go to
benchmarks/results/mbp10.jsonl (name "ab").

`--twenty` instead times the 20-day run of `bench_mbp10.py --full` (`mbp10 run --workers 2 --executor
processes`, process start to exit), base and this checkout alternating; the base runs with its own perfkit
too (both exported), so a base from before today's perfkit changes runs as it was. Recorded as "ab_twenty".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from perfkit import bench

REPO = Path(__file__).resolve().parents[1]
DAY = REPO / "reports" / "bench-mbp10" / "days" / "ES-2024-01-02.dbn.zst"
MULTI = REPO / "reports" / "bench-mbp10" / "multi-15" / "ES.FUT-2024-01-02.dbn.zst"
KEYS = ("day_bars_cpu_s", "day_bars_wall_s", "multi_day_bars_cpu_s", "multi_day_bars_wall_s", "kernel_cpu_s",
        "kernel_cache_cpu_s", "reference_5k_cpu_s", "day_e2e_cpu_s", "day_e2e_wall_s", "multi_day_e2e_cpu_s",
        "multi_day_e2e_wall_s")  # fmt: skip

CHILD = """
import json, sys, time
import numpy as np
src = sys.argv[1]
if src:
    sys.path.insert(0, src)
import mbp10
from mbp10.bars import compute_bars
from mbp10.dbn import read_dbn
from mbp10.pipeline import day_bars
path, multi = sys.argv[2], sys.argv[3]
try:
    from mbp10.symbology import Selection
    every = Selection(spreads=True)
except ImportError:  # a base from before instrument selection (e.g. df5781b): no parent-pull day
    every = None
day_bars(path)
rec = np.array(read_dbn(path).records)
compute_bars(rec[:1000])
from mbp10.reference import bars_reference
from mbp10.bars import BarAccumulator
part = np.ascontiguousarray(rec[500_000:505_000])
out = {"module": mbp10.__file__}
import datetime as dt
from mbp10.episodes import EpisodeParams
from mbp10.pipeline import day_features

def e2e(p, sel=None):
    # the benchmark's "end to end": decode + bar5s, then every level-dependent stage (no previous day)
    bars, _ = day_bars(p) if sel is None else day_bars(p, selection=sel)
    day_features(dt.date(2024, 1, 2), bars, None, None, EpisodeParams())

def kernel_cache():
    # the day in 2,000-record blocks (in L2), each first fed to a twin accumulator (untimed: brings it into
    # cache), then to the timed one: thread CPU of the timed calls (any version's BarAccumulator.update)
    twin, acc, spent = BarAccumulator(), BarAccumulator(), 0.0
    for s in range(0, len(rec), 2000):
        block = rec[s : s + 2000]
        twin.update(block)
        t = time.thread_time()
        acc.update(block)
        spent += time.thread_time() - t
    return spent

out["kernel_cache_cpu_s"] = min(kernel_cache() for _ in range(3))
for name, f in (
    ("day_bars", lambda: day_bars(path)),
    *((("multi_day_bars", lambda: day_bars(multi, selection=every)),) if every else ()),
    ("day_e2e", lambda: e2e(path)),
    *((("multi_day_e2e", lambda: e2e(multi, every)),) if every else ()),
    ("kernel", lambda: compute_bars(rec)),
    ("reference_5k", lambda: bars_reference(part)),
):
    cpu, wall = [], []
    for _ in range(3):
        t, w = time.process_time(), time.perf_counter()
        f()
        cpu.append(time.process_time() - t)
        wall.append(time.perf_counter() - w)
    out[name + "_cpu_s"] = min(cpu)
    if name.endswith(("day_bars", "e2e")):
        out[name + "_wall_s"] = min(wall)
print(json.dumps(out))
"""


def one(src: str, cache: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    r = subprocess.run(
        [sys.executable, "-c", CHILD, src, str(DAY), str(MULTI)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def export(commit: str, paths: list[str], into: str) -> None:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, *paths], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)


RUN_BASE = "import sys; from mbp10.cli import main; sys.argv[0] = 'mbp10'; main()"


def twenty(base: str, rounds: int) -> None:
    """`mbp10 run` over the 20 benchmark days on 2 workers, base and new alternating (wall, process start to
    exit; its CPU seconds, workers included; the run report's stages)."""
    days = REPO / "reports" / "bench-mbp10" / "days"
    if len(list(days.glob("ES-*.dbn.zst"))) < 20:
        sys.exit(f"{days} lacks the 20 days: run `make bench-mbp10 FULL=1` once first")
    args = ["run", "--input-dir", str(days), "--dates", "2024-01-02..2024-01-21", "--workers", "2",
            "--executor", "processes", "--quiet"]  # fmt: skip
    runs: dict[str, list[dict]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="mbp10-ab20-") as tmp:
        export(base, ["packages/mbp10/src", "perfkit/src"], tmp)
        base_env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba"),
                    "PYTHONPATH": f"{tmp}/packages/mbp10/src:{tmp}/perfkit/src"}  # fmt: skip
        sides = {
            "base": ([sys.executable, "-c", RUN_BASE, *args], base_env),
            "new": ([str(Path(sys.executable).with_name("mbp10")), *args], dict(os.environ)),
        }
        for i in range(rounds + 1):  # round 0 compiles the base's kernels into its cache: not counted
            for side, (cmd, env) in sides.items():
                out = Path(tmp) / f"{side}-{i}"
                t0, c0 = time.perf_counter(), _children_cpu_s()
                subprocess.run([*cmd, "--out", str(out)], env=env, check=True)
                wall, cpu = time.perf_counter() - t0, _children_cpu_s() - c0
                report = json.loads((out / "run_report.json").read_text())
                if i:
                    runs[side].append(
                        {"wall_s": wall, "cpu_s": cpu, "stages": report["stages"], "load": os.getloadavg()}
                    )
                    print(f"{side}: {wall:.1f} s (CPU {cpu:.1f} s), stages " + ", ".join(
                        f"{k} {v['wall_s']:.1f} s" for k, v in report["stages"].items()) + f", load {os.getloadavg()[0]:.1f}")  # fmt: skip
                shutil.rmtree(out)
    med = {side: float(np.median([r["wall_s"] for r in rs])) for side, rs in runs.items()}
    cpu = {side: float(np.median([r["cpu_s"] for r in rs])) for side, rs in runs.items()}
    print(f"20 days on 2 workers, median wall: base {base} {med['base']:.1f} s, new {med['new']:.1f} s, "
          f"new/base {med['new'] / med['base']:.2f}; median CPU (parent and workers): base {cpu['base']:.1f} s, "
          f"new {cpu['new']:.1f} s, new/base {cpu['new'] / cpu['base']:.2f}")  # fmt: skip
    bench.record(
        "mbp10", "ab_twenty", {"base": base, "median_wall_s": med, "median_cpu_s": cpu, "runs": runs}
    )


def _children_cpu_s() -> float:
    """User + system CPU seconds of the finished child processes (their own workers included: reaped)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="d0f3fc4", help="the earlier commit")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--twenty", action="store_true", help="time the 20-day run instead (base and new)")
    args = ap.parse_args()
    if args.twenty:
        twenty(args.base, args.rounds)
        return
    if not (DAY.exists() and MULTI.exists()):
        sys.exit(f"{DAY} or {MULTI} is missing: run `make bench-mbp10` once first")
    with tempfile.TemporaryDirectory(prefix="mbp10-ab-") as tmp:
        export(args.base, ["packages/mbp10/src"], tmp)
        base_src = str(Path(tmp) / "packages" / "mbp10" / "src")
        base_cache = str(Path(tmp) / "numba")
        new_cache = os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
        one(base_src, base_cache)  # compile the base's kernels into its own cache first
        runs: dict[str, list[dict]] = {"base": [], "new": []}
        for _ in range(args.rounds):
            runs["base"].append(one(base_src, base_cache))
            runs["new"].append(one("", new_cache))
    assert all(r["module"].startswith(tmp) for r in runs["base"])
    keys = [k for k in KEYS if all(k in r for rs in runs.values() for r in rs)]  # an old base lacks some
    med = {side: {k: float(np.median([r[k] for r in rs])) for k in keys} for side, rs in runs.items()}
    ratio = {k: med["new"][k] / med["base"][k] for k in med["new"]}
    load = os.getloadavg()
    print(f"base {args.base}: {med['base']}\nnew: {med['new']}\nnew/base: {ratio}\nload average {load}")
    bench.record("mbp10", "ab", {"base": args.base, "median": med, "ratio_new_over_base": ratio, "runs": runs,
                                 "load_average": load})  # fmt: skip


if __name__ == "__main__":
    main()
