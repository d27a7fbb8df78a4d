"""The skip of zstd-19/brotli-11 on Python chunks (``codec._lz_may_win``): its bounds on training chunks, and
how often it fires and whether it ever cost a byte on held-out ones.

    uv run --frozen python benchmarks/qyn1_trial_skip.py --train      # the bound (BROTLI5_GAIN), and the rule on training
    uv run --frozen python benchmarks/qyn1_trial_skip.py              # held out: stdlib half, rich, numba, pandas

Chunks are the Python chunks ``qyn1 pack`` makes of a tree (``plan_blocks``: small files grouped into 128 KiB
blocks, ``split_chunks`` at lines) and those of each file alone (``pipeline.encode_bytes``, the per-file
tables). ``--train``: on every chunk of the stdlib's *training* half the structural codec takes, the gain of
the smaller zstd-19/brotli-11 body over the zstd-3 probe and over a brotli-5 probe; the codec's bound
(``BROTLI5_GAIN``) is the largest over brotli-5 times 1.05. Held out (never used to set them): on every chunk the zstd probe lets the general
coders try (``PROBE_MARGIN``), cm, zstd-19 and brotli-11 are all run and the rule's outcome compared with
the exhaustive one: where the skip fires, a chunk *lost* if cm's payload is not smaller than both LZ payloads
(the exhaustive rule would then pick another payload), and the bound was *exceeded* if zstd-19/brotli-11 beat
brotli-5 by more than ``BROTLI5_GAIN`` (the premise of the guarantee). Per file: every held-out Python file alone,
qyn1 (16-byte tag per chunk) against brotli-11 of the whole file; files of 256 bytes or more worse than
brotli-11 are counted (below, the tag alone decides), and every file the skip made worse (a lost chunk) apart. Sizes only, independent of load.
"""

from __future__ import annotations

import argparse
import shutil
import sysconfig
import tempfile
from pathlib import Path

import brotli
from qyn1 import cm, codec, corpus, pipeline
from qyn1.python import encode_text

from perfkit import bench

CHUNK = 128 * 1024
TAG = 16
TINY = 256  # files below this are left out of the per-file check: the 16-byte chunk tag alone decides them
SITE = Path(sysconfig.get_paths()["purelib"])


def _python_files(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        if "__pycache__" in p.parts or p.is_symlink() or not p.is_file():
            continue
        data = p.read_bytes()
        if data and pipeline.is_python_candidate(p.name, data):
            out.append(p)
    return out


def packed_chunks(folder: Path) -> list[tuple[str, bytes]]:
    """(block's first file, chunk) of the tree's Python blocks, as ``qyn1 pack`` cuts them."""
    specs = pipeline.collect_sources([folder], ("__pycache__",))
    out = []
    for b in pipeline.plan_blocks(specs, CHUNK):
        if b.python:
            datas = [Path(f.source).read_bytes() for f in b.files]
            runs = (
                pipeline.text_runs(datas) if hasattr(pipeline, "text_runs") else [b"".join(datas)]
            )  # older trees
            out += [(b.files[0].arcpath, c) for run in runs for c in codec.split_chunks(run, CHUNK)]
    return out


def trees(names: list[str], tmp: Path) -> dict[str, tuple[Path, list[Path]]]:
    """name -> (folder to pack, its Python files). ``train``/``stdlib``: the stdlib's training/held-out half,
    copied flat into ``tmp`` (``/`` -> ``__``) as ``qyn1_pack_speed.py`` packs it."""
    out = {}
    for name in names:
        if name in ("train", "stdlib"):
            root = corpus.stdlib_root()
            train, held = corpus.split()
            files = train if name == "train" else held
            folder = tmp / name
            folder.mkdir()
            for p in files:
                shutil.copyfile(p, folder / p.relative_to(root).as_posix().replace("/", "__"))
            out[name] = (folder, files)
        elif (SITE / name).is_dir():
            out[name] = (SITE / name, _python_files(SITE / name))
    return out


def _chunks(tree: tuple[Path, list[Path]]) -> list[tuple[str, str, bytes]]:
    folder, files = tree
    rows = [("packed", name, c) for name, c in packed_chunks(folder)]
    for p in files:
        rows += [("alone", str(p), c) for c in codec.split_chunks(p.read_bytes(), CHUNK)]
    return rows


def lz_sizes(piece: bytes) -> dict:
    return {
        "zstd3": len(codec._probe(piece)),
        "brotli5": len(codec._probe_brotli(piece)),
        "lz": min(len(codec._encode_zstd(piece)), len(codec._encode_brotli(piece))),  # bodies
    }


def train(tree) -> dict:
    worst = {"zstd3": (0.0, ""), "brotli5": (0.0, "")}
    n = 0
    for kind, name, piece in _chunks(tree):
        if encode_text(piece) is None:
            continue
        n += 1
        s = lz_sizes(piece)
        for k in worst:
            worst[k] = max(worst[k], (s[k] / s["lz"], f"{kind} {Path(name).name}"))
    print(f"training: {n} Python chunks the structural codec takes (packed blocks and each file alone)")
    for k, (g, where) in worst.items():
        print(
            f"  largest gain of min(zstd-19, brotli-11) over {k}: {g:.3f} ({where}); x 1.05 = {g * 1.05:.3f}"
        )
    print(f"  the codec's bound: BROTLI5_GAIN {codec.BROTLI5_GAIN} (zstd-3 is not one: its frame header)")
    return {"chunks": n, "largest_gain": {k: round(g, 4) for k, (g, _) in worst.items()}}


def held_out(tree) -> dict:
    """The rule against the exhaustive one on every gated chunk, and per file against brotli-11."""
    st = {
        k: {
            "chunks": 0,
            "gated": 0,
            "gated_bytes": 0,
            "skipped": 0,
            "skipped_bytes": 0,
            "lost": 0,
            "exceeded": 0,
            "worst_excess": 1.0,
            "smallest_lead": None,
        }
        for k in ("packed", "alone")
    }
    per_file: dict[str, int] = {}  # qyn1 bytes of each file alone (rule as shipped)
    lost_files = set()
    for kind, name, piece in _chunks(tree):
        s = st[kind]
        s["chunks"] += 1
        own = codec.encode_chunk(piece, general=False)  # structural or byte rANS
        body = encode_text(piece)
        chosen = len(own)
        if (
            body is not None
            and b"\0" not in piece
            and len(codec._probe(piece)) < codec.PROBE_MARGIN * (len(body) + 1)
        ):
            s["gated"] += 1
            s["gated_bytes"] += len(piece)
            c = cm.encode(piece)
            lz = lz_sizes(piece)
            admitted = c is not None and len(c) + 1 <= (len(body) + 1) / codec.CM_PYTHON_MARGIN
            skip = admitted and not codec._lz_may_win(piece, len(c))
            excess = lz["brotli5"] / lz["lz"] / codec.BROTLI5_GAIN
            s["worst_excess"] = max(s["worst_excess"], excess)
            s["exceeded"] += excess > 1
            if admitted:
                chosen = min(chosen, len(c) + 1)
            if skip:
                s["skipped"] += 1
                s["skipped_bytes"] += len(piece)
                lead = lz["lz"] / len(c)  # how much smaller cm's body was than the smaller LZ body
                s["smallest_lead"] = lead if s["smallest_lead"] is None else min(s["smallest_lead"], lead)
                if len(c) >= lz["lz"]:
                    s["lost"] += 1
                    lost_files.add(name)
            else:
                chosen = min(chosen, lz["lz"] + 1)
        elif body is None or b"\0" in piece:
            chosen = len(codec.encode_chunk(piece))  # not the skip's case: the rule as before
        if kind == "alone":
            per_file[name] = per_file.get(name, 0) + chosen + TAG
    worse = []
    for name, q in per_file.items():
        data = Path(name).read_bytes()
        b = len(brotli.compress(data, quality=11, lgwin=24))
        if q > b and len(data) >= TINY:
            worse.append((q / b, name, q, b))
    worse.sort(reverse=True)
    return {
        **st,
        "files": len(per_file),
        "files_worse_than_brotli11": len(worse),  # of TINY bytes or more
        "worst_files": [(round(r, 3), Path(n).name, q, b) for r, n, q, b in worse[:5]],
        "files_the_skip_made_worse": len(lost_files),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="store_true", help="measure the bounds on the stdlib's training half")
    ap.add_argument(
        "--trees", default="stdlib,rich,numba,pandas", help="held-out trees (stdlib: its held-out half)"
    )
    ap.add_argument("--no-record", action="store_true", help="do not append to benchmarks/results/qyn1.jsonl")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {}
        names = ["train"] if args.train else args.trees.split(",")
        for name, tree in trees(names, Path(tmp)).items():
            if args.train:
                result["bound"] = train(tree)
            r = result[name] = held_out(tree)
            print(f"{name}: {r['files']} Python files")
            for kind in ("packed", "alone"):
                s = r[kind]
                print(
                    f"  {kind:6} {s['chunks']:5} chunks, {s['gated']:4} gated ({s['gated_bytes'] / 1e6:.2f} MB): "
                    f"skip fired on {s['skipped']} ({s['skipped_bytes'] / max(1, s['gated_bytes']):.0%} of the "
                    f"gated bytes), lost {s['lost']}, cm's smallest lead there x{s['smallest_lead'] or 0:.3f}; "
                    f"bound exceeded on {s['exceeded']} (worst x{s['worst_excess']:.3f})"
                )
            print(
                f"  files alone (>= {TINY} bytes) worse than brotli-11: {r['files_worse_than_brotli11']} "
                f"{r['worst_files']}; "
                f"made worse by the skip: {r['files_the_skip_made_worse']}"
            )
    if not args.no_record:
        bench.record("qyn1", "trial_skip", {"bound": codec.BROTLI5_GAIN, **result})
        print("recorded to benchmarks/results/qyn1.jsonl")


if __name__ == "__main__":
    main()
