"""S6 jitter kernels: one Philox block per attempt -> a point inside the tile (numba), and the fast driver.

The point of attempt ``k`` of a site in tile ``(west, south, east, north)`` (degrees):

    u, v = philox.uv_for_attempt(site_id, k, key)                  # see seg1b.philox
    lon  = west + u * (east - west)
    s    = sin(south * D2R) + v * (sin(north * D2R) - sin(south * D2R))
    lat  = clamp(asin(s) * R2D, south, north)                      # equal-area: uniform in sin(lat)

with ``D2R = pi / 180`` and ``R2D = 180 / pi`` as explicit multiplications (no ``radians``/``degrees`` helpers, no
fused multiply-add), so the legacy path (plain Python ``math``) computes the very same doubles. The clamp only
guards the last ulp of ``asin``: every point lies in the closed tile.

The fast driver (:func:`jitter_country`) decides once per distinct tile, vectorised, whether the tile lies wholly
inside the country (``shapely.contains_properly`` of the prepared country on the tile boxes): those sites accept
their first draw without a polygon test. Border-tile sites are drawn in one batch per attempt and tested with
``shapely.intersects_xy`` (boundary counts as inside) on the prepared country; only the rejects are drawn again.
A site that fails every attempt gets ``point_on_surface(country ∩ tile)``, status ``fallback``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
import shapely

from seg1b.philox import U53, philox4x64_10

D2R = math.pi / 180.0
R2D = 180.0 / math.pi

STATUS_ACCEPTED = 0
STATUS_FALLBACK = 1
STATUS_NAMES = ("accepted", "fallback")


@nb.njit(cache=True, nogil=True)
def tile_sines(south, north):
    """sin(south), sin(north) per tile (radians via the explicit ``* D2R``), in numba like the draws."""
    n = south.shape[0]
    ss = np.empty(n, dtype=np.float64)
    sn = np.empty(n, dtype=np.float64)
    for i in range(n):
        ss[i] = math.sin(south[i] * D2R)
        sn[i] = math.sin(north[i] * D2R)
    return ss, sn


@nb.njit(inline="always", cache=True)
def _point(site_id, attempt, k0, k1, west, east, south, north, sin_s, sin_n):
    w0, w1, _w2, _w3 = philox4x64_10(
        np.uint64(site_id), np.uint64(attempt), np.uint64(0), np.uint64(0), k0, k1
    )
    u = np.float64(w0 >> np.uint64(11)) * U53
    v = np.float64(w1 >> np.uint64(11)) * U53
    lon = west + u * (east - west)
    s = sin_s + v * (sin_n - sin_s)
    lat = math.asin(s) * R2D
    if lat < south:
        lat = south
    elif lat > north:
        lat = north
    return lon, lat


@nb.njit(cache=True, nogil=True)
def draw_points(site_id, attempt, tix, west, east, south, north, sin_s, sin_n, k0, k1):
    """Points of attempt ``attempt`` (scalar, 0-based) for sites ``site_id`` in tiles ``tix`` (indices into the
    per-tile arrays). Returns lon, lat float64 arrays."""
    n = site_id.shape[0]
    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    a = np.uint64(attempt)
    for i in range(n):
        t = tix[i]
        lon[i], lat[i] = _point(
            site_id[i], a, k0, k1, west[t], east[t], south[t], north[t], sin_s[t], sin_n[t]
        )
    return lon, lat


@nb.njit(cache=True, nogil=True)
def draw_point_scalar(site_id, attempt, k0, k1, west, east, south, north):
    """One point (tests): the same arithmetic as :func:`draw_points` for a single site and attempt."""
    sin_s = math.sin(south * D2R)
    sin_n = math.sin(north * D2R)
    return _point(site_id, np.uint64(attempt), k0, k1, west, east, south, north, sin_s, sin_n)


@dataclass
class JitterResult:
    """Per-site results of one work unit, in the order of its input sites."""

    lon: np.ndarray  # float64
    lat: np.ndarray  # float64
    attempts: np.ndarray  # int16: attempts used (max_attempts for a fallback)
    status: np.ndarray  # int8: STATUS_ACCEPTED / STATUS_FALLBACK
    rng_events: int  # Philox blocks drawn, counted where they are drawn
    interior_tiles: int
    border_tiles: int
    polygon_tests: int
    centre_tests: int = 0


def tile_boxes_interior(prepared_geom, west, south, east, north) -> np.ndarray:
    """Which tiles lie wholly inside the country, by ``contains_properly`` of the country on the tile boxes.

    The plain GEOS answer (about 1-3 us a tile on 1:10m countries); the fast path uses :func:`classify_tiles`,
    which the tests check against this.
    """
    if west.size == 0:
        return np.zeros(0, dtype=bool)
    boxes = shapely.box(west, south, east, north)
    return np.asarray(shapely.contains_properly(prepared_geom, boxes), dtype=bool)


BOUNDARY_EPS_DEG = 1e-9  # widening of every boundary segment before it is mapped to cells (conservative)


def boundary_segments(geom) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ring coordinates of a (Multi)Polygon: ``xy`` (n, 2), ``ring_start`` offsets (rings + 1)."""
    rings = shapely.get_rings(shapely.get_parts(geom))
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(ring_of, minlength=len(rings))
    starts = np.zeros(len(rings) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), starts


@nb.njit(cache=True, nogil=True)
def _mark_boundary_cells(xs, ys, starts, res_deg, ncols, nrows, row_lo, row_hi, eps):
    """Tile ids (with repeats) of every cell whose closed box may touch a ring segment, rows [row_lo, row_hi].

    Conservative: each segment is widened by ``eps`` degrees in x and y before it is mapped to cells, which
    covers every rounding error of the cell arithmetic (~1e-13 degrees) many times over. Only cells of rows in
    the band are kept (a work unit only needs its own rows).
    """
    cap = 1024
    out = np.empty(cap, dtype=np.int64)
    n = 0
    lat_hi = 90.0 - row_lo * res_deg + eps  # north edge of the band
    lat_lo = 90.0 - (row_hi + 1) * res_deg - eps  # south edge of the band
    for ring in range(starts.shape[0] - 1):
        for j in range(starts[ring], starts[ring + 1] - 1):
            x0 = xs[j]
            y0 = ys[j]
            x1 = xs[j + 1]
            y1 = ys[j + 1]
            ymin = min(y0, y1)
            ymax = max(y0, y1)
            if ymax < lat_lo or ymin > lat_hi:
                continue
            xa = min(x0, x1)
            xb = max(x0, x1)
            c_lo = math.floor((xa - eps + 180.0) / res_deg)
            c_hi = math.floor((xb + eps + 180.0) / res_deg)
            if c_lo < 0:
                c_lo = 0
            if c_hi > ncols - 1:
                c_hi = ncols - 1
            dx = x1 - x0
            for c in range(c_lo, c_hi + 1):
                if dx == 0.0 or c_lo == c_hi:
                    ylo = ymin
                    yhi = ymax
                else:
                    cx0 = -180.0 + c * res_deg - eps
                    cx1 = -180.0 + (c + 1) * res_deg + eps
                    sx0 = xa if xa > cx0 else cx0
                    sx1 = xb if xb < cx1 else cx1
                    slope = (y1 - y0) / dx
                    ya = y0 + (sx0 - x0) * slope
                    yb = y0 + (sx1 - x0) * slope
                    ylo = min(ya, yb)
                    yhi = max(ya, yb)
                    if ylo < ymin:
                        ylo = ymin
                    if yhi > ymax:
                        yhi = ymax
                r_lo = math.floor((90.0 - (yhi + eps)) / res_deg)
                r_hi = math.floor((90.0 - (ylo - eps)) / res_deg)
                if r_lo < row_lo:
                    r_lo = row_lo
                if r_hi > row_hi:
                    r_hi = row_hi
                if r_lo < 0:
                    r_lo = 0
                if r_hi > nrows - 1:
                    r_hi = nrows - 1
                for r in range(r_lo, r_hi + 1):
                    if n == cap:
                        cap *= 2
                        grown = np.empty(cap, dtype=np.int64)
                        grown[:n] = out[:n]
                        out = grown
                    out[n] = r * ncols + c
                    n += 1
    return out[:n]


def boundary_cells(geom, grid, row_lo: int = 0, row_hi: int | None = None) -> np.ndarray:
    """Sorted distinct tile ids of the cells the country's boundary may touch (rows ``row_lo..row_hi``)."""
    xs, ys, starts = boundary_segments(geom)
    row_hi = grid.nrows - 1 if row_hi is None else row_hi
    ids = _mark_boundary_cells(
        xs, ys, starts, grid.res_deg, grid.ncols, grid.nrows, int(row_lo), int(row_hi), BOUNDARY_EPS_DEG
    )
    return np.unique(ids)


def classify_tiles(prepared_geom, grid, tiles: np.ndarray) -> tuple[np.ndarray, int]:
    """Interior flags for sorted distinct ``tiles`` of one country, decided once per tile, vectorised.

    A tile is interior when no boundary cell is it (:func:`boundary_cells`, conservative) and it is on the
    inside of the boundary. Untouched cells of one grid row between the same two boundary cells are all
    inside or all outside, so one ``intersects_xy`` of a cell centre decides each such run. Returns the flags
    and the number of point tests spent. Interior implies ``contains_properly`` of the closed tile box.
    """
    if tiles.size == 0:
        return np.zeros(0, dtype=bool), 0
    rows = tiles // grid.ncols
    marked = boundary_cells(prepared_geom, grid, int(rows[0]), int(rows[-1]))
    pos = np.searchsorted(marked, tiles)
    touched = np.zeros(tiles.size, dtype=bool)
    inside = pos < marked.size
    touched[inside] = marked[pos[inside]] == tiles[inside]
    free = np.flatnonzero(~touched)
    interior = np.zeros(tiles.size, dtype=bool)
    if free.size == 0:
        return interior, 0
    # run key: (row, number of boundary cells before the tile); tiles are sorted so equal keys are adjacent
    run_row = rows[free]
    run_pos = pos[free]
    new_run = np.ones(free.size, dtype=bool)
    new_run[1:] = (run_row[1:] != run_row[:-1]) | (run_pos[1:] != run_pos[:-1])
    heads = free[new_run]
    hr, hc = np.divmod(tiles[heads], grid.ncols)
    cx = grid.lon_centers[hc]
    cy = grid.lat_centers[hr]
    head_inside = shapely.intersects_xy(prepared_geom, cx, cy)
    run_id = np.cumsum(new_run) - 1
    interior[free] = head_inside[run_id]
    return interior, int(heads.size)


def fallback_point(geom, west: float, south: float, east: float, north: float) -> tuple[float, float]:
    """The deterministic fallback: ``point_on_surface`` of country ∩ tile (tile centre if they only touch in
    nothing, which an index built from the same country cannot produce)."""
    part = shapely.intersection(geom, shapely.box(west, south, east, north))
    if part.is_empty:
        return 0.5 * (west + east), 0.5 * (south + north)
    p = shapely.point_on_surface(part)
    return float(p.x), float(p.y)


def tile_bounds(grid, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """west, south, east, north of tile ids from the grid's exact edge arrays (the same floats S1 writes)."""
    r, c = np.divmod(np.asarray(tiles, dtype=np.int64), grid.ncols)
    lon, lat = grid.lon_edges, grid.lat_edges
    return lon[c], lat[r + 1], lon[c + 1], lat[r]


@nb.njit(cache=True, nogil=True)
def advance_attempts(
    site_id, tix, start, max_attempts, west, east, south, north, sin_s, sin_n, box_start, boxes, k0, k1
):
    """For each site, draw attempts ``start[i], start[i]+1, ...`` until a point falls in one of its tile's
    candidate boxes (``boxes[box_start[t]:box_start[t+1]]``, closed); that point still needs the polygon test.

    A point outside every candidate box is outside the country (the boxes hold every part of the country that
    can reach the tile), so the legacy loop rejects it too: skipping its polygon test changes nothing.
    Returns the attempt reached per site (``max_attempts`` when none qualified), its point, and the number
    of blocks drawn (every attempt draws exactly one).
    """
    n = site_id.shape[0]
    k_out = np.empty(n, dtype=np.int64)
    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    draws = 0
    for i in range(n):
        t = tix[i]
        b0 = box_start[t]
        b1 = box_start[t + 1]
        k = start[i]
        lon[i] = np.nan
        lat[i] = np.nan
        while k < max_attempts:
            x, y = _point(
                site_id[i], np.uint64(k), k0, k1, west[t], east[t], south[t], north[t], sin_s[t], sin_n[t]
            )
            draws += 1
            hit = False
            for b in range(b0, b1):
                if boxes[b, 0] <= x <= boxes[b, 2] and boxes[b, 1] <= y <= boxes[b, 3]:
                    hit = True
                    break
            if hit:
                lon[i] = x
                lat[i] = y
                break
            k += 1
        k_out[i] = k
    return k_out, lon, lat, draws


def candidate_boxes(geom, west, south, east, north) -> tuple[np.ndarray, np.ndarray]:
    """Per tile, the boxes that can hold country points: each polygon part whose bounding box meets the closed
    tile, as (part bounds ∩ tile). CSR layout: ``box_start`` (tiles + 1), ``boxes`` (m, 4) xmin ymin xmax ymax.

    Bounds are min/max of the part's own coordinates (exact), the clip is a min/max too: no rounding anywhere.
    For a small island in a large tile the boxes cover a sliver of the tile, so almost every hopeless draw is
    rejected in the kernel without a polygon test.
    """
    nt = west.size
    if nt == 0:
        return np.zeros(1, dtype=np.int64), np.empty((0, 4), dtype=np.float64)
    parts = shapely.get_parts(geom)
    pb = shapely.bounds(parts)
    tree = shapely.STRtree(shapely.box(pb[:, 0], pb[:, 1], pb[:, 2], pb[:, 3]))
    ti, pi = tree.query(shapely.box(west, south, east, north))
    order = np.lexsort((pi, ti))
    ti, pi = ti[order], pi[order]
    boxes = np.empty((ti.size, 4), dtype=np.float64)
    boxes[:, 0] = np.maximum(pb[pi, 0], west[ti])
    boxes[:, 1] = np.maximum(pb[pi, 1], south[ti])
    boxes[:, 2] = np.minimum(pb[pi, 2], east[ti])
    boxes[:, 3] = np.minimum(pb[pi, 3], north[ti])
    box_start = np.zeros(nt + 1, dtype=np.int64)
    np.cumsum(np.bincount(ti, minlength=nt), out=box_start[1:])
    return box_start, boxes


def jitter_country(
    geom,
    grid,
    site_id: np.ndarray,
    tix: np.ndarray,
    tiles: np.ndarray,
    key: tuple[int, int],
    max_attempts: int,
) -> JitterResult:
    """The fast path for the sites of one country (or one chunk of them).

    ``tiles`` are the sorted distinct tile ids of the chunk, ``tix`` the index of each site's tile in them.
    ``geom`` is the country geometry; it is prepared here (in place; preparing twice is a no-op).

    Interior-tile sites take their first draw. Border-tile sites advance, in the kernel, to their next draw
    that lands in a candidate box of their tile; those points go to ``shapely.intersects_xy`` in one batch;
    the rejects advance again from the next attempt, and so on: one batch per round, only rejects retried.
    """
    n = site_id.shape[0]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    site_id = np.ascontiguousarray(site_id, dtype=np.int64)
    tix = np.ascontiguousarray(tix, dtype=np.int64)
    tiles = np.ascontiguousarray(tiles, dtype=np.int64)
    west, south, east, north = tile_bounds(grid, tiles)
    sin_s, sin_n = tile_sines(south, north)
    shapely.prepare(geom)
    interior, centre_tests = classify_tiles(geom, grid, tiles)

    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    attempts = np.ones(n, dtype=np.int16)
    status = np.zeros(n, dtype=np.int8)
    inner = interior[tix]
    first = np.flatnonzero(inner)
    lon[first], lat[first] = draw_points(
        site_id[first], 0, tix[first], west, east, south, north, sin_s, sin_n, k0, k1
    )
    rng_events = first.size
    pending = np.flatnonzero(~inner)
    polygon_tests = 0
    fallbacks = []
    if pending.size:
        # candidate boxes only for the border tiles that have sites (interior ones get an empty slot)
        border = np.flatnonzero(~interior)
        bs, bx = candidate_boxes(geom, west[border], south[border], east[border], north[border])
        counts = np.zeros(tiles.size, dtype=np.int64)
        counts[border] = np.diff(bs)
        box_start = np.zeros(tiles.size + 1, dtype=np.int64)
        np.cumsum(counts, out=box_start[1:])
        start = np.zeros(pending.size, dtype=np.int64)
        while pending.size:
            k, plon, plat, draws = advance_attempts(
                site_id[pending], tix[pending], start, max_attempts,
                west, east, south, north, sin_s, sin_n, box_start, bx, k0, k1,
            )  # fmt: skip
            rng_events += draws
            live = k < max_attempts
            fallbacks.append(pending[~live])
            cand, k, plon, plat = pending[live], k[live], plon[live], plat[live]
            ok = shapely.intersects_xy(geom, plon, plat)
            polygon_tests += cand.size
            done = cand[ok]
            lon[done] = plon[ok]
            lat[done] = plat[ok]
            attempts[done] = k[ok] + 1
            pending = cand[~ok]
            start = k[~ok] + 1
    fb = np.concatenate(fallbacks) if fallbacks else np.empty(0, dtype=np.int64)
    if fb.size:  # one Shapely intersection per distinct tile: the point depends on the tile only
        fb_tiles, inverse = np.unique(tix[fb], return_inverse=True)
        pts = np.array([fallback_point(geom, west[t], south[t], east[t], north[t]) for t in fb_tiles])
        lon[fb] = pts[inverse, 0]
        lat[fb] = pts[inverse, 1]
        attempts[fb] = max_attempts
        status[fb] = STATUS_FALLBACK
    n_interior = int(interior.sum())
    return JitterResult(
        lon=lon,
        lat=lat,
        attempts=attempts,
        status=status,
        rng_events=int(rng_events),
        interior_tiles=n_interior,
        border_tiles=int(interior.size - n_interior),
        polygon_tests=int(polygon_tests),
        centre_tests=centre_tests,
    )


def warm_up() -> None:
    """Load (or compile) every kernel once on a tiny input, so unit timings measure work, not the JIT."""
    from seg1b.grid import Grid

    geom = shapely.box(-0.1, -0.1, 1.1, 0.6)  # two interior tiles, a border tile and one it misses
    grid = Grid(1800)
    tiles = np.sort(grid.tile_id(np.array([170, 178, 179, 179]), np.array([360, 360, 360, 361])))
    tix = np.repeat(np.arange(4), 2)
    jitter_country(geom, grid, np.arange(8, dtype=np.int64), tix, tiles, (1, 0), 2)
    draw_point_scalar(0, 0, np.uint64(1), np.uint64(0), 0.0, 1.0, 0.0, 1.0)
