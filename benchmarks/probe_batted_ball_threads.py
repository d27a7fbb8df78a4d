"""Probe: the batch kernel on one thread against two, per call and per OS thread, in a bare process or
after the benchmark's own sections (docs/perf/batted_ball.md, line 46).

    flock /tmp/bench.lock sh -c 'for i in 1 2 3; do for c in bare bench; do
        .venv/bin/python benchmarks/probe_batted_ball_threads.py --context $c; done; done'

``--context bare`` imports only ``batted_ball.physics``; ``--context bench`` imports the benchmark module
(pyarrow, perfkit, the season code) and runs what ``make bench-batted-ball`` runs before its first thread
comparison (the thread controls, then ``bench_trajectories`` up to its thread comparison). Then both time
the benchmark's balls (``fly_balls``, 2,048 at ACCURATE or 20,480 at EXTREME) on one Numba thread and on
all, interleaved, and print per call each OS thread's CPU time and its time runnable but waiting for a
CPU (``/proc/self/task/*/schedstat``) and the vCPU it ended on. ``--halves`` instead times, interleaved,
the whole batch on one thread, its two halves one after the other on one thread, the halves on two
Python threads (one Numba thread each) and the batch on two Numba threads: whether two cores give two
halves' speed at that moment, with or without Numba's pool.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import threading
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def sched() -> dict[int, tuple[str, int, int, int]]:
    """Per OS thread of this process: name, CPU ns, runnable-waiting ns, vCPU last run on."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            base = f"/proc/self/task/{tid}"
            run_ns, wait_ns, _ = map(int, Path(f"{base}/schedstat").read_text().split())
            name = Path(f"{base}/comm").read_text().strip()
            cpu = int(Path(f"{base}/stat").read_text().rsplit(")", 1)[1].split()[36])
        except OSError:
            continue
        out[int(tid)] = (name, run_ns, wait_ns, cpu)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--context", choices=("bare", "bench"), default="bare")
    ap.add_argument("--mode", choices=("ACCURATE", "EXTREME"), default="ACCURATE")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--halves", action="store_true")
    args = ap.parse_args()

    from batted_ball.physics import SimulationMode, simulate_batted_balls

    if args.context == "bench":
        import bench_batted_ball as bench_module

        class _Stop(Exception):
            pass

        def stop(*_a, **_k):
            raise _Stop

        bench_module.bench_thread_control(5)
        real, bench_module.threads_compare = bench_module.threads_compare, stop
        with contextlib.suppress(_Stop):
            bench_module.bench_trajectories(5)  # runs up to its first thread comparison
        bench_module.threads_compare = real
    mode = SimulationMode[args.mode]
    n = 2048 if mode is SimulationMode.ACCURATE else 20480
    rng = np.random.default_rng(2026)  # bench_batted_ball.fly_balls' balls
    ev, la, sp = rng.uniform(90, 110, n), rng.uniform(20, 40, n), rng.uniform(-40, 40, n)
    all_threads = numba.config.NUMBA_NUM_THREADS

    def fly(lo, hi, threads):
        numba.set_num_threads(threads)
        simulate_batted_balls(ev[lo:hi], la[lo:hi], sp[lo:hi], mode=mode)

    def python_threads():
        ts = [threading.Thread(target=fly, args=p) for p in ((0, n // 2, 1), (n // 2, n, 1))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    if args.halves:
        arms = {
            "whole, 1 thread": lambda: fly(0, n, 1),
            "halves one after the other, 1 thread": lambda: (fly(0, n // 2, 1), fly(n // 2, n, 1)),
            "halves on 2 Python threads": python_threads,
            f"whole, {all_threads} Numba threads": lambda: fly(0, n, all_threads),
        }
    else:
        arms = {"1 thread": lambda: fly(0, n, 1), f"{all_threads} threads": lambda: fly(0, n, all_threads)}
    rows: dict[str, list] = {k: [] for k in arms}
    collections: list[tuple[int, float]] = []  # (generation, seconds) of every GC pass in the timed calls
    gc_start = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            collections.append((info["generation"], time.perf_counter() - gc_start[0]))

    for r in range(args.pairs + 1):  # round 0 warms up
        for name, fn in arms.items():
            s0 = sched()
            if r:
                gc.callbacks.append(on_gc)
            t0 = time.perf_counter()
            fn()
            wall = time.perf_counter() - t0
            if r:
                gc.callbacks.remove(on_gc)
            s1 = sched()
            per = [
                (tid, v[0], (v[1] - s0.get(tid, v)[1]) / 1e6, (v[2] - s0.get(tid, v)[2]) / 1e6, v[3])
                for tid, v in sorted(s1.items())
                if tid in s0
            ]
            if r:
                rows[name].append((wall, per))
    print(
        f"context {args.context}, {args.mode} {n:,} balls, threading layer {numba.threading_layer()}, "
        f"{len(os.listdir('/proc/self/task'))} OS threads: "
        + ", ".join(f"{v[0]}" for _, v in sorted(sched().items()))
    )
    print(
        f"  garbage collections during the timed calls: {len(collections)} "
        f"(generation 2: {sum(g == 2 for g, _ in collections)}), {1e3 * sum(t for _, t in collections):.2f} ms in all"
    )
    base = np.array([w for w, _ in rows[next(iter(arms))]])
    for name, v in rows.items():
        walls = np.array([w for w, _ in v])
        # the process's threads' time runnable but waiting for a CPU: another process on the cores
        waits = [sum(t[3] for t in per) for _, per in v]
        print(
            f"  {name:>38}: median {1e3 * np.median(walls):6.1f} ms, same-round ratio to the first "
            f"{np.median(base / walls):.3f}x  calls {[round(1e3 * w) for w in walls]}, threads waited for a "
            f"CPU {[round(w) for w in waits]} ms"
        )
    if os.environ.get("PROBE_VERBOSE"):
        for name, v in rows.items():
            for wall, per in v:
                busy = "; ".join(
                    f"{t[1]}[{t[0]}] cpu {t[2]:.1f} wait {t[3]:.1f} on vCPU{t[4]}" for t in per if t[2] > 0.05
                )
                print(f"    {name}: wall {1e3 * wall:.1f} ms :: {busy}")


if __name__ == "__main__":
    main()
