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
halves' speed at that moment, with or without Numba's pool. ``--processes`` runs the halves in two separate
processes (one Numba thread each), at the same time and one after the other, alternating: whether two busy
vCPUs slow each other with no address space, thread pool or GIL shared.
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


def _balls(mode: str, n: int):
    """The benchmark's balls (``bench_batted_ball.fly_balls``: seed 2026)."""
    rng = np.random.default_rng(2026)
    return rng.uniform(90, 110, n), rng.uniform(20, 40, n), rng.uniform(-40, 40, n)


def _half_worker(rank, mode, n, go, done, results, calls):
    """One process flying half ``rank`` of the balls on one Numba thread each time the parent says go; puts
    (rank, wall s, CPU s, runnable wait s) per call."""
    from batted_ball.physics import SimulationMode, simulate_batted_balls

    numba.set_num_threads(1)
    ev, la, sp = _balls(mode, n)
    part = slice(0, n // 2) if rank == 0 else slice(n // 2, n)
    sim = SimulationMode[mode]
    simulate_batted_balls(ev[part], la[part], sp[part], mode=sim)  # compile / load before the clock
    for _ in range(calls):
        go.wait()
        w0 = int(Path("/proc/thread-self/schedstat").read_text().split()[1])
        c0, t0 = time.process_time(), time.perf_counter()
        simulate_batted_balls(ev[part], la[part], sp[part], mode=sim)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        w1 = int(Path("/proc/thread-self/schedstat").read_text().split()[1])
        results.put((rank, wall, cpu, (w1 - w0) / 1e9))
        done.wait()


def processes(mode: str, n: int, rounds: int) -> None:
    """The two halves in two processes: together, then one after the other, ``rounds`` times."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    go, done = [ctx.Barrier(2), ctx.Barrier(2)], [ctx.Barrier(2), ctx.Barrier(2)]
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_half_worker, args=(r, mode, n, go[r], done[r], results, 2 * rounds))
        for r in (0, 1)
    ]
    for w in workers:
        w.start()

    def run(ranks):
        for r in ranks:
            go[r].wait()
        got = [results.get() for _ in ranks]
        for r in ranks:
            done[r].wait()
        return got

    together, apart = [], []
    for _ in range(rounds):
        got = run((0, 1))
        together.append((max(g[1] for g in got), sum(g[2] for g in got), sum(g[3] for g in got)))
        got = run((0,)) + run((1,))
        apart.append((sum(g[1] for g in got), sum(g[2] for g in got), sum(g[3] for g in got)))
    for w in workers:
        w.join()
    clean = [
        (t, a) for t, a in zip(together, apart, strict=True) if t[2] < 0.02 * t[0] and a[2] < 0.02 * a[0]
    ]
    use = clean or list(zip(together, apart, strict=True))
    print(
        f"{mode} {n:,} balls, the halves in two processes (one Numba thread each), {rounds} rounds, "
        f"{len(clean)} with no runnable wait (< 2 %; the ratios below over {'those' if clean else 'all'}):\n"
        f"  one after the other {1e3 * np.median([a[0] for _, a in use]):.0f} ms wall, "
        f"{1e3 * np.median([a[1] for _, a in use]):.0f} ms CPU; at the same time "
        f"{1e3 * np.median([t[0] for t, _ in use]):.0f} ms wall, {1e3 * np.median([t[1] for t, _ in use]):.0f} ms CPU; "
        f"same-round ratio {np.median([a[0] / t[0] for t, a in use]):.3f}x, CPU together/apart "
        f"{np.median([t[1] / a[1] for t, a in use]):.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--context", choices=("bare", "bench"), default="bare")
    ap.add_argument("--mode", choices=("ACCURATE", "EXTREME"), default="ACCURATE")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--halves", action="store_true")
    ap.add_argument("--processes", action="store_true")
    ap.add_argument("--balls", type=int, default=None, help="default 2,048 (ACCURATE) or 20,480 (EXTREME)")
    args = ap.parse_args()
    if args.processes:
        processes(args.mode, args.balls or (2048 if args.mode == "ACCURATE" else 20480), args.pairs)
        return

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
    n = args.balls or (2048 if mode is SimulationMode.ACCURATE else 20480)
    ev, la, sp = _balls(args.mode, n)
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
