"""Pure tile kernels (no I/O): mask -> row runs -> cells -> the tile index columns.

A country's cells in a row band are kept as *runs*: (row, first col, end col) triples, sorted by row then
column. Runs are what a rasterised mask compresses to (a few per row even for Russia), what the mask cache
stores, and what expands, vectorised per run, into the per-tile columns of the output schema (:func:`runs_table`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from seg1b.grid import Grid

# Every column is required (never null): the Parquet writer then writes no definition levels (a large share of
# its time on these columns, docs/perf/seg1b.md "Speed work"); receipts hash names, types and values only, so they
# are unchanged.
TILE_SCHEMA = pa.schema(
    [
        pa.field(name, dtype, nullable=False)
        for name, dtype in [
            ("tile_id", pa.int64()),
            ("country_iso", pa.dictionary(pa.int32(), pa.string())),
            ("row", pa.int32()),
            ("col", pa.int32()),
            ("centroid_lon", pa.float64()),
            ("centroid_lat", pa.float64()),
            ("west", pa.float64()),
            ("south", pa.float64()),
            ("east", pa.float64()),
            ("north", pa.float64()),
            ("area_m2", pa.float64()),
        ]
    ]
)


def empty_runs() -> np.ndarray:
    return np.empty((0, 3), dtype=np.int32)


def mask_runs(mask: np.ndarray, row0: int, col0: int) -> np.ndarray:
    """Runs of non-zero cells of a 2-D mask window whose top-left cell is (row0, col0) in the grid.

    Returns int32 (n, 3): grid row, first column, end column (exclusive), sorted by row then column.
    """
    h, w = mask.shape
    if h == 0 or w == 0:
        return empty_runs()
    m = mask.view(np.bool_) if mask.dtype == np.uint8 else mask.astype(bool)
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = m
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends; (h, w + 1)
    # one pass over the band, row-major: every row's changes alternate start, end, start, end, ...
    change = np.flatnonzero(edges)
    row, start = np.divmod(change[0::2], w + 1)
    runs = np.empty((len(start), 3), dtype=np.int32)
    runs[:, 0] = row + row0
    runs[:, 1] = start + col0
    runs[:, 2] = change[1::2] - row * (w + 1) + col0
    return runs


def merge_runs(chunks: list[np.ndarray]) -> np.ndarray:
    """Union of run sets from several windows: sorted by (row, col), overlapping/abutting runs merged."""
    chunks = [c for c in chunks if len(c)]
    if not chunks:
        return empty_runs()
    runs = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    if len(chunks) == 1:
        return runs
    runs = runs[np.lexsort((runs[:, 1], runs[:, 0]))]
    # merge runs of one row that overlap or touch: a new group starts where the row changes or the start
    # lies beyond the running maximum end of the group so far
    row, c0, c1 = runs[:, 0].astype(np.int64), runs[:, 1], runs[:, 2].astype(np.int64)
    key = row * (1 << 32) + c1  # running max end within a row, via a row-offset cumulative max
    run_max = np.maximum.accumulate(key) - row * (1 << 32)
    new = np.ones(len(runs), dtype=bool)
    new[1:] = (row[1:] != row[:-1]) | (c0[1:] > run_max[:-1])
    group = np.cumsum(new) - 1
    out = np.empty((int(group[-1]) + 1, 3), dtype=np.int32)
    out[:, 0] = runs[new, 0]
    out[:, 1] = runs[new, 1]
    ends = np.full(len(out), np.iinfo(np.int64).min)
    np.maximum.at(ends, group, c1)
    out[:, 2] = ends
    return out


def runs_cell_count(runs: np.ndarray) -> int:
    return int((runs[:, 2].astype(np.int64) - runs[:, 1]).sum()) if len(runs) else 0


def runs_to_cells(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand runs into per-cell (row int32, col int32), in tile_id order."""
    lengths = runs[:, 2].astype(np.int64) - runs[:, 1]
    n = int(lengths.sum())
    rows = np.repeat(runs[:, 0], lengths)
    # col = run start + position within the run: a global arange minus each run's offset in the output
    offsets = np.cumsum(lengths) - lengths
    cols = np.arange(n, dtype=np.int64)
    cols += np.repeat(runs[:, 1].astype(np.int64) - offsets, lengths)
    return rows.astype(np.int32, copy=False), cols.astype(np.int32)


def runs_table(grid: Grid, country: str, runs: np.ndarray) -> pa.Table:
    """The output columns of every cell of ``runs`` (one country), in tile_id order, from the grid's arrays.

    Built per run, not per cell where a column allows it: the four columns that are constant along a grid row
    are each run's value repeated, the three longitude columns one ``np.take`` of the column index, tile_id
    the column index plus each run's row offset. Every value is a copy of the grid's edge, centre or area
    arrays, so the floats are exactly the reference's. Cheaper than expanding (row, col) per cell and gathering
    every column by it, as before (docs/perf/seg1b.md, "Speed work").
    """
    lengths = (runs[:, 2] - runs[:, 1]).astype(np.intp)
    n = int(lengths.sum())
    r = runs[:, 0]
    # col = the run's first column + the position within the run: a global arange shifted per run
    col64 = np.arange(n, dtype=np.int64)
    col64 += np.repeat(runs[:, 1].astype(np.int64) - (np.cumsum(lengths) - lengths), lengths)
    col = col64.astype(np.int32)
    tile_id = col64  # reused in place: row * ncols + col
    tile_id += np.repeat(r.astype(np.int64) * grid.ncols, lengths)
    lat_e = grid.lat_edges
    country_col = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([country], type=pa.string())
    )
    columns = [
        tile_id,
        country_col,
        np.repeat(r, lengths),
        col,
        np.take(grid.lon_centers, col),  # centroid_lon
        np.repeat(grid.lat_centers[r], lengths),  # centroid_lat
        np.take(grid.lon_edges, col),  # west
        np.repeat(lat_e[r + 1], lengths),  # south
        np.take(grid.lon_edges[1:], col),  # east
        np.repeat(lat_e[r], lengths),  # north
        np.repeat(grid.row_area_m2[r], lengths),  # area_m2
    ]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=TILE_SCHEMA)


def split_runs(runs: np.ndarray, size: int) -> list[np.ndarray]:
    """Cut runs into batches of exactly ``size`` cells (the last may hold fewer), splitting a run if needed."""
    total = runs_cell_count(runs)
    if total <= size:
        return [runs]
    lengths = runs[:, 2].astype(np.int64) - runs[:, 1]
    ends = np.cumsum(lengths)
    batches = []
    for lo in range(0, total, size):
        hi = min(lo + size, total)
        i = int(np.searchsorted(ends, lo, side="right"))  # first run holding cell `lo`
        j = int(np.searchsorted(ends, hi, side="left"))  # run holding cell `hi - 1`
        part = runs[i : j + 1].copy()
        start_i = ends[i] - lengths[i]
        part[0, 1] += lo - start_i
        part[-1, 2] -= ends[j] - hi
        batches.append(part)
    return batches
