"""A/B of the features' early work (`mbp10.early`) on the 15-instrument day, in one process, alternating.

    flock /tmp/bench.lock .venv/bin/python benchmarks/early_mbp10.py --rounds 14
    flock /tmp/bench.lock .venv/bin/python benchmarks/early_mbp10.py --rounds 14 --forced

Old: `day_bars` then `day_features` (every level-dependent stage after the last block). New: as
`pipeline.day_outputs` runs them, `day_bars(early=)` (pieces of the features' work on final rows in the caller's
waits for the reader thread) then `day_features(..., early)`. Both with the reader thread (`ahead=2`), every
instrument (spreads too), no previous day; A B / B A alternating, the first pair a warm-up. `--forced` does the
pieces whatever the machine's load (`early._quiet` always true; by default they run only while no other thread
wants a core). Per side: medians of `day_bars`, of the tail (`day_features`), of the whole day and of its CPU,
and the median of the pairs' total ratios; the new side also counts its pieces. Recorded in
benchmarks/results/mbp10.jsonl as "early_ab". Uses the day file of `bench_mbp10.py` (run it once first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
from mbp10 import early as early_module
from mbp10.early import EarlyFeatures
from mbp10.episodes import EpisodeParams
from mbp10.pipeline import day_bars, day_features
from mbp10.symbology import Selection

from perfkit import bench

MULTI = Path(__file__).resolve().parents[1] / "reports/bench-mbp10/multi-15/ES.FUT-2024-01-02.dbn.zst"
DATE = dt.date(2024, 1, 2)


def one(new: bool) -> list[float]:
    """(day_bars s, tail s, total s, CPU s, pieces done while the file was read) of one day."""
    p = EpisodeParams()
    early = EarlyFeatures(DATE, None, None, p) if new else None
    t0, c0 = time.perf_counter(), time.process_time()
    bars, _ = day_bars(MULTI, selection=Selection(spreads=True), ahead=2, early=early)
    t1 = time.perf_counter()
    day_features(DATE, bars, None, None, p, early)
    t2, c2 = time.perf_counter(), time.process_time()
    return [t1 - t0, t2 - t1, t2 - t0, c2 - c0, early.pieces if new else 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=14)
    ap.add_argument("--forced", action="store_true", help="pieces whatever the machine's load")
    args = ap.parse_args()
    if args.forced:
        early_module._quiet = lambda: True
    runs: dict[bool, list] = {False: [], True: []}
    for i in range(args.rounds + 1):
        for new in (False, True) if i % 2 else (True, False):
            r = one(new)
            if i:  # the first pair is the warm-up
                runs[new].append(r)
    old, new = np.array(runs[False]), np.array(runs[True])
    med = {side: dict(zip(("day_bars_s", "tail_s", "total_s", "cpu_s"), np.median(a[:, :4], axis=0).tolist(), strict=True))
           for side, a in (("old", old), ("new", new))}  # fmt: skip
    ratio = float(np.median(new[:, 2] / old[:, 2]))
    load = os.getloadavg()
    print(
        f"early work {'forced' if args.forced else 'when quiet'}, {args.rounds} pairs, load {load[0]:.2f}: "
        + ", ".join(f"{k} {1e3 * med['old'][k]:.1f} -> {1e3 * med['new'][k]:.1f} ms" for k in med["old"])
        + f"; median pair ratio (total) {ratio:.3f}; pieces per new day {new[:, 4].astype(int).tolist()}"
    )
    bench.record(
        "mbp10",
        "early_ab",
        {"forced": args.forced, "rounds": args.rounds, "median": med, "total_ratio_median": ratio,
         "pieces": new[:, 4].astype(int).tolist(), "old": old.tolist(), "new": new.tolist(), "load_average": load},
    )  # fmt: skip


if __name__ == "__main__":
    main()
