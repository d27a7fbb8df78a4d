"""Pure tile kernels (no I/O): mask -> row runs -> cells -> the tile index columns.

A country's cells in a row band are kept as *runs*: (row, first col, end col) triples, sorted by row then
column. Runs are what a rasterised mask compresses to (a few per row even for Russia), what the mask cache
stores, and what expands, fully vectorised, into the per-tile columns of the output schema.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from seg1b.grid import Grid

TILE_SCHEMA = pa.schema(
    [
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
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends
    # np.nonzero over the band, row-major: starts and ends come out paired in the same order
    start_r, start_c = np.nonzero(edges == 1)
    _, end_c = np.nonzero(edges == -1)
    runs = np.empty((len(start_r), 3), dtype=np.int32)
    runs[:, 0] = start_r + row0
    runs[:, 1] = start_c + col0
    runs[:, 2] = end_c + col0
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


def tile_table(grid: Grid, country: str, rows: np.ndarray, cols: np.ndarray) -> pa.Table:
    """The output columns for cells (rows, cols) of one country, gathered from the grid's edge arrays."""
    n = len(rows)
    tile_id = rows.astype(np.int64) * grid.ncols + cols
    country_col = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([country], type=pa.string())
    )
    lon_e, lat_e = grid.lon_edges, grid.lat_edges
    columns = [
        pa.array(tile_id),
        country_col,
        pa.array(rows),
        pa.array(cols),
        pa.array(grid.lon_centers[cols]),
        pa.array(grid.lat_centers[rows]),
        pa.array(lon_e[cols]),
        pa.array(lat_e[rows + 1]),
        pa.array(lon_e[cols + 1]),
        pa.array(lat_e[rows]),
        pa.array(grid.row_area_m2[rows]),
    ]
    return pa.Table.from_arrays(columns, schema=TILE_SCHEMA)


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
