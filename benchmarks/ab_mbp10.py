"""A/B of mbp10's one-instrument speed against an earlier commit, on a noisy shared machine.

    .venv/bin/python benchmarks/ab_mbp10.py --base d0f3fc4 --rounds 5

The earlier commit's `packages/mbp10` is exported (`git archive`) to a temporary folder; each round runs one
fresh process of the base and one of this checkout, alternating (A B A B ...), on the same day file from
`bench_mbp10.py`. Each process times, in CPU seconds of its own (less sensitive than wall time to the other
users of the cores), the best of 3: `day_bars` (decode + bar5s, streamed from the .dbn.zst), the same for
the 15-instrument parent-pull day (every instrument, spreads too), the bar5s kernel over the whole day in
memory, and the reference loop on a 5,000-record slice; the two `day_bars` are also timed in wall seconds
(best of 3). Medians over rounds and the new/base ratios go to
benchmarks/results/mbp10.jsonl (name "ab").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from perfkit import bench

REPO = Path(__file__).resolve().parents[1]
DAY = REPO / "reports" / "bench-mbp10" / "days" / "ES-2024-01-02.dbn.zst"
MULTI = REPO / "reports" / "bench-mbp10" / "multi-15" / "ES.FUT-2024-01-02.dbn.zst"
KEYS = ("day_bars_cpu_s", "day_bars_wall_s", "multi_day_bars_cpu_s", "multi_day_bars_wall_s", "kernel_cpu_s",
        "reference_5k_cpu_s")  # fmt: skip

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
from mbp10.symbology import Selection
path, multi = sys.argv[2], sys.argv[3]
every = Selection(spreads=True)
day_bars(path)
rec = np.array(read_dbn(path).records)
compute_bars(rec[:1000])
from mbp10.reference import bars_reference
part = np.ascontiguousarray(rec[500_000:505_000])
out = {"module": mbp10.__file__}
for name, f in (
    ("day_bars", lambda: day_bars(path)),
    ("multi_day_bars", lambda: day_bars(multi, selection=every)),
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
    if name.endswith("day_bars"):
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="d0f3fc4", help="the earlier commit")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not (DAY.exists() and MULTI.exists()):
        sys.exit(f"{DAY} or {MULTI} is missing: run `make bench-mbp10` once first")
    with tempfile.TemporaryDirectory(prefix="mbp10-ab-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.base, "packages/mbp10/src"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        base_src = str(Path(tmp) / "packages" / "mbp10" / "src")
        base_cache = str(Path(tmp) / "numba")
        new_cache = os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
        one(base_src, base_cache)  # compile the base's kernels into its own cache first
        runs: dict[str, list[dict]] = {"base": [], "new": []}
        for _ in range(args.rounds):
            runs["base"].append(one(base_src, base_cache))
            runs["new"].append(one("", new_cache))
    assert all(r["module"].startswith(tmp) for r in runs["base"])
    med = {side: {k: float(np.median([r[k] for r in rs])) for k in KEYS} for side, rs in runs.items()}
    ratio = {k: med["new"][k] / med["base"][k] for k in med["new"]}
    load = os.getloadavg()
    print(f"base {args.base}: {med['base']}\nnew: {med['new']}\nnew/base: {ratio}\nload average {load}")
    bench.record("mbp10", "ab", {"base": args.base, "median": med, "ratio_new_over_base": ratio, "runs": runs,
                                 "load_average": load})  # fmt: skip


if __name__ == "__main__":
    main()
