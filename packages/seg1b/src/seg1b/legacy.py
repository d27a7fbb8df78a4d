"""The slow, obvious S1 path, kept as the reference for parity tests and the speed ratio.

This is how the tile index used to be built: one window over the *whole* country (for Russia or Fiji it spans
the world), then a Python loop over every cell of the mask with ``rasterio.transform.xy`` for the centre, the
affine transform for the bounds, a ``pyproj.Geod`` call for the area, and the row appended to lists that
become the table. Only the inclusion test is shared with the fast path (GDAL's burn in grid pixel space), so
both give the same cells; everything after the mask is computed independently, tile by tile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import rasterio.transform
from pyproj import Geod

from seg1b.grid import Grid
from seg1b.rasterize import PartWindows, window_runs
from seg1b.tiles import TILE_SCHEMA, runs_to_cells

_WGS84 = Geod(ellps="WGS84")


def legacy_runs(pw: PartWindows, rule: str, band: tuple[int, int]) -> np.ndarray:
    """All parts burned into one window: the country's whole bounding box (clipped to ``band``)."""
    w = pw.windows
    r0, r1 = max(int(w[:, 0].min()), band[0]), min(int(w[:, 1].max()), band[1])
    c0, c1 = int(w[:, 2].min()), int(w[:, 3].max())
    return window_runs(pw.parts, rule, r0, r1, c0, c1)


def legacy_table(grid: Grid, country: str, runs: np.ndarray) -> pa.Table:
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
