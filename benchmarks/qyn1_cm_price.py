"""What the cm chunks of a package cost to unpack and what they save: for every ``cm`` chunk, its payload, the
best other payload (structural, zstd-19, brotli-11) and the decode CPU of both; then, for a range of margins m,
what a rule "cm only where the best other payload is at least m times larger" would keep, add to the package
and leave of the cm decode time. Sizes only: nothing is written.

    uv run --frozen python benchmarks/qyn1_cm_price.py --package p.qyn --key k.key

(``benchmarks/qyn1_unpack_timeline.py --make`` writes the stdlib package and its key.) The rule is a what-if:
``codec.encode_chunk`` admits cm against the structural payload (``CM_PYTHON_MARGIN``) and against zstd-19 /
brotli-11 by size alone, and skips those two where cm wins clearly (``BROTLI5_GAIN``); a real change of the rule
would also change which chunks run the LZ trials in ``qyn1 pack``. Decode CPU is this process's, one core.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    ap.add_argument("--margins", default="1.1,1.15,1.2,1.25,1.3,1.5,2.0")
    args = ap.parse_args()

    import qyn1.preload  # noqa: F401 -- tables and kernels loaded before anything is timed
    from qyn1 import codec, container, extraction, keys
    from qyn1 import python as pyenc

    f, r = extraction.open_package(args.package, keys.KeySource(key=args.key.read_bytes()))
    first = {}
    for e in r.entries:
        first.setdefault(e.block, e)
    rows = []
    with f:
        for e in first.values():
            for j, cid in enumerate(e.codecs):
                if cid != codec.CM:
                    continue
                payload = container.decrypt_payload(f, r.key, r.header_bytes, e, j)
                n = e.chunks[j][2]
                t = time.process_time()
                data = codec.decode_chunk(payload, n)
                cm_s = time.process_time() - t
                body = pyenc.encode_text(data)
                other = {
                    "zstd": len(codec._encode_zstd(data)) + 1,
                    "brotli": len(codec._encode_brotli(data)) + 1,
                }
                structural_s = 0.0
                if body is not None:
                    other["structural"] = len(body) + 1
                    t = time.process_time()
                    pyenc.decode_text(body, n)
                    structural_s = time.process_time() - t
                size, name = min((v, k) for k, v in other.items())
                other_s = structural_s if name == "structural" else 0.0  # zstd/brotli: ~0.3 ms a chunk
                rows.append((n, len(payload), size, name, cm_s, other_s, e.path))
    total_in = sum(b_n for b in r.blocks for (_, _, b_n) in b.chunks)
    pkg = args.package.stat().st_size
    print(
        f"{len(rows)} cm chunks: {sum(x[0] for x in rows) / 1e6:.2f} MB of source, {sum(x[1] for x in rows):,} B of "
        f"payload, {sum(x[4] for x in rows):.2f} CPU-s to decode (the package: {total_in / 1e6:.1f} MB -> {pkg:,} B)"
    )
    for n, cm_b, other_b, name, cm_s, _, path in sorted(rows, key=lambda x: x[2] / x[1]):
        print(
            f"  {n:7,d} B  cm {cm_b:6,d}  best other {other_b:6,d} ({name:10s}) {other_b / cm_b:.2f}x  "
            f"cm decode {cm_s * 1e3:4.0f} ms  {path}"
        )
    print("margin m: cm chunks kept, package growth, ratio, cm decode CPU-s left (saved)")
    for m in (float(x) for x in args.margins.split(",")):
        drop = [x for x in rows if x[2] < m * x[1]]
        grow = sum(x[2] - x[1] for x in drop)
        saved = sum(x[4] - x[5] for x in drop)
        print(
            f"  {m:4.2f}: {len(rows) - len(drop):2d} kept, +{grow:7,d} B ({grow / pkg * 100:.2f} %), ratio "
            f"{total_in / (pkg + grow):.3f}, cm decode left {sum(x[4] for x in rows) - sum(x[4] for x in drop):.2f} "
            f"CPU-s (saved {saved:.2f})"
        )


if __name__ == "__main__":
    main()
