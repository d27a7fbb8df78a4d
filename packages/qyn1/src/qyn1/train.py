"""Build the shipped model tables from the training half of the stdlib corpus and the PyPI training wheels.

Run ``python -m qyn1.train`` (writes ``qyn1/data/tables-v<N>.npz``; the wheels of
``qyn1.corpus.PYPI_TRAINING`` must be in the cache first, the message says how to fetch them). Deterministic:
same corpus, same tables. Of the stdlib only files with ``qyn1.corpus.is_training(relpath)`` are read.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from qyn1 import corpus, rans
from qyn1.tables import _FILE

# Weight of a PyPI training file against a stdlib training file (held-out per-file ratio, docs/perf/qyn1.md
# "Ratio, round 10": 0.25 6.915, 0.12 6.934, 0.07 6.936, 0.05 6.933; the stdlib alone 6.888): the other
# projects fill in names, words and contexts the stdlib's half lacks without outvoting the stdlib's own style.
PYPI_WEIGHT = 0.07


def byte_o1_counts(datas) -> np.ndarray:
    counts = np.zeros((256, 256), dtype=np.int64)
    for d in datas:
        a = np.frombuffer(d, dtype=np.uint8).astype(np.int64)
        if len(a):
            prev = np.empty_like(a)
            prev[0] = 0
            prev[1:] = a[:-1]
            counts += np.bincount(prev * 256 + a, minlength=65536).reshape(256, 256)
    return counts


def build(root: Path | None = None, pypi: list[bytes] | None = None, pypi_weight: float = PYPI_WEIGHT):
    """Every table array: byte models from the stdlib's training half, the Python model from that half and
    the ``pypi`` training files (weighted ``pypi_weight``)."""
    train, _ = corpus.split(root)
    datas = [p.read_bytes() for p in train]
    out: dict[str, np.ndarray] = {}
    c = byte_o1_counts(datas).astype(np.float64) + 0.05
    out["bytes_o1.freq"] = rans.quantize(c, 12).astype(np.uint16)
    out["bytes_o1.o1map"] = np.arange(256, dtype=np.int32)
    out["bytes_o1.scale"] = np.array(12)
    try:
        from qyn1.python import train as pyenc
    except ImportError:  # pragma: no cover - during bootstrap
        return out
    pypi = pypi or []
    out.update(pyenc.train_tables(datas + pypi, weights=[1.0] * len(datas) + [pypi_weight] * len(pypi)))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / _FILE)
    ap.add_argument(
        "--pypi-cache", type=Path, default=corpus.PYPI_CACHE, help="folder of the training wheels"
    )
    ap.add_argument("--pypi-weight", type=float, default=PYPI_WEIGHT)
    ap.add_argument("--stdlib-only", action="store_true", help="no PyPI training files (tables v2's corpus)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        pypi = [] if args.stdlib_only else corpus.pypi_training_files(args.pypi_cache)
    except FileNotFoundError as e:
        raise SystemExit(str(e)) from None
    arrays = build(pypi=pypi, pypi_weight=args.pypi_weight)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {len(arrays)} arrays) "
        f"in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
