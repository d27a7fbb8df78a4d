"""Would `day_features` gain from a second core on threads? (issue 14 item 7: the 15-instrument day's tail)

    flock /tmp/bench.lock .venv/bin/python benchmarks/probe_mbp10_threads.py [--rounds 15]

On the benchmark's 15-instrument day (`bench_mbp10.multi_day_file`, every instrument, spreads too, no previous
day), each level-dependent stage of `day_features` and the whole of it, with inputs computed once untimed:

- `threads`: two copies of the same call on two threads at once, over the same two one after the other on
  one thread (1.00: no overlap at all, 0.50: the two run fully side by side). Two whole copies are the best
  case for a thread pool over the instruments: perfectly balanced, one hand-off each;
- `processes` (the whole `day_features` only): the same with two forked processes (each its own GIL and
  address space), each process's own time over one alone.

Rounds alternate the two ways; medians of the rounds. A ratio near 1 for threads beside one near 1 for
processes (each as fast as alone) says the threads serialise (the GIL, or the kernel's per-process locks
around page faults of the stages' large temporaries), not that the host lacks a core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mbp10 import FIRST_DATE, multi_day_file
from mbp10.episodes import EpisodeParams
from mbp10.instruments import (
    approach_all,
    episodes_all,
    level_distance_all,
    levels_all,
    series_all,
    vectors_all,
)
from mbp10.pipeline import day_bars, day_features
from mbp10.symbology import Selection


def stages(bars) -> dict:
    """name -> a call of that stage on the day's real inputs (computed here once)."""
    d, p = FIRST_DATE, EpisodeParams()
    lv = levels_all(d, bars, None, None)
    b2 = level_distance_all(bars, lv)
    ep, _ = episodes_all(d.isoformat(), b2, lv, p)
    se = series_all(b2, ep)
    ap, sg = approach_all(b2, ep, se)
    return {
        "levels": lambda: levels_all(d, bars, None, None),
        "distance": lambda: level_distance_all(bars, lv),
        "episodes": lambda: episodes_all(d.isoformat(), b2, lv, p),
        "series": lambda: series_all(b2, ep),
        "approach": lambda: approach_all(b2, ep, se),
        "vectors": lambda: vectors_all(b2, ep, ap, sg, p.reset_pts, se),
        "day_features": lambda: day_features(d, bars, None, None, p),
    }


def threads_ratio(f, rounds: int) -> tuple[float, float]:
    """(one call alone in s, two on threads at once / two in a row), medians over the rounds."""
    row, side = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        f()
        row.append(time.perf_counter() - t)
        pair = [threading.Thread(target=f) for _ in range(2)]
        t = time.perf_counter()
        for x in pair:
            x.start()
        for x in pair:
            x.join()
        side.append(time.perf_counter() - t)
    return statistics.median(row) / 2, statistics.median(side) / statistics.median(row)


def in_children(f, k: int, reps: int = 4) -> list[float]:
    """Each of `k` forked processes runs `f` `reps` times, all starting together: their seconds per call."""
    r, w = os.pipe()
    start = time.time() + 0.05
    pids = []
    for _ in range(k):
        pid = os.fork()
        if pid == 0:
            while time.time() < start:
                pass
            t = time.perf_counter()
            for _ in range(reps):
                f()
            os.write(w, f"{(time.perf_counter() - t) / reps:.6f}\n".encode())
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    os.close(w)
    with os.fdopen(r) as fh:
        return [float(x) for x in fh.read().split()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    bars, _ = day_bars(multi_day_file(FIRST_DATE), selection=Selection(spreads=True), ahead=0)
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()[0]:.2f}")
    for name, f in stages(bars).items():
        f()
        alone, ratio = threads_ratio(f, args.rounds)
        print(f"{name:13s} alone {alone * 1e3:6.1f} ms   threads: two at once / two in a row {ratio:.2f}")
    f = stages(bars)["day_features"]
    one, two = [], []
    for _ in range(max(3, args.rounds // 3)):
        one += in_children(f, 1)
        two += in_children(f, 2)
    print(
        f"day_features  processes: one alone {statistics.median(one) * 1e3:.1f} ms, each of two at once "
        f"{statistics.median(two) * 1e3:.1f} ms ({statistics.median(two) / statistics.median(one):.2f})"
    )
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
