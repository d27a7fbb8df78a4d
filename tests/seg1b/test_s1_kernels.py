"""Tile kernels against naive twins: mask -> runs -> cells, run merging, batch splitting."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from seg1b.grid import Grid
from seg1b.s1 import reference
from seg1b.s1.kernels import (
    TILE_SCHEMA,
    mask_runs,
    merge_runs,
    runs_cell_count,
    runs_table,
    runs_to_cells,
    split_runs,
)

masks = arrays(np.uint8, st.tuples(st.integers(0, 9), st.integers(0, 12)), elements=st.integers(0, 1))


@settings(max_examples=150, deadline=None)
@given(masks, st.integers(0, 50), st.integers(0, 50))
def test_mask_runs_expand_to_nonzero(mask, row0, col0):
    runs = mask_runs(mask, row0, col0)
    rows, cols = runs_to_cells(runs)
    rr, cc = np.nonzero(mask)
    assert rows.tolist() == (rr + row0).tolist()
    assert cols.tolist() == (cc + col0).tolist()
    assert runs_cell_count(runs) == int(mask.sum())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(masks, st.integers(0, 6), st.integers(0, 8)), max_size=4))
def test_merge_runs_is_the_union(windows):
    canvas = np.zeros((20, 30), dtype=bool)
    chunks = []
    for mask, r0, c0 in windows:
        h, w = mask.shape
        canvas[r0 : r0 + h, c0 : c0 + w] |= mask.astype(bool)
        chunks.append(mask_runs(mask, r0, c0))
    rows, cols = runs_to_cells(merge_runs(chunks))
    rr, cc = np.nonzero(canvas)
    assert rows.tolist() == rr.tolist() and cols.tolist() == cc.tolist()


@settings(max_examples=100, deadline=None)
@given(masks, st.integers(1, 20))
def test_split_runs_makes_exact_batches(mask, size):
    runs = mask_runs(mask, 3, 4)
    batches = split_runs(runs, size)
    counts = [runs_cell_count(b) for b in batches]
    assert all(c == size for c in counts[:-1]) and 0 <= counts[-1] <= size
    whole = runs_to_cells(runs)
    parts = [runs_to_cells(b) for b in batches]
    assert np.concatenate([p[0] for p in parts]).tolist() == whole[0].tolist()
    assert np.concatenate([p[1] for p in parts]).tolist() == whole[1].tolist()


def test_runs_table_schema_and_values():
    g = Grid(3600)
    runs = np.array([[0, 0, 1], [0, 359, 360], [179, 5, 6]], dtype=np.int32)
    t = runs_table(g, "XYZ", runs)
    assert t.schema.equals(TILE_SCHEMA)
    d = t.to_pydict()
    assert d["tile_id"] == [0, 359, 179 * 360 + 5]
    assert d["country_iso"] == ["XYZ"] * 3
    assert d["west"] == [-180.0, 179.0, -175.0] and d["east"] == [-179.0, 180.0, -174.0]
    assert d["north"] == [90.0, 90.0, -89.0] and d["south"] == [89.0, 89.0, -90.0]
    assert d["centroid_lon"] == [-179.5, 179.5, -174.5] and d["centroid_lat"] == [89.5, 89.5, -89.5]
    assert d["area_m2"][0] == d["area_m2"][1] == g.row_area_m2[0]


def test_runs_table_equals_the_per_tile_reference():
    """Runs of several cells, rows in and out of order of length: the per-run columns are the reference's
    per-tile values, bit for bit (the receipts of both modes are the same)."""
    g = Grid(900)
    runs = np.array([[3, 0, 7], [3, 100, 101], [250, 1400, 1440], [719, 17, 29]], dtype=np.int32)
    fast, slow = runs_table(g, "ABC", runs), reference.runs_table(g, "ABC", runs)
    assert fast.num_rows == runs_cell_count(runs) == 7 + 1 + 40 + 12
    assert fast.equals(slow)
    assert runs_table(g, "ABC", runs[:0]).num_rows == 0
