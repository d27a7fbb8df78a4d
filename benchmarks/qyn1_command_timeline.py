"""Where the wall of the ``qyn1 unpack`` / ``qyn1 verify`` COMMAND goes, and the same command from two source trees
alternated (ABBA), each run a new process as a user starts it.

    flock /tmp/bench.lock uv run --frozen python benchmarks/qyn1_command_timeline.py \\
        --package p.qyn --key k.key --rounds 8 --command unpack base=/tmp/base/packages/qyn1/src new=

Each ``NAME=PYTHONPATH`` is a tree (an empty path: the installed checkout); ``NAME=PATH;VAR=VALUE`` also sets an
environment variable for that tree's runs. A tree named ``base`` runs ``verify`` without ``--workers`` (the
option is older than parallel verify); ``--workers 0`` gives no ``--workers`` at all (the command's default).
Per run, from the run report's ``events.jsonl`` and the process's exit:
``to_run`` (interpreter start, imports, option parsing, until the run starts), ``to_stage`` (run start to the
first stage: key, the parent's own imports), each stage (``warm_up``: the fork server's preload; ``unpack`` or
``verify``), ``exit`` (last stage to the process's exit). Standard output and error go to files, not pipes (before
perfkit's c1ef2f0 the fork server held a pipe open ~0.35 s after the command's exit). Times are wall clock on a
shared machine: compare the trees of one invocation only (the pairs' ratio is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QYN1 = str(Path(sys.executable).parent / "qyn1")


def one_run(command: str, name: str, spec: str, args, work: Path, i: int) -> dict[str, float]:
    path, *extra = spec.split(";")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(x.split("=", 1) for x in extra)
    if path:
        env["PYTHONPATH"] = path
    report = work / f"report-{name}-{i}"
    argv = [QYN1, command, str(args.package), "--key", str(args.key), "-q", "--report-dir", str(report)]
    if command == "unpack":
        argv += ["-o", str(work / f"out-{name}-{i}")]
    if args.workers and (command == "unpack" or name != "base"):
        argv += ["--workers", str(args.workers)]
    with open(work / f"stderr-{name}-{i}", "w+") as err:
        t0 = time.time()
        p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        t_exit = time.time()
        err.seek(0)
        if p.returncode != 0:
            raise SystemExit(f"{name}: exit {p.returncode}: {err.read()}")
    events = [json.loads(line) for line in (report / "events.jsonl").read_text().splitlines()]
    t_run = next(e["t"] for e in events if e["event"] == "run_start")
    start = {e["stage"]: e["t"] for e in events if e["event"] == "stage_start"}
    end = {e["stage"]: e["t"] for e in events if e["event"] == "stage_complete"}
    return {
        "process": t_exit - t0,
        "to_run": t_run - t0,
        "to_stage": min(start.values()) - t_run,
        **{k: end[k] - start[k] for k in start},
        "exit": t_exit - max(end.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", help="NAME=PYTHONPATH[;VAR=VALUE] (one or two)")
    ap.add_argument("--package", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    ap.add_argument("--command", choices=("unpack", "verify"), default="unpack")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2, help="0: no --workers option (the command's default)")
    args = ap.parse_args()
    trees = [t.split("=", 1) for t in args.trees]
    work = Path(tempfile.mkdtemp(prefix="qyn1-cmd-"))
    rows: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    try:
        for i in range(args.rounds):
            for name, spec in trees if i % 2 == 0 else trees[::-1]:
                row = one_run(args.command, name, spec, args, work, i)
                rows[name].append(row)
                phases = " ".join(f"{k} {v:.3f}" for k, v in row.items())
                print(f"{name:<6} {i}: {phases}  load {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, runs in rows.items():
        medians = " ".join(f"{k} {statistics.median(r[k] for r in runs):.3f}" for k in runs[0])
        print(f"{name:<6} median: {medians}")
    if len(trees) == 2:
        (a, _), (b, _) = trees
        q = [x["process"] / y["process"] for x, y in zip(rows[a], rows[b], strict=True)]
        print(
            f"process {a}/{b} per round: {' '.join(f'{v:.2f}' for v in q)}  median {statistics.median(q):.3f}"
        )


if __name__ == "__main__":
    main()
