"""qyn1 against brotli-11 and zstd-19 per file class, and whole packages against ``tar | zstd -19 --long``.

    uv run --frozen python benchmarks/qyn1_classes.py                 # classes + rich and numba as packages
    uv run --frozen python benchmarks/qyn1_classes.py --packages rich,numba,pandas,pyarrow

Per file (like with like: every file compressed on its own, one core, the same files for every coder):
qyn1 is ``pipeline.encode_bytes`` -- the chunking and the per-chunk codec choice ``qyn1 pack`` uses for a file
in a block of its own -- plus the 16-byte tag of each chunk; brotli is quality 11 with a 16 MiB window;
zstd is level 19 with long-distance matching (window up to 128 MiB); for Python also zstd-19 with a
dictionary trained on the stdlib *training* half (``qyn1.profiling``). MB/s are per core, of source.

Classes are held-out corpora only, never used to train or tune qyn1: the stdlib held-out half (Python), the
operating system's C headers (``/usr/include``), the globally installed npm's JavaScript, JSON and Markdown,
and the installed packages in this checkout's ``.venv`` (every file, binaries included). Each class is a
deterministic sample (every k-th file in path order) of at most ``--max-mb`` MB.

Whole packages (solid): qyn1 ``pipeline.pack`` of the folder (2 process workers; its small files are grouped
into solid blocks; the default preset's chunk size and codecs, and with ``--python-max`` also that preset's)
against ``tar -C DIR -cf - . | zstd -19 --long=27`` (the zstd command line, one thread).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import brotli
import zstandard
from qyn1 import codec, corpus, extraction, keys, pipeline, presets, profiling

from perfkit import bench

TAG = 16
SITE = Path(sysconfig.get_paths()["purelib"])
NPM = Path("/usr/lib/node_modules/npm")


def _files(root: Path, suffixes: tuple[str, ...] | None) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        if "__pycache__" in p.parts or p.is_symlink() or not p.is_file():
            continue
        if suffixes is None or p.name.endswith(suffixes):
            out.append(p)
    return out


def _sample(files: list[Path], max_bytes: int) -> list[Path]:
    """Every k-th file (k chosen so the sample stays near ``max_bytes``), files above 16 MiB left out."""
    files = [p for p in files if 0 < p.stat().st_size <= 16 << 20]
    total = sum(p.stat().st_size for p in files)
    step = max(1, -(-total // max_bytes))
    return files[::step]


def classes(max_bytes: int) -> dict[str, list[Path]]:
    root = corpus.stdlib_root()
    held = [p for p in corpus.corpus_files() if not corpus.is_training(p.relative_to(root).as_posix())]
    out = {
        "python (stdlib held-out)": _sample(held, max_bytes),
        "C headers (/usr/include)": _sample(_files(Path("/usr/include"), (".h",)), max_bytes),
        "JavaScript (npm)": _sample(_files(NPM, (".js", ".cjs", ".mjs")), max_bytes),
        "JSON (npm)": _sample(_files(NPM, (".json",)), max_bytes),
        "Markdown (npm)": _sample(_files(NPM, (".md",)), max_bytes),
    }
    for pkg in ("numba", "pandas", "pyarrow"):
        if (SITE / pkg).is_dir():
            out[f"{pkg} (installed, every file)"] = _sample(_files(SITE / pkg, None), max_bytes)
    return {k: v for k, v in out.items() if v}


def _zstd19(data: bytes) -> bytes:
    window = max(17, min(27, (len(data) - 1).bit_length()))
    params = zstandard.ZstdCompressionParameters.from_level(
        19, source_size=len(data), window_log=window, enable_ldm=True
    )
    return zstandard.ZstdCompressor(compression_params=params).compress(data)


def per_file(paths: list[Path], zstd_dict=None, preset: str = "python") -> dict:
    """Total bytes in/out and seconds per coder over ``paths``, each file on its own (qyn1 with ``preset``'s
    chunk size and codecs)."""
    pre = presets.get(preset)
    rows = {name: {"out": 0, "comp_s": 0.0, "decomp_s": 0.0} for name in ("qyn1", "brotli-11", "zstd-19")}
    if zstd_dict is not None:
        rows["zstd-19+dict"] = {"out": 0, "comp_s": 0.0, "decomp_s": 0.0}
    total = 0
    codecs: dict[str, int] = {}
    for p in paths:
        data = p.read_bytes()
        total += len(data)
        t0 = time.perf_counter()
        ef = pipeline.encode_bytes(data, pre.chunk_size, arcpath=p.name, python_cm=pre.python_cm)
        rows["qyn1"]["comp_s"] += time.perf_counter() - t0
        rows["qyn1"]["out"] += sum(len(c) + TAG for c, _ in ef.chunks) or TAG
        t0 = time.perf_counter()
        back = b"".join(codec.decode_chunk(c, n) for c, n in ef.chunks)
        rows["qyn1"]["decomp_s"] += time.perf_counter() - t0
        if back != data:
            raise SystemExit(f"round trip broken: {p}")
        for k, v in ef.codecs.items():
            codecs[k] = codecs.get(k, 0) + v
        coders = {
            "brotli-11": (lambda d: brotli.compress(d, quality=11, lgwin=24), brotli.decompress),
            "zstd-19": (_zstd19, zstandard.ZstdDecompressor().decompress),
        }
        if zstd_dict is not None:
            coders["zstd-19+dict"] = (
                zstandard.ZstdCompressor(level=19, dict_data=zstd_dict).compress,
                zstandard.ZstdDecompressor(dict_data=zstd_dict).decompress,
            )
        for name, (comp, decomp) in coders.items():
            t0 = time.perf_counter()
            c = comp(data)
            rows[name]["comp_s"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            decomp(c)
            rows[name]["decomp_s"] += time.perf_counter() - t0
            rows[name]["out"] += len(c)
    out = {"files": len(paths), "bytes": total, "qyn1_codecs": codecs}
    for name, r in rows.items():
        out[name] = {
            "ratio": total / max(r["out"], 1),
            "compress_mb_s": total / 1e6 / max(r["comp_s"], 1e-9),
            "decompress_mb_s": total / 1e6 / max(r["decomp_s"], 1e-9),
        }
    return out


def whole_package(folder: Path, workers: int, preset: str = "python") -> dict:
    """qyn1 pack of ``folder`` (paths relative to it) with ``preset``'s chunk size and codecs against
    tar | zstd -19 --long=27 of the same tree."""
    p = presets.get(preset)
    specs = pipeline.collect_sources([folder], ("__pycache__",))
    size = sum(s.size for s in specs)
    tmp = Path(tempfile.mkdtemp(prefix="qyn1-classes-"))
    try:
        ks = keys.KeySource(key=keys.generate_key())
        pkg = tmp / "p.qyn"
        pipeline.warm_up(
            "processes", workers
        )  # the fork server's start-up is not the rate (as in `qyn1 pack`)
        t0 = time.perf_counter()
        st = pipeline.pack(
            specs,
            pkg,
            ks,
            chunk_size=p.chunk_size,
            workers=workers,
            executor="processes",
            python_cm=p.python_cm,
        )
        pack_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        extraction.unpack(pkg, tmp / "out", ks, workers=workers, executor="processes")
        unpack_s = time.perf_counter() - t0
        bad = sum((tmp / "out" / s.arcpath).read_bytes() != Path(s.source).read_bytes() for s in specs)
        qyn1_bytes = pkg.stat().st_size
        kinds = _by_kind(pkg, ks, folder)
        names = tmp / "names"
        names.write_bytes(b"".join(s.arcpath.encode() + b"\0" for s in specs))  # the same files, no pycache
        t0 = time.perf_counter()
        tar = subprocess.run(
            f"tar -C {folder} --null -T {names} -cf - | zstd -19 --long=27 -T1 -c",
            shell=True,
            capture_output=True,
            check=True,
        )
        tar_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "preset": preset,
        "chunk_size": p.chunk_size,
        "files": len(specs),
        "bytes": size,
        "qyn1_bytes": qyn1_bytes,
        "tar_zstd19_long_bytes": len(tar.stdout),
        "qyn1_over_tar_zstd": len(tar.stdout) / qyn1_bytes,
        "qyn1_ratio": size / qyn1_bytes,
        "tar_zstd_ratio": size / len(tar.stdout),
        "qyn1_pack_mb_s_per_core": size / 1e6 / pack_s / workers,
        "qyn1_unpack_mb_s_per_core": size / 1e6 / unpack_s / workers,
        "tar_zstd_mb_s": size / 1e6 / tar_s,
        "codecs": st.codecs,
        "blocks": st.blocks,
        "by_kind": kinds,
        "byte_exact": bad == 0,
    }


def _by_kind(pkg: Path, ks, folder: Path) -> dict:
    """Stored bytes per kind of block (``py``, or the extension of a non-Python block's first file, with
    ``(alone)`` for a file in a block of its own) against zstd -19 --long=27 of the same files concatenated."""
    f, r = extraction.open_package(pkg, ks)
    with f:
        members: dict[int, list] = {}
        for e in r.entries:
            members.setdefault(e.block, []).append(e.path)
        kinds: dict[str, dict] = {}
        for b in r.blocks:
            paths = members[b.index]
            first = paths[0].rsplit("/", 1)[-1]
            kind = (
                "py"
                if first.endswith((".py", ".pyi", ".pyw"))
                else (first.rsplit(".", 1)[-1] if "." in first[1:] else "-")
            )
            kind += " (alone)" if len(paths) == 1 and kind != "py" else ""
            k = kinds.setdefault(kind, {"bytes": 0, "qyn1_bytes": 0, "paths": []})
            k["bytes"] += b.size
            k["qyn1_bytes"] += b.stored_size
            k["paths"] += paths
    for k in kinds.values():
        data = b"".join((folder / p).read_bytes() for p in k.pop("paths"))
        z = subprocess.run(
            ["zstd", "-19", "--long=27", "-T1", "-c"], input=data, capture_output=True, check=True
        )
        k["zstd19_long_bytes"] = len(z.stdout)
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]["bytes"]))


def _print_package(name: str, row: dict) -> None:
    print(
        f"{name:<10} {row['files']:>6} files {row['bytes'] / 1e6:7.2f} MB  qyn1 {row['qyn1_bytes']:>11,} "
        f"tar|zstd {row['tar_zstd19_long_bytes']:>11,}  qyn1 {row['qyn1_over_tar_zstd']:.3f}x smaller  "
        f"pack {row['qyn1_pack_mb_s_per_core']:.2f} MB/s/core unpack {row['qyn1_unpack_mb_s_per_core']:.1f} "
        f"MB/s/core, tar|zstd {row['tar_zstd_mb_s']:.2f} MB/s  byte-exact {row['byte_exact']}  {row['codecs']}",
        flush=True,
    )
    for kind, k in row["by_kind"].items():
        if k["bytes"] >= 100_000:
            print(
                f"    {kind:<14} {k['bytes'] / 1e6:7.2f} MB  qyn1 {k['qyn1_bytes']:>11,}  "
                f"zstd -19 --long of the same files {k['zstd19_long_bytes']:>11,}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-mb", type=float, default=3.0, help="sample size per class (MB)")
    ap.add_argument("--packages", default="rich,numba", help="installed packages to pack whole")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-classes", action="store_true")
    ap.add_argument("--only", default="", help="only the classes whose name starts with this")
    ap.add_argument("--no-record", action="store_true", help="print only (trial runs)")
    ap.add_argument(
        "--python-max", action="store_true", help="whole packages also with the python-max preset"
    )
    ap.add_argument(
        "--per-file-python-max", action="store_true", help="qyn1 per file with the python-max preset"
    )
    ap.add_argument("--no-dict", action="store_true", help="no zstd dictionary peer (its training is slow)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    result: dict = {
        "max_mb": args.max_mb,
        "per_file_preset": "python-max" if args.per_file_python_max else "python",
        "classes": {},
        "packages": {},
    }
    if not args.skip_classes:
        train, _ = corpus.split()
        # as `make bench-qyn1` trains it
        zdict = None if args.no_dict else profiling.zstd_dictionary([p.read_bytes() for p in train])
        print("\nper file, each file on its own (ratio = bytes in / bytes out; MB/s per core of source)")
        print(
            f"{'class':<30} {'files':>5} {'MB':>6}  {'qyn1':>6} {'brotli':>6} {'zstd19':>6} {'+dict':>6}  "
            f"{'q/brotli':>8} {'q/zstd':>6}   qyn1 MB/s comp/decomp   brotli   zstd"
        )
        for name, paths in classes(int(args.max_mb * 1e6)).items():
            if not name.startswith(args.only):
                continue
            row = per_file(
                paths,
                zdict if name.startswith("python") else None,
                "python-max" if args.per_file_python_max else "python",
            )
            result["classes"][name] = row
            q, b, z = row["qyn1"], row["brotli-11"], row["zstd-19"]
            d = row.get("zstd-19+dict", {}).get("ratio")
            print(
                f"{name:<30} {row['files']:>5} {row['bytes'] / 1e6:6.2f}  {q['ratio']:6.3f} {b['ratio']:6.3f} "
                f"{z['ratio']:6.3f} {d if d is None else round(d, 3)!s:>6}  {q['ratio'] / b['ratio']:8.3f} "
                f"{q['ratio'] / z['ratio']:6.3f}   {q['compress_mb_s']:6.2f} / {q['decompress_mb_s']:7.1f}  "
                f"{b['compress_mb_s']:5.2f}/{b['decompress_mb_s']:5.0f} {z['compress_mb_s']:5.2f}/"
                f"{z['decompress_mb_s']:5.0f}   {row['qyn1_codecs']}",
                flush=True,
            )
    print(
        f"\nwhole packages (solid): qyn1 pack ({args.workers} workers) vs tar | zstd -19 --long=27 (1 thread)"
    )
    for name in [n for n in args.packages.split(",") if n]:
        folder = SITE / name
        if not folder.is_dir():
            print(f"{name}: not installed in {SITE}")
            continue
        for preset in ("python", "python-max") if args.python_max else ("python",):
            row = whole_package(folder, args.workers, preset)
            result["packages"][name if preset == "python" else f"{name} (python-max)"] = row
            _print_package(name if preset == "python" else f"{name}/max", row)
    result["load_end"] = os.getloadavg()[0]
    if not args.no_record:
        bench.record("qyn1", "classes", result)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}{'' if args.no_record else '; recorded'}")
    if not all(r["byte_exact"] for r in result["packages"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
