"""The legacy S6 path: per site, per attempt, one Shapely call and one Philox block from numpy.

This is the reference the fast path must match bit for bit (identical receipt) and the baseline of the speed
ratio. It shares nothing with the fast path's kernels: the block comes from ``numpy.random.Philox`` (one bit
generator per attempt, see :func:`seg1b.philox.numpy_block`), the point arithmetic is plain Python ``math`` in
the order documented in :mod:`seg1b.s6.kernels`, the tile bounds are the dataset's own columns, and the country
test is an unprepared ``intersects`` of a ``Point`` (boundary counts as inside). Only the fallback point --
``point_on_surface`` of country ∩ tile -- is the same function, by definition.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Point

from seg1b.philox import numpy_uv
from seg1b.s6.kernels import D2R, R2D, STATUS_ACCEPTED, STATUS_FALLBACK, JitterResult, fallback_point


def legacy_point(seed: int, site_id: int, attempt: int, west: float, south: float, east: float, north: float):
    """The point of one attempt, computed the slow way (numpy's Philox, Python ``math``)."""
    u, v = numpy_uv(seed, site_id, attempt)
    lon = west + u * (east - west)
    sin_s = math.sin(south * D2R)
    sin_n = math.sin(north * D2R)
    lat = math.asin(sin_s + v * (sin_n - sin_s)) * R2D
    if lat < south:
        lat = south
    elif lat > north:
        lat = north
    return lon, lat


def jitter_legacy(
    geom,
    site_id: np.ndarray,
    west: np.ndarray,
    south: np.ndarray,
    east: np.ndarray,
    north: np.ndarray,
    seed: int,
    max_attempts: int,
) -> JitterResult:
    """Per-site bounds arrays (one entry per site). Returns the same :class:`JitterResult` as the fast path."""
    geom = shapely.from_wkb(shapely.to_wkb(geom))  # a fresh, unprepared copy: the old code never prepared
    n = len(site_id)
    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    attempts = np.zeros(n, dtype=np.int16)
    status = np.zeros(n, dtype=np.int8)
    rng_events = 0
    for i in range(n):
        w, s, e, nn = float(west[i]), float(south[i]), float(east[i]), float(north[i])
        sid = int(site_id[i])
        for k in range(max_attempts):
            x, y = legacy_point(seed, sid, k, w, s, e, nn)
            rng_events += 1
            if geom.intersects(Point(x, y)):
                lon[i], lat[i] = x, y
                attempts[i] = k + 1
                status[i] = STATUS_ACCEPTED
                break
        else:
            lon[i], lat[i] = fallback_point(geom, w, s, e, nn)
            attempts[i] = max_attempts
            status[i] = STATUS_FALLBACK
    return JitterResult(
        lon=lon,
        lat=lat,
        attempts=attempts,
        status=status,
        rng_events=rng_events,
        interior_tiles=0,
        border_tiles=0,
        polygon_tests=rng_events,
    )
