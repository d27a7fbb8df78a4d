"""A small resumable command for the resume tests: N tasks, each writes one file into the output folder.

    python -m tests.perfkit._resume_app OUT --tasks 12 --seed 1 --log LOG [--resume] [--executor processes]

Each task appends its key to LOG when it starts, then sleeps, so a test can kill the run mid-way and
count what a resumed run computes again.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from perfkit.job import job
from perfkit.parallel import Task, map_tasks, rng_for


def unit(payload):
    out, log, seed, key, sleep_s = payload
    with open(log, "a") as fh:
        fh.write(f"{key}\n")
    time.sleep(sleep_s)
    data = rng_for(seed, key).integers(0, 1000, 1000)
    np.save(Path(out) / f"{key}.npy", data)
    return int(data.sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tasks", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", required=True)
    ap.add_argument("--sleep", type=float, default=0.2)
    ap.add_argument("--executor", default="serial")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    config = {"tasks": args.tasks, "seed": args.seed, "executor": args.executor}
    with job(
        "test",
        "resume-app",
        config=config,
        directories=[args.out],
        resumable=True,
        resume=args.resume,
        force=True,
    ) as j:
        staged = j.path(args.out)
        tasks = [
            Task(
                f"u{i:02d}",
                (str(staged), args.log, args.seed, f"u{i:02d}", args.sleep),
                files=(f"u{i:02d}.npy",),
            )
            for i in range(args.tasks)
        ]
        results = map_tasks(unit, tasks, executor=args.executor, workers=2, phase="units")
        (staged / "total.txt").write_text(f"{sum(r.value for r in results.values())}\n")
        j.run.result("total", sum(r.value for r in results.values()))
    print(os.getpid())


if __name__ == "__main__":
    main()
