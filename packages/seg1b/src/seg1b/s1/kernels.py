"""S1's kernels, the one module others import them from: country geometry -> cell runs (``_rasterize``: grid
pixel space, rasterio windows per cluster of polygon parts) and runs -> the tile index columns (``_cells``).

Pure computation, no file I/O (the Parquet writer and the mask cache are in :mod:`seg1b.s1.io`); the slow
obvious twins are in :mod:`seg1b.s1.reference`.
"""

from seg1b.s1._cells import (
    TILE_SCHEMA,
    empty_runs,
    mask_runs,
    merge_runs,
    runs_cell_count,
    runs_table,
    runs_to_cells,
    split_runs,
)
from seg1b.s1._rasterize import (
    RULES,
    PartWindows,
    band_runs,
    band_windows,
    estimate_cells,
    part_windows,
    pixel_transform,
    to_pixel_space,
    window_runs,
)

__all__ = [
    "RULES",
    "TILE_SCHEMA",
    "PartWindows",
    "band_runs",
    "band_windows",
    "empty_runs",
    "estimate_cells",
    "mask_runs",
    "merge_runs",
    "part_windows",
    "pixel_transform",
    "runs_cell_count",
    "runs_table",
    "runs_to_cells",
    "split_runs",
    "to_pixel_space",
    "window_runs",
]
