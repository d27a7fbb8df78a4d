"""S6 draws: one Philox block per attempt -> a point of the tile, equal-area (the contract in
:mod:`seg1b.s6.kernels`); tile bounds and their sines from the grid's exact edges."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from perfkit import numba_cache
from seg1b.philox import U53, philox4x64_10

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["seg1b.philox"])

D2R = math.pi / 180.0
R2D = 180.0 / math.pi


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
def _equal_area_lat(v, sin_s, sin_n, south, north):
    """Latitude uniform in sin(lat) between the tile's edges, clamped so the last ulp of asin stays inside."""
    lat = math.asin(sin_s + v * (sin_n - sin_s)) * R2D
    if lat < south:
        return south
    if lat > north:
        return north
    return lat


@nb.njit(inline="always", cache=True)
def _point(site_id, attempt, k0, k1, west, east, south, north, sin_s, sin_n):
    w0, w1, _w2, _w3 = philox4x64_10(
        np.uint64(site_id), np.uint64(attempt), np.uint64(0), np.uint64(0), k0, k1
    )
    u = np.float64(w0 >> np.uint64(11)) * U53
    v = np.float64(w1 >> np.uint64(11)) * U53
    lon = west + u * (east - west)
    return lon, _equal_area_lat(v, sin_s, sin_n, south, north)


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


_DRAW_BLOCK = 64


@nb.njit(cache=True, nogil=True)
def draw_first(site_id, tix, interior, west, east, south, north, sin_s, sin_n, k0, k1, lon, lat):
    """Sites of interior tiles take their first draw (attempt 0, written into ``lon``/``lat`` in place);
    returns the positions of the other (border-tile) sites. One pass over the sites, no temporaries.

    The arithmetic is :func:`_point`'s, split in two phases per block of sites: the Philox blocks and
    longitudes first (independent integer chains the CPU overlaps), then the ``asin`` calls.
    """
    n = site_id.shape[0]
    pend = np.empty(n, dtype=np.int64)
    m = 0
    a = np.uint64(0)
    z = np.uint64(0)
    sh = np.uint64(11)
    pos = np.empty(_DRAW_BLOCK, dtype=np.int64)
    vs = np.empty(_DRAW_BLOCK, dtype=np.float64)
    for b0 in range(0, n, _DRAW_BLOCK):
        b1 = min(n, b0 + _DRAW_BLOCK)
        nb_ = 0
        for i in range(b0, b1):
            t = tix[i]
            if interior[t]:
                w0, w1, _w2, _w3 = philox4x64_10(np.uint64(site_id[i]), a, z, z, k0, k1)
                u = np.float64(w0 >> sh) * U53
                lon[i] = west[t] + u * (east[t] - west[t])
                pos[nb_] = i
                vs[nb_] = np.float64(w1 >> sh) * U53
                nb_ += 1
            else:
                pend[m] = i
                m += 1
        for j in range(nb_):
            i = pos[j]
            t = tix[i]
            lat[i] = _equal_area_lat(vs[j], sin_s[t], sin_n[t], south[t], north[t])
    return pend[:m]


@nb.njit(cache=True, nogil=True)
def draw_point_scalar(site_id, attempt, k0, k1, west, east, south, north):
    """One point (tests): the same arithmetic as :func:`draw_points` for a single site and attempt."""
    sin_s = math.sin(south * D2R)
    sin_n = math.sin(north * D2R)
    return _point(site_id, np.uint64(attempt), k0, k1, west, east, south, north, sin_s, sin_n)


def tile_bounds(grid, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """west, south, east, north of tile ids from the grid's exact edge arrays (the same floats S1 writes)."""
    r, c = np.divmod(np.asarray(tiles, dtype=np.int64), grid.ncols)
    lon, lat = grid.lon_edges, grid.lat_edges
    return lon[c], lat[r + 1], lon[c + 1], lat[r]


@nb.njit(cache=True, nogil=True)
def _bounds_sines(tiles, ncols, lon_edges, lat_edges):
    n = tiles.shape[0]
    west = np.empty(n, dtype=np.float64)
    south = np.empty(n, dtype=np.float64)
    east = np.empty(n, dtype=np.float64)
    north = np.empty(n, dtype=np.float64)
    sin_s = np.empty(n, dtype=np.float64)
    sin_n = np.empty(n, dtype=np.float64)
    if n == 0:
        return west, south, east, north, sin_s, sin_n
    r0 = tiles[0] // ncols
    nr = tiles[n - 1] // ncols - r0 + 2
    sin_edge = np.empty(nr, dtype=np.float64)  # sin of the lat edges of the rows spanned, once each
    for k in range(nr):
        sin_edge[k] = math.sin(lat_edges[r0 + k] * D2R)
    for i in range(n):
        r = tiles[i] // ncols
        c = tiles[i] - r * ncols
        west[i] = lon_edges[c]
        east[i] = lon_edges[c + 1]
        north[i] = lat_edges[r]
        south[i] = lat_edges[r + 1]
        sin_n[i] = sin_edge[r - r0]
        sin_s[i] = sin_edge[r - r0 + 1]
    return west, south, east, north, sin_s, sin_n


def tile_bounds_sines(grid, tiles: np.ndarray):
    """:func:`tile_bounds` of sorted ``tiles`` and their :func:`tile_sines` (the same ``math.sin(x * D2R)`` of
    the same floats, taken once per grid edge of the rows spanned), in one pass."""
    tiles = np.ascontiguousarray(tiles, dtype=np.int64)
    return _bounds_sines(tiles, grid.ncols, grid.lon_edges, grid.lat_edges)
