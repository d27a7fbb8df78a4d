"""The Python chunks of whole packages, as ``qyn1 pack`` plans them (128 KiB): what the cm margin and a warm start
would change.

    uv run --frozen python benchmarks/qyn1_python_chunks.py --packages stdlib,rich,numba,pandas
    uv run --frozen python benchmarks/qyn1_python_chunks.py --packages rich,numba,pandas --warm 1,2,4

``stdlib`` is every ``.py`` of the corpus (``qyn1.corpus``) copied flat into one temporary folder, as the
decode benchmarks pack it; the others are installed packages of this checkout's ``.venv``.

**cm margin** (``codec.CM_PYTHON_MARGIN``): per chunk the structural (or byte rANS) payload, and where the zstd
probe lets the general coders try (``codec.PROBE_MARGIN``) the best of zstd-19/brotli-11 and the cm payload.
Prints, per margin m, the package's Python bytes (16-byte tag per chunk) when cm may take a chunk only if its
payload is at most 1/m of the structural one, how many chunks and how much source cm then decodes (~0.7-1 MB/s
per core instead of ~20 structural).

**warm start** (``--warm``): what a structural chunk would cost if the models started from the K python chunks
before it in the package (up to 4 x 128 KiB). The structural models are static tables; only the match
histories, the name lists and the successor tables carry across chunks, so the chunk's warm size is the
marginal size ``len(encode_text(ctx + chunk)) - len(encode_text(ctx))`` (ctx = the K chunks before it), and the
same per stream as ideal code lengths (``-log2 p`` of every coded symbol, as ``qyn1_heldout.py --streams``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sysconfig
import tempfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from qyn1 import cm, codec, corpus, pipeline
from qyn1.python import encode_text
from qyn1.python import pipeline as pe

from perfkit import bench

NONE = 1 << 40  # "not tried"
TAG = 16
CHUNK = 128 * 1024
MARGINS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0, None)  # None: cm never on a structural chunk
SITE = Path(sysconfig.get_paths()["purelib"])


def chunks(folder: Path) -> list[bytes]:
    """The package's Python chunks in plan order (``plan_blocks``, then ``split_chunks`` at lines)."""
    specs = pipeline.collect_sources([folder], ("__pycache__",))
    out = []
    for b in pipeline.plan_blocks(specs, CHUNK):
        if b.python:
            out += codec.split_chunks(b"".join(Path(f.source).read_bytes() for f in b.files), CHUNK)
    return out


def candidates(piece: bytes) -> tuple[int, int, int, int]:
    """(source bytes, structural-or-bytes payload, best of zstd/brotli, cm payload)."""
    own = len(codec.encode_chunk(piece, general=False))
    general = cm_size = NONE
    if len(codec._probe(piece)) < codec.PROBE_MARGIN * own:
        general = 1 + min(len(codec._encode_brotli(piece)), len(codec._encode_zstd(piece)))
        body = cm.encode(piece)
        cm_size = 1 + (len(body) if body is not None else len(piece))
    return len(piece), own, general, cm_size


def margin_table(rows: list[tuple[int, int, int, int]]) -> dict:
    out = {}
    for m in MARGINS:
        total = in_cm = n_cm = 0
        for n, own, general, c in rows:
            best = min(own, general)
            if m is not None and c < best and c * m <= own:
                best, in_cm, n_cm = c, in_cm + n, n_cm + 1
            total += best + TAG
        out["never" if m is None else str(m)] = {"bytes": total, "cm_chunks": n_cm, "cm_source_bytes": in_cm}
    return out


def _stream_bytes(data: bytes) -> dict[str, float]:
    v, models = pe.vocab(), pe._models()
    st = pe.analyze(data.decode("utf-8"), v)
    out = {"names extra bits": float(st["_extra"][1].sum()) / 8}
    for name in pe.STREAMS:
        syms, ext = st[name]
        if len(syms):
            m, coded, rows = pe._coded(name, models[name], syms, ext)
            bits = len(coded) * m.scale_bits - np.log2(m.freq[rows, coded].astype(np.float64)).sum()
            out[name] = float(bits) / 8
    return out


def warm(task: tuple[list[bytes], bytes, tuple[int, ...]]) -> dict | None:
    """Cold and warm (after each K of ``ks``) size and per-stream ideal bytes of one chunk."""
    prev, piece, ks = task
    cold = encode_text(piece, verify=False)
    if cold is None:
        return None
    res = {"bytes": len(piece), "0": {"size": len(cold), "streams": _stream_bytes(piece)}}
    for k in ks:
        ctx = b"".join(prev[len(prev) - k :]) if k <= len(prev) else b"".join(prev)
        if not ctx:
            res[str(k)] = res["0"]
            continue
        both, alone = encode_text(ctx + piece, verify=False), encode_text(ctx, verify=False)
        if both is None or alone is None:
            return None
        sb, sa = _stream_bytes(ctx + piece), _stream_bytes(ctx)
        res[str(k)] = {"size": len(both) - len(alone), "streams": {s: sb[s] - sa.get(s, 0.0) for s in sb}}
    return res


def _folder(name: str, tmp: Path) -> Path:
    if name != "stdlib":
        return SITE / name
    root = corpus.stdlib_root()
    for p in corpus.corpus_files():
        shutil.copyfile(p, tmp / p.relative_to(root).as_posix().replace("/", "__"))
    return tmp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", default="stdlib,rich,numba,pandas")
    ap.add_argument("--warm", default="", help="K values (previous chunks as context), e.g. 1,2,4")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    ks = tuple(int(k) for k in args.warm.split(",") if k)
    load = os.getloadavg()[0]
    print(f"load average at start: {load:.1f}")
    result: dict = {"load_start": load, "packages": {}}
    with Pool(args.workers) as pool, tempfile.TemporaryDirectory() as tmp:
        for name in args.packages.split(","):
            ps = chunks(_folder(name, Path(tmp)))
            row: dict = {"chunks": len(ps), "bytes": sum(map(len, ps))}
            print(f"== {name}: {len(ps)} python chunks, {row['bytes'] / 1e6:.2f} MB")
            if not ks:
                rows = pool.map(candidates, ps, chunksize=1)
                wins = sorted(own / c for _, own, g, c in rows if c < min(own, g))
                row["cm_wins_over_structural"] = [round(w, 2) for w in wins]
                row["margins"] = margin_table(rows)
                print("  cm's wins (structural / cm):", " ".join(f"{w:.2f}" for w in wins))
                for m, r in row["margins"].items():
                    print(
                        f"  margin {m:>5}: python {r['bytes']:>10,} B  cm chunks {r['cm_chunks']:3d}  "
                        f"source in cm {r['cm_source_bytes'] / 1e6:5.2f} MB"
                    )
            else:
                tasks = [(ps[max(0, i - max(ks)) : i], ps[i], ks) for i in range(len(ps))]
                got = [r for r in pool.map(warm, tasks, chunksize=2) if r is not None]
                row["coded_chunks"] = len(got)
                row["warm"] = {}
                for k in ("0", *map(str, ks)):
                    streams: dict[str, float] = {}
                    for r in got:
                        for s, b in r[k]["streams"].items():
                            streams[s] = streams.get(s, 0.0) + b
                    row["warm"][k] = {"size": sum(r[k]["size"] for r in got), "streams": streams}
                cold = row["warm"]["0"]
                print(f"  {len(got)} chunks structural: cold {cold['size']:,} B", end="")
                for k in map(str, ks):
                    size = row["warm"][k]["size"]
                    print(f"; after {k} chunk(s) {size:,} B ({size / cold['size'] - 1:+.1%})", end="")
                print("\n  ideal bytes per stream: cold, " + ", ".join(f"after {k}" for k in ks))
                for s, b in sorted(cold["streams"].items(), key=lambda x: -x[1]):
                    w = "  ".join(
                        f"{row['warm'][k]['streams'].get(s, 0.0):10,.0f} ({row['warm'][k]['streams'].get(s, 0.0) / b - 1:+6.1%})"
                        for k in map(str, ks)
                    )
                    print(f"    {s:18s} {b:10,.0f}  {w}")
            result["packages"][name] = row
    result["load_end"] = os.getloadavg()[0]
    print(f"load average at end: {result['load_end']:.1f}")
    if not args.no_record:
        bench.record("qyn1", "python_chunks_warm" if ks else "python_chunks_cm_margin", result)
        print("recorded")


if __name__ == "__main__":
    main()
