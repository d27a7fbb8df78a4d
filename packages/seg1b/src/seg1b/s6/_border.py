"""S6 border tiles: candidate boxes, reference points and the exact-or-unsure point test of the attempt kernel
(orientation signs certified by Shewchuk's error bound), and the deterministic fallback point."""

from __future__ import annotations

import numba as nb
import numpy as np
import shapely

from perfkit import numba_cache
from seg1b.philox import U53, philox4x64_10
from seg1b.s6._draw import _DRAW_BLOCK, _equal_area_lat
from seg1b.s6._interior import TileSegments

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["seg1b.philox", "seg1b.s6._draw", "seg1b.s6._interior"])

# exact-or-unsure point tests in the kernel

_ORIENT_BOUND = (3.0 + 16.0 * 2.0**-53) * 2.0**-53  # Shewchuk's ccwerrboundA


@nb.njit(inline="always", cache=True)
def _orient_sign(ax, ay, bx, by, cx, cy):
    """Sign of orient2d(a, b, c) when the double evaluation is provably right (Shewchuk's filter), else 0."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    bound = _ORIENT_BOUND * (abs(detleft) + abs(detright))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return 0


@nb.njit(cache=True, nogil=True)
def _crossings(t, px, py, rx, ry, seg_start, seg_index, xs, ys):
    """Proper crossings of the segment r->p with tile t's boundary segments; -1 when any is not certain."""
    count = 0
    for q in range(seg_start[t], seg_start[t + 1]):
        j = seg_index[q]
        ax = xs[j]
        ay = ys[j]
        bx = xs[j + 1]
        by = ys[j + 1]
        # bounding boxes apart: certainly no contact (exact comparisons)
        if max(ax, bx) < min(rx, px) or min(ax, bx) > max(rx, px):
            continue
        if max(ay, by) < min(ry, py) or min(ay, by) > max(ry, py):
            continue
        s1 = _orient_sign(ax, ay, bx, by, rx, ry)
        s2 = _orient_sign(ax, ay, bx, by, px, py)
        s3 = _orient_sign(rx, ry, px, py, ax, ay)
        s4 = _orient_sign(rx, ry, px, py, bx, by)
        if s1 == 0 or s2 == 0 or s3 == 0 or s4 == 0:
            return -1  # touching, collinear or too close to call: GEOS decides
        if s1 != s2 and s3 != s4:
            count += 1
    return count


@nb.njit(cache=True, nogil=True)
def reference_points(west, south, east, north, seg_start, seg_index, xs, ys, border):
    """Per border tile, a point whose segment to any point of the tile can be tested exactly: the first of a few
    fixed candidates (centre, then quarter points) that is not on or too near any of the tile's segments.
    ``ok`` is False when none qualifies (that tile's points all go to GEOS)."""
    n = border.shape[0]
    rx = np.empty(n, dtype=np.float64)
    ry = np.empty(n, dtype=np.float64)
    ok = np.zeros(n, dtype=np.bool_)
    fx = (0.5, 0.25, 0.75, 0.25, 0.75, 0.375)
    fy = (0.5, 0.25, 0.75, 0.75, 0.25, 0.625)
    for i in range(n):
        t = border[i]
        w = west[t]
        e = east[t]
        s = south[t]
        nn = north[t]
        for c in range(6):
            x = w + fx[c] * (e - w)
            y = s + fy[c] * (nn - s)
            good = True
            for q in range(seg_start[t], seg_start[t + 1]):
                j = seg_index[q]
                ax = xs[j]
                ay = ys[j]
                bx = xs[j + 1]
                by = ys[j + 1]
                if max(ax, bx) < x or min(ax, bx) > x or max(ay, by) < y or min(ay, by) > y:
                    continue
                if _orient_sign(ax, ay, bx, by, x, y) == 0:
                    good = False
                    break
            if good:
                rx[i] = x
                ry[i] = y
                ok[i] = True
                break
    return rx, ry, ok


def fallback_point(geom, west: float, south: float, east: float, north: float) -> tuple[float, float]:
    """The deterministic fallback: ``point_on_surface`` of country ∩ tile (tile centre if they only touch in
    nothing, which an index built from the same country cannot produce)."""
    part = shapely.intersection(geom, shapely.box(west, south, east, north))
    if part.is_empty:
        return 0.5 * (west + east), 0.5 * (south + north)
    p = shapely.point_on_surface(part)
    return float(p.x), float(p.y)


ADVANCE_ACCEPTED = 0  # the kernel proved the point inside the country
ADVANCE_NEEDS_TEST = 1  # the point is in a candidate box but the kernel could not decide: GEOS tests it
ADVANCE_EXHAUSTED = 2  # every attempt up to max_attempts was rejected


@nb.njit(cache=True, nogil=True)
def advance_attempts(
    pending, site_id, tix, start, max_attempts, west, east, south, north, sin_s, sin_n, box_start, boxes,
    ref_x, ref_y, ref_inside, ref_ok, seg_start, seg_index, xs, ys, k0, k1, lon, lat, attempts,
):  # fmt: skip
    """For each border site ``pending[i]``, draw attempts ``start[i], start[i]+1, ...`` until one is decided
    or needs GEOS.

    A point outside every candidate box of its tile (``boxes[box_start[t]:box_start[t+1]]``, closed) is
    outside the country. A point in a box is tested in the kernel when its tile has a reference point: the
    state of the reference (from GEOS) flipped once per proper crossing of reference->point with the tile's
    boundary segments, each decided by an orientation whose sign is certain (Shewchuk's filter). Any
    contact, collinearity or too-close call stops the site: GEOS decides that point. Every decision the
    kernel makes is the exact one, so the legacy loop makes the same.

    Accepted sites are written in place (``lon``, ``lat``, ``attempts``). Returns the sites that need a GEOS
    test (positions, attempt, point), the exhausted sites (every attempt up to ``max_attempts`` rejected),
    and the numbers of blocks drawn and of kernel point tests.
    """
    n = pending.shape[0]
    need_pos = np.empty(n, dtype=np.int64)
    need_k = np.empty(n, dtype=np.int64)
    need_x = np.empty(n, dtype=np.float64)
    need_y = np.empty(n, dtype=np.float64)
    exhausted = np.empty(n, dtype=np.int64)
    n_need = 0
    n_ex = 0
    draws = 0
    tests = 0
    z = np.uint64(0)
    sh = np.uint64(11)
    act = np.empty(_DRAW_BLOCK, dtype=np.int64)  # the block's undecided sites (positions in ``pending``)
    kk = np.empty(_DRAW_BLOCK, dtype=np.int64)  # their current attempt
    xb = np.empty(_DRAW_BLOCK, dtype=np.float64)
    vb = np.empty(_DRAW_BLOCK, dtype=np.float64)
    for b0 in range(0, n, _DRAW_BLOCK):
        na = 0
        for i in range(b0, min(n, b0 + _DRAW_BLOCK)):
            if start[i] < max_attempts:
                act[na] = i
                kk[na] = start[i]
                na += 1
            else:
                exhausted[n_ex] = pending[i]
                n_ex += 1
        # each round draws the current attempt of every undecided site of the block: the Philox blocks first
        # (independent chains the CPU overlaps), then asin and the tests; a site's attempts stay in order
        while na > 0:
            for a in range(na):
                p = pending[act[a]]
                t = tix[p]
                w0, w1, _w2, _w3 = philox4x64_10(np.uint64(site_id[p]), np.uint64(kk[a]), z, z, k0, k1)
                u = np.float64(w0 >> sh) * U53
                xb[a] = west[t] + u * (east[t] - west[t])
                vb[a] = np.float64(w1 >> sh) * U53
            draws += na
            na2 = 0
            for a in range(na):
                i = act[a]
                p = pending[i]
                t = tix[p]
                k = kk[a]
                x = xb[a]
                y = _equal_area_lat(vb[a], sin_s[t], sin_n[t], south[t], north[t])
                hit = False
                for b in range(box_start[t], box_start[t + 1]):
                    if boxes[b, 0] <= x <= boxes[b, 2] and boxes[b, 1] <= y <= boxes[b, 3]:
                        hit = True
                        break
                if hit:
                    c = -1
                    if ref_ok[t]:
                        c = _crossings(t, x, y, ref_x[t], ref_y[t], seg_start, seg_index, xs, ys)
                    if c < 0:  # the kernel cannot decide: GEOS tests this point
                        need_pos[n_need] = p
                        need_k[n_need] = k
                        need_x[n_need] = x
                        need_y[n_need] = y
                        n_need += 1
                        continue
                    tests += 1
                    if ref_inside[t] != (c % 2 == 1):
                        lon[p] = x
                        lat[p] = y
                        attempts[p] = k + 1
                        continue
                k += 1  # rejected: outside every candidate box, or outside by the kernel's test
                if k < max_attempts:
                    act[na2] = i
                    kk[na2] = k
                    na2 += 1
                else:
                    exhausted[n_ex] = p
                    n_ex += 1
            na = na2
    return (
        need_pos[:n_need],
        need_k[:n_need],
        need_x[:n_need],
        need_y[:n_need],
        exhausted[:n_ex],
        draws,
        tests,
    )


def tile_references(geom, west, south, east, north, segs: TileSegments, border: np.ndarray):
    """Reference points of the ``border`` tiles (per-tile arrays over all tiles) and their state from GEOS."""
    nt = west.size
    ref_x = np.zeros(nt)
    ref_y = np.zeros(nt)
    ref_ok = np.zeros(nt, dtype=bool)
    ref_inside = np.zeros(nt, dtype=bool)
    rx, ry, rok = reference_points(
        west, south, east, north, segs.seg_start, segs.seg_index, segs.xs, segs.ys, border
    )
    ref_x[border], ref_y[border], ref_ok[border] = rx, ry, rok
    ref_inside[border[rok]] = shapely.intersects_xy(geom, rx[rok], ry[rok])
    return ref_x, ref_y, ref_inside, ref_ok


@nb.njit(cache=True, nogil=True)
def kernel_contains(tix, px, py, ref_x, ref_y, ref_inside, ref_ok, seg_start, seg_index, xs, ys):
    """The kernel's point test alone (tests): 1 inside, 0 outside, -1 undecided (GEOS would be asked)."""
    n = tix.shape[0]
    out = np.empty(n, dtype=np.int8)
    for i in range(n):
        t = tix[i]
        out[i] = -1
        if ref_ok[t]:
            c = _crossings(t, px[i], py[i], ref_x[t], ref_y[t], seg_start, seg_index, xs, ys)
            if c >= 0:
                out[i] = 1 if ref_inside[t] != (c % 2 == 1) else 0
    return out


_BRUTE_FORCE_PAIRS = 1 << 16  # (part, tile) pairs below which candidate_boxes skips the STRtree


@nb.njit(cache=True, nogil=True)
def _boxes_all_pairs(pb, west, south, east, north, skip):
    """:func:`candidate_boxes` by testing every (tile, part) pair, in (tile, part) order; tiles with
    ``skip`` set (interior tiles, when given) get no boxes."""
    nt = west.shape[0]
    npart = pb.shape[0]
    box_start = np.zeros(nt + 1, dtype=np.int64)
    ntest = nt
    if skip.shape[0] == nt:
        ntest = nt - np.count_nonzero(skip)
    boxes = np.empty((ntest * npart, 4), dtype=np.float64)
    m = 0
    for t in range(nt):
        if skip.shape[0] == nt and skip[t]:
            box_start[t + 1] = m
            continue
        for q in range(npart):
            if pb[q, 0] <= east[t] and pb[q, 2] >= west[t] and pb[q, 1] <= north[t] and pb[q, 3] >= south[t]:
                boxes[m, 0] = max(pb[q, 0], west[t])
                boxes[m, 1] = max(pb[q, 1], south[t])
                boxes[m, 2] = min(pb[q, 2], east[t])
                boxes[m, 3] = min(pb[q, 3], north[t])
                m += 1
        box_start[t + 1] = m
    return box_start, boxes[:m].copy()


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
    pb = shapely.bounds(shapely.get_parts(geom))
    if pb.shape[0] * nt <= _BRUTE_FORCE_PAIRS:
        # few parts x tiles: the closed-box overlap test on all pairs (what the tree query does per pair)
        return _boxes_all_pairs(pb, west, south, east, north, np.zeros(0, dtype=np.bool_))
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
