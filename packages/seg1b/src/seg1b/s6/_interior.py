"""S6 interior tiles: which tiles lie wholly inside the country, decided once per tile (conservative
boundary-cell marking, connected regions of untouched cells, one GEOS test per region); sorted-id helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
import shapely


@nb.njit(cache=True, nogil=True)
def distinct_tiles(tile_id):
    """For sorted ``tile_id`` (one per site): the distinct tiles and each site's index into them."""
    n = tile_id.shape[0]
    tix = np.empty(n, dtype=np.int64)
    if n == 0:
        return np.empty(0, dtype=np.int64), tix
    m = 0
    tix[0] = 0
    for i in range(1, n):  # branch-free, no dependence on the output
        m += tile_id[i] != tile_id[i - 1]
        tix[i] = m
    tiles = np.empty(m + 1, dtype=np.int64)
    for i in range(n):
        tiles[tix[i]] = tile_id[i]
    return tiles, tix


@nb.njit(cache=True, nogil=True)
def sorted_member(ids, sub, found):
    """``found[i] |= sub[i] in ids`` for sorted ``sub``, by one merge walk; False (nothing set) when ``ids``
    is not sorted ascending (the caller sorts it and asks again)."""
    m = ids.shape[0]
    unsorted = False
    for j in range(1, m):  # branch-free: vectorises
        unsorted |= ids[j] < ids[j - 1]
    if unsorted:
        return False
    j = 0
    for i in range(sub.shape[0]):
        t = sub[i]
        while j < m and ids[j] < t:
            j += 1
        if j == m:
            break
        if ids[j] == t:
            found[i] = True
    return True


@nb.njit(cache=True, nogil=True)
def sorted_in_intervals(starts, stops, sub, found):
    """``found[i] |= sub[i]`` lies in one of the sorted disjoint intervals ``[starts[k], stops[k])``, for
    sorted ``sub``: one merge walk."""
    k = 0
    m = starts.shape[0]
    for i in range(sub.shape[0]):
        t = sub[i]
        while k < m and stops[k] <= t:
            k += 1
        if k == m:
            break
        if starts[k] <= t:
            found[i] = True


@nb.njit(cache=True, nogil=True)
def _find(parent, a):
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@nb.njit(cache=True, nogil=True)
def tile_regions(cells, tiles, ncols, row_lo, row_hi):
    """Which sorted distinct ``tiles`` are touched (are ``cells``), and one head tile per connected region of
    untouched cells, whose state (inside or outside the country) every tile of the region shares.

    The untouched cells of rows ``row_lo..row_hi`` (``cells`` sorted, repeats allowed, all in those rows)
    form intervals per row between the touched ones. Consecutive cells of an interval, and two cells one
    above the other, share an edge no boundary segment meets (it would touch both closed cells, so both
    would be marked): intervals of adjacent rows with a column in common are in one region, all inside or
    all outside. Returns ``touched``, ``region`` (head number per tile, -1 when touched) and ``heads``.
    """
    m = cells.shape[0]
    # distinct cells, and per band row the index of its first one
    dc = np.empty(m, dtype=np.int64)
    nd = 0
    for i in range(m):
        if nd == 0 or cells[i] != dc[nd - 1]:
            dc[nd] = cells[i]
            nd += 1
    nrows = row_hi - row_lo + 1
    row_cell = np.zeros(nrows + 1, dtype=np.int64)
    for i in range(nd):
        row_cell[dc[i] // ncols - row_lo + 1] += 1
    for k in range(nrows):
        row_cell[k + 1] += row_cell[k]
    # row k has row_cell[k+1]-row_cell[k]+1 intervals, the first at index row_cell[k] + k
    niv = nd + nrows
    iv_a = np.empty(niv, dtype=np.int64)
    iv_b = np.empty(niv, dtype=np.int64)
    for k in range(nrows):
        base = row_cell[k] + k
        a = 0
        for q in range(row_cell[k], row_cell[k + 1]):
            col = dc[q] % ncols
            iv_a[base] = a
            iv_b[base] = col - 1
            base += 1
            a = col + 1
        iv_a[base] = a
        iv_b[base] = ncols - 1
    parent = np.arange(niv)
    for k in range(nrows - 1):
        i = row_cell[k] + k
        i_end = row_cell[k + 1] + k + 1
        j = row_cell[k + 1] + k + 1
        j_end = row_cell[k + 2] + k + 2
        while i < i_end and j < j_end:
            if iv_a[i] <= iv_b[i] and iv_a[j] <= iv_b[j] and iv_a[i] <= iv_b[j] and iv_a[j] <= iv_b[i]:
                ri = _find(parent, i)
                rj = _find(parent, j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
            if iv_b[i] < iv_b[j]:
                i += 1
            else:
                j += 1
    n = tiles.shape[0]
    touched = np.zeros(n, dtype=np.bool_)
    region = np.full(n, -1, dtype=np.int64)
    heads = np.empty(n, dtype=np.int64)
    head_of = np.full(niv, -1, dtype=np.int64)
    nh = 0
    q = 0
    for i in range(n):
        t = tiles[i]
        while q < nd and dc[q] < t:
            q += 1
        if q < nd and dc[q] == t:
            touched[i] = True
            continue
        k = t // ncols - row_lo
        root = _find(parent, row_cell[k] + k + (q - row_cell[k]))
        if head_of[root] < 0:
            head_of[root] = nh
            heads[nh] = i
            nh += 1
        region[i] = head_of[root]
    return touched, region, heads[:nh]


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
def _mark_boundary_cells(xs, ys, starts, res_deg, ncols, nrows, row_lo, row_hi, eps, tiles):
    """Tile ids (with repeats) of every cell whose closed box may touch a ring segment, rows [row_lo, row_hi].

    Conservative: each segment is widened by ``eps`` degrees in x and y before it is mapped to cells, which
    covers every rounding error of the cell arithmetic (~1e-13 degrees) many times over. Only cells of rows in
    the band are kept (a work unit only needs its own rows).

    Also returns, for every marked cell that is one of the sorted ``tiles``, the pair (position in ``tiles``,
    segment index): every segment that meets the closed tile is listed for it.
    """
    cap = 1024
    out = np.empty(cap, dtype=np.int64)
    n = 0
    pcap = 1024
    pair_tile = np.empty(pcap, dtype=np.int64)
    pair_seg = np.empty(pcap, dtype=np.int64)
    npairs = 0
    nt = tiles.shape[0]
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
                    cell = r * ncols + c
                    out[n] = cell
                    n += 1
                    if nt:
                        k = np.searchsorted(tiles, cell)
                        if k < nt and tiles[k] == cell:
                            if npairs == pcap:
                                pcap *= 2
                                g1 = np.empty(pcap, dtype=np.int64)
                                g2 = np.empty(pcap, dtype=np.int64)
                                g1[:npairs] = pair_tile[:npairs]
                                g2[:npairs] = pair_seg[:npairs]
                                pair_tile = g1
                                pair_seg = g2
                            pair_tile[npairs] = k
                            pair_seg[npairs] = j
                            npairs += 1
    return out[:n], pair_tile[:npairs], pair_seg[:npairs]


def boundary_cells(geom, grid, row_lo: int = 0, row_hi: int | None = None) -> np.ndarray:
    """Sorted distinct tile ids of the cells the country's boundary may touch (rows ``row_lo..row_hi``)."""
    xs, ys, starts = boundary_segments(geom)
    row_hi = grid.nrows - 1 if row_hi is None else row_hi
    ids, _, _ = _mark_boundary_cells(
        xs, ys, starts, grid.res_deg, grid.ncols, grid.nrows, int(row_lo), int(row_hi), BOUNDARY_EPS_DEG,
        np.empty(0, dtype=np.int64),
    )  # fmt: skip
    return np.unique(ids)


@dataclass
class TileSegments:
    """Ring coordinates and, per tile (CSR over the unit's tiles), the segments that meet the closed tile."""

    xs: np.ndarray
    ys: np.ndarray
    seg_start: np.ndarray  # (tiles + 1,)
    seg_index: np.ndarray  # segment j runs (xs[j], ys[j]) -> (xs[j+1], ys[j+1])


def classify_tiles(prepared_geom, grid, tiles: np.ndarray, segments: bool = False):
    """Interior flags for sorted distinct ``tiles`` of one country, decided once per tile, vectorised.

    A tile is interior when no boundary cell is it (:func:`boundary_cells`, conservative) and it is on the
    inside of the boundary. Untouched cells connected through untouched cells (along a row, or one above the
    other) are all inside or all outside (:func:`tile_regions`), so one ``intersects_xy`` of a cell centre
    decides each such region. Returns the flags
    and the number of point tests spent (and, with ``segments``, the :class:`TileSegments` of the tiles).
    Interior implies ``contains_properly`` of the closed tile box.
    """
    if tiles.size == 0:
        empty = TileSegments(
            np.empty(0), np.empty(0), np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64)
        )
        return (np.zeros(0, dtype=bool), 0, empty) if segments else (np.zeros(0, dtype=bool), 0)
    ncols = grid.ncols
    xs, ys, starts = boundary_segments(prepared_geom)
    row_lo, row_hi = int(tiles[0]) // ncols, int(tiles[-1]) // ncols
    cells, pair_tile, pair_seg = _mark_boundary_cells(
        xs, ys, starts, grid.res_deg, ncols, grid.nrows, row_lo, row_hi, BOUNDARY_EPS_DEG,
        tiles if segments else np.empty(0, dtype=np.int64),
    )  # fmt: skip
    cells.sort()
    # untouched cells connected through untouched cells share their state: one test per region
    _touched, run, heads = tile_regions(cells, tiles, ncols, row_lo, row_hi)
    interior = np.zeros(tiles.size, dtype=bool)
    n_tests = int(heads.size)
    if heads.size:
        hr, hc = np.divmod(tiles[heads], ncols)
        head_inside = shapely.intersects_xy(prepared_geom, grid.lon_centers[hc], grid.lat_centers[hr])
        free = run >= 0
        interior[free] = head_inside[run[free]]
    if not segments:
        return interior, n_tests
    # (tile, segment) pairs sorted by tile then segment, duplicates dropped (a segment can be emitted twice
    # for one cell): one sort of packed keys
    nseg = max(1, xs.size)
    key = pair_tile * nseg + pair_seg
    key.sort()
    keep = np.ones(key.size, dtype=bool)
    keep[1:] = key[1:] != key[:-1]
    pair_tile, pair_seg = np.divmod(key[keep], nseg)
    seg_start = np.zeros(tiles.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_tile, minlength=tiles.size), out=seg_start[1:])
    return interior, n_tests, TileSegments(xs, ys, seg_start, pair_seg)
