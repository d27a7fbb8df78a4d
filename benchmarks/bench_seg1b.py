"""seg1b benchmark: S1 fast vs legacy on a sample (same process, interleaved), then the 1:10m world.

    make bench-seg1b            # sample ratio, then the world at 2.5 arc-minutes (150")
    make bench-seg1b FULL=1     # sample ratio, then the world at 30 arc-seconds (~221 M tiles)

The world run is the real command (``seg1b s1`` in a subprocess, processes executor, all cores), timed end to
end; tiles, tiles/s, worker idle and peak RSS come from its run report. Then the S6 benchmark runs on the
tile index the world run produced.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seg1b.countries import load_countries
from seg1b.grid import Grid
from seg1b.s1.pipeline import S1Params, plan_units, run_unit

from perfkit import bench

REPO = Path(__file__).resolve().parents[1]
# an antimeridian country (Fiji), a small island (Jamaica), a mountainous one (Switzerland), a fjord coast with
# many islands (Iceland): ~390,000 tiles at 30", where the legacy loop takes tens of seconds per repeat
SAMPLE = ["FJI", "JAM", "CHE", "ISL"]
SAMPLE_RES = 30


def sample_units(mode: str, workdir: Path):
    """Plan the sample once; return a zero-argument callable that runs its units serially into workdir."""
    grid = Grid(SAMPLE_RES)
    countries = load_countries("ne10m", only=SAMPLE)
    out = workdir / mode
    params = S1Params(out=str(out), resolution_arcsec=SAMPLE_RES, mode=mode, executor="serial")
    tasks = plan_units(countries, grid, params, str(out), {})

    def run() -> int:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        return sum(run_unit(t.payload).tiles for t in tasks)

    return run


def bench_sample(repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="seg1b-bench-") as tmp:
        fast = sample_units("fast", Path(tmp))
        legacy = sample_units("legacy", Path(tmp))
        tiles = fast()
        assert legacy() == tiles
        cmp = bench.compare(
            legacy,
            fast,
            warmup=1,
            repeats=repeats,
            name="s1 sample legacy vs fast",
            units=tiles,
            unit_name="tiles",
        )
    print(cmp.line())
    return {"tiles": tiles, "countries": SAMPLE, "resolution_arcsec": SAMPLE_RES, **cmp.to_dict()}


GEOMETRY_SAMPLE = "FRA"  # one 30" country band for the cost of the bbox covering and of cell polygons


def sample_tables() -> list:
    """The tile columns of one 30" unit of ``GEOMETRY_SAMPLE``, in 1 Mi-row batches (the writer benchmarks)."""
    from seg1b.s1.kernels import band_runs, runs_table, split_runs

    grid = Grid(SAMPLE_RES)
    countries = load_countries("ne10m", only=[GEOMETRY_SAMPLE])
    params = S1Params(out="unused", resolution_arcsec=SAMPLE_RES, executor="serial")
    spec = plan_units(countries, grid, params, "unused", {})[0].payload
    runs = band_runs(spec.parts, spec.rule, spec.band)
    return [runs_table(grid, spec.country, b) for b in split_runs(runs, 1 << 20)]


def bench_geometry(repeats: int) -> dict:
    """Cost of GeoParquet in the tile index, in one process: the tile columns written as before (no bbox),
    with the ``bbox`` covering (the default, ``--geometry none``) and with cell polygons (``--geometry
    polygons``), interleaved; time and bytes on disk per variant, one 30" country."""
    import pyarrow.parquet as pq
    from seg1b.geoparquet import with_tile_geometry
    from seg1b.s1.io import _ENCODING, ZSTD_LEVEL, file_schema
    from seg1b.s1.kernels import TILE_SCHEMA

    tables = sample_tables()
    tiles = sum(t.num_rows for t in tables)

    def writer_for(geometry: str | None, path: Path):
        schema = TILE_SCHEMA if geometry is None else file_schema(geometry)

        def run() -> None:
            with pq.ParquetWriter(
                str(path), schema, compression="zstd", compression_level=ZSTD_LEVEL,
                use_dictionary=["country_iso"],
                column_encoding={k: v for k, v in _ENCODING.items() if k.split(".")[0] in schema.names},
            ) as w:  # fmt: skip
                for t in tables:
                    w.write_table(t if geometry is None else with_tile_geometry(t, schema))

        return run

    with tempfile.TemporaryDirectory(prefix="seg1b-geo-") as tmp:
        paths = {v: Path(tmp) / f"{v}.parquet" for v in ("plain", "bbox", "polygons")}
        plain = writer_for(None, paths["plain"])
        bbox = writer_for("none", paths["bbox"])
        polygons = writer_for("polygons", paths["polygons"])
        c1 = bench.compare(plain, bbox, warmup=1, repeats=repeats, name="tiles: no bbox vs bbox",
                           units=tiles, unit_name="tiles")  # fmt: skip
        c2 = bench.compare(bbox, polygons, warmup=1, repeats=repeats, name="tiles: bbox vs polygons",
                           units=tiles, unit_name="tiles")  # fmt: skip
        sizes = {v: p.stat().st_size for v, p in paths.items()}
    out = {
        "country": GEOMETRY_SAMPLE,
        "resolution_arcsec": SAMPLE_RES,
        "tiles": tiles,
        "plain_median_s": c1.reference.median_s,
        "bbox_median_s": c1.fast.median_s,
        "polygons_median_s": c2.fast.median_s,
        "bbox_vs_plain": c1.fast.median_s / c1.reference.median_s,
        "polygons_vs_bbox": c2.fast.median_s / c2.reference.median_s,
        "bytes": sizes,
        "bytes_per_tile": {v: n / tiles for v, n in sizes.items()},
    }
    print(
        f'geometry cost, {GEOMETRY_SAMPLE} at {SAMPLE_RES}" ({tiles:,} tiles, write only): no bbox '
        f"{out['plain_median_s']:.2f} s, bbox {out['bbox_median_s']:.2f} s, polygons {out['polygons_median_s']:.2f} s; "
        + ", ".join(f"{v} {n / tiles:.1f} B/tile" for v, n in sizes.items())
    )
    return out


def bench_codecs(repeats: int) -> dict:
    """S1's writer (``seg1b.s1.io.open_writer``: the real encodings, statistics and bbox covering) with zstd
    level 1 against lz4, the default since issue 15, interleaved in one process; time and bytes per tile on
    one 30" country, the same sample as the geometry cost."""
    from seg1b.geoparquet import with_tile_geometry
    from seg1b.s1.io import file_schema, open_writer

    schema = file_schema("none")
    tables = [with_tile_geometry(t, schema) for t in sample_tables()]
    tiles = sum(t.num_rows for t in tables)

    def writer_for(codec: str, path: Path):
        def run() -> None:
            w = open_writer(path, codec, schema)
            for t in tables:
                w.write_table(t, row_group_size=1 << 20)
            w.close()

        return run

    with tempfile.TemporaryDirectory(prefix="seg1b-codec-") as tmp:
        paths = {c: Path(tmp) / f"{c}.parquet" for c in ("zstd", "lz4")}
        cmp = bench.compare(writer_for("zstd", paths["zstd"]), writer_for("lz4", paths["lz4"]), warmup=1,
                            repeats=repeats, name="tiles: zstd-1 vs lz4", units=tiles, unit_name="tiles")  # fmt: skip
        sizes = {c: p.stat().st_size for c, p in paths.items()}
    out = {
        "country": GEOMETRY_SAMPLE,
        "resolution_arcsec": SAMPLE_RES,
        "tiles": tiles,
        "zstd_median_s": cmp.reference.median_s,
        "lz4_median_s": cmp.fast.median_s,
        "zstd_vs_lz4": cmp.ratio,
        "bytes_per_tile": {c: n / tiles for c, n in sizes.items()},
    }
    print(
        f'codec, {GEOMETRY_SAMPLE} at {SAMPLE_RES}" ({tiles:,} tiles, S1 writer): zstd-1 {out["zstd_median_s"]:.3f} s, '
        f"lz4 {out['lz4_median_s']:.3f} s ({cmp.ratio:.2f}x); "
        + ", ".join(f"{c} {b:.2f} B/tile" for c, b in out["bytes_per_tile"].items())
    )
    return out


def bench_world(resolution: int, out: Path, workers: int) -> dict:
    exe = shutil.which("seg1b") or str(Path(sys.executable).with_name("seg1b"))
    cmd = [
        exe,
        "s1",
        "--countries",
        "ne10m",
        "--resolution-arcsec",
        str(resolution),
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--force",  # a rerun replaces the previous benchmark output (seg1b refuses an existing one otherwise)
        "--quiet",
    ]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    rep = json.loads((out / "run_report.json").read_text())
    tiles = rep["counters"]["tiles"]
    m = rep["metrics"]
    size = sum(f.stat().st_size for f in (out / "tiles").glob("*.parquet"))
    figures = {
        "resolution_arcsec": resolution,
        "tiles": tiles,
        "end_to_end_s": wall,
        "tiles_per_s_end_to_end": tiles / wall,
        "units_wall_s": m["units_wall_s"],
        "tiles_per_s_units": m["tiles_per_s"],
        "worker_idle_fraction": m["worker_idle_fraction"],
        "peak_rss_main_mb": rep["peak_rss_bytes"] / 2**20,
        "peak_rss_worker_mb": (rep.get("peak_rss_children_bytes") or 0) / 2**20,
        "dataset_mb": size / 2**20,
        "files": rep["counters"]["files"],
        "receipt": rep["receipts"]["tiles"]["digest"],
    }
    print(
        f'world {resolution}": {tiles:,} tiles in {wall:.1f} s end to end ({tiles / wall:,.0f} tiles/s; '
        f"units {m['units_wall_s']:.1f} s at {m['tiles_per_s']:,.0f} tiles/s), idle "
        f"{100 * m['worker_idle_fraction']:.1f} %, peak RSS main {figures['peak_rss_main_mb']:.0f} MB / "
        f"worker {figures['peak_rss_worker_mb']:.0f} MB, {size / 2**20:,.0f} MB on disk"
    )
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="world at 30 arc-seconds instead of 2.5 arc-minutes")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--geometry-only", action="store_true", help="stop after the sample, the geometry and the codec cost"
    )
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=REPO / "reports" / "bench-seg1b")
    args = ap.parse_args()

    sample = bench_sample(args.repeats)
    bench.record("seg1b", "s1_sample_legacy_vs_fast", sample)
    bench.record("seg1b", "s1_geometry_cost", bench_geometry(max(args.repeats, 3)))
    bench.record("seg1b", "s1_codec_cost", bench_codecs(max(args.repeats, 5)))
    if args.geometry_only:
        return
    resolution = 30 if args.full else 150
    world_dir = args.out / f"world-{resolution}"
    world = bench_world(resolution, world_dir, args.workers)
    bench.record("seg1b", f"s1_world_{resolution}", world)
    bench.summary_row(
        "seg1b",
        "S1 sample legacy vs fast",
        ratio=round(sample["ratio"], 1),
        fast_tiles_per_s=round(
            sample["fast"].get("rate_per_s") or sample["tiles"] / sample["fast"]["median_s"]
        ),
        tiles=sample["tiles"],
    )
    bench.summary_row(
        "seg1b",
        f'S1 world {resolution}"',
        tiles=world["tiles"],
        seconds=round(world["end_to_end_s"], 1),
        tiles_per_s=round(world["tiles_per_s_end_to_end"]),
        idle_pct=round(100 * world["worker_idle_fraction"], 1),
        peak_rss_mb=round(max(world["peak_rss_main_mb"], world["peak_rss_worker_mb"])),
    )

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from seg1b_s6_bench import main as s6_main
    except ImportError:
        print("S6 bench not built yet")
        return
    s6_main(full=args.full, tiles_dir=world_dir / "tiles")


if __name__ == "__main__":
    main()
