"""S6 places sites uniformly over a tile's *area*, with a test that can see the difference (issue 15).

The old chi-square check over a k x k split of one tile cannot tell equal-area placement from a draw uniform in
latitude (on a 2.5' tile the two differ by ~3.7 in chi-square at 99 degrees of freedom). Here the tiles are
1-degree cells between 85 and 89 degrees north, where cos(lat) changes by up to 2x across a tile, and the
statistic is the Kolmogorov-Smirnov distance of each site's position within its tile *in sin(lat)*, which is
uniform exactly when placement is equal-area. The same statistic on the uniform-in-latitude bug (built from
the same Philox draws) is shown to fail, so the test has power against it.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats
from seg1b.grid import Grid
from seg1b.philox import philox_blocks, seed_key
from seg1b.s1.pipeline import S1Params, run_s1
from seg1b.s6.pipeline import S6Params, run_s6

RES = 3600
SEED = 11
SITES_PER_TILE = 250
ALPHA = 1e-4
D2R = np.pi / 180


def _sin_position(lat, south, north):
    """Where lat lies between south and north in sin(lat): uniform on [0, 1] for equal-area placement."""
    return (np.sin(lat * D2R) - np.sin(south * D2R)) / (np.sin(north * D2R) - np.sin(south * D2R))


@pytest.fixture(scope="module")
def polar(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("polar")
    box = [[-30, 80], [30, 80], [30, 89.5], [-30, 89.5], [-30, 80]]
    feature = {
        "type": "Feature",
        "properties": {"ADM0_A3": "AAA"},
        "geometry": {"type": "Polygon", "coordinates": [box]},
    }
    (d / "aaa.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    run_s1(
        S1Params(
            out=str(d / "s1"), countries=str(d / "aaa.geojson"), resolution_arcsec=RES, workers=1, quiet=True
        )
    )
    grid = Grid(RES)
    rows = np.arange(1, 5)  # cells 88-89, 87-88, 86-87, 85-86 degrees north: wholly inside the polygon
    cols = np.arange(160, 200)  # -20 .. 20 degrees east
    tiles = (rows[:, None] * grid.ncols + cols[None, :]).ravel()
    tile_of_site = np.repeat(tiles, SITES_PER_TILE)
    plan = pa.table(
        {"site_id": np.arange(tile_of_site.size, dtype=np.int64), "country_iso": ["AAA"] * tile_of_site.size,
         "tile_id": tile_of_site.astype(np.int64)}
    )  # fmt: skip
    pq.write_table(plan, d / "plan.parquet")
    # no --countries: the GeoJSON is found through the index's manifest (its absolute path)
    run_s6(
        S6Params(tiles=str(d / "s1"), sites=str(d / "plan.parquet"), seed=SEED, out=str(d / "s6"), workers=1)
    )
    t = pq.read_table(d / "s6" / "sites", columns=["site_id", "tile_id", "lat", "lon", "attempts"])
    row, col = np.divmod(t.column("tile_id").to_numpy(), grid.ncols)
    return {
        "site_id": t.column("site_id").to_numpy(),
        "lat": t.column("lat").to_numpy(),
        "lon": t.column("lon").to_numpy(),
        "attempts": t.column("attempts").to_numpy(),
        "south": 90.0 - (row + 1) * grid.res_deg,
        "north": 90.0 - row * grid.res_deg,
        "west": -180.0 + col * grid.res_deg,
        "east": -180.0 + (col + 1) * grid.res_deg,
    }


def test_sites_are_uniform_in_area_within_their_tiles(polar):
    assert (polar["attempts"] == 1).all()  # interior tiles: every first draw is accepted, no selection
    s = _sin_position(polar["lat"], polar["south"], polar["north"])
    assert ((s >= 0) & (s <= 1)).all()
    assert stats.kstest(s, "uniform").pvalue > ALPHA
    x = (polar["lon"] - polar["west"]) / (polar["east"] - polar["west"])
    assert stats.kstest(x, "uniform").pvalue > ALPHA


def test_the_statistic_rejects_a_uniform_in_latitude_draw(polar):
    """The bug, built from the very same Philox words: lat = south + v * (north - south)."""
    k0, k1 = seed_key(SEED)
    ids = polar["site_id"].astype(np.uint64)
    zero = np.zeros_like(ids)
    words = philox_blocks(ids, zero, zero, zero, np.uint64(k0), np.uint64(k1))
    v = (words[:, 1] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    south, north = polar["south"], polar["north"]
    # the real output follows the contract: its position in sin(lat) is v itself
    assert np.allclose(_sin_position(polar["lat"], south, north), v, rtol=0, atol=1e-9)
    bug = south + v * (north - south)
    result = stats.kstest(_sin_position(bug, south, north), "uniform")
    assert result.pvalue < 1e-12, result  # the test sees the bug (D ~ 0.04 here)


def test_the_old_chi_square_check_could_not_see_the_bug():
    """Why the statistic changed: test_s6_kernels' 10 x 10 equal-area chi-square (40,000 sites, one 1-degree
    tile at 62-63 N) expects only a few units of excess chi-square from the bug, against a critical value of
    ~150 at 99 degrees of freedom: it passes the bug almost always (the audit's finding)."""
    south, north, n, k = 62.0, 63.0, 40_000, 10
    t = np.linspace(0, 1, 1_000_001)  # position in latitude, where the bug is uniform
    s_of_t = _sin_position(south + t * (north - south), south, north)
    p_bug = np.diff(np.interp(np.linspace(0, 1, k + 1), s_of_t, t))  # the bug's share of each equal-area band
    excess = n * k * float(((p_bug - 1 / k) ** 2).sum())
    assert 1 < excess < 10, excess
