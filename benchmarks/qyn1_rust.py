"""qyn1 per file against brotli-11 and zstd-19 on held-out Rust: the sources of Debian's ``librust-*-dev`` crates.

    uv run --frozen python benchmarks/qyn1_rust.py                 # fetch (once), measure, record qyn1/rust
    uv run --frozen python benchmarks/qyn1_rust.py --no-record     # trial run

Issue 13's Rust class. The crates come from Debian's package registry (``apt-get download``, reachable
here where crates.io is not) into a cache, ``~/.cache/qyn1-corpora/debian-rust``, and are unpacked with
``dpkg-deb``. They are held out: qyn1 never trains or tunes on them (the context-mixing coder's priming
text takes its 40 KB of Rust from PyPI sdists, ``qyn1.cm.prime``). Each file is measured on its own
exactly as ``qyn1_classes.py`` measures a class (its ``per_file``: the same files for every coder, qyn1
round-tripped byte-exact), on every k-th ``.rs`` file in path order up to ``--max-mb``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qyn1_classes import _sample, per_file

from perfkit import bench

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qyn1-corpora" / "debian-rust"
# Widely used crates of different styles (parsers, async, numerics, macros, FFI, data structures).
CRATES = (
    "aho-corasick", "anyhow", "base64", "bitflags", "byteorder", "bytes", "chrono", "clap", "crossbeam-channel",
    "futures-util", "hashbrown", "indexmap", "itertools", "libc", "log", "memchr", "nom", "num-traits",
    "once-cell", "proc-macro2", "quote", "rand", "rayon", "regex", "regex-syntax", "semver", "serde",
    "serde-json", "smallvec", "syn", "thiserror", "tokio", "toml", "unicode-width", "url", "walkdir",
)  # fmt: skip


def fetch(cache: Path = CACHE) -> Path:
    """Download and unpack every crate of :data:`CRATES` not in ``cache`` yet; the unpacked tree's root."""
    debs, tree = cache / "debs", cache / "tree"
    debs.mkdir(parents=True, exist_ok=True)
    tree.mkdir(parents=True, exist_ok=True)
    for crate in CRATES:
        name = f"librust-{crate}-dev"
        if not list(debs.glob(f"{name}_*.deb")):
            got = subprocess.run(["apt-get", "download", name], cwd=debs, capture_output=True, text=True)
            if got.returncode != 0:
                print(f"{name}: not fetched ({got.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
                continue
        for deb in debs.glob(f"{name}_*.deb"):
            marker = tree / f".{deb.name}.done"
            if not marker.exists():
                subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
                marker.touch()
    return tree


def rust_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*.rs") if p.is_file() and not p.is_symlink())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-mb", type=float, default=3.0, help="sample size (MB)")
    ap.add_argument("--no-record", action="store_true", help="print only (trial runs)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    tree = fetch()
    every = rust_files(tree)
    paths = _sample(every, int(args.max_mb * 1e6))
    crates = sorted({p.relative_to(tree).parts[4] for p in paths if len(p.relative_to(tree).parts) > 4})
    row = per_file(paths)
    q, b, z = row["qyn1"], row["brotli-11"], row["zstd-19"]
    print(
        f"Rust (Debian librust-*-dev, held-out): {row['files']} of {len(every)} files from {len(crates)} crates, "
        f"{row['bytes'] / 1e6:.2f} MB\n"
        f"  ratio qyn1 {q['ratio']:.3f}  brotli-11 {b['ratio']:.3f}  zstd-19 {z['ratio']:.3f}  "
        f"qyn1/brotli {q['ratio'] / b['ratio']:.3f}  qyn1/zstd {q['ratio'] / z['ratio']:.3f}\n"
        f"  MB/s per core compress/decompress: qyn1 {q['compress_mb_s']:.2f}/{q['decompress_mb_s']:.1f}  "
        f"brotli {b['compress_mb_s']:.2f}/{b['decompress_mb_s']:.0f}  zstd {z['compress_mb_s']:.2f}/"
        f"{z['decompress_mb_s']:.0f}\n  qyn1 chunk codecs: {row['qyn1_codecs']}"
    )
    result = {"max_mb": args.max_mb, "crates": crates, "files_available": len(every), "rust": row}
    result["load_end"] = os.getloadavg()[0]
    if not args.no_record:
        bench.record("qyn1", "rust", result)
    print(f"load average at end: {os.getloadavg()[0]:.1f}{'' if args.no_record else '; recorded'}")


if __name__ == "__main__":
    main()
