"""batted-ball benchmark: trajectories/s (fast vs reference, side by side), pitches, games, a season.

    make bench-batted-ball          # trajectories, aero-table probe, games on one core, 162- and 2,430-game seasons
    make bench-batted-ball FULL=1   # also the 2,430-game season on dask, more repeats

Per-core figures run with one Numba thread. The reference path (plain Python/NumPy) and the Numba
kernel fly the same balls in the same process, interleaved (``perfkit.bench.compare``); so do the batch
kernel on one thread and on all. Seasons run as the real command (``batted-ball season`` in a
subprocess), timed end to end; the seasons on 2 threads and on 1 (162 and 2,430 games) run one after
the other.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numba
import numpy as np
from batted_ball import season
from batted_ball.game import game_kernel
from batted_ball.game.engine import GAME_MODE, Game
from batted_ball.game.lockstep import play_together
from batted_ball.physics import Environment, SimulationMode, kernels, reference, simulate_batted_balls
from batted_ball.physics.constants import BALL_RADIUS_FT, CD0, CD_SPIN, CL0, CL1, CL2, RAD_S_TO_RPM
from batted_ball.physics.flight import FlightArgs, batted_ball_state, statcast_average_spin_rpm
from batted_ball.season import new_game, play_game
from numba import njit, prange

from perfkit import bench

REPO = Path(__file__).resolve().parents[1]
#: The plan this project grew from measured its original simulator at 58.8 trajectories/s (ACCURATE,
#: 1 ms steps) and asked for at least 50x that from the kernel.
PLAN_BASELINE_PER_S = 58.8
PLAN_TARGET_RATIO = 50.0
_NO = np.empty(0)
#: Games a season task plays (``season.games_per_task`` of a full season).
TASK_GAMES = season.MAX_GAMES_PER_TASK
#: Interleaved pairs (one thread, all threads) per batch-kernel thread comparison.
THREAD_PAIRS = 9
_NO_PATH = np.empty((0, 4))


def fly_balls(n: int, seed: int = 2026):
    """Fly balls: 90-110 mph, 20-40 deg, +-40 deg spray, Statcast-average spin (hang 4-6.5 s)."""
    rng = np.random.default_rng(seed)
    ev, la, sp = rng.uniform(90, 110, n), rng.uniform(20, 40, n), rng.uniform(-40, 40, n)
    back, side = statcast_average_spin_rpm(la, sp)
    return ev, la, sp, np.stack(batted_ball_state(ev, la, sp, back, side), axis=-1)


def cpu_rate(fn, units: int, repeats: int) -> float:
    """Units per CPU-second of this process (median of repeats; one Numba thread): per-core speed on a
    shared machine, where wall-clock rates also count time spent waiting for a core."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return units / float(np.median(times))


def bench_trajectories(repeats: int) -> dict:
    """Reference vs single-trajectory kernel and vs batch on the same balls (interleaved), then per-core
    throughput of both kernels on larger sets, one Numba thread (wall and CPU time)."""
    out = {}
    env = Environment()
    numba.set_num_threads(1)
    for mode, n_ref in ((SimulationMode.ACCURATE, 24), (SimulationMode.EXTREME, 96)):
        a = FlightArgs.of(env, mode)
        ev, la, sp, state = fly_balls(2048)
        ref_rows = [tuple(float(v) for v in r) for r in state[:n_ref]]

        def ref_fn(rows=ref_rows, a=a):
            for r in rows:
                reference.fly(r[:6], r[6:], a.c0, a.dt)

        def single_fn(rows=ref_rows, a=a):
            for r in rows:
                kernels.fly(
                    *r, a.c0, a.cd0, a.cdspin, a.inv_tau, 0.0, 0.0, 0.0, a.dt, 0.0, 15.0, _NO, _NO, _NO_PATH
                )

        def batch_fn(n=n_ref, ev=ev, la=la, sp=sp, m=mode):
            simulate_batted_balls(ev[:n], la[:n], sp[:n], mode=m)

        kw = {"warmup": 1, "repeats": repeats, "units": n_ref, "unit_name": "trajectories"}
        cmp_single = bench.compare(
            ref_fn, single_fn, name=f"fly {mode.name}: reference vs single kernel", **kw
        )
        cmp_batch = bench.compare(ref_fn, batch_fn, name=f"fly {mode.name}: reference vs batch kernel", **kw)
        print(cmp_single.line())
        print(cmp_batch.line())
        rows = [tuple(float(v) for v in r) for r in state[:512]]

        def singles(rows=rows, a=a):
            for r in rows:
                kernels.fly(
                    *r, a.c0, a.cd0, a.cdspin, a.inv_tau, 0.0, 0.0, 0.0, a.dt, 0.0, 15.0, _NO, _NO, _NO_PATH
                )

        def batch_all_balls(ev=ev, la=la, sp=sp, m=mode):
            simulate_batted_balls(ev, la, sp, mode=m)

        single = bench.measure(singles, warmup=1, repeats=repeats, units=len(rows))
        batch = bench.measure(batch_all_balls, warmup=1, repeats=repeats, units=len(ev))
        cpu = {
            "single_kernel_per_cpu_s": cpu_rate(singles, len(rows), repeats),
            "batch_per_cpu_s": cpu_rate(batch_all_balls, len(ev), repeats),
            "reference_per_cpu_s": cpu_rate(ref_fn, n_ref, 1),
        }
        # Threads side by side: the same balls on one Numba thread and on all of them, interleaved, at two
        # sizes. The small one is about 0.15 s of one core a call on the AMD EPYC host of 2026-12-07 (2,048
        # balls at ACCURATE, ten times as many at EXTREME; ~0.3 s on the older Ice Lake host): there a
        # call on two threads lasts ~80 ms. The large one (4x the balls, ~0.65 s a call; a season's
        # balls in play are ~120,000). Each pair also runs the same balls cut as the kernel cuts them
        # (`kernels.chunk_size`) on as many Python threads, one Numba thread each: the same work on the
        # same cores without Numba's thread pool. Each call records how long its threads waited for a CPU
        # (another process on the cores: the helpers' tests do not take the bench lock), and the ratio is
        # also given over the pairs where they did not. THREAD_PAIRS pairs a size (docs/perf/batted_ball.md,
        # line 46: one-off slow pairs otherwise move a median of five).
        n_threads = numba.config.NUMBA_NUM_THREADS
        thread_sizes = {}
        for size, scale in (("", 1), ("_large", 4)):
            per_mode = len(ev) if mode is SimulationMode.ACCURATE else 10 * len(ev)
            t_ev, t_la, t_sp = fly_balls(scale * per_mode)[:3]

            def batch_threads(ev=t_ev, la=t_la, sp=t_sp, m=mode):
                simulate_batted_balls(ev, la, sp, mode=m)

            cut = kernels.chunk_size(len(t_ev), n_threads)
            parts = [
                functools.partial(batch_threads, t_ev[i : i + cut], t_la[i : i + cut], t_sp[i : i + cut])
                for i in range(0, len(t_ev), cut)
            ]
            thread_sizes[size] = (
                len(t_ev),
                *threads_compare(
                    batch_threads,
                    f"fly {mode.name}: batch kernel ({len(t_ev):,} balls)",
                    max(repeats, THREAD_PAIRS),
                    parts=parts,
                    control=functools.partial(_simd_burn, 2 * n_threads, 100_000),
                    units=len(t_ev),
                    unit_name="trajectories",
                ),
            )
        numba.set_num_threads(1)
        rates = {
            **cpu,
            "reference_per_s": n_ref / cmp_single.reference.median_s,
            "single_kernel_per_s_core": len(rows) / single.median_s,
            "batch_per_s_core": len(ev) / batch.median_s,
            "single_vs_reference": cmp_single.ratio,
            "batch_vs_reference": cmp_batch.ratio,
        }
        for size, (balls, cmp_threads, threads_cpu, contention) in thread_sizes.items():
            rates[f"batch_per_s_{n_threads}_threads{size}"] = balls / cmp_threads.fast.median_s
            rates[f"batch_threads_balls{size}"] = balls
            # Interleaved with one thread (above): the median time on one thread over that on all.
            rates[f"batch_threads_vs_one{size}"] = cmp_threads.ratio
            rates[f"batch_threads_cpu_s_per_call{size}"] = threads_cpu
            # The same ratio over the pairs no other process competed in (None: there was none), and the
            # same parts on Python threads (the machine's two cores on this work, without Numba's pool).
            rates[f"batch_threads_vs_one_uncontended{size}"] = contention["ratio_uncontended"]
            rates[f"batch_threads_pairs_uncontended{size}"] = contention["pairs_uncontended"]
            rates[f"batch_python_threads_vs_one{size}"] = contention["ratio_python_threads"]
            # ... and over the pairs that also had two full cores by the SIMD control run right after them
            rates[f"batch_threads_vs_one_full_cores{size}"] = contention["ratio_two_full_cores"]
            rates[f"batch_threads_pairs_full_cores{size}"] = contention["pairs_two_full_cores"]
        if mode is SimulationMode.ACCURATE:
            rates["single_vs_plan_58_8"] = rates["single_kernel_per_s_core"] / PLAN_BASELINE_PER_S
            rates["batch_vs_plan_58_8"] = rates["batch_per_s_core"] / PLAN_BASELINE_PER_S
            # Per CPU-second: what the other tenants of a shared machine do not inflate.
            rates["single_cpu_vs_plan_58_8"] = rates["single_kernel_per_cpu_s"] / PLAN_BASELINE_PER_S
            met = rates["single_vs_plan_58_8"] >= PLAN_TARGET_RATIO
            print(
                f"  single kernel vs the plan's {PLAN_BASELINE_PER_S}/s: {rates['single_vs_plan_58_8']:.1f}x "
                f"(target >= {PLAN_TARGET_RATIO:g}x: {'met' if met else 'NOT met'}); per CPU-second "
                f"{rates['single_cpu_vs_plan_58_8']:.1f}x; batch {rates['batch_vs_plan_58_8']:.1f}x"
            )
        print(
            f"  {mode.name}: "
            + ", ".join(f"{k} {v:,.1f}" for k, v in rates.items() if isinstance(v, (int, float)))
        )
        out[mode.name.lower()] = {
            "compare_single": cmp_single.to_dict(),
            "compare_batch": cmp_batch.to_dict(),
            **{f"compare_threads{size}": c.to_dict() for size, (_, c, _, _) in thread_sizes.items()},
            **{f"threads_contention{size}": x for size, (_, _, _, x) in thread_sizes.items()},
            **rates,
        }
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return out


# ------------------------------------------------------------------------------ can threads scale here?
@njit(cache=True, nogil=True, parallel=True)
def _burn(n_units, work):
    """Independent floating-point work in ``n_units`` prange units: scales with threads on free cores."""
    out = np.zeros(n_units)
    for u in prange(n_units):
        s = 0.0
        for i in range(work):
            s += math.sqrt(i + u)
        out[u] = s
    return out


@njit(cache=True, nogil=True, parallel=True)
def _simd_burn(n_units, reps):
    """Independent multiply-adds over three 512-float arrays per unit (12 KiB, in L1): vectorised, bound
    by the throughput of the SIMD units, as the batch kernel's lanes are, where :func:`_burn` is bound
    by the latency of one chain of square roots. If two vCPUs share one physical core (hyperthreads),
    the latency-bound loop still runs ~2x on two threads, this one less."""
    out = np.zeros(n_units)
    for u in prange(n_units):
        a = np.full(512, 1.0 + u * 1e-9)
        b = np.full(512, 0.999999)
        c = np.full(512, 1e-7)
        for _ in range(reps):
            for i in range(512):
                a[i] = a[i] * b[i] + c[i]
        out[u] = a.sum()
    return out


#: A call counts as uncontended when the threads doing its work waited, runnable, for a CPU less than this
#: share of its wall time: another process (a test run, a build: they do not take the bench lock) had no
#: claim on the cores this call used. Read from /proc/self/task/*/schedstat, before and after each call.
UNCONTENDED_WAIT_SHARE = 0.02
#: A pair counts as run on two full cores when, besides no wait, the SIMD-throughput control run right after
#: it (``_simd_burn``, ~25 ms on one thread) reached this ratio on all threads against one: on free cores it
#: reads 1.97-2.0x; on the two hyperthreads of one host core it fell to 1.02x (docs/perf/batted_ball.md, line 48).
FULL_CORES_CONTROL = 1.9


def _runnable_wait_ns(tids: list[int] | None) -> int | None:
    """Nanoseconds the process's threads (``tids``; None: all) have spent runnable but waiting for a CPU
    (Linux schedstat, the second field); None where the kernel does not report it."""
    try:
        ids = tids if tids is not None else [int(t) for t in os.listdir("/proc/self/task")]
        total = 0
        for tid in ids:
            # a thread that ended between listing and reading counts nothing
            with contextlib.suppress(FileNotFoundError), open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        return total
    except (OSError, ValueError, IndexError):
        return None


def threads_compare(
    fn, name: str, repeats: int, parts=None, control=None, **units
) -> tuple[bench.Comparison, dict[str, float], dict]:
    """``fn`` on one Numba thread and on all, interleaved (A B A B ...) so that a shared machine's load
    drifts over both alike; the median CPU seconds per call of each (whether the threads add work or
    only wait for a core); and, per call, how long the threads doing the work waited runnable for a CPU
    (the one calling thread on one Numba thread, every thread of the process on all), so that a pair
    another process competed in can be told from a clean one.

    ``parts`` (optional): a list of callables, one per thread, that together do ``fn``'s work on one
    Numba thread each; they run on as many Python threads as a third arm (A B C A B C ...): the same
    split of the work on the same cores without Numba's thread pool, i.e. what two cores give this work
    at that moment.

    ``control`` (optional): a short prange loop run on one thread and on all right after each pair. The
    host may run the machine's two vCPUs on one physical core's two hyperthreads at some minutes, which
    no counter inside the machine shows (no wait, no steal) but which halves the SIMD throughput of both;
    the adjacent control's ratio says whether the host gave this pair two full cores. Leaves all threads
    on."""
    n = numba.config.NUMBA_NUM_THREADS
    me = threading.get_native_id()
    arms = {"one": [], "all": [], "python_threads": []}
    controls: list[float] = []

    def timed(arm, call, tids):
        w0, c0, t0 = _runnable_wait_ns(tids), time.process_time(), time.perf_counter()
        call()
        wall, cpu, w1 = time.perf_counter() - t0, time.process_time() - c0, _runnable_wait_ns(tids)
        wait = None if w0 is None or w1 is None else (w1 - w0) / 1e9
        arms[arm].append((wall, cpu, wait))

    def on(k):
        numba.set_num_threads(k)
        fn()

    def threaded():
        def run(part):
            numba.set_num_threads(1)  # thread-local: this Python thread's kernel calls use one thread
            part()

        ts = [threading.Thread(target=run, args=(p,)) for p in parts]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    for _ in range(1 + repeats):  # the first round warms up
        timed("one", lambda: on(1), [me])
        timed("all", lambda: on(n), None)
        if parts:
            timed("python_threads", threaded, None)
        if control:
            walls = []
            for k in (1, n):
                numba.set_num_threads(k)
                t0 = time.perf_counter()
                control()
                walls.append(time.perf_counter() - t0)
            controls.append(walls[0] / walls[1])
    numba.set_num_threads(n)

    def timing(arm):
        return bench.Timing([w for w, _, _ in arms[arm][1:]], [arms[arm][0][0]])

    cmp = bench.Comparison(f"{name}, 1 thread vs {n} threads", timing("one"), timing("all"), **units)
    print(cmp.line())
    clean = [
        r
        for r, a, b in zip(cmp.pair_ratios, arms["one"][1:], arms["all"][1:], strict=True)
        if all(x[2] is not None and x[2] < UNCONTENDED_WAIT_SHARE * x[0] for x in (a, b))
    ]
    extra = {
        "runnable_wait_s": {arm: [x[2] for x in v[1:]] for arm, v in arms.items() if v},
        "pairs_uncontended": len(clean),
        "ratio_uncontended": float(np.median(clean)) if clean else None,
    }
    if control:
        full = [
            r
            for r, a, b, c in zip(
                cmp.pair_ratios, arms["one"][1:], arms["all"][1:], controls[1:], strict=True
            )
            if c >= FULL_CORES_CONTROL
            and all(x[2] is not None and x[2] < UNCONTENDED_WAIT_SHARE * x[0] for x in (a, b))
        ]
        extra |= {
            "control_ratio_per_pair": controls[1:],
            "pairs_two_full_cores": len(full),
            "ratio_two_full_cores": float(np.median(full)) if full else None,
        }
    line = (
        f"  ratio {cmp.ratio:.2f}x over all {len(cmp.pair_ratios)} pairs; over those with no other process on "
        f"the cores (threads waited < {UNCONTENDED_WAIT_SHARE:.0%} of the call), {len(clean)}"
        + (f", median ratio {extra['ratio_uncontended']:.2f}x" if clean else ": none")
    )
    if parts:
        py = bench.Comparison(
            f"{name}, 1 thread vs {len(parts)} Python threads", timing("one"), timing("python_threads")
        )
        extra["python_threads"] = py.to_dict()
        extra["ratio_python_threads"] = py.ratio
        line += (
            f"; the same {len(parts)} parts on {len(parts)} Python threads (no Numba pool): {py.ratio:.2f}x"
        )
    print(line)
    if control:
        print(
            f"  the SIMD control after each pair: {', '.join(f'{c:.2f}' for c in controls[1:])}x; pairs with no "
            f"wait and the control >= {FULL_CORES_CONTROL}x (two full cores), {extra['pairs_two_full_cores']}"
            + (
                f", median ratio {extra['ratio_two_full_cores']:.2f}x"
                if extra["pairs_two_full_cores"]
                else ": none"
            )
        )
    cpu = {str(k): float(np.median([c for _, c, _ in arms[a][1:]])) for k, a in ((1, "one"), (n, "all"))}
    if parts:
        # CPU seconds of the process per call on the Python threads: with the one-thread and all-thread
        # figures, whether two busy cores run this work slower per thread (more CPU for the same work)
        extra["python_threads_cpu_s_per_call"] = float(
            np.median([c for _, c, _ in arms["python_threads"][1:]])
        )
    return cmp, cpu, extra


def bench_thread_control(repeats: int) -> dict:
    """A control for every thread ratio of this benchmark: a trivial prange loop (no memory traffic, no
    shared state) on one thread and on all, interleaved. On free cores it runs ~2x faster on two
    threads; on a shared machine with Linux's autogroup scheduling (each session gets one share of the
    CPUs however many threads it runs) it does not, and then no thread ratio measured here means
    anything about the code."""
    n = numba.config.NUMBA_NUM_THREADS
    cmp, cpu, contention = threads_compare(
        lambda: _burn(2 * n, 10_000_000), "control: trivial prange loop", repeats
    )
    simd, simd_cpu, simd_contention = threads_compare(
        lambda: _simd_burn(2 * n, 400_000), "control: SIMD-throughput prange loop", repeats
    )
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    res = {
        "ratio": cmp.ratio,
        "cpu_s_per_call": cpu,
        "ratio_simd": simd.ratio,
        "cpu_s_per_call_simd": simd_cpu,
        "sched_autogroup": autogroup.read_text().strip() if autogroup.exists() else None,
        "compare": cmp.to_dict(),
        "compare_simd": simd.to_dict(),
        "contention": contention,
        "contention_simd": simd_contention,
    }
    print(
        f"  CPU-s per call {res['cpu_s_per_call']}, sched_autogroup_enabled {res['sched_autogroup']}: "
        f"{'threads can scale here' if cmp.ratio >= 1.6 else 'this machine gives this process no second core now'}"
    )
    return res


# --------------------------------------------------------------------------- aerodynamic lookup table probe
# Issue 7 asks for a bilinear (speed, spin) table of the aerodynamic coefficients only if it helps.
# The exact coefficients are Cd = cd0 + cdspin * rpm / 1000 and CL = CL2 S / (CL0 + CL1 S): one
# division. This probe measures a table against them for accuracy and speed on the same inputs.
_V_GRID = np.linspace(20.0, 180.0, 81)  # ft/s
_W_GRID = np.linspace(0.0, 600.0, 61)  # rad/s


def _exact_cl(v, w):
    s = BALL_RADIUS_FT * w / v
    return CL2 * s / (CL0 + CL1 * s)


CL_TABLE = np.array([[_exact_cl(v, w) for w in _W_GRID] for v in _V_GRID])


@njit(cache=True, nogil=True, error_model="numpy")
def _sum_exact(v, w):
    acc = 0.0
    for i in range(v.shape[0]):
        s = BALL_RADIUS_FT * w[i] / v[i]
        acc += CL2 * s / (CL0 + CL1 * s) + CD0 + CD_SPIN * w[i] * RAD_S_TO_RPM / 1000.0
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def _table(v, w, table, v0, dv, w0, dw):
    fi = (v - v0) / dv
    fj = (w - w0) / dw
    i = min(max(int(fi), 0), table.shape[0] - 2)
    j = min(max(int(fj), 0), table.shape[1] - 2)
    a = fi - i
    b = fj - j
    return (1 - a) * ((1 - b) * table[i, j] + b * table[i, j + 1]) + a * (
        (1 - b) * table[i + 1, j] + b * table[i + 1, j + 1]
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _sum_table(v, w, table, v0, dv, w0, dw):
    acc = 0.0
    for i in range(v.shape[0]):
        acc += _table(v[i], w[i], table, v0, dv, w0, dw) + CD0 + CD_SPIN * w[i] * RAD_S_TO_RPM / 1000.0
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def _table_many(v, w, table, v0, dv, w0, dw, out):
    for i in range(v.shape[0]):
        out[i] = _table(v[i], w[i], table, v0, dv, w0, dw)


def bench_aero_table(repeats: int) -> dict:
    rng = np.random.default_rng(5)
    n = 2_000_000
    v = rng.uniform(40.0, 165.0, n)
    w = rng.uniform(50.0, 500.0, n)  # ~500-4800 rpm
    args = (CL_TABLE, _V_GRID[0], _V_GRID[1] - _V_GRID[0], _W_GRID[0], _W_GRID[1] - _W_GRID[0])
    approx = np.empty(n)
    _table_many(v, w, *args, approx)
    exact = _exact_cl(v, w)
    rel = np.abs(approx - exact) / exact
    cmp = bench.compare(
        lambda: _sum_exact(v, w),
        lambda: _sum_table(v, w, *args),
        warmup=1,
        repeats=repeats,
        name="aero coefficients: exact (reference) vs bilinear table (fast)",
        units=n,
        unit_name="evaluations",
    )
    print(cmp.line())
    res = {
        "cl_mean_rel_error": float(rel.mean()),
        "cl_max_rel_error": float(rel.max()),
        "table_speedup": cmp.ratio,
        "compare": cmp.to_dict(),
        "kept": bool(cmp.ratio > 1.1),
    }
    print(
        f"  table CL error: mean {res['cl_mean_rel_error']:.2%}, max {res['cl_max_rel_error']:.2%}; "
        f"table {'kept' if res['kept'] else 'not kept'} (speed ratio exact/table {cmp.ratio:.2f})"
    )
    return res


# ------------------------------------------------------------------------------------------------ games
def gil_share(n_games: int) -> dict:
    """CPU time of kernel games that holds the GIL, against the ``play_game`` calls themselves (nogil),
    from ``time.thread_time`` — a property of the code, unlike a thread ratio on a shared machine. Two
    ways: one game at a time as ``batted-ball game`` plays it (``new_game`` then ``run``: building the
    game, then the Python around the ``play_game`` call, arrays in, box score out), and as a season's
    task plays them (``season._task``, :data:`TASK_GAMES` games: all built, the kernels, then the box
    scores and rows, :func:`fast.play_games`)."""
    inner = game_kernel.play_game
    in_kernel = [0]

    def timed(*args):
        t0 = time.thread_time_ns()
        inner(*args)
        in_kernel[0] += time.thread_time_ns() - t0

    build = play = 0
    game_kernel.play_game = timed
    try:
        for i in range(n_games):
            t0 = time.thread_time_ns()
            game = new_game(1, i)
            t1 = time.thread_time_ns()
            game.run()
            build, play = build + t1 - t0, play + time.thread_time_ns() - t1
        alone = in_kernel[0]
        in_kernel[0] = 0
        t0 = time.thread_time_ns()
        for start in range(n_games, 2 * n_games, TASK_GAMES):
            season._task((1, start, start + TASK_GAMES, GAME_MODE.name.lower(), False))
        tasks = time.thread_time_ns() - t0
    finally:
        game_kernel.play_game = inner
    res = {
        "ms_per_game_build": build / n_games / 1e6,
        "ms_per_game_python_around_kernel": (play - alone) / n_games / 1e6,
        "ms_per_game_in_kernel": alone / n_games / 1e6,
        "gil_share": (build + play - alone) / (build + play),
        "ms_per_game_task_outside_kernel": (tasks - in_kernel[0]) / n_games / 1e6,
        "ms_per_game_task_in_kernel": in_kernel[0] / n_games / 1e6,
        "gil_share_task": (tasks - in_kernel[0]) / tasks,
    }
    print(
        f"  GIL held (thread CPU time), one game at a time: building {res['ms_per_game_build']:.2f} ms + around "
        f"the kernel {res['ms_per_game_python_around_kernel']:.2f} ms of {(build + play) / n_games / 1e6:.2f} ms "
        f"a game ({res['gil_share']:.1%}); in the nogil kernel {res['ms_per_game_in_kernel']:.2f} ms"
    )
    print(
        f"  GIL held, as a season task plays them ({TASK_GAMES} games a task, {n_games} games): "
        f"{res['ms_per_game_task_outside_kernel']:.2f} ms of "
        f"{res['ms_per_game_task_outside_kernel'] + res['ms_per_game_task_in_kernel']:.2f} ms a game "
        f"({res['gil_share_task']:.1%}); in the nogil kernel {res['ms_per_game_task_in_kernel']:.2f} ms"
    )
    return res


def kernel_threads(n_games: int, repeats: int) -> dict:
    """The game kernel alone on one thread and on two (Python threads, half the games each), interleaved:
    the games' arrays are built before the clock, so nothing holds the GIL between games — the bound a
    threaded season could reach on this machine now. Against the same games played whole (``new_game``
    and ``run``, the Python around the kernel included) on one thread and on two."""

    def kernel_part(argsets):
        for a in argsets:
            game_kernel.play_game(*a)

    def games_part(indices):
        for i in indices:
            new_game(1, i).run()

    def tasks_part(starts):
        for start in starts:
            season._task((1, start, start + TASK_GAMES // 2, GAME_MODE.name.lower(), False))

    def threaded(fn, parts) -> float:
        ts = [threading.Thread(target=fn, args=(p,)) for p in parts]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.perf_counter() - t0

    def built():
        return [new_game(1, i)._kernel_args()[2] for i in range(n_games)]

    times: dict[str, list[float]] = {
        k: [] for k in ("kernel_1", "kernel_2", "games_1", "games_2", "tasks_1", "tasks_2")
    }
    starts = range(0, n_games, TASK_GAMES // 2)
    for _ in range(repeats + 1):  # the first round warms up
        times["kernel_1"].append(threaded(kernel_part, [built()]))
        a = built()
        times["kernel_2"].append(threaded(kernel_part, [a[::2], a[1::2]]))
        times["games_1"].append(threaded(games_part, [range(n_games)]))
        times["games_2"].append(threaded(games_part, [range(0, n_games, 2), range(1, n_games, 2)]))
        times["tasks_1"].append(threaded(tasks_part, [starts]))
        times["tasks_2"].append(threaded(tasks_part, [starts[::2], starts[1::2]]))
    med = {k: float(np.median(v[1:])) for k, v in times.items()}
    res = {
        "kernel_alone_2_vs_1": med["kernel_1"] / med["kernel_2"],
        "games_2_vs_1": med["games_1"] / med["games_2"],
        "tasks_2_vs_1": med["tasks_1"] / med["tasks_2"],
        "median_s": med,
        "games": n_games,
    }
    print(
        f"  game kernel alone, 2 threads vs 1 ({n_games} games, arrays built before): "
        f"{res['kernel_alone_2_vs_1']:.2f}x; whole games (Python around the kernel): {res['games_2_vs_1']:.2f}x; "
        f"as season tasks ({TASK_GAMES // 2} games each): {res['tasks_2_vs_1']:.2f}x"
    )
    return res


def bench_games(n_games: int, repeats: int) -> dict:
    """Games on one core: the Python engine (``Game``, the reference twin, its games played together as
    a season task played them until 2026-12-07: pitches in SIMD lanes) against the whole-game kernel
    (``KernelGame``, what seasons play now), the same games, interleaved; the box scores must agree."""
    numba.set_num_threads(1)
    play_game(1, 0)  # teams and JIT cache

    def engine():
        return play_together([new_game(1, i, game_class=Game) for i in range(n_games)])

    def kernel():
        return play_together([new_game(1, i) for i in range(n_games)])

    twins_identical = engine() == kernel()
    cmp = bench.compare(
        engine,
        kernel,
        name=f"games ({GAME_MODE.name}, one core): {n_games} by the Python engine vs the game kernel",
        warmup=1,
        repeats=repeats,
        units=n_games,
        unit_name="games",
    )
    print(cmp.line())
    cpu = {}
    for name, fn in (("engine", engine), ("kernel", kernel)):
        cpu0 = time.thread_time()
        fn()
        cpu[name] = (time.thread_time() - cpu0) / n_games
    per_game = cmp.fast.median_s / n_games
    gil = gil_share(n_games)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    threads = kernel_threads(2 * n_games, repeats)
    res = {
        **gil,
        "ms_per_game_wall": 1000 * per_game,
        "ms_per_game_cpu": 1000 * cpu["kernel"],
        "games_per_hour_core": 3600.0 / per_game,
        "ms_per_game_engine_wall": 1000 * cmp.reference.median_s / n_games,
        "ms_per_game_engine_cpu": 1000 * cpu["engine"],
        "kernel_vs_engine": cmp.ratio,
        "twins_identical": twins_identical,
        "threads": threads,
        "compare": cmp.to_dict(),
        "games": n_games,
    }
    print(
        f"games ({GAME_MODE.name}, one core): kernel {res['ms_per_game_wall']:.1f} ms/game wall, "
        f"{res['ms_per_game_cpu']:.1f} ms CPU; Python engine {res['ms_per_game_engine_wall']:.1f} ms wall, "
        f"{res['ms_per_game_engine_cpu']:.1f} ms CPU; box scores identical: {twins_identical}"
    )
    return res


def run_season(n_games: int, executor: str, workers: int, pbp: bool = False, mode: str | None = None) -> dict:
    """``batted-ball season`` in a subprocess, timed end to end; ``mode`` None: the command's default."""
    with tempfile.TemporaryDirectory(prefix="bb-season-") as tmp:
        cmd = (
            [
                sys.executable,
                "-m",
                "batted_ball.cli",
                "season",
                "--games",
                str(n_games),
                "--seed",
                "2026",
                "--workers",
                str(workers),
                "--executor",
                executor,
                "--out",
                tmp,
                "--quiet",
            ]
            + (["--pbp"] if pbp else [])
            + (["--mode", mode] if mode else [])
        )
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU seconds of the command and its workers: on a shared machine the wall clock also counts
        # time spent waiting for a core, the CPU time does not.
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        league = json.loads((Path(tmp) / "league.json").read_text())
        report = json.loads((Path(tmp) / "run_report.json").read_text())
    res = {
        "games": n_games,
        "executor": executor,
        "workers": workers,
        "pbp": pbp,
        "mode": mode or GAME_MODE.name.lower(),
        "wall_s_end_to_end": wall,
        "cpu_s": cpu,
        # Playing: from the end of the "start-up" stage (pyarrow's pandas import; for thread seasons also
        # Numba's first use, the teams and the game kernel's load, ~1 s of one core, serial) to the table
        # of games; until 2026-12-07 03:00 (lines <= 22) it also counted the teams, Numba's first use
        # and pandas' import.
        "wall_s_games": report["metrics"]["wall_s_games"],
        "wall_s_start_up": report["stages"].get("start-up", {}).get("wall_s"),
        "wall_s_games_stage": report["stages"]["games"]["wall_s"],
        "receipt": report["receipts"]["games"]["digest"],
        "league": {k: v for k, v in league.items() if k != "calibration"},
        "calibration": league["calibration"],
    }
    print(
        f"season {n_games} games{' --pbp' if pbp else ''} ({res['mode']}), {executor} x{workers}: {wall:.1f} s end to end "
        f"({res['wall_s_games']:.1f} s playing), {cpu:.1f} CPU-s in all its processes; receipt {res['receipt'][-16:]}"
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    repeats = 7 if args.full else 5
    results = {
        "load_average_start": list(os.getloadavg()),
        "thread_control": bench_thread_control(repeats),
        "trajectories": bench_trajectories(repeats),
        "aero_table": bench_aero_table(repeats),
        "games": bench_games(48, 3 if not args.full else 5),
    }
    # The two 162-game thread runs one after the other, so the load drifts little between them; the
    # control again just before them and before the 2,430-game pair (the load moves within a run).
    results["thread_control_162"] = bench_thread_control(repeats)
    seasons = [
        run_season(162, "threads", 2),
        run_season(162, "threads", 1),
        run_season(162, "threads", 2, pbp=True),
        run_season(2430, "processes", 2),
        # The same season at the step games flew until 2026-12-06 (its receipt is the earlier records').
        run_season(2430, "processes", 2, mode="fast"),
    ]
    results["thread_control_2430"] = bench_thread_control(repeats)
    seasons += [
        # Threads side by side on the whole season too (the 162-game seasons play for about a second).
        run_season(2430, "threads", 2),
        run_season(2430, "threads", 1),
    ]
    if args.full:
        seasons += [run_season(2430, "dask", 2)]
    results["seasons"] = seasons
    # Each thread pair once more, its control right before it: on a shared machine a pair's ratio says
    # something only when its control found two cores, and a second chance costs ~30 s.
    again = {}
    for n in (162, 2430):
        control = bench_thread_control(repeats)
        two, one = run_season(n, "threads", 2), run_season(n, "threads", 1)
        again[str(n)] = {
            "thread_control": control,
            "seasons": [two, one],
            "threads_2_vs_1": one["wall_s_games"] / two["wall_s_games"],
            "threads_2_vs_1_cpu": two["cpu_s"] / one["cpu_s"],
        }
        print(
            f"season {n:,} games, threads x2 vs x1 (playing), second pair: {again[str(n)]['threads_2_vs_1']:.2f}x "
            f"(control before it {control['ratio']:.2f}x / SIMD {control['ratio_simd']:.2f}x)"
        )
    results["thread_pairs_again"] = again
    receipts = {
        s["receipt"]
        for s in seasons + [s for a in again.values() for s in a["seasons"]]
        if s["games"] == 2430 and s["mode"] == GAME_MODE.name.lower()
    }
    results["season_receipts_identical"] = len(receipts) == 1
    results["pbp_receipt_unchanged"] = seasons[0]["receipt"] == seasons[2]["receipt"]
    results["pbp_overhead_ratio"] = seasons[2]["wall_s_end_to_end"] / seasons[0]["wall_s_end_to_end"]
    # Threads side by side: 162 games on 2 threads against 1 (playing time, excluding start-up).
    results["season_threads_2_vs_1"] = seasons[1]["wall_s_games"] / seasons[0]["wall_s_games"]
    print(f"season 162 games, threads x2 vs x1 (playing): {results['season_threads_2_vs_1']:.2f}x")
    results["season_2430_threads_2_vs_1"] = seasons[6]["wall_s_games"] / seasons[5]["wall_s_games"]
    results["season_2430_threads_2_vs_1_cpu"] = seasons[6]["cpu_s"] / seasons[5]["cpu_s"]
    print(f"season 2,430 games, threads x2 vs x1 (playing): {results['season_2430_threads_2_vs_1']:.2f}x")
    for n, (two, one) in ((162, (0, 1)), (2430, (5, 6))):
        ratio = seasons[one]["wall_s_games_stage"] / seasons[two]["wall_s_games_stage"]
        results[f"season_{n}_threads_2_vs_1_games_stage"] = ratio
        print(
            f"season {n:,} games, threads x2 vs x1 (the games stage, teams built before): {ratio:.2f}x "
            f"({seasons[two]['wall_s_games_stage']:.2f} s vs {seasons[one]['wall_s_games_stage']:.2f} s)"
        )
        # End to end, start-up (imports, Numba's first use, the teams) included: what a user waits for.
        ratio = seasons[one]["wall_s_end_to_end"] / seasons[two]["wall_s_end_to_end"]
        results[f"season_{n}_threads_2_vs_1_end_to_end"] = ratio
        print(f"season {n:,} games, threads x2 vs x1 (end to end, start-up included): {ratio:.2f}x")
    full = next(s for s in seasons if s["games"] == 2430)
    fast = next(s for s in seasons if s["games"] == 2430 and s["mode"] == "fast")
    results["season_2430_fast_vs_game_mode"] = fast["wall_s_end_to_end"] / full["wall_s_end_to_end"]
    results["season_2430_fast_vs_game_mode_cpu"] = fast["cpu_s"] / full["cpu_s"]
    print(
        f"season 2,430 games, FAST vs {GAME_MODE.name} (end to end): "
        f"{results['season_2430_fast_vs_game_mode']:.2f}x wall, {results['season_2430_fast_vs_game_mode_cpu']:.2f}x CPU-s"
    )
    results["calibration_all_within"] = all(r["within"] for r in full["calibration"])
    results["load_average_end"] = list(os.getloadavg())
    print("\nleague line, 2,430 games, at the stated tolerances (no standard-error allowance):")
    for r in full["calibration"]:
        print(
            f"  {r['stat']:>18} {r['simulated']:>9.4f} MLB {r['mlb']:>8.4f} diff {r['difference']:>+8.4f} "
            f"(tol {r['tolerance']:g}) {'ok' if r['within'] else 'OUTSIDE'}"
        )
    bench.record("batted_ball", "bench", results)
    acc, ext = results["trajectories"]["accurate"], results["trajectories"]["extreme"]
    bench.summary_row(
        "batted_ball",
        "trajectories",
        accurate_per_s_core=round(acc["batch_per_s_core"]),
        extreme_per_s_core=round(ext["batch_per_s_core"]),
        single_accurate_per_s_core=round(acc["single_kernel_per_s_core"]),
        single_vs_reference=round(acc["single_vs_reference"], 1),
        batch_vs_reference=round(acc["batch_vs_reference"], 1),
    )
    bench.summary_row(
        "batted_ball",
        "games",
        ms_per_game=round(results["games"]["ms_per_game_wall"], 2),
        games_per_hour_core=round(results["games"]["games_per_hour_core"]),
    )
    bench.summary_row(
        "batted_ball",
        "season",
        season_162_s=round(seasons[0]["wall_s_end_to_end"], 2),
        season_2430_s=round(full["wall_s_end_to_end"], 2),
        season_2430_cpu_s=round(full["cpu_s"], 1),
        within_mlb=sum(r["within"] for r in full["calibration"]),
    )


if __name__ == "__main__":
    main()
