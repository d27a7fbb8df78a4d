"""What bounds the bar5s kernel on this host (issue 14 item 7): the kernel against a ceiling, in one run.

    .venv/bin/python benchmarks/probe_mbp10.py                    # timings, in cache, alternating
    .venv/bin/python benchmarks/probe_mbp10.py --base 6d697d4     # ... and the kernel of an earlier commit
    .venv/bin/python benchmarks/probe_mbp10.py --base HEAD --ablate no_ofi   # ... or ablations (see ABLATIONS)
    .venv/bin/python benchmarks/probe_mbp10.py --count            # instructions per record (valgrind)
    .venv/bin/python benchmarks/probe_mbp10.py --decode           # a day's floor: its decode alone
    .venv/bin/python benchmarks/probe_mbp10.py --warm             # in cache: warmed by the kernel vs by a read
    .venv/bin/python benchmarks/probe_mbp10.py --blocks 11400 11400+read 2000   # day_bars by block size

On the benchmark's one-instrument day (reports/bench-mbp10/days, from bench_mbp10.py), in 2,000-record
blocks (736 KB, inside one core's L2), each block read once untimed and then timed (thread CPU time), the
variants alternating block by block so the host's swings hit them alike:

- `kernel`: `bar5s_multi` as `compute_bars` calls it, one instrument (every check, counter and output of the
  real kernel; `bar5s_chunk` in revisions before its fold into `bar5s_multi`);
- each `--base`: the same from another commit's kernels.py, or from a file (e.g. a change being tried),
  named by the commit or the file's stem; each `--ablate NAME`: this checkout's kernels.py with one part of
  its work taken out (`ABLATIONS`), named NAME. A commit must give the same bars as `kernel`, value for
  value (a file or an ablation may not: said once). The module matters on this host: the same source took
  0.89-0.98x the `kernel` slot's time when loaded from a file (two file copies agree within 1-2.5%, in
  every run of 2026-12-07): compare a change as a file against the code as it is loaded as a file too
  (e.g. `--base HEAD --base /tmp/changed.py`);
- `read`: a ceiling: a Numba loop that only reads the bytes the kernel reads from the same records (the
  header fields and the 30 book words of every record) and folds them into one word: memory/cache cost with
  no work;
- `header`: the header fields only (ts_event, price, size, action, side, flags);
- `clock`: a chain of dependent multiply + xor steps (4 cycles each) beside each block: the core's clock in
  the same run, which turns each variant's time into cycles a record.

`--count` runs this script under valgrind (callgrind, instrumentation switched on only around each variant's
pass over the first 100,000 records, by the client requests of perfkit's gate) and prints, per record, the
instructions, the conditional branches and how many of them valgrind's simulated branch predictor missed
(`--branch-sim=yes`: a simple model, not the host's predictor; the host has no hardware counters here).
`--decode` times, alternating, in the process's CPU seconds (best of 3 per round): the pipeline's decode
alone (`io.DbnStream`: zstd into its reused buffer, block by block, nothing done with the blocks) and
`day_bars` (decode + every check + bar5s), for the one-instrument day and the 15-instrument parent-pull
day (every instrument): the decode is the floor under the records/s of a day on one core.
`--warm` times the package's kernel over the day in the same blocks, each block brought into cache untimed
in one of three ways, alternating: by a pass of the kernel itself over it (as the benchmark's "input in cache"
line and every variant above: the timed pass then meets records the branch predictor has just seen), by a
read of its bytes only (`read_all`: fresh records, as in a real run), or not at all (from memory).
`--blocks N ...` runs `day_bars` on both days with the streamed block size (`io.DbnStream`'s
`chunk_records`, 11,400 in the pipeline) set to each N in turn, alternating, and splits each run's thread
CPU into the bar kernel's calls, `block_facts`' calls and the rest (the zstd decode and the per-block Python);
N+read also reads each block's bytes (`read_all`) just before its kernel call, outside the kernel's time.
Measurements, not benchmark records: nothing is written to benchmarks/results.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

REPO = Path(__file__).resolve().parents[1]
DAY = REPO / "reports" / "bench-mbp10" / "days" / "ES-2024-01-02.dbn.zst"
MULTI = REPO / "reports" / "bench-mbp10" / "multi-15" / "ES.FUT-2024-01-02.dbn.zst"
BLOCK = 2_000
COUNT_RECORDS = 100_000


@njit(cache=True, nogil=True)
def read_all(w64, w32, b8):
    """Every byte the kernel reads from a record (header fields, 10 levels of prices and sizes), folded."""
    acc = np.int64(0)
    for i in range(w64.shape[0]):
        acc ^= w64[i, 1] + w64[i, 2] + np.int64(w32[i, 6]) + np.int64(b8[i, 28] ^ b8[i, 29] ^ b8[i, 30])
        for k in range(10):
            acc ^= w64[i, 6 + 4 * k] + w64[i, 7 + 4 * k] + w64[i, 8 + 4 * k]
    return acc


@njit(cache=True, nogil=True)
def read_header(w64, w32, b8):
    """The header fields only: ts_event, price, size, action, side, flags."""
    acc = np.int64(0)
    for i in range(w64.shape[0]):
        acc ^= w64[i, 1] + w64[i, 2] + np.int64(w32[i, 6]) + np.int64(b8[i, 28] ^ b8[i, 29] ^ b8[i, 30])
    return acc


#: Ablations of this checkout's kernels.py (`--ablate NAME`): text to find -> what replaces it. Each takes one
#: part of the kernel's work out (other bars; timing and counting only). A find that fails says the kernel
#: changed and the ablation must be updated.
ABLATIONS = {
    "no_ofi": [("            e1, e10 = ofi(w64, i, lbw[ins])",
                "            e1, e10 = np.int64(0), np.int64(0)")],
    "no_lookup": [("                for k in range(N_LEVELS):\n                    if w64[i, px0 + 4 * k] == p:",
                   "                for k in range(0):\n                    if w64[i, px0 + 4 * k] == p:"),
                  ("                    for k in range(N_LEVELS):\n                        if w64[pi, px0",
                   "                    for k in range(0):\n                        if w64[pi, px0")],
    "no_flow": [("            if have_lb == 1 and (s in (SIDE_BID, SIDE_ASK)) and p != UNDEF_PRICE:",
                 "            if have_lb == 7 and (s in (SIDE_BID, SIDE_ASK)) and p != UNDEF_PRICE:")],
    "no_trade": [("        if a == ACT_TRADE:\n", "        if a == ACT_TRADE and have_lb == 7:\n")],
    "no_close": [("            if row >= 0:\n                _unpack_book(lbw[ins], lb)\n",
                  "            if row >= 0 and have_lb == 7:\n                _unpack_book(lbw[ins], lb)\n")],
}  # fmt: skip


def ablation_file(name: str) -> str:
    """This checkout's kernels.py with one ablation, written to a temporary file (its path)."""
    src = (REPO / "packages" / "mbp10" / "src" / "mbp10" / "kernels.py").read_text()
    for find, replace in ABLATIONS[name]:
        if find not in src:
            raise SystemExit(f"ablation {name}: kernels.py no longer holds {find.strip()[:60]!r}")
        src = src.replace(find, replace)
    path = Path(tempfile.gettempdir()) / f"{name}.py"
    path.write_text(src)
    return str(path)


CLOCK_STEPS = 50_000  # per block: ~0.07 ms


@njit(cache=True, nogil=True)
def clock_chain(n, x):
    """n dependent steps of a 64-bit multiply (3 cycles) and a xor (1 cycle): 4n cycles at any load."""
    for i in range(n):
        x = (x * x) ^ i
    return x


def load_kernels(rev: str | None):
    """mbp10.kernels of this checkout, or kernels.py of commit `rev` (or the file `rev`, e.g. an ablation)
    loaded as a module of its own."""
    if rev is None:
        import mbp10.kernels

        return mbp10.kernels
    if rev.endswith(".py"):
        src, rev = Path(rev).read_text(), Path(rev).stem
    else:
        src = subprocess.run(["git", "show", f"{rev}:packages/mbp10/src/mbp10/kernels.py"], cwd=REPO,
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    folder = Path(tempfile.gettempdir()) / f"mbp10-probe-{rev}"
    folder.mkdir(exist_ok=True)
    name = f"kernels_base_{rev}"
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != src:
        path.write_text(src)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Numba's cache finds the kernels' module by name
    spec.loader.exec_module(module)
    return module


class KernelPass:
    """One kernel's state and output over the day, fed block by block (a scratch copy first, untimed): the
    one-instrument fold of `compute_bars` (`bar5s_multi`, one slot; before 2026-12-07 14:45, `bar5s_chunk`)."""

    def __init__(self, kernels, rows: int):
        self.k = kernels
        self.chunk = hasattr(kernels, "bar5s_chunk")  # a revision from before the fold into bar5s_multi
        self.out = kernels.new_output(rows)
        self.scratch = kernels.new_output(rows)
        if self.chunk:
            # revisions before 2026-12-07 took a `rows` argument after the words (None: every record)
            self.rows = (None,) if "rows" in kernels.bar5s_chunk.py_func.__code__.co_varnames[:4] else ()
            self.state = kernels.new_state()
        else:
            self.state = [*kernels.new_slot_state(1), np.zeros(1, np.int64)]  # ... and the rows used
            self.row_slot = np.zeros(rows, np.int64)
            self.slot, self.keep, self.ip = (
                np.zeros(BLOCK, np.int64),
                np.zeros(1, np.int64),
                np.zeros(1, np.int64),
            )

    def _fold(self, words, state, out):
        if self.chunk:
            self.k.bar5s_chunk(*words, *self.rows, *state, *out)
            return
        self.ip[0] = -1
        self.k.bar5s_multi(*words, 0, self.slot[: len(words[0])], self.keep, self.ip, *state, out[0],
                           self.row_slot, out[1], out[2])  # fmt: skip

    def warm(self, words):
        self._fold(words, [a.copy() for a in self.state], self.scratch)

    def __call__(self, words):
        self._fold(words, self.state, self.out)

    def result(self):
        if self.chunk:
            n = self.k.bar5s_finish(self.state[0], self.state[1], self.out[1], self.out[2])
        else:
            n = self.k.bar5s_multi_finish(
                self.state[0], self.state[1], self.state[4], self.out[1], self.out[2]
            )
        return n, self.out[1][:n], self.out[2][:n]


def variants(rec, bases):
    from mbp10.bars import compute_bars

    rows = compute_bars(rec).num_rows + 1
    out = {"kernel": KernelPass(load_kernels(None), rows)}
    for rev in bases:
        out[Path(rev).stem if rev.endswith(".py") else rev] = KernelPass(load_kernels(rev), rows)
    out["read"] = lambda words: read_all(*words)
    out["header"] = lambda words: read_header(*words)
    out["clock"] = lambda words: clock_chain(CLOCK_STEPS, len(words[0]))
    return out


def variants_names(bases):
    return ["kernel", *(Path(rev).stem if rev.endswith(".py") else rev for rev in bases)]


def time_in_cache(rec, bases, rounds):
    from mbp10.records import record_words

    w64, w32, b8 = record_words(rec)
    runs = variants(rec, bases)
    cpu = {name: [] for name in runs}
    for r in range(rounds):
        spent = dict.fromkeys(runs, 0.0)
        order = list(runs)[::-1] if r % 2 else list(runs)  # each variant first in every other round
        fresh = {name: (KernelPass(runs[name].k, len(runs[name].out[0])) if isinstance(runs[name], KernelPass)
                        else runs[name]) for name in order}  # fmt: skip
        for s in range(0, len(rec), BLOCK):
            words = (w64[s : s + BLOCK], w32[s : s + BLOCK], b8[s : s + BLOCK])
            for name, f in fresh.items():
                if isinstance(f, KernelPass):
                    f.warm(words)
                else:
                    f(words)
                c = time.thread_time()
                f(words)
                spent[name] += time.thread_time() - c
        for name in runs:
            cpu[name].append(spent[name])
        results = [fresh[name].result() for name in runs if isinstance(fresh[name], KernelPass)]
        for rev, (n, oi, of) in zip(bases, results[1:], strict=True):  # a commit: the same bars
            same = n == results[0][0] and np.array_equal(oi, results[0][1])
            same = same and np.array_equal(of, results[0][2], equal_nan=True)
            assert same or rev.endswith(".py"), f"the kernel of {rev} gave other bars"
            if not same and r == 0:
                print(f"{rev} gives other bars (an ablation)")
    return cpu


def count_child(rec, bases):
    """Inside valgrind: each variant over the first COUNT_RECORDS records, in blocks, counted alone."""
    from mbp10.records import record_words
    from perfkit.gate import counted

    w64, w32, b8 = record_words(rec)
    blocks = [(w64[s : s + BLOCK], w32[s : s + BLOCK], b8[s : s + BLOCK]) for s in range(0, len(rec), BLOCK)]
    runs = variants(rec, bases)
    name = os.environ["PROBE_VARIANT"]
    f = runs[name]
    for words in blocks[:1]:  # compile / load from the cache, outside the count
        f.warm(words) if isinstance(f, KernelPass) else f(words)
    with counted():
        for words in blocks:
            f(words)


def count(bases, ceilings=True):
    names = [*variants_names(bases), *(["read", "header"] if ceilings else [])]
    env = {**os.environ, "NUMBA_CPU_NAME": "haswell", "NUMBA_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    per = {}
    for name in names:
        with tempfile.TemporaryDirectory(prefix="mbp10-probe-") as tmp:
            out = os.path.join(tmp, "cg.out")
            argv = [sys.executable, __file__, "--child-count", *[x for rev in bases for x in ("--base", rev)]]
            subprocess.run(argv, env={**env, "PROBE_VARIANT": name}, check=True)  # native: fill Numba's cache
            subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", "--instr-atstart=no",
                            "--branch-sim=yes", f"--callgrind-out-file={out}", *argv],
                           env={**env, "PROBE_VARIANT": name}, check=True, capture_output=True)  # fmt: skip
            lines = Path(out).read_text().splitlines()
            events = next(ln for ln in lines if ln.startswith("events:")).split()[1:]
            total = [ln for ln in lines if ln.startswith(("totals:", "summary:"))][-1].split()[1:]
            per[name] = {e: int(v) / COUNT_RECORDS for e, v in zip(events, total, strict=False)}
            print(f"{name}: per record {per[name]['Ir']:.0f} instructions, {per[name]['Bc']:.0f} conditional "
                  f"branches, {per[name]['Bcm']:.2f} of them mispredicted by valgrind's simulated predictor "
                  f"(callgrind --branch-sim=yes, NUMBA_CPU_NAME=haswell)")  # fmt: skip
    return per


def decode_floor(rounds):
    """CPU seconds of the decode alone against decode + bar5s, for both days, alternating."""
    from mbp10.io import DbnStream
    from mbp10.pipeline import day_bars
    from mbp10.symbology import Selection

    def decode(path):
        n = 0
        with DbnStream(path, check_records=False) as stream:
            for rec in stream:
                n += len(rec)
        return n

    def bars(path, sel):
        return day_bars(path, selection=sel)[1].records

    steps = {
        "one day: decode": lambda: decode(DAY),
        "one day: day_bars": lambda: bars(DAY, None),
        "15 instruments: decode": lambda: decode(MULTI),
        "15 instruments: day_bars": lambda: bars(MULTI, Selection(spreads=True)),
    }
    records = {name: f() for name, f in steps.items()}  # warm: imports, kernels, page cache
    cpu = {name: [] for name in steps}
    for _ in range(rounds):
        for name, f in steps.items():
            best = np.inf
            for _ in range(3):
                c = time.process_time()
                f()
                best = min(best, time.process_time() - c)
            cpu[name].append(best)
    for name, v in cpu.items():
        med = float(np.median(v))
        print(f"{name}: median {med:.3f} CPU-s = {records[name] / med / 1e6:.1f} M records per CPU-second "
              f"(runs {', '.join(f'{x:.3f}' for x in v)})")  # fmt: skip


def warm_ways(rec, rounds):
    """Thread CPU of the kernel over the day when each block is warmed by the kernel, by a read, or not."""
    from mbp10 import kernels
    from mbp10.bars import compute_bars
    from mbp10.records import record_words

    w64, w32, b8 = record_words(rec)
    rows = compute_bars(rec).num_rows + 1

    def one(way):
        fold = KernelPass(kernels, rows)
        cpu = 0.0
        for s in range(0, len(rec), BLOCK):
            part = (w64[s : s + BLOCK], w32[s : s + BLOCK], b8[s : s + BLOCK])
            if way == "kernel":
                fold.warm(part)
            elif way == "read":
                read_all(*part)
            c = time.thread_time()
            fold(part)
            cpu += time.thread_time() - c
        return cpu

    ways = ["kernel", "read", "none"]
    for way in ways:
        one(way)
    cpu = {way: [] for way in ways}
    for r in range(rounds):
        for way in ways[::-1] if r % 2 else ways:
            cpu[way].append(one(way))
    for way, v in cpu.items():
        med = float(np.median(v))
        print(f"warmed by {way}: median {med:.4f} CPU-s = {len(rec) / med / 1e6:.1f} M records/s "
              f"(runs {', '.join(f'{x:.4f}' for x in v)})")  # fmt: skip


def block_sizes(sizes, rounds):
    """Thread CPU of `day_bars` (both days) by streamed block size: the kernel, block_facts, the rest."""
    import functools

    import mbp10.bars
    import mbp10.io
    from mbp10.pipeline import day_bars
    from mbp10.symbology import Selection

    chunks, kernel, facts = (
        (mbp10.io.CHUNK_RECORDS, mbp10.io.AHEAD_CHUNK_RECORDS),
        mbp10.bars.bar5s_multi,
        mbp10.bars.block_facts,
    )
    spent = {"kernel": 0.0, "block_facts": 0.0}
    read_first = [False]

    def timed(name, f, *args):
        if read_first[0] and f is kernel:
            read_all(*args[:3])
        c = time.thread_time()
        out = f(*args)
        spent[name] += time.thread_time() - c
        return out

    mbp10.bars.bar5s_multi = functools.partial(timed, "kernel", kernel)
    mbp10.bars.block_facts = functools.partial(timed, "block_facts", facts)  # Instruments.scan calls it
    days = {"one day": (DAY, None), "15 instruments": (MULTI, Selection(spreads=True))}
    cpu = {(day, size): {"total": [], "kernel": [], "block_facts": []} for day in days for size in sizes}
    records = {}
    try:
        for day, (path, sel) in days.items():
            day_bars(path, selection=sel)  # warm: imports, kernels, page cache
            for r in range(rounds):
                for size in sizes[::-1] if r % 2 else sizes:
                    read_first[0] = size.endswith("+read")
                    # scan_dbn reads the block size from these at each call (it passes it to DbnStream)
                    mbp10.io.CHUNK_RECORDS = mbp10.io.AHEAD_CHUNK_RECORDS = int(size.split("+")[0])
                    spent.update(kernel=0.0, block_facts=0.0)
                    c = time.thread_time()
                    records[day] = day_bars(path, selection=sel)[1].records
                    cpu[day, size]["total"].append(time.thread_time() - c)
                    for name in ("kernel", "block_facts"):
                        cpu[day, size][name].append(spent[name])
    finally:
        (mbp10.io.CHUNK_RECORDS, mbp10.io.AHEAD_CHUNK_RECORDS), mbp10.bars.bar5s_multi = chunks, kernel
        mbp10.bars.block_facts = facts
    for (day, size), v in cpu.items():
        med = {name: float(np.median(x)) for name, x in v.items()}
        print(f"{day}, {size}-record blocks: day_bars median {med['total']:.3f} CPU-s (runs "
              f"{', '.join(f'{x:.3f}' for x in v['total'])}); kernel {med['kernel']:.4f} "
              f"({records[day] / med['kernel'] / 1e6:.1f} M records/s), block_facts {med['block_facts']:.4f}, the rest "
              f"{med['total'] - med['kernel'] - med['block_facts']:.3f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--base", action="append", default=[], help="also time kernels.py of this commit (or file)"
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count", action="store_true", help="instructions per record under valgrind")
    ap.add_argument("--ablate", action="append", default=[], choices=sorted(ABLATIONS),
                    help="also time this checkout's kernel with one part taken out")  # fmt: skip
    ap.add_argument("--no-ceilings", action="store_true", help="--count: the kernels only")
    ap.add_argument("--decode", action="store_true", help="a day's decode alone against day_bars")
    ap.add_argument("--warm", action="store_true", help="in cache: warmed by the kernel, by a read, or not")
    ap.add_argument("--blocks", nargs="+", help="day_bars by streamed block size (N or N+read)")
    ap.add_argument("--child-count", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from mbp10.dbn import read_dbn

    args.base += [ablation_file(name) for name in args.ablate]
    rec = read_dbn(DAY).records
    if args.child_count:
        count_child(np.ascontiguousarray(rec[:COUNT_RECORDS]), args.base)
        return
    if args.count:
        print(json.dumps(count(args.base, not args.no_ceilings)))
        return
    load = os.getloadavg()[0]
    if args.warm:
        warm_ways(rec, args.rounds)
        print(f"load {load:.2f} -> {os.getloadavg()[0]:.2f}; {args.rounds} rounds, {BLOCK:,}-record blocks")
        return
    if args.blocks:
        block_sizes(args.blocks, args.rounds)
        print(f"load {load:.2f} -> {os.getloadavg()[0]:.2f}; {args.rounds} rounds")
        return
    if args.decode:
        decode_floor(args.rounds)
        print(f"load {load:.2f} -> {os.getloadavg()[0]:.2f}; {args.rounds} rounds")
        return
    cpu = time_in_cache(rec, args.base, args.rounds)
    med = {name: float(np.median(v)) for name, v in cpu.items()}
    blocks = -(-len(rec) // BLOCK)
    ghz = 4 * CLOCK_STEPS * blocks / med.pop("clock") / 1e9
    for name, v in med.items():
        print(f"{name}: median {v:.4f} CPU-s over {len(rec):,} records = {len(rec) / v / 1e6:.1f} M records/s, "
              f"{v * ghz * 1e9 / len(rec):.0f} cycles a record (runs {', '.join(f'{x:.4f}' for x in cpu[name])})")  # fmt: skip
    print(
        f"clock: {ghz:.2f} GHz (a chain of dependent multiply + xor, 4 cycles a step, timed beside each block)"
    )
    print(f"load {load:.2f} -> {os.getloadavg()[0]:.2f}; {args.rounds} rounds, {BLOCK:,}-record blocks")


if __name__ == "__main__":
    main()
