"""The global regular lon/lat grid: origin (-180, 90), row 0 at the north, square cells of N arc-seconds.

Edges are computed in one step from their index (``90 - r*res``, ``-180 + c*res``), never by accumulating
steps, so every cell edge is the same float whichever code path asks for it. Cell areas are WGS84 geodesic
areas from ``pyproj.Geod``, one per grid row (every cell of a row has the same area).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from pyproj import Geod
from rasterio.transform import Affine

from seg1b.errors import Seg1bError

ARCSEC_PER_DEGREE = 3600
_WGS84 = Geod(ellps="WGS84")


class Grid:
    """A global grid of ``resolution_arcsec`` cells (30 -> 43,200 x 21,600 cells)."""

    def __init__(self, resolution_arcsec: int) -> None:
        if isinstance(resolution_arcsec, bool) or int(resolution_arcsec) != resolution_arcsec:
            raise Seg1bError(f"resolution must be a whole number of arc-seconds, got {resolution_arcsec!r}")
        res = int(resolution_arcsec)
        if res <= 0 or ARCSEC_PER_DEGREE % res:
            raise Seg1bError(
                f"resolution {resolution_arcsec} arc-seconds does not divide a degree into whole cells "
                f"(use a divisor of 3600: 30, 60, 150, 300, 900, 3600, ...)"
            )
        self.resolution_arcsec = res
        self.res_deg = res / ARCSEC_PER_DEGREE
        self.ncols = 360 * ARCSEC_PER_DEGREE // res
        self.nrows = 180 * ARCSEC_PER_DEGREE // res

    def __repr__(self) -> str:
        return f"Grid(resolution_arcsec={self.resolution_arcsec})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grid) and other.resolution_arcsec == self.resolution_arcsec

    def __hash__(self) -> int:
        return hash(("Grid", self.resolution_arcsec))

    def __reduce__(self):  # pickle only the resolution; the arrays are rebuilt lazily in workers
        return (Grid, (self.resolution_arcsec,))

    @property
    def ncells(self) -> int:
        return self.nrows * self.ncols

    @cached_property
    def lon_edges(self) -> np.ndarray:
        """float64 (ncols+1,): west edge of column c is ``-180 + c*res_deg``; the last is the east edge."""
        return -180.0 + np.arange(self.ncols + 1, dtype=np.float64) * self.res_deg

    @cached_property
    def lat_edges(self) -> np.ndarray:
        """float64 (nrows+1,): north edge of row r is ``90 - r*res_deg``; the last is the south pole."""
        return 90.0 - np.arange(self.nrows + 1, dtype=np.float64) * self.res_deg

    @cached_property
    def lon_centers(self) -> np.ndarray:
        """float64 (ncols,): ``-180 + (c + 0.5)*res_deg``, what ``rasterio.transform.xy`` gives for a centre."""
        return -180.0 + (np.arange(self.ncols, dtype=np.float64) + 0.5) * self.res_deg

    @cached_property
    def lat_centers(self) -> np.ndarray:
        """float64 (nrows,): ``90 - (r + 0.5)*res_deg``, what ``rasterio.transform.xy`` gives for a centre."""
        return 90.0 - (np.arange(self.nrows, dtype=np.float64) + 0.5) * self.res_deg

    @cached_property
    def row_area_m2(self) -> np.ndarray:
        """float64 (nrows,): WGS84 geodesic area of one cell of each row, one ``Geod`` call per row.

        A cell is the geodesic polygon through its four corners; neighbouring cells share their edges,
        so the cells tile the ellipsoid and their areas add up to its surface area.
        """
        w, e = 0.0, self.res_deg
        out = np.empty(self.nrows, dtype=np.float64)
        lat = self.lat_edges
        for r in range(self.nrows):
            n, s = float(lat[r]), float(lat[r + 1])
            # counter-clockwise (SW, SE, NE, NW) -> positive area
            area, _ = _WGS84.polygon_area_perimeter([w, e, e, w], [s, s, n, n])
            out[r] = abs(area)
        return out

    @property
    def transform(self) -> Affine:
        """The rasterio affine transform of the whole grid (pixel (col, row) -> lon, lat of its corner)."""
        return Affine(self.res_deg, 0.0, -180.0, 0.0, -self.res_deg, 90.0)

    def tile_id(self, row, col):
        """``row * ncols + col`` (int64; scalars or arrays)."""
        return np.asarray(row, dtype=np.int64) * self.ncols + np.asarray(col, dtype=np.int64)

    def row_col(self, tile_id):
        """The inverse of :meth:`tile_id`: ``(row, col)``."""
        return np.divmod(np.asarray(tile_id, dtype=np.int64), self.ncols)
