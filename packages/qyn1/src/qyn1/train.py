"""Build the shipped model tables from the training half of the stdlib corpus.

Run ``python -m qyn1.train`` (writes ``qyn1/data/tables-v<N>.npz``). Deterministic: same corpus, same
tables. Only files with ``qyn1.corpus.is_training(relpath)`` are read.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from qyn1 import corpus, rans
from qyn1.tables import _FILE


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


def build(root: Path | None = None) -> dict[str, np.ndarray]:
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
    out.update(pyenc.train_tables(datas))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / _FILE)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    arrays = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {len(arrays)} arrays) "
        f"in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
