"""Whole-package levers of issue 13 item 2, measured on an installed package's own files: what would make
qyn1's default preset smaller than ``tar | zstd -19 --long``, and what does not.

    uv run --frozen python benchmarks/qyn1_levers.py --packages numba            # Python levers + machine code
    uv run --frozen python benchmarks/qyn1_levers.py --packages pandas --only machine

On the package's Python, cut exactly as ``qyn1 pack`` plans it (solid groups of small files, 128 KiB
chunks): the default per-chunk codec choice (``codec.encode_chunk``) and the structural coder alone; zstd-19
per chunk against one zstd-19 window over all of it (what cross-chunk context is worth to an LZ coder);
a per-package trained zstd dictionary (``zstandard.train_dictionary``, 8 KiB samples, stored once with
zstd-19) competing per chunk with the default choice; and a long-range match stage by whole lines (runs of
lines of at least ``--min-match`` bytes found in an earlier chunk are cut out of every chunk and their first
copies coded once as a dictionary; references counted at 5 bytes each), whose residual chunks and
dictionary are coded by the structural coder. On the package's machine code (``pipeline.is_machine_code``,
in plan order): xz with the x86 filter (``codec._encode_xz``) over windows of 4, 8 and 16 MiB and one
window over all, and the time to decode the first window (what reading one file of it costs at most).
Sizes are exact; the chunk work runs on ``--workers`` processes.
"""

from __future__ import annotations

import argparse
import os
import sysconfig
import time
from multiprocessing import Pool
from pathlib import Path

import zstandard
from qyn1 import codec, pipeline

from perfkit import bench

SITE = Path(sysconfig.get_paths()["purelib"])
CHUNK = 128 << 10


def _blocks(folder: Path, machine: bool) -> list[bytes]:
    """The package's Python blocks (or machine-code blocks), as ``qyn1 pack`` plans them, each joined."""
    specs = pipeline.collect_sources([folder])
    out = []
    for b in pipeline.plan_blocks(specs, CHUNK):
        if (b.python and not machine) or (b.machine and machine):
            out.append(b"".join(Path(f.source).read_bytes() for f in b.files))
    return out


def _zstd19(data: bytes, dictionary: zstandard.ZstdCompressionDict | None = None) -> int:
    window = max(17, min(27, (len(data) - 1).bit_length() + 1))
    params = zstandard.ZstdCompressionParameters.from_level(
        19, source_size=len(data), window_log=window, enable_ldm=True
    )
    return len(zstandard.ZstdCompressor(compression_params=params, dict_data=dictionary).compress(data))


def _choice_and_structural(piece: bytes) -> tuple[int, int]:
    return len(codec.encode_chunk(piece)), len(codec.encode_chunk(piece, python=True, general=False))


def _structural(piece: bytes) -> int:
    return len(codec.encode_chunk(piece, python=True, general=False)) if piece else 0


def _line_matches(chunks: list[bytes], min_bytes: int, key_lines: int = 2, candidates: int = 32):
    """Greedy runs of whole lines (>= ``min_bytes``) that stand in an earlier chunk:
    ``(chunk, first line, lines, earlier chunk, its first line)`` each."""
    lines = [c.splitlines(keepends=True) for c in chunks]
    index: dict[tuple[bytes, ...], list[tuple[int, int]]] = {}
    matches = []
    for c, ls in enumerate(lines):
        i = 0
        while i < len(ls):
            best = (0, 0, 0, 0)
            for c2, j in index.get(tuple(ls[i : i + key_lines]), [])[-candidates:]:
                k = 0
                while i + k < len(ls) and j + k < len(lines[c2]) and ls[i + k] == lines[c2][j + k]:
                    k += 1
                size = sum(map(len, ls[i : i + k]))
                if size > best[0]:
                    best = (size, k, c2, j)
            if best[0] >= min_bytes:
                matches.append((c, i, best[1], best[2], best[3]))
                i += best[1]
            else:
                i += 1
        for j in range(len(ls) - key_lines + 1):
            index.setdefault(tuple(ls[j : j + key_lines]), []).append((c, j))
    return lines, matches


def python_levers(folder: Path, workers: int, dict_kib: list[int], min_match: int) -> dict:
    chunks = [p for b in _blocks(folder, False) for p in codec.split_chunks(b, CHUNK, at_lines=True)]
    row: dict = {"chunks": len(chunks), "bytes": sum(map(len, chunks))}
    with Pool(workers) as pool:
        sizes = pool.map(_choice_and_structural, chunks, chunksize=1)
        row["default_choice"] = sum(a for a, _ in sizes)
        row["structural"] = sum(b for _, b in sizes)
        row["zstd19_per_chunk"] = sum(pool.map(_zstd19, chunks, chunksize=1))
        row["zstd19_one_window"] = _zstd19(b"".join(chunks))
        data = b"".join(chunks)
        samples = [data[i : i + 8192] for i in range(0, len(data), 8192)]
        for kib in dict_kib:
            t0 = time.perf_counter()
            d = zstandard.train_dictionary(kib << 10, samples, k=1024, d=8, threads=1, level=19)
            train_s = time.perf_counter() - t0
            with_dict = [_zstd19(c, d) + 1 for c in chunks]  # + the codec byte
            best = sum(min(a, z) for (a, _), z in zip(sizes, with_dict, strict=True))
            stored = _zstd19(d.as_bytes())
            row[f"trained_dict_{kib}k"] = {
                "chunks": best,
                "dictionary_stored": stored,
                "total": best + stored,
                "chunks_won": sum(1 for (a, _), z in zip(sizes, with_dict, strict=True) if z < a),
                "train_s": round(train_s, 1),
            }
        lines, matches = _line_matches(chunks, min_match)
        cut: list[set[int]] = [set() for _ in chunks]
        first: dict[int, set[int]] = {}
        for c, i, n, c2, j in matches:
            cut[c].update(range(i, i + n))
            first.setdefault(c2, set()).update(range(j, j + n))
        dictionary = b""
        for c2 in sorted(first):
            cut[c2] |= first[c2]
            dictionary += b"".join(lines[c2][j] for j in sorted(first[c2]))
        residual = [b"".join(x for j, x in enumerate(ls) if j not in cut[c]) for c, ls in enumerate(lines)]
        dict_chunks = codec.split_chunks(dictionary, CHUNK, at_lines=True) if dictionary else []
        res = pool.map(_structural, residual + dict_chunks, chunksize=1)
    covered = sum(sum(map(len, lines[c][i : i + n])) for c, i, n, _, _ in matches)
    row["line_matches"] = {
        "min_bytes": min_match,
        "matches": len(matches),
        "covered_bytes": covered,
        "dictionary_bytes": len(dictionary),
        "residual_structural": sum(res[: len(residual)]),
        "dictionary_structural": sum(res[len(residual) :]),
        "references_est": 5 * len(matches),
        "total": sum(res) + 5 * len(matches),
    }
    return row


def machine_windows(folder: Path, mib: list[int]) -> dict:
    data = b"".join(_blocks(folder, True))
    row: dict = {"bytes": len(data)}
    for m in [*mib, 0]:
        size = m << 20 if m else max(len(data), 1)
        t0 = time.perf_counter()
        bodies = [codec._encode_xz(data[i : i + size], 1) for i in range(0, len(data), size)]
        encode_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = codec._decode_xz(bodies[0], min(size, len(data))) if bodies else b""
        decode_s = time.perf_counter() - t0  # what reading one file of the first window costs at most
        row[f"xz_{m}MiB" if m else "xz_one_window"] = {
            "bytes": sum(map(len, bodies)),
            "encode_s": round(encode_s, 1),
            "decode_first_window_s": round(decode_s, 3),
            "first_window_bytes": len(first),
        }
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", default="numba")
    ap.add_argument("--only", choices=("python", "machine"), default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dict-kib", default="256,1024")
    ap.add_argument("--min-match", type=int, default=64)
    ap.add_argument("--no-record", action="store_true", help="print only (trial runs)")
    args = ap.parse_args()
    result: dict = {"load_start": os.getloadavg()[0], "packages": {}}
    print(f"load average at start: {result['load_start']:.1f} on {os.cpu_count()} cores", flush=True)
    for name in [n for n in args.packages.split(",") if n]:
        folder = SITE / name
        row: dict = {}
        if args.only in (None, "python"):
            row["python"] = python_levers(
                folder, args.workers, [int(k) for k in args.dict_kib.split(",") if k], args.min_match
            )
            print(name, "python", row["python"], flush=True)
        if args.only in (None, "machine"):
            row["machine"] = machine_windows(folder, [4, 8, 16])
            print(name, "machine code", row["machine"], flush=True)
        result["packages"][name] = row
    result["load_end"] = os.getloadavg()[0]
    if not args.no_record:
        bench.record("qyn1", "levers", result)
    print(f"load average at end: {result['load_end']:.1f}{'' if args.no_record else '; recorded'}")


if __name__ == "__main__":
    main()
