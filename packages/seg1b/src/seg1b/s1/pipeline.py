"""S1 orchestration: countries -> work units (row bands, LPT by cost) -> Parquet dataset + run report.

Flow: check the options -> ``perfkit.job`` claims ``OUT`` (checked against the inputs, refused if it exists
without ``force``, staged in a private folder beside it) -> load the countries (bad input discards everything)
-> plan units (a country, or a row band of a heavy one, each with an estimated cell count, refined by
``--cost-history``) -> ``perfkit.parallel.map_tasks`` runs :func:`run_unit` on each (mask runs from the cache or
rasterio, cells, columns, one Parquet file) into the staged ``OUT/tiles`` -> content receipt -> the job renames
the staged folder (report inside) onto ``OUT``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
import shapely.affinity
from perfkit.clitools import progress
from perfkit.determinism import TableDigester
from perfkit.job import job
from perfkit.limits import check_memory
from perfkit.outputs import output_holding
from perfkit.parallel import EXECUTORS, Task, TaskResult, map_tasks, worker_utilisation

import perfkit
from seg1b._background import preload
from seg1b.countries import PACKAGED, Countries, as_keys, load_countries, packaged_path
from seg1b.errors import Seg1bError, path_text, whole_number
from seg1b.geoparquet import with_tile_geometry
from seg1b.grid import Grid
from seg1b.options import COMPRESSIONS, DEFAULT_COMPRESSION, GEOMETRY_CHOICES, MODES
from seg1b.s1 import kernels, reference
from seg1b.s1.io import (
    RUNS_KEY,
    cache_path,
    combine_receipts,
    file_schema,
    open_writer,
    part_name,
    read_cached_runs,
    tile_runs_value,
    write_cached_runs,
)
from seg1b.s1.kernels import (
    RULES,
    TILE_SCHEMA,
    PartWindows,
    band_runs,
    band_windows,
    estimate_cells,
    part_windows,
    runs_cell_count,
    runs_table,
    split_runs,
    to_pixel_space,
)

PROFILE_FACTOR = 16  # the band profile burns the country at 16x coarser cells
MIN_UNIT_CELLS = 250_000  # below this a band is not worth its rasterisation and file overhead
UNITS_PER_WORLD = 48  # a heavy country is cut so that no unit exceeds ~1/48 of the estimated total
# ... and never, by default, more than this many cells: below ~15" the 1/48 rule alone would give units whose
# burn windows need gigabytes (30" and coarser are unaffected, so their files and receipts are too)
MAX_DEFAULT_UNIT_CELLS = 32_000_000
MAX_ROW_GROUP_SIZE = (1 << 31) - 1
# Memory of a unit in a worker (measured on 1:110m RUS/USA units at 30"/60", docs/seg1b.md "Running safely"): the burn
# window as rasterio's uint8 mask plus mask_runs' padded int8 copy, one written batch of cells (row/col int64,
# the table's columns, Arrow's copies: ~94 B a cell measured) and the writer's and hasher's fixed buffers.
MASK_BYTES_PER_CELL = 2
BATCH_BYTES_PER_CELL = 100
UNIT_FIXED_BYTES = 96 << 20
AUTO_SERIAL_CELLS = 2_000_000  # below this, spawning worker processes costs more than it saves


@dataclass(frozen=True)
class S1Params:
    """Everything that defines an S1 run (recorded verbatim as the report's config)."""

    out: str
    countries: str = "ne10m"
    key: str | None = None
    layer: str | None = None  # the layer of a countries file with several
    resolution_arcsec: int = 30
    rule: str = "center"
    only: tuple[str, ...] | None = None
    include_antarctica: bool = False
    row_group_size: int = 1 << 20
    compression: str = DEFAULT_COMPRESSION
    geometry: str = "none"
    mode: str = "fast"
    executor: str = "auto"
    scheduler: str | None = None
    workers: int = 1
    max_unit_cells: int | None = None
    cost_history: str | None = None
    cache_dir: str | None = None
    report_dir: str | None = None
    profile: str | None = None
    quiet: bool = False
    force: bool = False
    resume: bool = False  # keep the finished units of a killed run of the same options (perfkit.resume)

    def __post_init__(self) -> None:
        # the library API takes "FRA,NOR" as well as ["FRA", "NOR"] (a string is not a sequence of keys)
        object.__setattr__(self, "only", as_keys(self.only))
        for name in (
            "out",
            "countries",
            "key",
            "layer",
            "cost_history",
            "cache_dir",
            "report_dir",
            "profile",
        ):
            what = "a name (str)" if name in ("key", "layer") else "a path (str or pathlib.Path)"
            optional = name not in ("out", "countries")
            object.__setattr__(self, name, path_text(name, getattr(self, name), optional=optional, what=what))
        # whole numbers (a float 1e6 is taken; 1000.5 rows a group, "2" workers or True are refused)
        for name in ("workers", "row_group_size", "max_unit_cells"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, whole_number(name, getattr(self, name)))
        if self.mode == "legacy":
            object.__setattr__(self, "mode", "reference")

    @classmethod
    def from_cli(cls, opts: dict) -> S1Params:
        names = {f for f in cls.__dataclass_fields__}
        kw = {k: (str(v) if hasattr(v, "__fspath__") else v) for k, v in opts.items() if k in names}
        return cls(**kw)

    def validate(self) -> None:
        if self.rule not in RULES:
            raise Seg1bError(f"unknown rule {self.rule!r} (choose center or any)", params="rule")
        if self.compression not in COMPRESSIONS:
            raise Seg1bError(
                f"unknown compression {self.compression!r} (choose {', '.join(COMPRESSIONS)})",
                params="compression",
            )
        if self.mode not in MODES:
            raise Seg1bError(f"unknown mode {self.mode!r} (choose {', '.join(MODES)})", params="mode")
        if self.geometry not in GEOMETRY_CHOICES:
            raise Seg1bError(
                f"unknown geometry {self.geometry!r} (choose {', '.join(GEOMETRY_CHOICES)})",
                params="geometry",
            )
        if self.executor not in ("auto", *EXECUTORS):
            raise Seg1bError(
                f"unknown executor {self.executor!r} (choose auto, {', '.join(EXECUTORS)})", params="executor"
            )
        if self.scheduler and self.executor not in ("dask", "auto"):
            raise Seg1bError(
                f"scheduler {self.scheduler} runs on a Dask cluster; it cannot be used with executor "
                f"{self.executor}",
                params=("scheduler", "executor"),
            )
        if self.workers < 1:
            raise Seg1bError(f"workers must be at least 1, got {self.workers}", params="workers")
        if not 1 <= self.row_group_size <= MAX_ROW_GROUP_SIZE:
            raise Seg1bError(
                f"row_group_size must be in 1..{MAX_ROW_GROUP_SIZE:,}, got {self.row_group_size}",
                params="row_group_size",
            )
        if self.max_unit_cells is not None and self.max_unit_cells < 1:
            raise Seg1bError(
                f"max_unit_cells must be positive, got {self.max_unit_cells}", params="max_unit_cells"
            )


@dataclass
class UnitSpec:
    """One work unit, as shipped to a worker: rows [b0, b1) of one country's polygon parts."""

    key: str
    country: str
    chunk: int
    band: tuple[int, int]
    parts: PartWindows
    resolution_arcsec: int
    rule: str
    fallback: bool  # the country's only unit: fall back to ``any`` here when ``center`` gives no cell
    out_dir: str
    row_group_size: int
    compression: str
    cache_dir: str | None
    key_digest: str
    est_cells: float
    mode: str = "fast"
    history_key: str = ""
    geometry: str = "none"
    manifest: dict | None = None


@dataclass
class UnitResult:
    key: str
    country: str
    tiles: int
    rule_used: str
    files: list[tuple[str, int, str]] = field(default_factory=list)  # name, rows, perfkit receipt
    cache_hit: bool | None = None
    mask_s: float = 0.0
    write_s: float = 0.0


@lru_cache(maxsize=4)
def grid_for(resolution_arcsec: int) -> Grid:
    """One Grid (and its edge/area arrays) per process and resolution."""
    return Grid(resolution_arcsec)


# ---------------------------------------------------------------------------------------------------------
# planning


MAX_BANDS = 10_000  # bands of one country: part-<key>-0000 .. -9999 sort in band order


def plan_units(countries: Countries, grid: Grid, params: S1Params, out_dir: str, history: dict) -> list[Task]:
    """Units for every country, costed by estimated cells (or measured seconds from ``history``)."""
    specs: list[UnitSpec] = []
    manifest = index_manifest(countries, grid, params)
    pixel = {k: to_pixel_space(g, grid) for k, g in countries.geometries.items()}
    est = {k: estimate_cells(g, params.rule) for k, g in pixel.items()}
    # the cap depends on the input only (never on --workers or --mode): the same run always gives the
    # same files, so legacy and fast outputs compare file by file
    cap = params.max_unit_cells or min(
        MAX_DEFAULT_UNIT_CELLS, max(MIN_UNIT_CELLS, math.ceil(sum(est.values()) / UNITS_PER_WORLD))
    )
    for country, pg in pixel.items():
        pw = part_windows(pg, grid)
        bands, shares = split_bands(pw, est[country], cap, params.rule)
        if len(bands) > MAX_BANDS:
            raise Seg1bError(
                f"country {country} needs {len(bands):,} row bands of max_unit_cells {cap:,}; at most "
                f"{MAX_BANDS:,} (the band number is 4 digits of its file name, whose order is the tiles' order): "
                "raise it",
                params="max_unit_cells",
            )
        for chunk, (band, share) in enumerate(zip(bands, shares, strict=True)):
            sub = _parts_in_band(pw, band)
            specs.append(
                UnitSpec(
                    key=f"{country}-{chunk:04d}",
                    country=country,
                    chunk=chunk,
                    band=band,
                    parts=sub,
                    resolution_arcsec=grid.resolution_arcsec,
                    rule=params.rule,
                    fallback=len(bands) == 1,
                    out_dir=out_dir,
                    row_group_size=params.row_group_size,
                    compression=params.compression,
                    cache_dir=params.cache_dir,
                    key_digest=countries.key_digests[country],
                    est_cells=est[country] * share,
                    mode=params.mode,
                    geometry=params.geometry,
                    manifest=manifest,
                    history_key=f"{params.mode}/{grid.resolution_arcsec}/{params.rule}/{country}/{band[0]}-{band[1]}",
                )
            )
    costs = unit_costs(specs, history)
    return [
        Task(key=s.key, payload=s, cost=c, files=(unit_file(s),)) for s, c in zip(specs, costs, strict=True)
    ]


def unit_file(spec: UnitSpec) -> str:
    """The file a unit writes (when it has cells), relative to the output folder: what ``--resume`` checks."""
    return f"tiles/{part_name(spec.country, spec.chunk)}"


def drop_strays(tiles_dir: Path, tasks: list[Task]) -> None:
    """Remove files of ``tiles_dir`` that no planned unit writes. A fresh staging folder is empty; an adopted
    one (``--resume``) holds the files of the same plan, unless the countries file changed meanwhile: then
    its units are all recomputed (the phases are named by the geometry digest) and old bands must go."""
    planned = {Path(f).name for t in tasks for f in t.files}
    for path in tiles_dir.iterdir():
        if path.name not in planned:
            path.unlink()


def index_manifest(countries: Countries, grid: Grid, params: S1Params) -> dict:
    """What S6 and ``sites`` need to know about how the index was built (written into every file's footer).

    A countries file is recorded by its absolute path, so ``s6`` finds it from any folder.
    """
    source = params.countries if params.countries in PACKAGED else os.path.abspath(params.countries)
    layer = {"layer": params.layer} if params.layer is not None else {}  # (absent: the manifests of old runs)
    return {
        **layer,
        "countries": source,
        "key": params.key,
        "key_field": countries.key_field,
        "geometry_digest": countries.digest,
        "resolution_arcsec": grid.resolution_arcsec,
        "rule": params.rule,
    }


def split_bands(
    pw: PartWindows, est_cells: float, cap: float, rule: str
) -> tuple[list[tuple[int, int]], list[float]]:
    """Row bands of about equal cell counts, as many as ``est_cells / cap`` needs, and each band's share.

    The per-row profile comes from one coarse burn of the country (``PROFILE_FACTOR`` x coarser cells, a
    whole-world window of a few MB), so Russia's bands hold about equal tiles, not equal rows.
    """
    r0, r1 = pw.row_span
    n = min(max(1, math.ceil(est_cells / cap)), r1 - r0)
    if n == 1:
        return [(r0, r1)], [1.0]
    f = PROFILE_FACTOR
    coarse = np.array(
        [shapely.affinity.scale(p, 1 / f, 1 / f, origin=(0, 0)) for p in pw.parts], dtype=object
    )
    cb = shapely.bounds(coarse)
    windows = np.column_stack(
        [np.floor(cb[:, 1]) - 1, np.ceil(cb[:, 3]) + 1, np.floor(cb[:, 0]) - 1, np.ceil(cb[:, 2]) + 1]
    )
    windows = windows.clip(0).astype(np.int64)
    nrows_coarse = int(windows[:, 1].max()) + 1
    runs = band_runs(PartWindows(coarse, windows), rule, (0, nrows_coarse))
    per_coarse_row = np.bincount(runs[:, 0], weights=runs[:, 2] - runs[:, 1], minlength=nrows_coarse + 1)
    per_row = np.repeat(per_coarse_row / f, f)[r0:r1] + 1e-9  # spread each coarse row over its f fine rows
    cum = np.cumsum(per_row)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n) / n) + r0 + 1
    edges = np.unique(np.concatenate([[r0], cuts, [r1]]))
    bands = [(int(a), int(b)) for a, b in itertools.pairwise(edges)]
    shares = [float(per_row[a - r0 : b - r0].sum() / cum[-1]) for a, b in bands]
    return bands, shares


def _parts_in_band(pw: PartWindows, band: tuple[int, int]) -> PartWindows:
    sel = (pw.windows[:, 0] < band[1]) & (pw.windows[:, 1] > band[0])
    return PartWindows(pw.parts[sel], pw.windows[sel])


def unit_memory_bytes(spec: UnitSpec) -> float:
    """Peak memory of one unit in its worker: the largest burn window and one written batch."""
    windows = band_windows(spec.parts, spec.band)
    window = max(((r1 - r0) * (c1 - c0) for _, r0, r1, c0, c1 in windows), default=0)
    batch = min(spec.row_group_size, 1.1 * spec.est_cells + 1)
    return MASK_BYTES_PER_CELL * window + BATCH_BYTES_PER_CELL * batch + UNIT_FIXED_BYTES


def check_unit_memory(tasks: list[Task], params: S1Params) -> None:
    """Refuse (``InputError``, with the estimate) a run whose largest concurrent units cannot fit in memory:
    the user sets the sizes (resolution, ``--max-unit-cells``, ``--row-group-size``, ``--workers``)."""
    if not tasks:
        return
    need = sorted((unit_memory_bytes(t.payload) for t in tasks), reverse=True)
    concurrent = 1 if params.executor == "serial" else min(params.workers, len(tasks))
    check_memory(
        sum(need[:concurrent]),
        f"{params.resolution_arcsec} arc-second cells with units of up to "
        f"{max(t.payload.est_cells for t in tasks):,.0f} cells, {concurrent} at a time,",
    )


def unit_costs(specs: list[UnitSpec], history: dict) -> list[float]:
    """Estimated cells, or measured seconds from a previous run scaled into cells where known."""
    est = np.array([s.est_cells for s in specs], dtype=np.float64)
    secs = np.array([history.get(s.history_key, np.nan) for s in specs], dtype=np.float64)
    known = np.isfinite(secs) & (secs > 0)
    if not known.any():
        return est.tolist()
    cells_per_s = float(np.median(est[known] / secs[known]))
    return np.where(known, secs * cells_per_s, est).tolist()


def read_history(path: str | None) -> dict:
    """Measured seconds per unit from a cost-history file; {} when it does not exist yet.

    The file is rewritten after the run, so anything that is not a cost history (``{"version": 1,
    "unit_seconds": {...}}``) is refused here rather than overwritten -- a GeoJSON file given by mistake
    is JSON too.
    """
    if not path or not os.path.lexists(path):
        return {}
    if os.path.isdir(path):
        raise Seg1bError(f"cost history {path} is a folder; give a JSON file name")
    if not os.path.isfile(path):  # a FIFO or a device would block the read
        raise Seg1bError(f"cost history {path} is not a regular file")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise Seg1bError(f"cannot read cost history {path}: {' '.join(str(exc).split())}") from None
    seconds = data.get("unit_seconds") if isinstance(data, dict) else None
    if not isinstance(seconds, dict) or data.get("version") != 1:
        raise Seg1bError(
            f"{path} is not a seg1b cost history (no version 1 unit_seconds); not overwriting it"
        )
    try:
        return {str(k): float(v) for k, v in seconds.items()}
    except (ValueError, TypeError) as exc:
        raise Seg1bError(f"cost history {path}: {exc}") from None


def write_history(path: str, old: dict, measured: dict) -> None:
    merged = {**old, **measured}
    perfkit.write_json_atomic(path, {"version": 1, "unit_seconds": dict(sorted(merged.items()))})


# ---------------------------------------------------------------------------------------------------------
# the worker


def run_unit(spec: UnitSpec) -> UnitResult:
    """Cells of one unit -> one Parquet file (none when the unit has no cell). Runs in a worker."""
    grid = grid_for(spec.resolution_arcsec)
    t0 = time.perf_counter()
    runs, hit = unit_runs(spec, spec.rule)
    rule_used = spec.rule
    if spec.fallback and spec.rule == "center" and len(runs) == 0:
        runs, hit2 = unit_runs(spec, "any")
        hit = hit and hit2
        rule_used = "any"
    t1 = time.perf_counter()
    n = runs_cell_count(runs)
    result = UnitResult(spec.key, spec.country, n, rule_used, cache_hit=hit, mask_s=t1 - t0)
    if n:
        name = part_name(spec.country, spec.chunk)
        schema = file_schema(spec.geometry, spec.manifest)
        writer = open_writer(os.path.join(spec.out_dir, name), spec.compression, schema)
        # the file's receipt, hashed from the batches as they are written
        digester = TableDigester(TILE_SCHEMA)
        try:
            if spec.mode == "reference":
                tables = [reference.runs_table(grid, spec.country, runs)]
            else:
                # whole row groups: every batch but the last holds exactly row_group_size cells
                tables = (runs_table(grid, spec.country, b) for b in split_runs(runs, spec.row_group_size))
            for table in tables:
                writer.write_table(with_tile_geometry(table, schema), row_group_size=spec.row_group_size)
                digester.update(table)  # the receipt: the tile columns only (bbox/geometry follow from them)
            writer.add_key_value_metadata({RUNS_KEY: tile_runs_value(grid, spec.country, runs)})
        finally:
            writer.close()
        result.files.append((name, n, digester.hexdigest()))
    result.write_s = time.perf_counter() - t1
    return result


def unit_runs(spec: UnitSpec, rule: str) -> tuple[np.ndarray, bool | None]:
    """The unit's cell runs under ``rule``: from the mask cache when it has them, else rasterised."""
    path = None
    if spec.cache_dir:
        path = cache_path(spec.cache_dir, spec.resolution_arcsec, rule, spec.key_digest, spec.band)
        cached = read_cached_runs(path)
        if cached is not None:
            return cached, True
    impl = reference if spec.mode == "reference" else kernels  # the same function names in both
    runs = impl.band_runs(spec.parts, rule, spec.band)
    if path is not None:
        write_cached_runs(path, runs)
        return runs, False
    return runs, None


# ---------------------------------------------------------------------------------------------------------
# the run


def resolve_executor(params: S1Params, est_cells: float) -> S1Params:
    """``--executor auto``: dask with a scheduler, serial for one worker or a small grid, else processes."""
    if params.executor != "auto":
        return params
    if params.scheduler:
        return replace(params, executor="dask")
    small = params.workers == 1 or est_cells < AUTO_SERIAL_CELLS
    return replace(params, executor="serial" if small else "processes")


def s1_inputs(params: S1Params) -> list[str]:
    """Every path S1 reads: no output, ``--profile`` or ``--report-dir`` may be, hold or sit inside one.

    The cost history and the mask cache are read and then updated in place by design (the history only
    when it is one, see :func:`read_history`), so they count as inputs: an output never lands on them.
    """
    countries = packaged_path(params.countries) if params.countries in PACKAGED else params.countries
    return [p for p in (countries, params.cost_history, params.cache_dir) if p]


def check_cache_dir(cache_dir: str | None) -> None:
    """Bad input, before any work: ``--cache-dir`` is a folder, or can be made one (it is created when
    the first mask is stored)."""
    if not cache_dir:
        return
    path = Path(os.path.abspath(cache_dir))
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise Seg1bError(f"cache folder {cache_dir}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise Seg1bError(f"cache folder {cache_dir}: {existing} is not writable")
    owner = output_holding(path)
    if owner is not None:  # its .npy files would join that dataset (another index's tiles/, say)
        raise Seg1bError(
            f"cache folder {cache_dir} is inside {owner}, the output of an earlier command; give the cache a "
            "folder of its own"
        )


def run_s1(params: S1Params) -> str:
    """Run S1 end to end through ``perfkit.job``; returns a one-line summary.

    Raises :class:`Seg1bError` (or ``perfkit.errors.InputError``) for bad input, with nothing written.
    """
    params.validate()
    grid = Grid(params.resolution_arcsec)
    check_cache_dir(params.cache_dir)
    history = read_history(params.cost_history)
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()}
    with job(
        "seg1b",
        "s1",
        config=config,
        inputs=s1_inputs(params),
        directories=[params.out],
        force=params.force,
        report_dir=params.report_dir,
        profile=params.profile,
        bad_input=(Seg1bError,),
        resumable=True,
        resume=params.resume,
    ) as j:
        preload("pandas")  # pyarrow imports it on first use: never in the main thread (see _background)
        run = j.run
        run.config.update(ncols=grid.ncols, nrows=grid.nrows)  # follow from the resolution (not compared)
        with run.stage("load_countries"):
            t_load = time.perf_counter()
            countries = load_countries(
                params.countries,
                params.key,
                params.include_antarctica,
                list(params.only) if params.only else None,
                params.layer,
            )
        run.config["countries_loaded"] = len(countries)
        run.metric("load_countries_s", time.perf_counter() - t_load)
        run.result("input_geometry_digest", countries.digest)
        run.result("repaired_geometries", countries.repaired)
        run.result("key_field", countries.key_field)
        if countries.dropped_empty:
            run.result("dropped_no_polygon", countries.dropped_empty)
        tiles_dir = j.path(params.out) / "tiles"
        tiles_dir.mkdir(exist_ok=True)  # exists in the folder of a killed run that --resume adopted
        with run.stage("plan"):
            tasks = plan_units(countries, grid, params, str(tiles_dir), history)
        drop_strays(tiles_dir, tasks)
        params = resolve_executor(params, sum(t.payload.est_cells for t in tasks))
        check_unit_memory(tasks, params)
        run.metric("executor", params.executor)
        results, wall = _run_units(run, tasks, params, countries.digest)
        receipt = combine_receipts({f[0]: f[2] for r in results.values() for f in r.value.files})
        run.receipt("tiles", receipt)
        summary = _report(run, params, countries, len(tasks), results, wall, receipt)
        if params.cost_history:
            write_history(
                params.cost_history,
                history,
                {t.payload.history_key: results[t.key].elapsed_s for t in tasks if results[t.key].attempts},
            )
    return summary


def _run_units(
    run, tasks: list[Task], params: S1Params, geometry_digest: str
) -> tuple[dict[str, TaskResult], float]:
    """map_tasks over the units (then an ``any`` pass for split countries with no centre cell at all).

    Both passes are resumable phases, named by the countries' geometry digest: ``--resume`` keeps a
    killed run's finished units only if the polygons are the same ones (the options are checked by
    perfkit). A resumed unit comes back with its recorded result and ``worker="resumed"``.
    Returns the results by unit key and the wall seconds of the parallel stage.
    """
    digest = geometry_digest[:16]
    # progress in estimated cells, not units: one heavy band is worth hundreds of small islands, so a bar
    # that counts units sits near 0 while the heavy bands run and its ETA is wrong
    weights = {t.key: t.payload.est_cells for t in tasks}
    with run.stage("tiles"), progress(sum(weights.values()), "S1 cells (est.)", quiet=params.quiet) as bar:

        def on_result(r: TaskResult) -> None:
            run.add_item(r.key, elapsed_s=r.elapsed_s, worker=r.worker, tiles=r.value.tiles)
            bar.advance(weights.pop(r.key, 0.0))  # a fallback rerun of a unit adds nothing

        t0 = time.perf_counter()
        results = map_tasks(
            run_unit,
            tasks,
            executor=params.executor,
            workers=params.workers,
            scheduler=params.scheduler,
            on_result=on_result,
            phase=f"units-{digest}",
        )
        wall = time.perf_counter() - t0
    per_country: dict[str, int] = defaultdict(int)
    for r in results.values():
        per_country[r.value.country] += r.value.tiles
    retry = [t for t in tasks if params.rule == "center" and per_country[t.payload.country] == 0]
    if retry:
        with run.stage("fallback"):
            redo = [replace(t, payload=replace(t.payload, rule="any", fallback=False)) for t in retry]
            results.update(
                map_tasks(run_unit, redo, executor="serial", on_result=on_result, phase=f"any-{digest}")
            )
    return results, wall


def peak_rate(results: list[TaskResult], window_s: float = 1.0) -> float:
    """Highest aggregate tiles/s over any ``window_s`` bin, each unit's tiles spread evenly over its run."""
    spans = [(r.started_s, r.finished_s, r.value.tiles) for r in results if r.value.tiles]
    if not spans:
        return 0.0
    t0 = min(a for a, _, _ in spans)
    nbins = int((max(b for _, b, _ in spans) - t0) / window_s) + 1
    bins = np.zeros(nbins + 1)
    for a, b, n in spans:
        lo, hi = (a - t0) / window_s, max((b - t0) / window_s, (a - t0) / window_s + 1e-9)
        edges = np.arange(int(lo), int(hi) + 1)
        overlap = np.minimum(edges + 1, hi) - np.maximum(edges, lo)
        bins[edges] += n * overlap / (hi - lo)
    return float(bins.max() / window_s)


def _report(
    run, params: S1Params, countries: Countries, n_units: int, results: dict, wall: float, receipt: str
) -> str:
    """Per-country counts, fallbacks and telemetry into the run report; returns the summary line."""
    task_results = list(results.values())
    values = [r.value for r in task_results]
    per_country: dict[str, int] = {k: 0 for k in countries.geometries}
    fallback: set[str] = set()
    for v in values:
        per_country[v.country] += v.tiles
        if v.rule_used != params.rule:
            fallback.add(v.country)
    total = sum(per_country.values())
    run.count("tiles", total)
    run.count("countries", len(per_country))
    run.count("files", sum(len(v.files) for v in values))
    run.result("per_country_tiles", dict(sorted(per_country.items())))
    run.result("fallback_to_any", sorted(fallback))
    run.histogram("rows_per_file", [f[1] for v in values for f in v.files] or [0])

    util = worker_utilisation(task_results, wall, 1 if params.executor == "serial" else params.workers)
    by_worker: dict[str, dict] = defaultdict(lambda: {"tiles": 0, "busy_s": 0.0, "units": 0})
    for r in task_results:
        w = by_worker[r.worker]
        w["tiles"] += r.value.tiles
        w["busy_s"] += r.elapsed_s
        w["units"] += 1
    for w in by_worker.values():
        w["tiles_per_s"] = w["tiles"] / w["busy_s"] if w["busy_s"] else 0.0
    rates = [r.value.tiles / r.elapsed_s for r in task_results if r.elapsed_s > 0 and r.value.tiles]
    hits = [v.cache_hit for v in values if v.cache_hit is not None]
    run.metric("tiles_per_s", total / wall if wall else 0.0)
    run.metric("units_wall_s", wall)
    run.metric("units", n_units)
    run.metric("per_worker", dict(sorted(by_worker.items())))
    run.metric("worker_idle_s", util["idle_s"])
    run.metric("worker_idle_fraction", util["idle_fraction"])
    run.metric("peak_unit_tiles_per_s", max(rates, default=0.0))
    run.metric("peak_tiles_per_s", peak_rate([r for r in task_results if r.attempts]))  # not the resumed
    run.metric("mask_s", sum(v.mask_s for v in values))
    run.metric("write_s", sum(v.write_s for v in values))
    if params.cache_dir:
        run.metric("mask_cache_hit_ratio", sum(hits) / len(hits) if hits else 0.0)
    resumed = sum(r.attempts == 0 for r in task_results)
    return (
        f"seg1b s1: {total:,} tiles, {len(per_country)} countries, {n_units} units"
        + (f" ({resumed} resumed)" if resumed else "")
        + f", {wall:.2f} s for the units ({total / wall if wall else 0:,.0f} tiles/s), idle "
        f"{100 * util['idle_fraction']:.1f} %, receipt {receipt}"
    )
