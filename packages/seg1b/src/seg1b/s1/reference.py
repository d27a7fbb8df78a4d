"""The slow, obvious S1 path, kept as the reference for parity tests and the speed ratio.

Inclusion (``--rule center``) is decided independently of the fast path: every cell whose centre lies in the
bounding box of a polygon part is tested with ``shapely.contains_xy`` (GEOS) at its centre -- no rasterio, no
windows, no runs arithmetic, no band profile -- so ``--mode reference`` == ``fast`` checks the fast path's
GDAL burn, its windows and run merging. (``--rule any`` is defined as GDAL's all-touched burn, so the reference
burns one window over the whole country with it.) Then, as the tile index used to be built, a Python loop over
every cell with ``rasterio.transform.xy`` for the centre, the affine transform for the bounds, a ``pyproj.Geod``
call for the area, rows appended to lists that become the table.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import rasterio.transform
import shapely
from pyproj import Geod

from seg1b.grid import Grid
from seg1b.s1.kernels import TILE_SCHEMA, PartWindows, empty_runs, runs_to_cells, window_runs

_WGS84 = Geod(ellps="WGS84")


CENTRE_BATCH = 1 << 20  # cells tested per shapely call


def centre_cells(parts, band: tuple[int, int]) -> np.ndarray:
    """(row, col) int64 (n, 2), sorted, of every cell in rows ``band`` whose centre a pixel-space part contains."""
    found = []
    for part in parts:
        shapely.prepare(part)
        x0, y0, x1, y1 = part.bounds  # centres (c + 0.5, r + 0.5) inside the bounds
        r_lo, r_hi = max(math.floor(y0 - 0.5), band[0], 0), min(math.ceil(y1 - 0.5) + 1, band[1])
        c_lo, c_hi = max(math.floor(x0 - 0.5), 0), math.ceil(x1 - 0.5) + 1
        if r_hi <= r_lo or c_hi <= c_lo:
            continue
        cols = np.arange(c_lo, c_hi, dtype=np.int64)
        step = max(1, CENTRE_BATCH // cols.size)
        for r in range(r_lo, r_hi, step):
            rows = np.arange(r, min(r + step, r_hi), dtype=np.int64)
            rr, cc = np.repeat(rows, cols.size), np.tile(cols, rows.size)
            hit = shapely.contains_xy(part, cc + 0.5, rr + 0.5)
            found.append(np.column_stack([rr[hit], cc[hit]]))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    cells = np.unique(np.concatenate(found), axis=0)  # parts of a valid multipolygon do not overlap anyway
    return cells


def cells_to_runs(cells: np.ndarray) -> np.ndarray:
    """Sorted (row, col) cells -> runs (row, first col, end col) int32."""
    if len(cells) == 0:
        return empty_runs()
    rows, cols = cells[:, 0], cells[:, 1]
    start = np.ones(len(cells), dtype=bool)
    start[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1] + 1)
    first = np.flatnonzero(start)
    last = np.append(first[1:], len(cells)) - 1
    return np.column_stack([rows[first], cols[first], cols[last] + 1]).astype(np.int32)


def band_runs(pw: PartWindows, rule: str, band: tuple[int, int]) -> np.ndarray:
    """The unit's cells: a shapely centre test per cell (``center``), or all parts burned all-touched into one
    window, the country's whole bounding box clipped to ``band`` (``any``, GDAL's definition)."""
    if rule == "center":
        return cells_to_runs(centre_cells(pw.parts, band))
    w = pw.windows
    r0, r1 = max(int(w[:, 0].min()), band[0]), min(int(w[:, 1].max()), band[1])
    c0, c1 = int(w[:, 2].min()), int(w[:, 3].max())
    return window_runs(pw.parts, rule, r0, r1, c0, c1)


def runs_table(grid: Grid, country: str, runs: np.ndarray) -> pa.Table:
    """One row per tile, computed tile by tile (slow by design)."""
    rows, cols = runs_to_cells(runs)
    transform = grid.transform
    records: dict[str, list] = {name: [] for name in TILE_SCHEMA.names}
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        lon, lat = rasterio.transform.xy(transform, r, c, offset="center")
        west, north = transform @ (c, r)
        east, south = transform @ (c + 1, r + 1)
        area, _ = _WGS84.polygon_area_perimeter(
            [0.0, grid.res_deg, grid.res_deg, 0.0], [south, south, north, north]
        )
        records["tile_id"].append(r * grid.ncols + c)
        records["country_iso"].append(country)
        records["row"].append(r)
        records["col"].append(c)
        records["centroid_lon"].append(float(lon))
        records["centroid_lat"].append(float(lat))
        records["west"].append(west)
        records["south"].append(south)
        records["east"].append(east)
        records["north"].append(north)
        records["area_m2"].append(abs(area))
    return pa.Table.from_pydict(records, schema=TILE_SCHEMA)
