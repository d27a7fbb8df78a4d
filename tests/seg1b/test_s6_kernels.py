"""S6 kernels: the point arithmetic (numba == legacy Python, inside the tile), the interior-tile decision
(never claims a border tile), and a chi-square check that accepted points are uniform over a tile's area."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
import seg1b.s6._border as border_mod
import shapely
from seg1b.countries import load_countries
from seg1b.grid import Grid
from seg1b.philox import seed_key
from seg1b.s6.kernels import (
    STATUS_ACCEPTED,
    boundary_cells,
    candidate_boxes,
    classify_tiles,
    distinct_tiles,
    draw_point_scalar,
    jitter_country,
    sorted_member,
    tile_bounds,
    tile_bounds_sines,
    tile_boxes_interior,
    tile_sines,
)
from seg1b.s6.reference import jitter_legacy, legacy_point

pytestmark = pytest.mark.xdist_group("seg1b_s6")  # one worker: the kernels compile once

FIXTURE_COUNTRIES = ["USA", "RUS", "FJI", "GRC", "VUT", "BHS", "TTO", "QAT", "NLD"]


def _ranges(g: Grid, geom) -> tuple[int, int, int, int]:
    """Rows [r0, r1) and columns [c0, c1) of the cells overlapping the geometry's bounding box."""
    x0, y0, x1, y1 = geom.bounds
    c0 = max(int(np.floor((x0 + 180.0) / g.res_deg)), 0)
    c1 = min(int(np.ceil((x1 + 180.0) / g.res_deg)), g.ncols)
    r0 = max(int(np.floor((90.0 - y1) / g.res_deg)), 0)
    r1 = min(int(np.ceil((90.0 - y0) / g.res_deg)), g.nrows)
    return r0, max(r1, r0 + 1), c0, max(c1, c0 + 1)


@pytest.fixture(scope="module")
def countries():
    return load_countries("ne110m", only=FIXTURE_COUNTRIES)


def test_numba_point_equals_legacy_python_point():
    rng = np.random.default_rng(1)
    seed = 424242
    k0, k1 = (np.uint64(w) for w in seed_key(seed))
    for res in (30, 150, 600, 3600):
        g = Grid(res)
        rows = rng.integers(0, g.nrows, 200)
        cols = rng.integers(0, g.ncols, 200)
        tiles = g.tile_id(rows, cols)
        w, s, e, n = tile_bounds(g, tiles)
        for i in range(tiles.size):
            sid = int(rng.integers(-(2**62), 2**62))
            att = int(rng.integers(0, 64))
            fast = draw_point_scalar(sid, att, k0, k1, w[i], e[i], s[i], n[i])
            slow = legacy_point(seed, sid, att, float(w[i]), float(s[i]), float(e[i]), float(n[i]))
            assert fast == slow  # bit for bit
            assert w[i] <= fast[0] <= e[i] and s[i] <= fast[1] <= n[i]


def test_points_at_the_poles_stay_in_their_tile():
    g = Grid(3600)
    k0, k1 = np.uint64(1), np.uint64(0)
    for tile in (g.tile_id(0, 10), g.tile_id(g.nrows - 1, 20)):
        w, s, e, n = (float(a[0]) for a in tile_bounds(g, np.array([tile])))
        for sid in range(2000):
            lon, lat = draw_point_scalar(sid, 0, k0, k1, w, e, s, n)
            assert w <= lon <= e and s <= lat <= n


@pytest.mark.parametrize("res", [150, 600, 3600])
def test_interior_decision_is_conservative(countries, res):
    """classify_tiles says interior only where contains_properly of the closed tile box holds."""
    g = Grid(res)
    rng = np.random.default_rng(res)
    for key, geom in countries.geometries.items():
        shapely.prepare(geom)
        r0, r1, c0, c1 = _ranges(g, geom)
        tiles = np.unique(g.tile_id(rng.integers(r0, r1, 20000), rng.integers(c0, c1, 20000)))
        interior, _ = classify_tiles(geom, g, tiles)
        truth = tile_boxes_interior(geom, *tile_bounds(g, tiles))
        assert not (interior & ~truth).any(), key
        # and it is not lazy: it finds (nearly) every interior tile
        assert interior.sum() >= 0.95 * truth.sum(), key


def test_boundary_cells_cover_every_cell_the_boundary_touches(countries):
    g = Grid(600)
    geom = countries.geometries["GRC"]
    marked = boundary_cells(geom, g)
    r0, r1, c0, c1 = _ranges(g, geom)
    rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    tiles = g.tile_id(rr.ravel(), cc.ravel())
    boxes = shapely.box(*tile_bounds(g, tiles))
    touched = tiles[shapely.intersects(geom.boundary, boxes)]
    assert np.isin(touched, marked).all()


def test_fast_kernel_equals_legacy_on_border_tiles(countries):
    """Every site in a border-heavy sample: same points, attempts and statuses as the per-site loop."""
    g = Grid(600)
    geom = countries.geometries["GRC"]
    r0, r1, c0, c1 = _ranges(g, geom)
    rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    tiles = g.tile_id(rr.ravel(), cc.ravel())
    keep = shapely.intersects(geom, shapely.box(*tile_bounds(g, tiles)))
    tiles = tiles[keep]
    tix = np.repeat(np.arange(tiles.size), 5)
    site_id = np.arange(tix.size, dtype=np.int64) * 7919
    for max_attempts in (1, 8):
        fast = jitter_country(geom, g, site_id, tix, tiles, seed_key(11), max_attempts)
        w, s, e, n = tile_bounds(g, tiles[tix])
        slow = jitter_legacy(geom, site_id, w, s, e, n, 11, max_attempts)
        np.testing.assert_array_equal(fast.lon, slow.lon)
        np.testing.assert_array_equal(fast.lat, slow.lat)
        np.testing.assert_array_equal(fast.attempts, slow.attempts)
        np.testing.assert_array_equal(fast.status, slow.status)
        assert fast.rng_events == slow.rng_events == int(fast.attempts.sum())
        if max_attempts == 1:
            assert (fast.status != STATUS_ACCEPTED).any()  # border tiles do reject: fallbacks exercised


def _chi2_critical(df: int, alpha: float) -> float:
    """Wilson-Hilferty approximation of the chi-square upper quantile (no scipy here)."""
    z = NormalDist().inv_cdf(1.0 - alpha)
    return df * (1.0 - 2.0 / (9.0 * df) + z * math.sqrt(2.0 / (9.0 * df))) ** 3


def test_accepted_points_uniform_over_an_interior_tile_area(countries):
    """Chi-square: 40,000 sites in one 1-degree interior tile of Russia, 10 x 10 equal-area bins."""
    g = Grid(3600)
    geom = countries.geometries["RUS"]
    row, col = 90 - 63, 100 + 180  # 62..63 N, 100..101 E: deep in Siberia
    tiles = np.array([g.tile_id(row, col)], dtype=np.int64)
    interior, _ = classify_tiles(geom, g, tiles)
    assert interior[0]
    n = 40_000
    res = jitter_country(
        geom, g, np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), tiles, seed_key(5), 64
    )
    assert (res.attempts == 1).all() and res.rng_events == n
    w, s, e, nn = (float(a[0]) for a in tile_bounds(g, tiles))
    k = 10
    # equal-area bins: equal steps in lon, equal steps in sin(lat)
    bx = np.minimum(((res.lon - w) / (e - w) * k).astype(int), k - 1)
    ss, sn = math.sin(math.radians(s)), math.sin(math.radians(nn))
    by = np.minimum(((np.sin(np.radians(res.lat)) - ss) / (sn - ss) * k).astype(int), k - 1)
    counts = np.bincount(bx * k + by, minlength=k * k)
    expected = n / (k * k)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < _chi2_critical(k * k - 1, 1e-4), chi2


@pytest.mark.parametrize("res", [150, 600])
def test_kernel_point_test_is_exact_or_defers(countries, res):
    """Where the kernel decides a point, GEOS (exact, boundary inclusive) agrees; it defers the hard ones.

    Random points in every border tile, plus the nastiest: ring vertices, segment midpoints, points on the
    tile edges and points a few ulps off a vertex."""
    from seg1b.s6.kernels import kernel_contains, tile_references

    g = Grid(res)
    rng = np.random.default_rng(res + 1)
    decided = deferred = 0
    for key, geom in countries.geometries.items():
        shapely.prepare(geom)
        tiles = boundary_cells(geom, g)  # every border tile (and a few more: the marking is conservative)
        w, s, e, n = tile_bounds(g, tiles)
        tiles = tiles[shapely.intersects(geom, shapely.box(w, s, e, n))]
        interior, _, segs = classify_tiles(geom, g, tiles, segments=True)
        border = np.flatnonzero(~interior)
        w, s, e, n = tile_bounds(g, tiles)
        refs = tile_references(geom, w, s, e, n, segs, border)
        # random points, 20 per border tile
        tix = np.repeat(border, 20)
        px = w[tix] + rng.random(tix.size) * (e[tix] - w[tix])
        py = s[tix] + rng.random(tix.size) * (n[tix] - s[tix])
        # vertices, midpoints and near-vertices that fall in a border tile
        vx, vy = segs.xs, segs.ys
        specials_x = np.concatenate([vx, 0.5 * (vx[:-1] + vx[1:]), np.nextafter(vx, np.inf), vx])
        specials_y = np.concatenate([vy, 0.5 * (vy[:-1] + vy[1:]), vy, np.nextafter(vy, -np.inf)])
        col = np.floor((specials_x + 180.0) / g.res_deg).astype(np.int64)
        row = np.floor((90.0 - specials_y) / g.res_deg).astype(np.int64)
        sid = g.tile_id(np.clip(row, 0, g.nrows - 1), np.clip(col, 0, g.ncols - 1))
        pos = np.searchsorted(tiles, sid)
        hit = (pos < tiles.size) & (tiles[np.minimum(pos, tiles.size - 1)] == sid)
        hit[hit] = ~interior[pos[hit]]
        # points on the west and south edges of border tiles
        ex = np.concatenate([w[border], w[border] + rng.random(border.size) * (e[border] - w[border])])
        ey = np.concatenate([s[border] + rng.random(border.size) * (n[border] - s[border]), s[border]])
        tix = np.concatenate([tix, pos[hit], border, border])
        px = np.concatenate([px, specials_x[hit], ex[: border.size], ex[border.size :]])
        py = np.concatenate([py, specials_y[hit], ey[: border.size], ey[border.size :]])
        got = kernel_contains(tix, px, py, *refs, segs.seg_start, segs.seg_index, segs.xs, segs.ys)
        truth = shapely.intersects_xy(geom, px, py)
        sure = got >= 0
        assert np.array_equal(got[sure] == 1, truth[sure]), key
        decided += int(sure.sum())
        deferred += int((~sure).sum())
    assert decided > 20 * deferred  # the kernel decides nearly everything itself


def test_bounds_and_sines_per_row_equal_per_tile():
    rng = np.random.default_rng(5)
    for res in (30, 600, 3600):
        g = Grid(res)
        tiles = np.unique(rng.integers(0, g.ncells, 5000))
        got = tile_bounds_sines(g, tiles)
        w, s, e, n = tile_bounds(g, tiles)
        ss, sn = tile_sines(s, n)
        for a, b in zip(got, (w, s, e, n, ss, sn), strict=True):
            assert np.array_equal(a, b)
    assert all(a.size == 0 for a in tile_bounds_sines(Grid(600), np.empty(0, dtype=np.int64)))


def test_sorted_member_and_distinct_tiles_match_numpy():
    rng = np.random.default_rng(6)
    for _ in range(20):
        ids = np.unique(rng.integers(0, 5000, rng.integers(0, 3000)))
        sub = np.unique(rng.integers(-10, 5100, rng.integers(1, 500)))
        found = np.zeros(sub.size, dtype=bool)
        ids.flags.writeable = False  # as Arrow buffers come
        assert sorted_member(ids, sub, found)
        assert np.array_equal(found, np.isin(sub, ids))
        if ids.size > 2:
            shuffled = rng.permutation(ids)
            if not (shuffled[1:] >= shuffled[:-1]).all():
                found[:] = False
                assert not sorted_member(shuffled, sub, found) and not found.any()
        per_site = np.sort(rng.choice(sub, 800))
        tiles, tix = distinct_tiles(per_site)
        assert np.array_equal(tiles, np.unique(per_site)) and np.array_equal(tiles[tix], per_site)


def test_candidate_boxes_without_the_tree_equal_the_tree(countries, monkeypatch):
    g = Grid(600)
    for iso in ("USA", "GRC", "FJI"):
        geom = countries.geometries[iso]
        r0, r1, c0, c1 = _ranges(g, geom)
        rows, cols = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        w, s, e, n = tile_bounds(g, np.sort(g.tile_id(rows.ravel(), cols.ravel()))[:4000])
        monkeypatch.setattr(border_mod, "_BRUTE_FORCE_PAIRS", 1 << 60)
        brute = candidate_boxes(geom, w, s, e, n)
        monkeypatch.setattr(border_mod, "_BRUTE_FORCE_PAIRS", -1)
        tree = candidate_boxes(geom, w, s, e, n)
        assert np.array_equal(brute[0], tree[0]) and np.array_equal(brute[1], tree[1])


def test_one_test_per_run_gives_each_untouched_tile_its_own_state(countries):
    """Every tile the boundary does not touch gets exactly the state of its own centre."""
    g = Grid(600)
    rng = np.random.default_rng(7)
    for iso in FIXTURE_COUNTRIES:
        geom = countries.geometries[iso]
        shapely.prepare(geom)
        r0, r1, c0, c1 = _ranges(g, geom)
        rows, cols = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        all_tiles = g.tile_id(rows.ravel(), cols.ravel())
        tiles = np.unique(rng.choice(all_tiles, min(all_tiles.size, 20000)))
        interior, _ = classify_tiles(geom, g, tiles)
        free = ~np.isin(tiles, boundary_cells(geom, g))
        r, c = np.divmod(tiles[free], g.ncols)
        assert np.array_equal(interior[free], shapely.intersects_xy(geom, g.lon_centers[c], g.lat_centers[r]))
        assert not interior[~free].any()


def test_points_the_kernel_defers_go_to_geos_and_match_legacy():
    """A boundary through every reference-point candidate of a tile: the kernel cannot decide there, so its
    in-box points go to GEOS in rounds (rejects retried); the result still equals the per-site loop."""
    g = Grid(3600)
    ring = [(9.5, 39.5), (10.25, 40.25), (10.75, 40.25), (10.5, 40.5), (10.375, 40.625), (10.25, 40.75),
            (10.75, 40.75), (11.5, 41.5), (9.5, 41.5), (9.5, 39.5)]  # fmt: skip
    geom = shapely.Polygon(ring)
    assert geom.is_valid
    tiles = np.sort(g.tile_id(np.array([48, 48, 49, 49, 50]), np.array([189, 190, 189, 190, 190])))
    tix = np.repeat(np.arange(tiles.size), 400)
    site_id = np.arange(tix.size, dtype=np.int64) * 104729
    for max_attempts in (3, 64):
        fast = jitter_country(geom, g, site_id, tix, tiles, seed_key(5), max_attempts)
        w, s, e, n = tile_bounds(g, tiles[tix])
        slow = jitter_legacy(geom, site_id, w, s, e, n, 5, max_attempts)
        assert fast.polygon_tests > 0 and fast.kernel_tests > 0
        np.testing.assert_array_equal(fast.lon, slow.lon)
        np.testing.assert_array_equal(fast.lat, slow.lat)
        np.testing.assert_array_equal(fast.attempts, slow.attempts)
        np.testing.assert_array_equal(fast.status, slow.status)
        assert fast.rng_events == slow.rng_events == int(fast.attempts.sum())
