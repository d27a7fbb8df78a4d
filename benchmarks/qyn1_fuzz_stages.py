"""How deep structure-aware fuzz cases get into the qyn1 reader, per package section.

    uv run --frozen python benchmarks/qyn1_fuzz_stages.py --cases 2000

Each case mutates one section of a valid solid package (header, trailer, a chunk's ciphertext, the plaintext
file table re-encrypted with the key, or a chunk's plaintext payload re-encrypted with the table updated)
and is classified by the deepest reader stage it reached (``tests/qyn1/_fuzz_stages.py``). Any exception
other than qyn1's own clean errors fails the run. The counts are recorded to benchmarks/results/qyn1.jsonl.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.qyn1._fuzz_stages

from perfkit import bench
from tests.qyn1 import _fuzz_stages as fz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=2000, help="cases per section")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = fz.run_cases(args.cases, seed=args.seed)
    print(f"{args.cases} cases per section, seed {args.seed}, {time.perf_counter() - t0:.1f} s\n")
    print(fz.stage_table(res))
    bench.record(
        "qyn1",
        "fuzz_stages",
        {"cases": args.cases, "seed": args.seed, "stages": {k: dict(v) for k, v in res.items()}},
    )
    print("\nrecorded to benchmarks/results/qyn1.jsonl")


if __name__ == "__main__":
    main()
