"""Are the encoded bytes the same? SHA-256 of every chunk qyn1 encodes from the benchmarks' corpora, this tree
against another, each in a fresh process (``tree_child.measure_in_child``).

    git archive <rev> packages/qyn1/src | tar -x -C /tmp/old
    uv run --frozen python benchmarks/qyn1_digest.py --compare /tmp/old/packages/qyn1/src

Corpora: every file of the stdlib corpus ``make bench-qyn1`` packs (``qyn1.corpus``, training and held-out
halves), the held-out held-out classes and installed packages of ``benchmarks/qyn1_classes.py`` (a sample of
``--max-mb`` MB each), and every 8th held-out stdlib file with the ``python-max`` preset (the cm coder competes
on every Python chunk, as the bench's "qyn1 max" row). Each file is encoded on its own as the benchmarks do
(``pipeline.encode_bytes``, the preset's chunk size); the digest covers every chunk payload and its length,
and each chunk is decoded back and compared with the file. A refactor or a speed change must give the same
digests (a changed byte is a format change). Exit 1 when a digest differs or a file does not round-trip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from tree_child import measure_in_child


def corpora(max_mb: float) -> dict[str, tuple[str, list[Path]]]:
    """name -> (preset, files)."""
    from qyn1 import corpus
    from qyn1_classes import classes

    root = corpus.stdlib_root()
    files = corpus.corpus_files()
    held = [p for p in files if not corpus.is_training(p.relative_to(root).as_posix())]
    out = {"stdlib corpus (every file)": ("python", files)}
    for name, paths in classes(int(max_mb * 1e6)).items():
        if not name.startswith("python"):
            out[name] = ("python", paths)
    out["stdlib held-out, every 8th, python-max"] = ("python-max", held[::8])
    return out


def measure(max_mb: float) -> dict:
    from qyn1 import codec, pipeline, presets

    out = {}
    for name, (preset, paths) in corpora(max_mb).items():
        pre = presets.get(preset)
        h = hashlib.sha256()
        n_bytes = n_chunks = bad = 0
        for p in paths:
            data = p.read_bytes()
            ef = pipeline.encode_bytes(data, pre.chunk_size, arcpath=p.name, python_cm=pre.python_cm)
            for payload, n in ef.chunks:
                h.update(len(payload).to_bytes(8, "little") + n.to_bytes(8, "little") + payload)
            bad += b"".join(codec.decode_chunk(c, n) for c, n in ef.chunks) != data
            n_bytes += len(data)
            n_chunks += len(ef.chunks)
        out[name] = {
            "files": len(paths),
            "bytes": n_bytes,
            "chunks": n_chunks,
            "bad": bad,
            "sha256": h.hexdigest(),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", metavar="SRC", help="another tree's packages/qyn1/src (required)")
    ap.add_argument("--max-mb", type=float, default=1.0, help="sample size of each qyn1_classes class (MB)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.max_mb)))
        return
    if not args.compare:
        ap.error("--compare SRC is required")
    this = measure_in_child(__file__, None, max_mb=args.max_mb)
    other = measure_in_child(__file__, args.compare, max_mb=args.max_mb)
    ok = True
    for name, a in this.items():
        b = other.get(name, {})
        same = a["sha256"] == b.get("sha256")
        ok &= same and a["bad"] == 0 and b.get("bad") == 0
        print(
            f"  {name:<40} {a['files']:5d} files {a['bytes'] / 1e6:6.2f} MB {a['chunks']:5d} chunks  "
            f"{'same' if same else 'DIFFERENT'}  round trip {'ok' if a['bad'] == 0 else str(a['bad']) + ' BAD'}"
            f"  {a['sha256'][:16]}"
        )
    print(f"every digest the same as {args.compare}: {'yes' if ok else 'NO'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
