"""Reading the S1 tile dataset for S6: which files hold which country, the grid, and tile-id lookups.

S6 never loads the whole tile index (221 million rows at 30 arc-seconds). To check that every planned tile
really is a tile of its country it needs, per work unit, only the tile-id intervals S1 writes in each file's
footer (439 K intervals for the 30" world) or, for a file without them, the ``tile_id`` column of the country's
row groups that overlap the unit's tile-id range; tile bounds come from the grid's exact edge arrays, the same
floats S1 writes (checked on a sample when the index is opened; the legacy path reads the bound columns).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seg1b.errors import Seg1bError
from seg1b.grid import Grid
from seg1b.s1.io import RUNS_KEY
from seg1b.s6.kernels import sorted_in_intervals, sorted_member

REQUIRED_TILE_COLUMNS = ("tile_id", "country_iso", "west", "south", "east", "north")
_SAMPLE_ROWS = 4096
FIND_BATCH_ROWS = 1 << 16  # tile ids per batch read by find_tiles (see there)


@dataclass
class TileFile:
    """One Parquet file of the dataset and what its footer says about ``tile_id`` per row group."""

    path: str
    country: str
    rg_min: np.ndarray  # int64 per row group (tile_id statistics); -inf/+inf sentinels when unknown
    rg_max: np.ndarray
    rg_rows: np.ndarray
    # files holding several countries are read whole once: (tile ids of this country, sorted)
    ids: np.ndarray | None = None
    # the footer read when the index was opened (units reopen the file without parsing it again)
    metadata: pq.FileMetaData | None = None
    # the file's tiles as sorted disjoint tile-id intervals [start, stop) from S1's footer (RUNS_KEY), when
    # present and consistent with the row count and statistics: lookups need no tile_id column then (and the
    # file's country comes from the same footer record)
    runs: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def rows(self) -> int:
        return int(self.rg_rows.sum())


@dataclass
class TileIndex:
    """The S1 tile dataset at ``DIR/tiles`` (or ``DIR`` itself when it holds the Parquet files)."""

    root: str
    grid: Grid
    files: dict[str, list[TileFile]] = field(default_factory=dict)

    @property
    def countries(self) -> list[str]:
        return sorted(self.files)

    def tile_count(self, country: str) -> int:
        return sum(f.rows if f.ids is None else int(f.ids.size) for f in self.files.get(country, ()))

    def row_range_rows(self, country: str, lo: int, hi: int) -> int:
        """Rows of the country's row groups overlapping tile ids [lo, hi] (the read cost of a unit)."""
        n = 0
        for f in self.files.get(country, ()):
            if f.runs is not None:
                continue  # looked up in the footer's intervals: no rows read
            if f.ids is not None:
                n += int(np.searchsorted(f.ids, hi, "right") - np.searchsorted(f.ids, lo, "left"))
            else:
                sel = (f.rg_max >= lo) & (f.rg_min <= hi)
                n += int(f.rg_rows[sel].sum())
        return n


def _stat_value(stats, attr: str):
    try:
        if stats is None or not stats.has_min_max:
            return None
        return getattr(stats, attr)
    except Exception:  # some writers leave statistics pyarrow cannot decode
        return None


def _file_countries(pf: pq.ParquetFile, col: int) -> list[str]:
    """The distinct country keys of a file.

    From the column statistics when every row group has min == max; otherwise from the ``country_iso`` column
    itself, read as a dictionary: S1 writes one country per file, so each chunk's dictionary has one value and
    its run-length-encoded indices decode in microseconds.
    """
    md = pf.metadata
    seen: set[str] = set()
    for i in range(md.num_row_groups):
        st = md.row_group(i).column(col).statistics
        lo, hi = _stat_value(st, "min"), _stat_value(st, "max")
        if lo is None or lo != hi:
            break
        seen.add(lo.decode() if isinstance(lo, bytes) else str(lo))
    else:
        return sorted(seen)
    seen = set()
    column = pf.read(columns=["country_iso"], use_threads=False).column("country_iso")
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            if len(chunk.dictionary) == 1 and chunk.null_count == 0:
                seen.add(str(chunk.dictionary[0].as_py()))
                continue
            chunk = chunk.cast(chunk.type.value_type)
        seen.update(str(v) for v in pc.unique(chunk).to_pylist() if v is not None)
    return sorted(seen)


def _file_info(p: Path):
    """(ParquetFile, countries, tile_id min/max/rows per row group) of one file; None when it has no rows."""
    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:
        raise Seg1bError(f"cannot read tile file {p}: {' '.join(str(exc).split())}") from None
    names = pf.schema_arrow.names
    missing = [c for c in REQUIRED_TILE_COLUMNS if c not in names]
    if missing:
        raise Seg1bError(f"tile file {p} lacks column(s) {', '.join(missing)} (is it an S1 tile dataset?)")
    md = pf.metadata
    if md.num_rows == 0:
        return None
    col_tile = names.index("tile_id")
    nrg = md.num_row_groups
    rg_min = np.full(nrg, np.iinfo(np.int64).min, dtype=np.int64)
    rg_max = np.full(nrg, np.iinfo(np.int64).max, dtype=np.int64)
    rg_rows = np.array([md.row_group(i).num_rows for i in range(nrg)], dtype=np.int64)
    for i in range(nrg):
        st = md.row_group(i).column(col_tile).statistics
        lo, hi = _stat_value(st, "min"), _stat_value(st, "max")
        if lo is not None and hi is not None:
            rg_min[i], rg_max[i] = int(lo), int(hi)
    footer = _file_runs(md, rg_min, rg_max)
    if footer is not None:  # S1's own record of the file: its country and tiles, no column read
        return pf, [footer[0]], rg_min, rg_max, rg_rows, footer[1]
    return pf, _file_countries(pf, names.index("country_iso")), rg_min, rg_max, rg_rows, None


def _file_runs(md: pq.FileMetaData, rg_min: np.ndarray, rg_max: np.ndarray):
    """(country, (starts, stops)) from the footer S1 writes (``seg1b.s1.io.tile_runs_value``), or None when it
    is absent or not consistent with the file (sorted, disjoint, as many tiles as rows, the statistics' first
    and last id): then the file is read like any Parquet tile file (country column, tile_id column)."""
    raw = (md.metadata or {}).get(RUNS_KEY)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        country = record["country"]
        pairs = np.frombuffer(base64.b64decode(record["intervals"], validate=True), dtype="<i8")
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if not isinstance(country, str) or pairs.size == 0 or pairs.size % 2:
        return None
    starts, stops = pairs[0::2].astype(np.int64), pairs[1::2].astype(np.int64)
    if not ((starts < stops).all() and (stops[:-1] <= starts[1:]).all()):
        return None
    if int((stops - starts).sum()) != md.num_rows:
        return None
    known = (rg_min != np.iinfo(np.int64).min) & (rg_max != np.iinfo(np.int64).max)
    if known.all() and (starts[0] != rg_min.min() or stops[-1] - 1 != rg_max.max()):
        return None
    return country, (starts, stops)


def open_tile_index(tiles_dir: str | os.PathLike) -> TileIndex:
    """Open the tile dataset: file -> country map from footers, the grid, and a bounds check on a sample."""
    root = Path(tiles_dir)
    if not root.exists():
        raise Seg1bError(f"tiles directory not found: {root}")
    if not root.is_dir():
        raise Seg1bError(f"tiles {root} is a file; give the folder `seg1b s1` wrote (it holds tiles/)")
    base = root / "tiles" if (root / "tiles").is_dir() else root
    paths = sorted(p for p in base.glob("*.parquet") if p.is_file())
    if not paths:
        raise Seg1bError(f"no tile dataset in {root} (expected {root}/tiles/part-*.parquet from `seg1b s1`)")
    files: dict[str, list[TileFile]] = {}
    # footers and country columns of all files, read in threads (pyarrow decodes without the GIL)
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 1))) as pool:
        infos = list(pool.map(_file_info, paths))
    sample: pa.Table | None = None
    for p, info in zip(paths, infos, strict=True):
        if info is None:
            continue
        pf, in_file, rg_min, rg_max, rg_rows, runs = info
        if len(in_file) == 1:
            country = in_file[0]
            files.setdefault(country, []).append(
                TileFile(str(p), country, rg_min, rg_max, rg_rows, metadata=pf.metadata, runs=runs)
            )
        else:  # several countries in one file (not S1's layout): read the two columns once
            t = pf.read(columns=["tile_id", "country_iso"])
            ids = column_numpy(t.column("tile_id").cast(pa.int64()))
            cc = t.column("country_iso")
            cc = pc.cast(cc, pa.string())
            keys = np.asarray(cc.to_pylist(), dtype=object)
            for k in sorted(set(keys.tolist())):
                sel = np.sort(ids[keys == k])
                files.setdefault(k, []).append(
                    TileFile(str(p), k, rg_min[:0], rg_max[:0], rg_rows[:0], ids=sel)
                )
        if sample is None:
            sample = next(pf.iter_batches(batch_size=_SAMPLE_ROWS, columns=list(REQUIRED_TILE_COLUMNS)))
            sample = pa.Table.from_batches([sample])
    if not files or sample is None:
        raise Seg1bError(f"the tile dataset in {root} has no rows")
    grid = _grid_from_sample(sample, base)
    return TileIndex(str(base), grid, files)


def _grid_from_sample(sample: pa.Table, where: Path) -> Grid:
    """The grid whose edge arrays reproduce the sample's bounds exactly (S6 derives bounds from it)."""
    west = column_numpy(sample.column("west"))
    east = column_numpy(sample.column("east"))
    south = column_numpy(sample.column("south"))
    north = column_numpy(sample.column("north"))
    ids = column_numpy(sample.column("tile_id"))
    res_arcsec = round(float(east[0] - west[0]) * 3600)
    try:
        grid = Grid(res_arcsec)
    except Seg1bError as exc:
        raise Seg1bError(f"tile dataset {where}: cells are not a regular grid ({exc})") from None
    r, c = grid.row_col(ids)
    ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols)
    if not ok.all():
        raise Seg1bError(f"tile dataset {where}: tile ids outside a {res_arcsec} arc-second grid")
    lon, lat = grid.lon_edges, grid.lat_edges
    same = (
        np.array_equal(lon[c], west)
        and np.array_equal(lon[c + 1], east)
        and np.array_equal(lat[r], north)
        and np.array_equal(lat[r + 1], south)
    )
    if not same:
        raise Seg1bError(
            f"tile dataset {where}: tile bounds do not match the {res_arcsec} arc-second grid edges "
            "(-180 + c*res, 90 - r*res)"
        )
    return grid


def column_numpy(column: pa.ChunkedArray | pa.Array, dtype=None) -> np.ndarray:
    """A null-free fixed-width Arrow column as numpy, straight from its buffers (``dtype``: the column's own).

    (``to_numpy`` makes pyarrow import pandas: seconds of a worker's first unit, and a Ctrl-C that lands in
    that import surfaces as an arbitrary error from inside pandas instead of ``KeyboardInterrupt``.)
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for c in chunks:
        if c.null_count:
            raise ValueError("column_numpy: nulls")
        dt = np.dtype(dtype if dtype is not None else c.type.to_pandas_dtype())
        width = dt.itemsize
        if c.type.byte_width != width:
            raise TypeError(f"column_numpy: {c.type} is not {dt}")
        parts.append(np.frombuffer(c.buffers()[1], dtype=dt, count=len(c), offset=c.offset * width))
    if not parts:
        return np.empty(0, dtype=dtype if dtype is not None else column.type.to_pandas_dtype())
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def find_tiles(files: list[TileFile], tiles: np.ndarray) -> tuple[np.ndarray, int]:
    """Which of the sorted distinct ``tiles`` are tiles of this country: (found mask, index rows read).

    A file written by S1 carries its tiles as intervals in its footer (``TileFile.runs``): one merge walk
    over them, no rows read. Otherwise the file's tile_id column is read: the country's row groups (only
    those whose tile_id range holds one of ``tiles``) are streamed in batches of ``FIND_BATCH_ROWS`` ids, and
    each batch looks up the tiles within its id range, so nothing bigger than a batch is materialised.
    (Batches instead of whole 1 Mi-row groups: a scan of every file was faster so, but over the real units'
    lookups an A/B showed no difference beyond the noise; the intervals are what removed this cost.)
    """
    found = np.zeros(tiles.size, dtype=bool)
    rows = 0
    if tiles.size == 0:
        return found, 0
    for f in files:
        if f.runs is not None:
            sorted_in_intervals(f.runs[0], f.runs[1], tiles, found)
            continue
        if f.ids is not None:
            if f.ids.size:
                pos = np.minimum(np.searchsorted(f.ids, tiles), f.ids.size - 1)
                found |= f.ids[pos] == tiles
            continue
        a_all = np.searchsorted(tiles, f.rg_min, "left")
        b_all = np.searchsorted(tiles, f.rg_max, "right")
        pf = None
        for rg in np.flatnonzero(b_all > a_all).tolist():
            a, b = int(a_all[rg]), int(b_all[rg])
            if found[a:b].all():
                continue
            if pf is None:
                pf = pq.ParquetFile(f.path, metadata=f.metadata)
            batches = pf.iter_batches(
                batch_size=FIND_BATCH_ROWS, row_groups=[rg], columns=["tile_id"], use_threads=False
            )
            for batch in batches:
                col = batch.column(0)
                ids = column_numpy(col.cast(pa.int64()) if col.type != pa.int64() else col)
                rows += ids.size
                if ids.size:
                    _lookup(ids, tiles, found)
    return found, rows


def _lookup(ids: np.ndarray, tiles: np.ndarray, found: np.ndarray) -> None:
    """``found |= tiles in ids`` for the sorted ``tiles``: one merge walk over ``ids`` when it is sorted (S1
    writes it so), else over a sorted copy."""
    if not _member_in_range(ids, tiles, found):
        _member_in_range(np.sort(ids), tiles, found)


def _member_in_range(ids: np.ndarray, tiles: np.ndarray, found: np.ndarray) -> bool:
    """The merge walk over the tiles between ids' first and last value; False when ``ids`` is not sorted."""
    a = int(np.searchsorted(tiles, ids[0], "left"))
    b = int(np.searchsorted(tiles, ids[-1], "right"))
    return sorted_member(ids, tiles[a:b], found[a:b])


def read_tile_ids(files: list[TileFile], lo: int, hi: int) -> np.ndarray:
    """Sorted tile ids of one country within [lo, hi] (the error path and tests; units use find_tiles)."""
    parts = []
    for f in files:
        if f.ids is not None:
            parts.append(f.ids[np.searchsorted(f.ids, lo, "left") : np.searchsorted(f.ids, hi, "right")])
            continue
        rgs = np.flatnonzero((f.rg_max >= lo) & (f.rg_min <= hi)).tolist()
        if not rgs:
            continue
        t = pq.ParquetFile(f.path).read_row_groups(rgs, columns=["tile_id"], use_threads=False)
        ids = column_numpy(t.column("tile_id").cast(pa.int64()))
        parts.append(ids[(ids >= lo) & (ids <= hi)])
    if not parts:
        return np.empty(0, dtype=np.int64)
    ids = np.sort(np.concatenate(parts))
    return ids


def read_tile_bounds(files: list[TileFile], tiles: np.ndarray) -> dict[str, np.ndarray] | None:
    """west/south/east/north of sorted ``tiles`` read from the dataset's own columns (the legacy path)."""
    if tiles.size == 0:
        return {k: np.empty(0) for k in ("west", "south", "east", "north")}
    lo, hi = int(tiles[0]), int(tiles[-1])
    cols = ["tile_id", "west", "south", "east", "north"]
    tables = []
    for f in files:
        pf = pq.ParquetFile(f.path)
        if f.ids is not None:
            rgs = list(range(pf.metadata.num_row_groups))
        else:
            rgs = np.flatnonzero((f.rg_max >= lo) & (f.rg_min <= hi)).tolist()
        if rgs:
            tables.append(pf.read_row_groups(rgs, columns=cols, use_threads=False))
    if not tables:
        return None
    t = pa.concat_tables(tables)
    ids = t.column("tile_id").to_numpy()
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    pos = np.searchsorted(ids, tiles)
    pos = np.minimum(pos, ids.size - 1)
    if not np.array_equal(ids[pos], tiles):
        return None
    return {k: t.column(k).to_numpy()[order][pos] for k in ("west", "south", "east", "north")}
