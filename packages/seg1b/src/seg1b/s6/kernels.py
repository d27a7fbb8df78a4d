"""S6 jitter kernels (the module others import them from; draws in ``_draw``, interior tiles in ``_interior``,
border tiles and the exact point test in ``_border``): one Philox block per attempt -> a point inside the tile (numba), and the fast driver.

The point of attempt ``k`` of a site in tile ``(west, south, east, north)`` (degrees):

    u, v = philox.uv_for_attempt(site_id, k, key)                  # see seg1b.philox
    lon  = west + u * (east - west)
    s    = sin(south * D2R) + v * (sin(north * D2R) - sin(south * D2R))
    lat  = clamp(asin(s) * R2D, south, north)                      # equal-area: uniform in sin(lat)

with ``D2R = pi / 180`` and ``R2D = 180 / pi`` as explicit multiplications (no ``radians``/``degrees`` helpers, no
fused multiply-add), so the legacy path (plain Python ``math``) computes the very same doubles. The clamp only
guards the last ulp of ``asin``: every point lies in the closed tile.

The fast driver (:func:`jitter_country`) decides once per distinct tile, vectorised, whether the tile lies wholly
inside the country (:func:`classify_tiles`: conservative boundary-cell marking plus one cell-centre test per run
of untouched cells; it implies ``contains_properly`` of the closed tile box): those sites accept their first
draw without a polygon test. Border-tile sites go through :func:`advance_attempts`: draws outside the
candidate boxes of the tile are certain rejects; the others are decided exactly in the kernel (a reference
point per tile whose state GEOS gives, flipped per proper crossing with the tile's boundary segments, every
orientation sign certified by Shewchuk's error bound) or, when any sign is uncertain, handed in one batch to
``shapely.intersects_xy`` (boundary counts as inside) on the prepared country; only rejects are drawn again.
A site that fails every attempt gets ``point_on_surface(country ∩ tile)``, status ``fallback``. The kernel
relies on valid polygons (``load_countries`` repairs invalid ones), where the even-odd rule is the country.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numba as nb
import numpy as np
import shapely

from perfkit import numba_cache
from seg1b.errors import Seg1bError
from seg1b.s6._border import (
    _BRUTE_FORCE_PAIRS,
    _boxes_all_pairs,
    advance_attempts,
    candidate_boxes,
    fallback_point,
    kernel_contains,
    tile_references,
)
from seg1b.s6._draw import (
    D2R,
    R2D,
    draw_first,
    draw_point_scalar,
    tile_bounds,
    tile_bounds_sines,
    tile_sines,
)
from seg1b.s6._interior import (
    boundary_cells,
    classify_tiles,
    distinct_tiles,
    sorted_in_intervals,
    sorted_member,
    tile_boxes_interior,
)

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(
    __file__, modules=["seg1b.s6._border", "seg1b.s6._draw", "seg1b.s6._interior", "seg1b.philox"]
)

__all__ = [  # what others import from here (the pipeline, the reference, tile_index, tests, benchmarks)
    "D2R",
    "R2D",
    "STATUS_ACCEPTED",
    "STATUS_FALLBACK",
    "STATUS_NAMES",
    "JitterResult",
    "boundary_cells",
    "candidate_boxes",
    "classify_tiles",
    "distinct_tiles",
    "draw_point_scalar",
    "fallback_point",
    "jitter_country",
    "kernel_contains",
    "pack_group_keys",
    "place_results",
    "sorted_in_intervals",
    "sorted_member",
    "tile_bounds",
    "tile_bounds_sines",
    "tile_boxes_interior",
    "tile_references",
    "tile_sines",
    "unpack_group_keys",
    "warm_up",
]

STATUS_ACCEPTED = 0
STATUS_FALLBACK = 1
STATUS_NAMES = ("accepted", "fallback")


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
    polygon_tests: int  # GEOS point tests
    centre_tests: int = 0  # GEOS tests of run heads and reference points
    kernel_tests: int = 0  # point tests decided exactly in the kernel


def _int_array(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise Seg1bError(f"{name} must be a 1-D array of integers, got {arr.dtype} of shape {arr.shape}")
    # writable too: a read-only array (Arrow's zero-copy to_numpy) is another Numba type, compiled anew (~7 s)
    return np.require(arr, dtype=np.int64, requirements=["C", "W"])


def _check_unit(grid, site_id, tix, tiles, key, max_attempts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`jitter_country`'s arrays as contiguous int64, checked once per call: the kernels index the tile
    arrays by ``tix`` without bounds checks (a ``tix`` past the tiles read memory that is not theirs, or
    crashed), and the draws need sorted distinct tiles of the grid, a 128-bit key and int16 attempts. O(n)
    numpy, outside the kernels' loops."""
    site_id, tix, tiles = (
        _int_array(n, v) for n, v in (("site_id", site_id), ("tix", tix), ("tiles", tiles))
    )
    if tix.shape != site_id.shape:
        raise Seg1bError(f"tix has {tix.size} entries for {site_id.size} sites; give one tile index per site")
    if tix.size and not (tix.min() >= 0 and tix.max() < tiles.size):
        raise Seg1bError(f"tix must index tiles (0..{tiles.size - 1}), got {tix.min()}..{tix.max()}")
    if tiles.size and not (tiles[0] >= 0 and tiles[-1] < grid.ncells and np.all(tiles[1:] > tiles[:-1])):
        raise Seg1bError(f'tiles must be sorted distinct tile ids of the {grid.resolution_arcsec}" grid')
    if not (len(key) == 2 and all(isinstance(k, numbers.Integral) and 0 <= k < 1 << 64 for k in key)):
        raise Seg1bError(f"key must be two integers in [0, 2**64) (philox.seed_key(seed)), got {key!r}")
    if not (isinstance(max_attempts, numbers.Integral) and 1 <= max_attempts <= np.iinfo(np.int16).max):
        raise Seg1bError(f"max_attempts must be in 1..{np.iinfo(np.int16).max}, got {max_attempts!r}")
    return site_id, tix, tiles


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
    site_id, tix, tiles = _check_unit(grid, site_id, tix, tiles, key, max_attempts)
    n = site_id.shape[0]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    west, south, east, north, sin_s, sin_n = tile_bounds_sines(grid, tiles)
    shapely.prepare(geom)
    interior, centre_tests, segs = classify_tiles(geom, grid, tiles, segments=True)

    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    attempts = np.ones(n, dtype=np.int16)
    status = np.zeros(n, dtype=np.int8)
    pending = draw_first(site_id, tix, interior, west, east, south, north, sin_s, sin_n, k0, k1, lon, lat)
    rng_events = n - pending.size
    polygon_tests = 0
    kernel_tests = 0
    fallbacks = []
    if pending.size:
        # candidate boxes and reference points only for the border tiles (interior ones get empty slots)
        border = np.flatnonzero(~interior)
        pb = shapely.bounds(shapely.get_parts(geom))
        if pb.shape[0] * border.size <= _BRUTE_FORCE_PAIRS:  # straight into the per-tile layout
            box_start, bx = _boxes_all_pairs(pb, west, south, east, north, interior)
        else:
            bs, bx = candidate_boxes(geom, west[border], south[border], east[border], north[border])
            counts = np.zeros(tiles.size, dtype=np.int64)
            counts[border] = np.diff(bs)
            box_start = np.zeros(tiles.size + 1, dtype=np.int64)
            np.cumsum(counts, out=box_start[1:])
        ref_x, ref_y, ref_inside, ref_ok = tile_references(geom, west, south, east, north, segs, border)
        centre_tests += int(ref_ok.sum())
        start = np.zeros(pending.size, dtype=np.int64)
        while pending.size:
            cand, k, plon, plat, exhausted, draws, ktests = advance_attempts(
                pending, site_id, tix, start, max_attempts,
                west, east, south, north, sin_s, sin_n, box_start, bx,
                ref_x, ref_y, ref_inside, ref_ok, segs.seg_start, segs.seg_index, segs.xs, segs.ys, k0, k1,
                lon, lat, attempts,
            )  # fmt: skip
            rng_events += draws
            kernel_tests += ktests
            if exhausted.size:
                fallbacks.append(exhausted)
            if cand.size == 0:
                break
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
        kernel_tests=int(kernel_tests),
    )


@nb.njit(cache=True, nogil=True)
def place_results(rows, lon_in, lat_in, att_in, st_in, lon, lat, att, st):
    """``lon[rows] = lon_in`` and the same for ``lat``, ``att``, ``st``: a unit's results into the run's
    arrays, in one pass and without the GIL, so the main thread places them while the workers run (the
    rows are scattered over the plan: four numpy assignments held the GIL for ~1 s per 10 M sites)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        lon[r] = lon_in[i]
        lat[r] = lat_in[i]
        att[r] = att_in[i]
        st[r] = st_in[i]


@nb.njit(cache=True, nogil=True)
def pack_group_keys(code, tile_id, tbits, ibits):
    """``code << (tbits + ibits) | tile_id << ibits | row`` per plan row: one int64 whose order is (country,
    tile, row), built in one pass (S6 groups its sites by sorting these)."""
    n = code.shape[0]
    key = np.empty(n, dtype=np.int64)
    for i in range(n):
        key[i] = (np.int64(code[i]) << (tbits + ibits)) | (tile_id[i] << ibits) | i
    return key


@nb.njit(cache=True, nogil=True)
def unpack_group_keys(key, tbits, ibits, site_id, dense):
    """The sorted keys back to (row, site_id, tile_id) per position, in one pass; ``dense``: the site ids are
    ``site_id[0] + row`` (no reads of ``site_id`` through the rows, which land all over it)."""
    n = key.shape[0]
    rows = np.empty(n, dtype=np.int64)
    tiles = np.empty(n, dtype=np.int64)
    sites = np.empty(n, dtype=np.int64)
    imask = (np.int64(1) << ibits) - 1
    tmask = (np.int64(1) << tbits) - 1
    s0 = site_id[0] if n else 0
    for i in range(n):
        r = key[i] & imask
        rows[i] = r
        tiles[i] = (key[i] >> ibits) & tmask
        sites[i] = s0 + r if dense else site_id[r]
    return rows, sites, tiles


def warm_up() -> None:
    """Load (or compile) every kernel once on a tiny input, so unit timings measure work, not the JIT."""
    from seg1b.grid import Grid

    geom = shapely.box(-0.1, -0.1, 1.1, 0.6)  # two interior tiles, a border tile and one it misses
    grid = Grid(1800)
    tiles = np.sort(grid.tile_id(np.array([170, 178, 179, 179]), np.array([360, 360, 360, 361])))
    tix = np.repeat(np.arange(4), 2)
    res = jitter_country(geom, grid, np.arange(8, dtype=np.int64), tix, tiles, (1, 0), 2)
    place_results(np.arange(8, dtype=np.int64), res.lon, res.lat, res.attempts, res.status,
                  res.lon.copy(), res.lat.copy(), res.attempts.copy(), res.status.copy())  # fmt: skip
    draw_point_scalar(0, 0, np.uint64(1), np.uint64(0), 0.0, 1.0, 0.0, 1.0)
    ids = np.arange(3, dtype=np.int64)
    unpack_group_keys(pack_group_keys(ids.astype(np.int32), ids, 2, 2), 2, 2, ids, True)
    distinct_tiles(ids)
    sorted_member(ids, ids[1:], np.zeros(2, dtype=bool))
    sorted_in_intervals(ids[:1], ids[1:2], ids, np.zeros(3, dtype=bool))
    ids.flags.writeable = False  # as Arrow buffers come (find_tiles)
    sorted_member(ids, np.arange(2, dtype=np.int64), np.zeros(2, dtype=bool))
