"""Grid: exact edges, tile ids, geodesic cell areas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod
from seg1b.errors import Seg1bError
from seg1b.grid import Grid

WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563


def ellipsoid_area_m2() -> float:
    """Surface area of the WGS84 ellipsoid: 2 pi a^2 (1 + (1 - e^2)/e * atanh(e))."""
    e2 = WGS84_F * (2 - WGS84_F)
    e = math.sqrt(e2)
    return 2 * math.pi * WGS84_A**2 * (1 + (1 - e2) / e * math.atanh(e))


def test_shape_and_exact_edges():
    g = Grid(30)
    assert (g.ncols, g.nrows) == (43_200, 21_600)
    c = np.arange(g.ncols + 1)
    r = np.arange(g.nrows + 1)
    assert np.array_equal(g.lon_edges, -180 + c * (30 / 3600))
    assert np.array_equal(g.lat_edges, 90 - r * (30 / 3600))
    assert g.lon_edges[0] == -180 and g.lon_edges[-1] == 180
    assert g.lat_edges[0] == 90 and g.lat_edges[-1] == -90


@pytest.mark.parametrize("res", [0, -30, 7, 3601, 45.5])
def test_resolution_must_divide_a_degree(res):
    with pytest.raises(Seg1bError, match="arc-seconds"):
        Grid(res)


def test_tile_id_round_trip():
    g = Grid(150)
    rows = np.array([0, 5, g.nrows - 1])
    cols = np.array([0, 17, g.ncols - 1])
    ids = g.tile_id(rows, cols)
    assert ids.tolist() == (rows * g.ncols + cols).tolist()
    r, c = g.row_col(ids)
    assert r.tolist() == rows.tolist() and c.tolist() == cols.tolist()
    assert g.tile_id(g.nrows - 1, g.ncols - 1) == g.ncells - 1


@pytest.mark.parametrize("res", [30, 150, 3600])
def test_cell_areas_add_up_to_the_ellipsoid(res):
    g = Grid(res)
    total = g.row_area_m2.sum() * g.ncols
    assert total == pytest.approx(ellipsoid_area_m2(), rel=1e-9)


def test_row_area_matches_geod_for_sampled_cells():
    g = Grid(300)
    geod = Geod(ellps="WGS84")
    rng = np.random.default_rng(3)
    for r, c in zip(rng.integers(0, g.nrows, 25), rng.integers(0, g.ncols, 25), strict=True):
        w, e = g.lon_edges[c], g.lon_edges[c + 1]
        n, s = g.lat_edges[r], g.lat_edges[r + 1]
        area, _ = geod.polygon_area_perimeter([w, e, e, w], [s, s, n, n])
        assert g.row_area_m2[r] == pytest.approx(abs(area), rel=1e-9)
