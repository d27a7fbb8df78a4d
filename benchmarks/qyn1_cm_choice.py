"""What the cm coder adds on Python, and what it costs: the per-chunk choice on the held-out stdlib sample.

    uv run --frozen python benchmarks/qyn1_cm_choice.py

For every 128 KiB chunk of every 4th held-out stdlib file (the sample of ``make bench-qyn1``'s per-file
table): the structural (or byte rANS) payload, and where the zstd probe lets the general coders try
(``codec.PROBE_MARGIN``) the best of zstd-19/brotli-11 and the cm payload. Prints the per-file ratio (16-byte
tag per chunk) under choice rules -- no cm (container v2), cm by size alone (``python-max``), cm only when its
payload is ``codec.CM_PYTHON_MARGIN`` times below the structural one (the default presets; ``own`` stands for
the structural payload, also where a byte rANS one is smaller), cm only when it is 10 % or 25 % below the
rest -- and the share of source bytes each rule leaves in cm chunks (which decode at
~1 MB/s per core instead of ~12 MB/s structural or hundreds of MB/s brotli/zstd). The sizes are exact and
independent of load; then the cm coder's own speed, one core, CPU time, on the chunks it took (median of 3).
"""

from __future__ import annotations

import statistics
import time

from qyn1 import cm, codec, corpus, pipeline
from qyn1_python_chunks import NONE, candidates

from perfkit import bench


def rows() -> list[tuple[int, int, int, int, bytes]]:
    """(source bytes, structural-or-bytes payload, best of zstd/brotli, cm payload, chunk) per chunk."""
    _, held = corpus.split()
    out = []
    for p in held[::4]:
        data = p.read_bytes()
        py = pipeline.is_python_candidate(p.name, data)
        for piece in codec.split_chunks(data, 128 * 1024, at_lines=py) if data else []:
            out.append((*candidates(piece), piece))
    return out


RULES = {
    "no cm (container v2)": lambda own, general, c: min(own, general),
    "cm by size alone (python-max)": lambda own, general, c: min(own, general, c),
    f"cm when {codec.CM_PYTHON_MARGIN}x below own (default)": lambda own, general, c: (
        c if c * codec.CM_PYTHON_MARGIN <= own and c < general else min(own, general)
    ),
    "cm only when 10 % below the rest": lambda own, general, c: (
        c if c * 1.10 < min(own, general) else min(own, general)
    ),
    "cm only when 25 % below the rest": lambda own, general, c: (
        c if c * 1.25 < min(own, general) else min(own, general)
    ),
}


def main() -> None:
    data = rows()
    total = sum(r[0] for r in data)
    print(f"{len(data)} chunks, {total / 1e6:.2f} MB of held-out stdlib source (every 4th file)")
    result = {"chunks": len(data), "bytes": total, "rules": {}}
    for name, rule in RULES.items():
        stored = sum(rule(own, g, c) for _, own, g, c, _ in data) + 16 * len(data)
        in_cm = sum(n for n, own, g, c, _ in data if c < NONE and rule(own, g, c) == c)
        result["rules"][name] = {"ratio": round(total / stored, 3), "cm_share": round(in_cm / total, 3)}
        print(f"  {name:<34} ratio {total / stored:6.3f}   source bytes in cm chunks {in_cm / total:6.1%}")
    pieces = [d for n, own, g, c, d in data if c < min(own, g)]
    bodies = [cm.encode(d) for d in pieces]
    size = sum(map(len, pieces)) / 1e6
    enc, dec = [], []
    for _ in range(3):
        t0 = time.process_time()
        for d in pieces:
            cm.encode(d)
        enc.append(time.process_time() - t0)
        t0 = time.process_time()
        for b, d in zip(bodies, pieces, strict=True):
            cm.decode(b, len(d))
        dec.append(time.process_time() - t0)
    result["cm_encode_mb_s_cpu"] = round(size / statistics.median(enc), 2)
    result["cm_decode_mb_s_cpu"] = round(size / statistics.median(dec), 2)
    print(
        f"cm on the {len(pieces)} chunks it wins ({size:.2f} MB), one core, CPU time: encode "
        f"{result['cm_encode_mb_s_cpu']:.2f} MB/s, decode {result['cm_decode_mb_s_cpu']:.2f} MB/s"
    )
    bench.record("qyn1", "cm_choice", result)
    print("recorded")


if __name__ == "__main__":
    main()
