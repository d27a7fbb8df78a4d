"""S6: place every planned site at a random point of its tile that lies inside its country.

``run_s6`` reads and checks the plan, groups the sites by country (heavy countries split into chunks of
contiguous tile ranges), runs the units through ``perfkit.parallel.map_tasks`` (LPT, any executor), checks
the RNG budget, writes ``OUT/sites/`` sorted by ``site_id`` and the run report. Each unit checks its tiles
against the tile index, then jitters (:func:`seg1b.s6.kernels.jitter_country`, or the legacy loop of
:mod:`seg1b.s6.reference`). Every draw is keyed by (seed, site_id, attempt), so the output does not depend
on chunking, worker count, executor or order. Bad input raises :class:`Seg1bError` and writes nothing.
"""

from __future__ import annotations

import functools
import hashlib
import math
import multiprocessing
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely
from perfkit.clitools import progress
from perfkit.job import job
from perfkit.parallel import EXECUTORS, Task, map_tasks, worker_utilisation

from seg1b._background import background, preload
from seg1b.errors import Seg1bError, path_text, whole_number
from seg1b.grid import Grid
from seg1b.options import COMPRESSIONS, DEFAULT_COMPRESSION, MODES
from seg1b.philox import seed_key
from seg1b.s1.io import read_manifest
from seg1b.s6.io import SITES_SCHEMA, write_sites
from seg1b.s6.kernels import (
    STATUS_FALLBACK,
    STATUS_NAMES,
    JitterResult,
    distinct_tiles,
    jitter_country,
    pack_group_keys,
    place_results,
    unpack_group_keys,
    warm_up,
)
from seg1b.s6.reference import jitter_legacy
from seg1b.sites import Plan, read_plan
from seg1b.tile_index import (
    TileFile,
    TileIndex,
    find_tiles,
    open_tile_index,
    read_tile_bounds,
    read_tile_ids,
)

MAX_ATTEMPTS_LIMIT = np.iinfo(np.int16).max
MIN_CHUNK_SITES = 50_000


class S6BudgetError(RuntimeError):
    """The RNG budget or the site count does not add up: a bug, never bad input."""


@dataclass
class S6Params:
    tiles: str
    sites: str
    seed: int
    out: str
    max_attempts: int = 64
    workers: int | None = None
    mode: str = "fast"
    executor: str | None = None  # None/"auto": dask with a scheduler, serial for one worker, else threads
    scheduler: str | None = None
    countries: str | None = None  # None: the set the tile index was built from (its manifest), else ne10m
    key: str | None = None
    layer: str | None = None  # None with countries None: the layer the index was built from
    chunk_sites: int | None = None
    compression: str = DEFAULT_COMPRESSION
    report_dir: str | None = None
    profile: str | None = None
    quiet: bool = True
    force: bool = False
    resume: bool = False  # keep the finished units of a killed run of the same options (perfkit.resume)

    @classmethod
    def from_cli(cls, opts: dict) -> S6Params:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in opts.items() if k in names})

    def resolved(self) -> S6Params:
        """Checked parameters with defaults filled in (raises Seg1bError on bad values)."""
        paths = {
            name: path_text(
                name,
                getattr(self, name),
                optional=name not in ("tiles", "sites", "out"),
                what="a name (str)" if name in ("key", "layer") else "a path (str or pathlib.Path)",
            )
            for name in ("tiles", "sites", "out", "countries", "key", "layer", "report_dir", "profile")
        }
        self = S6Params(**{**asdict(self), **paths})  # the checks below read the paths as text
        seed_key(self.seed)
        max_attempts = whole_number("max_attempts", self.max_attempts)
        if not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise Seg1bError(
                f"max_attempts must be in 1..{MAX_ATTEMPTS_LIMIT}, got {self.max_attempts}",
                params="max_attempts",
            )
        workers = whole_number("workers", self.workers) if self.workers is not None else (os.cpu_count() or 1)
        chunk_sites = None if self.chunk_sites is None else whole_number("chunk_sites", self.chunk_sites)
        if workers < 1:
            raise Seg1bError(f"workers must be >= 1, got {workers}", params="workers")
        if self.mode not in MODES:
            raise Seg1bError(f"mode must be fast or reference, got {self.mode!r}", params="mode")
        executor = (
            self.executor
            if self.executor not in (None, "auto")
            else ("dask" if self.scheduler else "serial" if workers == 1 else "threads")
        )
        if self.scheduler and executor != "dask":
            raise Seg1bError(
                f"scheduler {self.scheduler} runs on a Dask cluster; it cannot be used with executor {executor}",
                params=("scheduler", "executor"),
            )
        if executor not in EXECUTORS:
            raise Seg1bError(
                f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}", params="executor"
            )
        if chunk_sites is not None and chunk_sites < 1:
            raise Seg1bError(f"chunk_sites must be >= 1, got {self.chunk_sites}", params="chunk_sites")
        if self.compression not in COMPRESSIONS:
            raise Seg1bError(f"compression must be one of {', '.join(COMPRESSIONS)}", params="compression")
        mode = "reference" if self.mode == "legacy" else self.mode  # legacy: the old name
        countries, key, layer = self.countries, self.key, self.layer
        if countries is None:
            built = read_manifest(self.tiles) or {}
            countries = built.get("countries", "ne10m")
            key = key if key is not None else built.get("key")
            layer = layer if layer is not None else built.get("layer")
        return S6Params(
            **{
                **asdict(self),
                "seed": whole_number("seed", self.seed),
                "max_attempts": max_attempts,
                "workers": workers,
                "chunk_sites": chunk_sites,
                "executor": executor,
                "mode": mode,
                "countries": countries,
                "key": key,
                "layer": layer,
            }
        )


# ---------------------------------------------------------------------------------------------------------------
# the work unit (runs in a worker)


@dataclass
class UnitPayload:
    country: str
    part: int
    geom: shapely.Geometry
    resolution_arcsec: int
    files: list[TileFile]
    site_id: np.ndarray  # int64, sorted by tile_id within the unit
    tile_id: np.ndarray  # int64, sorted
    seed: int
    max_attempts: int
    mode: str


@functools.lru_cache(maxsize=4)
def _grid(resolution_arcsec: int) -> Grid:
    """One Grid (and its edge arrays) per process and resolution, shared by the units."""
    return Grid(resolution_arcsec)


def run_unit(p: UnitPayload) -> dict:
    """Check the unit's tiles against the index, then jitter its sites. Module-level: picklable."""
    t0 = time.perf_counter()
    c0 = time.thread_time()
    grid = _grid(p.resolution_arcsec)
    tiles, tix = distinct_tiles(np.ascontiguousarray(p.tile_id, dtype=np.int64))
    found, rows_read = find_tiles(p.files, tiles)
    t_read = time.perf_counter() - t0
    if not found.all():
        bad = tiles[~found]
        hit = np.isin(p.tile_id, bad)
        first = int(np.argmin(np.where(hit, p.site_id, np.iinfo(np.int64).max)))
        return {
            "bad_tiles": np.array([p.tile_id[first]]),
            "bad_site": int(p.site_id[first]),
            "n_bad_tiles": int(bad.size),
        }
    if p.mode == "fast":
        res = jitter_country(p.geom, grid, p.site_id, tix, tiles, seed_key(p.seed), p.max_attempts)
    else:
        b = read_tile_bounds(p.files, tiles)
        if b is None:  # the index changed under us: report as unknown tiles
            first = int(np.argmin(p.site_id))
            return {
                "bad_tiles": np.array([p.tile_id[first]]),
                "bad_site": int(p.site_id[first]),
                "n_bad_tiles": 1,
            }
        res = jitter_legacy(
            p.geom, p.site_id, b["west"][tix], b["south"][tix], b["east"][tix], b["north"][tix],
            p.seed, p.max_attempts,
        )  # fmt: skip
    return {
        "result": res,
        "tiles": int(tiles.size),
        "index_rows_read": int(rows_read),
        "read_s": t_read,
        "jitter_s": time.perf_counter() - t0 - t_read,
        "cpu_s": time.thread_time() - c0,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


if multiprocessing.current_process().name != "MainProcess":
    # a process or Dask worker imports this module while unpickling run_unit: load the kernels now, so its
    # first unit's time is work (worker start-up is reported apart, as worker_first_start_s)
    warm_up()


_STATUS_FD: dict[int, int] = {}  # pid -> open /proc/self/status (a forked worker opens its own)


def _peak_rss_bytes() -> int:
    """This process's own peak resident set (``VmHWM``: unlike ``ru_maxrss`` it does not inherit the peak of
    the parent a worker was forked from). The file stays open; each call re-reads it from offset 0."""
    pid = os.getpid()
    try:
        fd = _STATUS_FD.get(pid)
        if fd is None:
            fd = _STATUS_FD[pid] = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        text = os.pread(fd, 1 << 16, 0)
        i = text.find(b"VmHWM:")
        if i >= 0:
            return int(text[i + 6 : text.index(b"kB", i)]) * 1024
    except (OSError, ValueError):
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# ---------------------------------------------------------------------------------------------------------------
# planning the units


def group_order(plan: Plan, ncells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plan rows sorted by (country, tile_id, row): (order, site_id[order], tile_id[order]).

    One sort of packed integers when they fit (numba kernels pack and unpack them in one pass each; the tile
    ids come out of the keys and, when the site ids are ``s0, s0 + 1, ...`` as in a generated plan, so do
    they: no gathers through ``order``, 10 M random reads each).
    """
    n = len(plan)
    cbits = max(1, (len(plan.countries) - 1).bit_length())
    tbits = max(1, (ncells - 1).bit_length())
    ibits = max(1, (n - 1).bit_length())
    if cbits + tbits + ibits > 63:
        order = np.lexsort((np.arange(n), plan.tile_id, plan.code))
        return order, plan.site_id[order], plan.tile_id[order]
    key = pack_group_keys(plan.code, plan.tile_id, tbits, ibits)
    background(key.sort).result()  # ~1 s per 10 M sites: in a thread, so Ctrl-C is not held back
    dense = n > 0 and int(plan.site_id[-1]) - int(plan.site_id[0]) == n - 1 and plan.ascending
    return unpack_group_keys(key, tbits, ibits, plan.site_id, dense)


def default_chunk_sites(total: int, workers: int) -> int:
    return max(MIN_CHUNK_SITES, math.ceil(total / max(1, workers * 8)))


def _unit_cost(sites: int, rows_read: int, vertices: int) -> float:
    # site-equivalents: ~0.35 us per site, ~3 ns per index row read, ~0.2 us per boundary vertex
    return sites + rows_read / 100.0 + vertices / 2.0


def build_units(p: S6Params, plan: Plan, index: TileIndex, countries, chunk: int):
    """The work units: each country's sites sorted by tile, heavy countries cut into ``chunk``-site pieces
    (contiguous tile ranges). Returns (tasks, key -> (country, lo, hi) span of the sorted order, order)."""
    grid = index.grid
    order, sorted_sites, sorted_tiles = group_order(plan, grid.ncells)
    counts = np.bincount(plan.code, minlength=len(plan.countries))
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    tasks: list[Task] = []
    spans: dict[str, tuple[str, int, int]] = {}
    for ci, country in enumerate(plan.countries):
        a, b = int(starts[ci]), int(starts[ci + 1])
        if a == b:
            continue
        geom = countries.geometries[country]
        verts = int(shapely.get_num_coordinates(geom))
        parts = max(1, math.ceil((b - a) / chunk))
        edges = np.linspace(a, b, parts + 1).round().astype(np.int64)
        for j in range(parts):
            lo, hi = int(edges[j]), int(edges[j + 1])
            key = country if parts == 1 else f"{country}#{j:04d}"
            rows = index.row_range_rows(country, int(sorted_tiles[lo]), int(sorted_tiles[hi - 1]))
            payload = UnitPayload(
                country=country,
                part=j,
                # a unit prepares its geometry in place and GEOS builds a prepared geometry's indexes lazily,
                # not thread-safe: the units of a split country each get their own copy
                geom=geom if parts == 1 else shapely.from_wkb(shapely.to_wkb(geom)),
                resolution_arcsec=grid.resolution_arcsec,
                files=index.files[country],
                site_id=sorted_sites[lo:hi],
                tile_id=sorted_tiles[lo:hi],
                seed=int(p.seed),
                max_attempts=int(p.max_attempts),
                mode=p.mode,
            )
            tasks.append(Task(key=key, payload=payload, cost=_unit_cost(hi - lo, rows, verts)))
            spans[key] = (country, lo, hi)
    return tasks, spans, order


def units_phase(plan: Plan, chunk: int, geometry_digest: str) -> str:
    """The resumable phase of the units, named by what defines them: the plan's sites, countries and tiles,
    the chunk size (which follows ``--workers`` unless ``--chunk-sites`` is given) and the polygons. A resumed
    run keeps a killed run's unit results (workers write no files: the values are journaled) only when all
    of that is the same; the options that define the output are checked by perfkit. (Hashed from the plan,
    not the units, so it runs in a thread while the kernels load: ~0.2 s of blake2b per 10 M sites.)"""
    h = hashlib.blake2b(geometry_digest.encode(), digest_size=8)
    h.update(f"{chunk}\0{len(plan)}\0".encode() + "\0".join(plan.countries).encode() + b"\0")
    for column in (plan.site_id, plan.code, plan.tile_id):
        h.update(np.ascontiguousarray(column))
    return f"jitter-{h.hexdigest()}"


# ---------------------------------------------------------------------------------------------------------------
# the run


def s6_inputs(p: S6Params) -> list[str]:
    """Every path S6 reads: the tile index, the plan and the country polygons (the packaged file too)."""
    from seg1b.countries import PACKAGED, packaged_path

    countries = packaged_path(p.countries) if p.countries in PACKAGED else p.countries
    return [p.tiles, p.sites, countries]


def run_s6(params: S6Params) -> dict:
    """Run S6 as one ``perfkit.job``; returns a summary dict (also in the run report).

    ``OUT`` is claimed and checked against every input before any work and built in a private folder beside
    it (the report inside, or in ``report_dir``); it replaces an earlier S6 output only with ``force``.
    Raises :class:`Seg1bError` on bad input, with nothing written.
    """
    p = params.resolved()
    with job(
        "seg1b",
        "s6",
        config=_base_config(p),
        inputs=s6_inputs(p),
        directories=[p.out],
        force=p.force,
        report_dir=p.report_dir,
        profile=p.profile,
        bad_input=(Seg1bError,),
        resumable=True,
        resume=p.resume,
    ) as j:
        preload("pandas")  # pyarrow imports it on first use: never in the main thread (see _background)
        summary = _run(p, j.run, j.path(p.out))
    summary["out"] = str(p.out)
    summary["report"] = str(j.report_path)
    summary["peak_rss_bytes"] = (j.run.report or {}).get("peak_rss_bytes")
    return summary


def _run(p: S6Params, run, staged: Path) -> dict:
    t_start = time.perf_counter()
    from seg1b.countries import load_countries

    with run.stage("load"):
        # the polygons load in a thread while the plan and the index are read
        loading = background(load_countries, p.countries, p.key, True, None, p.layer)
        plan = read_plan(p.sites)
        index = open_tile_index(p.tiles)
        grid = index.grid
        no_tiles = [c for c in plan.countries if c not in index.files]
        if no_tiles:
            raise Seg1bError(
                f"site plan names countries with no tiles in {p.tiles}: {', '.join(no_tiles[:10])}"
                + (" ..." if len(no_tiles) > 10 else "")
            )
        bad = (plan.tile_id < 0) | (plan.tile_id >= grid.ncells)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise Seg1bError(
                f"site plan: site_id {int(plan.site_id[i])} has unknown tile_id {int(plan.tile_id[i])} "
                f"(not a cell of the {grid.resolution_arcsec} arc-second grid)"
            )
        countries = loading.result()
    manifest = read_manifest(p.tiles) or {}
    no_geom = [c for c in plan.countries if c not in countries.geometries]
    if no_geom:
        built = manifest.get("countries")
        hint = (
            f" (the tile index was built from {built}; set countries to it)" if built != p.countries else ""
        )
        raise Seg1bError(
            f"site plan names keys not in {p.countries}: {', '.join(no_geom[:10])}"
            + (" ..." if len(no_geom) > 10 else "")
            + hint,
            params="countries",
        )
    _check_same_geometries(p, index, countries, manifest)
    run.config.update(_config(p, plan, index, countries))
    return _run_units(p, run, plan, index, countries, staged, t_start, time.perf_counter() - t_start)


def _check_same_geometries(p: S6Params, index: TileIndex, countries, manifest: dict) -> None:
    """Refuse polygons other than those the index was built from: S1's manifest holds the digest of its
    countries (every one of which has tiles: a country no centre falls in gets the ``any`` rule's cells), so
    the same digest over the index's countries here says they are the same. A countries file edited since S1
    would otherwise put the fallback points of a moved country at tile corners outside it."""
    expected = manifest.get("geometry_digest")
    if not expected:
        return  # an index without a manifest (older than the digest): nothing to compare with
    got = countries.digest_of(index.countries)
    if got != expected:
        raise Seg1bError(
            f"countries {p.countries} are not the polygons the tile index {p.tiles} was built from (geometry "
            f"digest {got.split(':')[-1][:12]}, the index's {expected.split(':')[-1][:12]}): changed since "
            "seg1b s1? rebuild the index from them",
            params="countries",
        )


def _base_config(p: S6Params) -> dict:
    return {
        "tiles": str(p.tiles),
        "sites": str(p.sites),
        "out": str(p.out),
        "seed": int(p.seed),
        "max_attempts": int(p.max_attempts),
        "mode": p.mode,
        "workers": int(p.workers),
        "executor": p.executor,
        "scheduler": p.scheduler,
        "countries": p.countries,
        **({"layer": p.layer} if p.layer is not None else {}),
        "chunk_sites": p.chunk_sites,
        "compression": p.compression,
    }


def _config(p: S6Params, plan: Plan, index: TileIndex, countries) -> dict:
    """What the inputs turned out to be (added to the report's config once they are loaded)."""
    return {
        "key": countries.key_field,
        "geometry_digest": countries.digest,
        "repaired_geometries": countries.repaired,
        "resolution_arcsec": index.grid.resolution_arcsec,
        "planned_sites": len(plan),
        "plan_countries": len(plan.countries),
        "rng": "philox4x64-10 key=(seed lo, seed hi) counter=(site_id, attempt, 0, 0); u,v = words 0,1 >> 11 * 2^-53",
    }


def _run_units(
    p, run, plan: Plan, index: TileIndex, countries, staged: Path, t_start: float, t_load: float
) -> dict:
    n = len(plan)
    run.metric("load_s", t_load)
    chunk = p.chunk_sites or default_chunk_sites(n, p.workers)
    # the phase's name hashes the plan (blake2b without the GIL): in a thread while the kernels load
    phase = background(units_phase, plan, chunk, countries.digest)
    # the numba kernels loaded (or compiled) in this process, before planning the units (which uses two of
    # them): a stage of its own, not in the rates; the metric is the stage's own recorded time. Process and
    # Dask workers load them again as they start (worker_first_start_s).
    with run.stage("warm_up"):
        warm_up()
    warm_up_s = run.stage_wall_s("warm_up")
    with run.stage("plan_units"):
        tasks, spans, order = build_units(p, plan, index, countries, chunk)
    run.metric("units", len(tasks))
    run.metric("chunk_sites", chunk)

    # results land straight in plan-row order as units complete (the main thread is idle meanwhile)
    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    att = np.zeros(n, dtype=np.int16)
    st = np.empty(n, dtype=np.int8)
    per_country: dict[str, dict] = {}
    errors: list[tuple[str, dict]] = []
    worker_rss: dict[str, int] = {}
    totals = {"rng_events": 0, "interior_tiles": 0, "border_tiles": 0, "polygon_tests": 0,
              "centre_tests": 0, "kernel_tests": 0, "index_rows_read": 0, "read_s": 0.0, "jitter_s": 0.0, "cpu_s": 0.0}  # fmt: skip
    with progress(n, "s6 sites", quiet=p.quiet) as bar:

        def on_result(tr) -> None:
            country, lo, hi = spans[tr.key]
            v = tr.value
            if "bad_tiles" in v:
                errors.append((country, v))
                return
            res: JitterResult = v["result"]
            place_results(order[lo:hi], res.lon, res.lat, res.attempts, res.status, lon, lat, att, st)
            c = per_country.setdefault(
                country, {"elapsed_s": 0.0, "workers": set(), "units": 0, "rng_events": 0, "written": 0}
            )
            c["elapsed_s"] += tr.elapsed_s
            c["cpu_s"] = c.get("cpu_s", 0.0) + v["cpu_s"]
            c["workers"].add(tr.worker)
            c["units"] += 1
            c["rng_events"] += res.rng_events
            c["written"] += res.lon.size
            for name in (
                "interior_tiles",
                "border_tiles",
                "polygon_tests",
                "centre_tests",
                "kernel_tests",
            ):
                totals[name] += getattr(res, name)
            totals["rng_events"] += res.rng_events
            totals["index_rows_read"] += v["index_rows_read"]
            totals["read_s"] += v["read_s"]
            totals["jitter_s"] += v["jitter_s"]
            totals["cpu_s"] += v["cpu_s"]
            if tr.attempts:  # not a unit resumed from a killed run's journal
                worker_rss[tr.worker] = max(worker_rss.get(tr.worker, 0), v["peak_rss_bytes"])
            bar.advance(hi - lo)

        t0 = time.perf_counter()
        t0_unix = time.time()
        with run.stage("jitter"):
            results = map_tasks(
                run_unit, tasks, executor=p.executor, workers=p.workers, scheduler=p.scheduler,
                on_result=on_result, phase=phase.result(),
            )  # fmt: skip
        jitter_wall = time.perf_counter() - t0
    if errors:
        raise _bad_tiles_error(errors, index, p.tiles)

    with run.stage("assemble"):
        site_id, code, tile_id = plan.site_id, plan.code, plan.tile_id
        if n > 1 and not (site_id[1:] > site_id[:-1]).all():
            perm = np.argsort(site_id, kind="stable")
            site_id, code, tile_id = site_id[perm], code[perm], tile_id[perm]
            lon, lat, att, st = lon[perm], lat[perm], att[perm], st[perm]

    # the budget check: every drawn block is an attempt, every planned site is written
    written = sum(c["written"] for c in per_country.values())
    attempts_total = int(att.sum(dtype=np.int64))
    if totals["rng_events"] != attempts_total or written != n:
        raise S6BudgetError(
            f"RNG budget check failed: {totals['rng_events']} RNG events vs {attempts_total} attempts, "
            f"{written} written vs {n} planned"
        )

    with run.stage("write"):
        table = pa.table(
            [
                pa.array(site_id),
                pa.DictionaryArray.from_arrays(
                    pa.array(code.astype(np.int32, copy=False)),
                    pa.array(plan.countries, type=pa.string()),
                ),
                pa.array(tile_id),
                pa.array(lon),
                pa.array(lat),
                pa.array(att),
                pa.DictionaryArray.from_arrays(pa.array(st), pa.array(list(STATUS_NAMES), type=pa.string())),
            ],
            schema=SITES_SCHEMA,
        )
        if (staged / "sites").exists():  # a killed run's partial write, in the folder --resume adopted
            shutil.rmtree(staged / "sites")
        receipt = write_sites(table, staged / "sites", p.compression)
    run.receipt("sites", receipt)

    fallback_mask = st == STATUS_FALLBACK
    fallback = int(fallback_mask.sum())
    run.count("planned_sites", n)
    run.count("written_sites", written)
    run.count("rng_events", totals["rng_events"])
    run.count("attempts", attempts_total)
    run.count("accepted", n - fallback)
    run.count("fallback", fallback)
    run.histogram("attempts", att, bins=np.arange(1, p.max_attempts + 2), result=True)
    hist, planned_by, fallback_by = _per_country_facts(plan, code, att, fallback_mask, p.max_attempts)
    for country in plan.countries:
        c = per_country[country]
        run.add_item(
            country,
            c["elapsed_s"],
            worker=",".join(sorted(c["workers"])),
            planned=planned_by[country],
            written=c["written"],
            rng_events=c["rng_events"],
            fallback=fallback_by[country],
        )
    run.result("attempts_histogram", hist)
    run.result("fallback_sites", {k: v for k, v in fallback_by.items() if v})
    times = np.array([c["elapsed_s"] for c in per_country.values()])
    slowest = sorted(per_country.items(), key=lambda kv: (-kv[1]["elapsed_s"], kv[0]))[:10]
    wall = time.perf_counter() - t_start
    work_s = wall - warm_up_s
    run.metric("slowest_countries", [
        {"country": k, "elapsed_s": round(v["elapsed_s"], 6), "cpu_s": round(v["cpu_s"], 6),
         "sites": v["written"], "units": v["units"]}
        for k, v in slowest
    ])  # fmt: skip
    run.metric("per_country_max_s", float(times.max()) if times.size else 0.0)
    run.metric("per_country_median_s", float(np.median(times)) if times.size else 0.0)
    run.metric("jitter_wall_s", jitter_wall)
    run.metric("warm_up_s", warm_up_s)
    run.metric("sites_per_s", n / work_s if work_s > 0 else None)
    run.metric("jitter_sites_per_s", n / jitter_wall if jitter_wall > 0 else None)
    for name in ("interior_tiles", "border_tiles", "polygon_tests", "centre_tests", "kernel_tests",
                 "index_rows_read"):  # fmt: skip
        run.metric(name, totals[name])
    run.metric("unit_read_s", totals["read_s"])
    run.metric("unit_jitter_s", totals["jitter_s"])
    run.metric("unit_cpu_s", totals["cpu_s"])
    cpu_times = np.array([c["cpu_s"] for c in per_country.values()])
    run.metric("per_country_cpu_max_s", float(cpu_times.max()) if cpu_times.size else 0.0)
    run.metric("per_country_cpu_median_s", float(np.median(cpu_times)) if cpu_times.size else 0.0)
    run.metric("utilisation", worker_utilisation(results.values(), jitter_wall, p.workers))
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for r in results.values():
        starts[r.worker] = min(starts.get(r.worker, math.inf), r.started_s - t0_unix)
        ends[r.worker] = max(ends.get(r.worker, -math.inf), r.finished_s - t0_unix)
    run.metric("worker_first_start_s", dict(sorted(starts.items())))
    run.metric("worker_peak_rss_bytes", dict(sorted(worker_rss.items())))
    run.metric("worker_last_finish_s", dict(sorted(ends.items())))
    summary = {
        "sites": n,
        "countries": len(plan.countries),
        "units": len(tasks),
        "resumed": sum(r.attempts == 0 for r in results.values()),  # kept from a killed run (--resume)
        "fallback": fallback,
        "rng_events": totals["rng_events"],
        "receipt": receipt,
        "wall_s": wall,
        "warm_up_s": warm_up_s,
        "sites_per_s": n / work_s if work_s > 0 else None,
        "per_country_max_s": float(times.max()) if times.size else 0.0,
        "per_country_median_s": float(np.median(times)) if times.size else 0.0,
        "slowest": [k for k, _ in slowest],
    }
    return summary


def _per_country_facts(plan: Plan, code, att, fallback_mask, max_attempts):
    k = len(plan.countries)
    planned = np.bincount(code, minlength=k)
    fb = np.bincount(code[fallback_mask], minlength=k)
    width = max_attempts + 1
    flat = np.bincount(code.astype(np.int64) * width + att, minlength=k * width).reshape(k, width)
    hist = {}
    for i, country in enumerate(plan.countries):
        nz = np.flatnonzero(flat[i])
        hist[country] = {str(int(a)): int(flat[i, a]) for a in nz}
    return (
        hist,
        {c: int(planned[i]) for i, c in enumerate(plan.countries)},
        {c: int(fb[i]) for i, c in enumerate(plan.countries)},
    )


def _bad_tiles_error(errors, index: TileIndex, tiles_dir) -> Seg1bError:
    country, v = min(errors, key=lambda e: e[1]["bad_site"])
    tile = int(v["bad_tiles"][0])
    total = sum(e[1]["n_bad_tiles"] for e in errors)
    owners = []
    for other in index.countries:
        if other == country:
            continue
        ids = read_tile_ids(index.files[other], tile, tile)
        if ids.size:
            owners.append(other)
    what = f"a tile of {', '.join(owners)}, not of {country}" if owners else "an unknown tile_id"
    return Seg1bError(
        f"site plan: site_id {v['bad_site']} ({country}) has tile_id {tile}, {what} in {tiles_dir}"
        + (f" ({total} bad tile ids in all)" if total > 1 else "")
    )


def format_summary(s: dict) -> str:
    warm = f"numba warm-up {s['warm_up_s']:.2f} s, " if s.get("warm_up_s") else ""
    return (
        f"s6: {s['sites']:,} sites in {s['countries']} countries ({s['units']} units"
        + (f", {s['resumed']} resumed" if s.get("resumed") else "")
        + f"), {s['fallback']} fallback, "
        f"{s['wall_s']:.2f} s ({warm}{(s['sites_per_s'] or 0):,.0f} sites/s without it); receipt {s['receipt']} "
        f"-> {s['out']}"
    )
