"""seg1b S6 benchmark: fast vs legacy on the fixture, then 10 million sites over a world tile index.

Called by ``benchmarks/bench_seg1b.py`` (``make bench-seg1b``) as ``main(full, tiles_dir)`` with the world
tile index it has just built (2.5 arc-minutes by default, 30 arc-seconds with FULL=1); 10 million sites in
both cases. Standalone:

    python benchmarks/seg1b_s6_bench.py --tiles reports/bench-seg1b/world-150/tiles [--sites 10000000]
    python benchmarks/seg1b_s6_bench.py --fixture-only [--repeats 5]   # the fixture ratios alone (recorded)

1. Fixture ratio: the test fixture's tile index (1:110m USA, RUS, FJI, GRC, VUT, BHS, TTO, QAT, NLD at 10
   arc-minutes) with a 200,000-site plan (the tests use 24,000). Headline: all work units (index check +
   jitter) run serially in this process, legacy and fast interleaved (perfkit.bench.compare); both produce
   identical points (checked). Beside it: the jitter kernels alone on the same inputs, and whole serial
   ``run_s6`` calls end to end (plan read, polygon load, write and receipt included; identical receipts).
2. World: ``seg1b sites`` writes a 10M-site plan (timed apart), then ``seg1b s6`` runs as a subprocess on all
   cores (processes executor), timed end to end; sites/s, per-country max/median seconds, fallbacks and
   peak RSS come from its run report.
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

import numpy as np

from perfkit import bench

REPO = Path(__file__).resolve().parents[1]
FIXTURE_COUNTRIES = ("USA", "RUS", "FJI", "GRC", "VUT", "BHS", "TTO", "QAT", "NLD")
FIXTURE_RES = 600
FIXTURE_SITES = 24_000  # the test suite's plan
BENCH_FIXTURE_SITES = 200_000  # the benchmark's plan over the same tiles: per-unit fixed costs amortised
WORLD_SITES = 10_000_000
SEED = 7


def _exe() -> str:
    return shutil.which("seg1b") or str(Path(sys.executable).with_name("seg1b"))


def build_fixture(workdir: Path, sites: int = FIXTURE_SITES) -> tuple[Path, Path]:
    """The fixture tile index (via S1) and its site plan."""
    from seg1b.s1.pipeline import S1Params, run_s1
    from seg1b.sites import generate_plan

    tiles = workdir / "fixture-tiles"
    run_s1(
        S1Params(
            out=str(tiles),
            countries="ne110m",
            resolution_arcsec=FIXTURE_RES,
            only=FIXTURE_COUNTRIES,
            executor="serial",
            workers=1,
            quiet=True,
        )
    )
    plan = workdir / "fixture-plan.parquet"
    generate_plan(tiles, sites, 1, plan)
    return tiles, plan


def bench_fixture(repeats: int, sites: int = BENCH_FIXTURE_SITES) -> dict:
    from seg1b.countries import load_countries
    from seg1b.grid import Grid
    from seg1b.philox import seed_key
    from seg1b.s6.kernels import jitter_country, tile_bounds
    from seg1b.s6.pipeline import S6Params, build_units, run_s6, run_unit
    from seg1b.s6.reference import jitter_legacy
    from seg1b.sites import read_plan
    from seg1b.tile_index import open_tile_index

    with tempfile.TemporaryDirectory(prefix="seg1b-s6-bench-") as tmp:
        work = Path(tmp)
        tiles, plan_path = build_fixture(work, sites)
        plan = read_plan(plan_path)
        index = open_tile_index(tiles)
        grid = Grid(FIXTURE_RES)

        def units(mode: str):
            countries = load_countries("ne110m", only=list(FIXTURE_COUNTRIES))
            p = S6Params(tiles=str(tiles), sites=str(plan_path), seed=SEED, out="", mode=mode, workers=1)
            tasks, _, _ = build_units(p.resolved(), plan, index, countries, chunk=10**9)
            return [t.payload for t in tasks]

        fast_units, legacy_units = units("fast"), units("legacy")

        def fast():
            return [run_unit(u)["result"] for u in fast_units]

        def legacy():
            return [run_unit(u)["result"] for u in legacy_units]

        for a, b in zip(fast(), legacy(), strict=True):  # identical points, attempts, statuses
            assert np.array_equal(a.lon, b.lon) and np.array_equal(a.lat, b.lat)
            assert np.array_equal(a.attempts, b.attempts) and np.array_equal(a.status, b.status)
        cmp = bench.compare(
            legacy, fast, warmup=1, repeats=repeats, name=f"s6 fixture units ({sites:,} sites) legacy vs fast",
            units=sites, unit_name="sites",
        )  # fmt: skip
        print(cmp.line(), flush=True)

        # the jitter alone (no index check): jitter_country vs the per-site, per-attempt loop, same inputs
        core_inputs = []
        for u in fast_units:
            new = np.ones(u.site_id.size, dtype=bool)
            new[1:] = u.tile_id[1:] != u.tile_id[:-1]
            core_inputs.append(
                (u.geom, u.site_id, np.cumsum(new) - 1, u.tile_id[new], tile_bounds(grid, u.tile_id))
            )

        def core_fast():
            for g, sid, tix, tl, _ in core_inputs:
                jitter_country(g, grid, sid, tix, tl, seed_key(SEED), 64)

        def core_legacy():
            for g, sid, _, _, (w, so, e, no) in core_inputs:
                jitter_legacy(g, sid, w, so, e, no, SEED, 64)

        core = bench.compare(
            core_legacy, core_fast, warmup=1, repeats=max(1, repeats - 1),
            name="s6 fixture jitter kernel legacy vs fast", units=sites, unit_name="sites",
        )  # fmt: skip
        print(core.line(), flush=True)

        def whole(mode: str):
            def run():
                out = work / f"e2e-{mode}"
                s = run_s6(
                    S6Params(
                        tiles=str(tiles), sites=str(plan_path), seed=SEED, out=str(out), mode=mode,
                        countries="ne110m", workers=1, force=True,
                    )
                )  # fmt: skip
                return s["receipt"]

            return run

        assert whole("fast")() == whole("legacy")()  # identical receipts
        e2e = bench.compare(
            whole("legacy"), whole("fast"), warmup=0, repeats=1,
            name="s6 fixture end to end (serial run_s6) legacy vs fast", units=sites, unit_name="sites",
        )  # fmt: skip
        print(e2e.line(), flush=True)
    return {
        "countries": list(FIXTURE_COUNTRIES),
        "resolution_arcsec": FIXTURE_RES,
        "sites": sites,
        "units": cmp.to_dict(),
        "kernel": core.to_dict(),
        "end_to_end": e2e.to_dict(),
    }


def bench_world(tiles_dir: Path, sites: int, workers: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    plan = out / f"plan-{sites}.parquet"
    cmd = [
        _exe(),
        "sites",
        "--tiles",
        str(tiles_dir),
        "--count",
        str(sites),
        "--seed",
        "1",
        "--out",
        str(plan),
        "--force",  # reruns replace the previous plan
    ]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    plan_s = time.perf_counter() - t0

    s6_out = out / "s6"
    cmd = [_exe(), "s6", "--tiles", str(tiles_dir), "--sites", str(plan), "--seed", str(SEED),
           "--workers", str(workers), "--out", str(s6_out), "--force", "--quiet"]  # fmt: skip
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    rep = json.loads((s6_out / "run_report.json").read_text())
    m, c = rep["metrics"], rep["counters"]
    figures = {
        "resolution_arcsec": rep["config"]["resolution_arcsec"],
        "sites": c["written_sites"],
        "countries": len(rep["items"]),
        "workers": workers,
        "plan_s": plan_s,
        "end_to_end_s": wall,
        "sites_per_s_end_to_end": c["written_sites"] / wall,
        "run_wall_s": rep["wall_s"],
        "jitter_wall_s": m["jitter_wall_s"],
        "stages_s": {k: v["wall_s"] for k, v in rep["stages"].items()},
        "load_s": m["load_s"],
        "per_country_max_s": m["per_country_max_s"],
        "per_country_median_s": m["per_country_median_s"],
        "per_country_cpu_max_s": m.get("per_country_cpu_max_s"),
        "per_country_cpu_median_s": m.get("per_country_cpu_median_s"),
        "slowest": m["slowest_countries"][:5],
        "worker_idle_fraction": m["utilisation"]["idle_fraction"],
        "worker_first_start_s": m.get("worker_first_start_s"),
        "unit_cpu_s": m.get("unit_cpu_s"),
        "fallback": c["fallback"],
        "rng_events": c["rng_events"],
        "polygon_tests": m["polygon_tests"],
        "peak_rss_main_mb": rep["peak_rss_bytes"] / 2**20,
        "peak_rss_worker_mb": max((m.get("worker_peak_rss_bytes") or {0: 0}).values()) / 2**20,
        "receipt": rep["receipts"]["sites"]["digest"],
    }
    print(
        f's6 world {figures["resolution_arcsec"]}": {figures["sites"]:,} sites in {wall:.1f} s end to end '
        f"({figures['sites_per_s_end_to_end']:,.0f} sites/s; jitter stage {m['jitter_wall_s']:.1f} s), "
        f"per country max {m['per_country_max_s']:.2f} s / median {m['per_country_median_s']:.3f} s "
        f"(CPU max {figures['per_country_cpu_max_s']:.2f} s), {c['fallback']:,} fallback, peak RSS main "
        f"{figures['peak_rss_main_mb']:.0f} MB / worker {figures['peak_rss_worker_mb']:.0f} MB "
        f"(plan generated in {plan_s:.1f} s)",
        flush=True,
    )
    return figures


def main(full: bool = False, tiles_dir: str | os.PathLike | None = None, sites: int = WORLD_SITES,
         workers: int | None = None, repeats: int = 3, out: str | os.PathLike | None = None) -> None:  # fmt: skip
    """Fixture ratio, then ``sites`` sites over the world index at ``tiles_dir`` (10 million by default)."""
    workers = workers or os.cpu_count() or 1
    fixture = bench_fixture(repeats)
    bench.record("seg1b", "s6_fixture_legacy_vs_fast", fixture)
    units = fixture["units"]
    bench.summary_row(
        "seg1b",
        "S6 fixture legacy vs fast",
        ratio=round(units["ratio"], 1),
        ratio_kernel=round(fixture["kernel"]["ratio"], 1),
        ratio_end_to_end=round(fixture["end_to_end"]["ratio"], 1),
        fast_sites_per_s=round(units["fast"]["sites_per_s"]),
        sites=fixture["sites"],
    )
    if tiles_dir is None:
        print("no world tile index given (--tiles): world run skipped")
        return
    tiles_dir = Path(tiles_dir)
    label = "30" if full else "150"
    out_dir = Path(out) if out else REPO / "reports" / "bench-seg1b" / f"s6-{label}"
    world = bench_world(tiles_dir, sites, workers, out_dir)
    res = world["resolution_arcsec"]
    bench.record("seg1b", f"s6_world_{res}_{sites}", world)
    bench.summary_row(
        "seg1b",
        f'S6 world {res}" {sites / 1e6:g}M sites',
        sites=world["sites"],
        seconds=round(world["end_to_end_s"], 1),
        sites_per_s=round(world["sites_per_s_end_to_end"]),
        country_max_s=round(world["per_country_max_s"], 2),
        country_median_s=round(world["per_country_median_s"], 3),
        peak_rss_mb=round(max(world["peak_rss_main_mb"], world["peak_rss_worker_mb"])),
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiles", type=Path, default=None, help="world tile index (S1 output or its tiles/)")
    ap.add_argument("--full", action="store_true", help="label the run as the 30 arc-second world")
    ap.add_argument("--sites", type=int, default=WORLD_SITES)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--fixture-only", action="store_true",
        help="only the fixture ratios: printed and recorded in benchmarks/results (not in the summary table)",
    )  # fmt: skip
    a = ap.parse_args()
    if a.fixture_only:  # recorded like every figure (docs/perf may quote only recorded runs)
        bench.record("seg1b", "s6_fixture_legacy_vs_fast", bench_fixture(a.repeats))
        sys.exit(0)
    main(full=a.full, tiles_dir=a.tiles, sites=a.sites, workers=a.workers, repeats=a.repeats, out=a.out)
