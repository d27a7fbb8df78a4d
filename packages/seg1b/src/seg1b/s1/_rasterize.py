"""Country geometry -> cell runs, one rasterio window per cluster of polygon parts, never per country.

Russia, the US and Fiji cross the antimeridian: a whole-country window would span the world. Instead each
polygon part gets the window of its own bounds (one cell of margin, so ``all_touched`` can reach a cell whose
edge the part only touches); parts whose column ranges overlap are burned together into one window (GDAL's
burn is a union, so shared cells count once), and the runs of all windows are merged in tile_id order.

Geometries are first moved into *grid pixel space* (x = column, y = row, both as floats):
``x = (lon + 180) * k``, ``y = (90 - lat) * k`` with ``k = 3600 / resolution_arcsec`` a whole number. A
border on a whole degree then lands exactly on a cell edge, and a window's offset (a whole number of cells)
is subtracted exactly. Under ``center`` a cell could only depend on where its window starts if a border
passed within ~1e-12 cells of its centre (the tests check every 1:110m country against one whole-world
burn). Under ``any``
(GDAL's all-touched burn) a cell that an edge only grazes can still come out either way at the last bit of
an intersection, so a whole-world burn may differ from the per-part windows by such boundary cells.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from rasterio import features
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from seg1b.grid import Grid
from seg1b.s1._cells import empty_runs, mask_runs, merge_runs

# rasterio hides this warning for its in-memory rasterize dataset with warnings.catch_warnings(), which is
# not thread-safe: with thread workers it leaks out. Our windows are in grid pixel space by design.
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)

RULES = ("center", "any")


def to_pixel_space(geometry: shapely.Geometry, grid: Grid) -> shapely.Geometry:
    """The geometry in grid pixel coordinates: x = (lon + 180) * k, y = (90 - lat) * k, k cells per degree."""
    k = float(3600 // grid.resolution_arcsec)

    def fwd(xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        out[:, 0] = (xy[:, 0] + 180.0) * k
        out[:, 1] = (90.0 - xy[:, 1]) * k
        return out

    return shapely.transform(geometry, fwd)


def pixel_transform(row0: int, col0: int) -> Affine:
    """Transform of a window whose top-left cell is (row0, col0), for geometries in grid pixel space."""
    return Affine(1.0, 0.0, float(col0), 0.0, 1.0, float(row0))


@dataclass(frozen=True)
class PartWindows:
    """The polygon parts of one country (grid pixel space) with the window (rows r0:r1, cols c0:c1) of each."""

    parts: np.ndarray  # object array of shapely Polygons
    windows: np.ndarray  # int64 (n, 4): r0, r1, c0, c1

    @property
    def row_span(self) -> tuple[int, int]:
        return int(self.windows[:, 0].min()), int(self.windows[:, 1].max())


def part_windows(pixel_geometry: shapely.Geometry, grid: Grid) -> PartWindows:
    """Split a pixel-space (Multi)Polygon into parts, each with its window: bounds + one cell, clipped."""
    parts = shapely.get_parts(pixel_geometry)
    parts = parts[~shapely.is_empty(parts)]
    b = shapely.bounds(parts)  # minx, miny, maxx, maxy = col, row extents
    windows = np.empty((len(parts), 4), dtype=np.int64)
    windows[:, 0] = np.clip(np.floor(b[:, 1]) - 1, 0, grid.nrows)
    windows[:, 1] = np.clip(np.ceil(b[:, 3]) + 1, 0, grid.nrows)
    windows[:, 2] = np.clip(np.floor(b[:, 0]) - 1, 0, grid.ncols)
    windows[:, 3] = np.clip(np.ceil(b[:, 2]) + 1, 0, grid.ncols)
    return PartWindows(parts, windows)


def estimate_cells(pixel_geometry: shapely.Geometry, rule: str) -> float:
    """Expected cell count: the area in pixel space is the number of cells (+ the boundary for ``any``)."""
    cells = shapely.area(pixel_geometry)
    if rule == "any":
        cells += shapely.length(pixel_geometry)
    return float(cells) + 1.0


def band_windows(pw: PartWindows, band: tuple[int, int]) -> list[tuple[np.ndarray, int, int, int, int]]:
    """The windows burned for rows ``band`` = [b0, b1): (part indices, r0, r1, c0, c1), one per cluster of
    parts with overlapping column ranges."""
    b0, b1 = band
    w = pw.windows
    sel = np.flatnonzero((w[:, 0] < b1) & (w[:, 1] > b0))
    if len(sel) == 0:
        return []
    # clusters of parts with overlapping column ranges: sorted by c0, a new cluster starts where c0 reaches
    # the running maximum c1 of the parts before it
    sel = sel[np.argsort(w[sel, 2], kind="stable")]
    c0, c1 = w[sel, 2], w[sel, 3]
    new = np.ones(len(sel), dtype=bool)
    new[1:] = c0[1:] >= np.maximum.accumulate(c1)[:-1]
    starts = [*np.flatnonzero(new).tolist(), len(sel)]
    out = []
    for i, j in itertools.pairwise(starts):
        idx = sel[i:j]
        r0 = max(int(w[idx, 0].min()), b0)
        r1 = min(int(w[idx, 1].max()), b1)
        out.append((idx, r0, r1, int(w[idx, 2].min()), int(w[idx, 3].max())))
    return out


def band_runs(pw: PartWindows, rule: str, band: tuple[int, int]) -> np.ndarray:
    """Runs of the cells of rows ``band`` = [b0, b1) that belong to the country under ``rule``."""
    chunks = [
        window_runs(pw.parts[idx], rule, r0, r1, c0, c1) for idx, r0, r1, c0, c1 in band_windows(pw, band)
    ]
    return merge_runs(chunks)


def window_runs(parts, rule: str, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Burn pixel-space ``parts`` into the window rows r0:r1, cols c0:c1; return its runs in grid cells."""
    if r1 <= r0 or c1 <= c0:
        return empty_runs()
    mask = features.rasterize(
        [(_geojson(p), 1) for p in parts],
        out_shape=(r1 - r0, c1 - c0),
        transform=pixel_transform(r0, c0),
        fill=0,
        all_touched=rule == "any",
        dtype="uint8",
    )
    return mask_runs(mask, r0, c0)


def _geojson(polygon: shapely.Polygon) -> dict:
    """GeoJSON-like mapping with numpy rings: shapely's ``__geo_interface__`` builds tuples point by point."""
    rings = [shapely.get_coordinates(polygon.exterior)]
    rings += [shapely.get_coordinates(r) for r in polygon.interiors]
    return {"type": "Polygon", "coordinates": rings}
