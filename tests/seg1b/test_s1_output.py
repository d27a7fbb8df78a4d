"""S1 output against independent computations: counts from a whole-world rasterize, schema, order, areas."""

from __future__ import annotations

import base64
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from pyproj import Geod
from rasterio import features
from seg1b.countries import load_countries
from seg1b.grid import Grid
from seg1b.s1.io import dataset_receipt
from seg1b.s1.kernels import TILE_SCHEMA

RES = 1800  # half-degree cells: the whole 1:110m world in about a second


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from click.testing import CliRunner
    from seg1b.cli import main

    out = tmp_path_factory.mktemp("world")
    args = ["s1", "-q", "--countries", "ne110m", "--resolution-arcsec", str(RES), "--executor", "serial"]
    result = CliRunner().invoke(main, [*args, "--row-group-size", "2000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import json

    return out, json.loads((out / "run_report.json").read_text())


def _tiles_by_country(tiles_dir) -> dict[str, np.ndarray]:
    t = pq.read_table(tiles_dir, columns=["tile_id", "country_iso"])
    ids = t.column("tile_id").to_numpy()
    keys = np.asarray(t.column("country_iso").cast(pa.string()).to_pylist())
    return {k: np.sort(ids[keys == k]) for k in np.unique(keys)}


def test_cells_equal_an_independent_world_rasterize(world):
    """Exact cell sets (not only counts): every country burned alone into the whole-world grid by rasterio."""
    out, report = world
    counts = report["results"]["per_country_tiles"]
    mine = _tiles_by_country(out / "tiles")
    countries = load_countries("ne110m")
    g = Grid(RES)
    assert set(counts) == set(countries.geometries) == set(mine)
    for key, geom in countries.geometries.items():
        ref = features.rasterize(
            [(geom, 1)], out_shape=(g.nrows, g.ncols), transform=g.transform, dtype="uint8"
        )
        if ref.any():  # (a country with no centre falls back to `any`: test_every_country_gets_a_tile...)
            assert np.array_equal(mine[key], np.flatnonzero(ref.ravel())), key
        assert counts[key] == mine[key].size, key


@pytest.mark.parametrize("key", ["CHL", "NOR", "IDN", "FJI", "CHE", "RUS", "FRA"])
def test_cells_equal_a_shapely_centre_test_in_degrees(world, key):
    """A second independent rasterisation: GEOS tests every grid centre of the country's bounding box, in
    lon/lat (no pixel space, no GDAL), for fjords, archipelagos, the antimeridian and a landlocked state."""
    out, _ = world
    geom = load_countries("ne110m", only=[key]).geometries[key]
    g = Grid(RES)
    x0, y0, x1, y1 = geom.bounds
    cols = np.arange(max(0, int((x0 + 180) / g.res_deg) - 1), min(g.ncols, int((x1 + 180) / g.res_deg) + 2))
    rows = np.arange(max(0, int((90 - y1) / g.res_deg) - 1), min(g.nrows, int((90 - y0) / g.res_deg) + 2))
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    inside = shapely.contains_xy(geom, g.lon_centers[cc.ravel()], g.lat_centers[rr.ravel()])
    expected = np.sort((rr.ravel() * g.ncols + cc.ravel())[inside])
    assert expected.size > 0
    assert np.array_equal(_tiles_by_country(out / "tiles")[key], expected), key


def test_any_rule_counts_match_up_to_touching_boundary_cells(s1):
    """``any`` is GDAL's all-touched burn: a cell an edge only grazes may come out either way at the
    last bit of a coordinate, so the comparison allows extra/missing cells only where the cell touches
    the country's boundary."""
    keys = ["EGY", "FJI", "RUS", "CHL", "ITA"]
    run = s1(
        "--countries",
        "ne110m",
        "--resolution-arcsec",
        "1200",
        "--rule",
        "any",
        "--only",
        ",".join(keys),
        "--executor",
        "serial",
    )
    table = pq.read_table(run.tiles_dir).to_pydict()
    by_key: dict[str, set] = {}
    for k, tid in zip(table["country_iso"], table["tile_id"], strict=True):
        by_key.setdefault(k, set()).add(tid)
    countries = load_countries("ne110m", only=keys)
    g = Grid(1200)
    for key, geom in countries.geometries.items():
        mine = by_key[key]
        ref = features.rasterize(
            [(geom, 1)], out_shape=(g.nrows, g.ncols), transform=g.transform, all_touched=True, dtype="uint8"
        )
        theirs = set(np.flatnonzero(ref.ravel()).tolist())
        assert len(mine ^ theirs) <= max(2, len(theirs) // 500), key
        for tid in mine ^ theirs:
            r, c = g.row_col(tid)
            cell = shapely.box(g.lon_edges[c], g.lat_edges[r + 1], g.lon_edges[c + 1], g.lat_edges[r])
            assert shapely.intersects(cell, geom.boundary), (key, tid)


def test_schema_order_row_groups_and_receipt(world):
    out, report = world
    files = sorted((out / "tiles").glob("*.parquet"))
    assert files and all(f.name.startswith("part-") for f in files)
    assert len(files) == report["counters"]["files"]
    for f in files:
        pf = pq.ParquetFile(f)
        schema = pf.schema_arrow.remove_metadata()
        assert pa.schema(list(schema)[: len(TILE_SCHEMA)]).equals(TILE_SCHEMA)
        assert schema.names[len(TILE_SCHEMA) :] == ["bbox"]  # --geometry none: the covering only
        ids = pf.read(columns=["tile_id"])["tile_id"].to_numpy()
        assert np.all(np.diff(ids) > 0), f.name
        # the footer's country and tile-id intervals (start, stop) are exactly the file's (S6 reads only them)
        record = json.loads(pf.metadata.metadata[b"seg1b:tile_runs"])
        pairs = np.frombuffer(base64.b64decode(record["intervals"]), dtype="<i8")
        expanded = np.concatenate([np.arange(a, b) for a, b in pairs.reshape(-1, 2)])
        assert np.array_equal(expanded, ids), f.name
        countries = pf.read(columns=["country_iso"])["country_iso"].cast(pa.string()).unique().to_pylist()
        assert countries == [record["country"]], f.name
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        assert all(s == 2000 for s in sizes[:-1]) and sizes[-1] <= 2000
    assert dataset_receipt(out / "tiles") == report["receipts"]["tiles"]["digest"]
    assert sum(report["results"]["per_country_tiles"].values()) == sum(
        pq.read_metadata(f).num_rows for f in files
    )


def test_columns_follow_from_the_tile_id(world):
    out, _ = world
    t = pq.read_table(out / "tiles").to_pydict()
    g = Grid(RES)
    ids = np.array(t["tile_id"])
    rows, cols = g.row_col(ids)
    assert np.array_equal(rows, t["row"]) and np.array_equal(cols, t["col"])
    assert np.array_equal(np.array(t["west"]), -180 + cols * g.res_deg)
    assert np.array_equal(np.array(t["east"]), -180 + (cols + 1) * g.res_deg)
    assert np.array_equal(np.array(t["north"]), 90 - rows * g.res_deg)
    assert np.array_equal(np.array(t["south"]), 90 - (rows + 1) * g.res_deg)
    assert np.allclose(t["centroid_lon"], (np.array(t["west"]) + t["east"]) / 2, rtol=0, atol=1e-12)
    assert np.allclose(t["centroid_lat"], (np.array(t["north"]) + t["south"]) / 2, rtol=0, atol=1e-12)
    geod = Geod(ellps="WGS84")
    for i in np.random.default_rng(7).integers(0, len(ids), 30):
        w, e, s, n = t["west"][i], t["east"][i], t["south"][i], t["north"][i]
        area, _ = geod.polygon_area_perimeter([w, e, e, w], [s, s, n, n])
        assert t["area_m2"][i] == pytest.approx(abs(area), rel=1e-9)


def test_every_country_gets_a_tile_via_fallback(s1):
    run = s1("--countries", "ne110m", "--resolution-arcsec", "3600", "--executor", "serial")
    rep = run.report
    assert {"JAM", "LUX", "CYP"} <= set(rep["results"]["fallback_to_any"])
    assert min(rep["results"]["per_country_tiles"].values()) >= 1
    g = Grid(3600)
    jam = load_countries("ne110m", only=["JAM"]).geometries["JAM"]
    ref = features.rasterize(
        [(jam, 1)], out_shape=(g.nrows, g.ncols), transform=g.transform, all_touched=True, dtype="uint8"
    )
    assert rep["results"]["per_country_tiles"]["JAM"] == int(ref.sum())
