"""GIS-native outputs (issue 15): GeoParquet 1.1 plans, sites and tile index, read by geopandas and pyarrow's
dataset layer; the S1 manifest as S6's default country set; the library API's keys and errors; S1's progress;
``seg1b map``'s PNG and Cloud-Optimised GeoTIFF."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner
from seg1b.cli import main as cli
from seg1b.countries import packaged_path
from seg1b.errors import Seg1bError
from seg1b.s1.pipeline import S1Params, run_s1
from seg1b.s6.pipeline import S6Params, run_s6
from seg1b.sites import run_sites

COUNTRIES = ("FRA", "NLD", "CHL", "FJI", "NZL")  # FRA: iso_a3 is -99 in ne110m
RES = 600
ROW_GROUP = 300


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("geo")
    run_s1(
        S1Params(
            out=str(d / "s1"), countries="ne110m", resolution_arcsec=RES, only=",".join(COUNTRIES),
            geometry="polygons", row_group_size=ROW_GROUP, workers=1, quiet=True,
        )
    )  # fmt: skip
    run_sites(d / "s1", 4000, 5, d / "plan.parquet")
    # no countries given: S6 takes ne110m from the index's manifest (it used to default to ne10m)
    run_s6(S6Params(tiles=str(d / "s1"), sites=str(d / "plan.parquet"), seed=3, out=str(d / "s6"), workers=1))
    return d


def _crs84(frame: gpd.GeoDataFrame) -> bool:
    return frame.crs is not None and frame.crs.equals("OGC:CRS84")


def test_geopandas_opens_plan_sites_and_tile_index(runs):
    plan = gpd.read_parquet(runs / "plan.parquet")
    sites = gpd.read_parquet(runs / "s6" / "sites")
    tiles = gpd.read_parquet(runs / "s1" / "tiles")
    assert _crs84(plan) and _crs84(sites) and _crs84(tiles)
    assert len(plan) == len(sites) == 4000 and set(tiles["country_iso"].astype(str)) == set(COUNTRIES)
    # the geometry is the columns: site points at lon/lat, plan points at the tile centre, cells as boxes
    assert np.array_equal(shapely.get_x(sites.geometry.values), sites["lon"].to_numpy())
    assert np.array_equal(shapely.get_y(sites.geometry.values), sites["lat"].to_numpy())
    centre = tiles.set_index("tile_id").loc[plan["tile_id"]]
    assert np.array_equal(shapely.get_x(plan.geometry.values), centre["centroid_lon"].to_numpy())
    assert np.array_equal(shapely.get_y(plan.geometry.values), centre["centroid_lat"].to_numpy())
    w, s, e, n = (tiles[c].to_numpy() for c in ("west", "south", "east", "north"))
    ring = np.stack([np.column_stack(p) for p in ((w, s), (e, s), (e, n), (w, n), (w, s))], axis=1)
    assert np.array_equal(shapely.get_coordinates(tiles.geometry.values).reshape(-1, 5, 2), ring)
    assert shapely.is_ccw(shapely.get_exterior_ring(tiles.geometry.values)).all()


def test_geo_metadata_is_geoparquet_1_1_with_a_bbox_covering(runs):
    sites = sorted((runs / "s6" / "sites").glob("*.parquet"))
    for path, encoding in [(runs / "plan.parquet", "WKB"), *((p, "point") for p in sites)]:
        schema = pq.read_schema(path)
        geo = json.loads(schema.metadata[b"geo"])
        col = geo["columns"][geo["primary_column"]]
        assert (
            geo["version"] == "1.1.0" and col["encoding"] == encoding and col["geometry_types"] == ["Point"]
        )
        # WKB: binary; GeoArrow's native point: a struct of x and y doubles (GeoParquet 1.1 "Native encodings")
        xy = pa.struct([pa.field(k, pa.float64(), nullable=False) for k in ("x", "y")])
        assert schema.field("geometry").type == (pa.binary() if encoding == "WKB" else xy)
        assert col["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
        assert col["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
        assert schema.field("bbox").type == pa.struct(  # required doubles: no row lacks a bbox
            [pa.field(k, pa.float64(), nullable=False) for k in ("xmin", "ymin", "xmax", "ymax")]
        )


def test_a_bbox_filter_prunes_row_groups(runs):
    """pyarrow's dataset filter on the bbox covering reads only the row groups whose statistics overlap."""
    dataset = ds.dataset(runs / "s1" / "tiles", format="parquet")
    # a window over the Netherlands: one country's few row groups among all five countries'
    x0, y0, x1, y1 = 4.0, 51.5, 6.0, 53.0
    window = (
        (pc.field("bbox", "xmax") >= x0) & (pc.field("bbox", "xmin") <= x1)
        & (pc.field("bbox", "ymax") >= y0) & (pc.field("bbox", "ymin") <= y1)
    )  # fmt: skip
    total = kept = 0
    for fragment in dataset.get_fragments():
        total += len(fragment.split_by_row_group())
        kept += len(fragment.split_by_row_group(filter=window))
    assert 0 < kept < total / 10, (kept, total)
    got = dataset.to_table(filter=window)
    everything = dataset.to_table(columns=["tile_id", "west", "south", "east", "north"])
    w, s, e, n = (everything.column(c).to_numpy() for c in ("west", "south", "east", "north"))
    truth = everything.column("tile_id").to_numpy()[(e >= x0) & (w <= x1) & (n >= y0) & (s <= y1)]
    assert sorted(got.column("tile_id").to_pylist()) == sorted(truth.tolist()) and truth.size > 0


def test_sites_lie_in_their_countries_by_geopandas(runs):
    """A spatial join of a sample of sites with the 1:110m polygons read independently by geopandas."""
    world = gpd.read_file(packaged_path("ne110m"))
    world["key"] = np.where(world["iso_a3"] == "-99", world["name"].map({"France": "FRA"}), world["iso_a3"])
    sites = gpd.read_parquet(runs / "s6" / "sites")
    sample = sites[sites["status"] == "accepted"].sample(600, random_state=1)
    joined = gpd.sjoin(
        sample.to_crs(world.crs), world[["key", "geometry"]], predicate="intersects", how="left"
    )
    joined = joined[~joined.index.duplicated()]  # a border point meets two countries: its own is enough
    own = gpd.sjoin(sample.to_crs(world.crs), world[["key", "geometry"]], predicate="intersects")
    hits = own.groupby(level=0)["key"].apply(set)
    assert len(hits) == len(sample)
    assert all(sample.loc[i, "country_iso"] in hits[i] for i in sample.index)
    assert len(joined) == len(sample)


def test_s6_takes_the_country_set_from_the_index_manifest(runs):
    report = json.loads((runs / "s6" / "run_report.json").read_text())
    assert report["config"]["countries"] == "ne110m" and report["config"]["key"] == "iso_a3|ADM0_A3"
    meta = json.loads(pq.read_schema(next((runs / "s1" / "tiles").glob("*.parquet"))).metadata[b"seg1b"])
    assert meta["countries"] == "ne110m" and meta["resolution_arcsec"] == RES and meta["rule"] == "center"


def test_library_api_takes_lists_and_strings_and_names_parameters():
    assert S1Params(out="o", only="FRA,Norway").only == ("FRA", "Norway")  # was ('F', 'R', 'A', ...)
    assert S1Params(out="o", only=["FRA", " NOR "]).only == ("FRA", "NOR")
    for nothing in ("", ",, ,", []):  # a selection of no country is an error, never "every country"
        with pytest.raises(Seg1bError, match="only names no country key"):
            S1Params(out="o", only=nothing)
    assert S1Params(out="o", mode="legacy").mode == "reference"
    for bad in (S1Params(out="o", workers=0), S1Params(out="o", row_group_size=0)):
        with pytest.raises(Seg1bError) as err:
            bad.validate()
        assert "--" not in str(err.value) and err.value.params
    with pytest.raises(Seg1bError) as err:
        S6Params(tiles="t", sites="s", seed=1, out="o", max_attempts=0).resolved()
    assert str(err.value).startswith("max_attempts must be") and "--" not in str(err.value)
    assert err.value.for_cli().startswith("--max-attempts must be")


def test_s1_progress_is_weighted_by_estimated_cells(tmp_path, monkeypatch):
    import seg1b.s1.pipeline as s1mod

    seen = {}

    class Recorder:
        def __init__(self, total, description, quiet=False):
            seen.update(total=total, description=description, steps=[])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def advance(self, n=1):
            seen["steps"].append(n)

    monkeypatch.setattr(s1mod, "progress", Recorder)
    run_s1(S1Params(out=str(tmp_path / "o"), countries="ne110m", resolution_arcsec=300,
                    only="RUS,FJI,NLD", max_unit_cells=100_000, workers=1, quiet=True))  # fmt: skip
    report = json.loads((tmp_path / "o" / "run_report.json").read_text())
    steps = seen["steps"]
    assert len(steps) == report["metrics"]["units"] > 3  # RUS in bands, FJI, NLD
    assert sum(steps) == pytest.approx(seen["total"])
    tiles = report["counters"]["tiles"]
    assert 0.5 * tiles < seen["total"] < 2 * tiles  # estimated cells, not units
    assert max(steps) > 20 * min(steps)  # a RUS band weighs more than an island


def test_map_png_and_cloud_optimised_geotiff(runs, tmp_path):
    import matplotlib.image
    import rasterio

    res = CliRunner().invoke(cli, ["map", "--tiles", str(runs / "s1"), "--out", str(tmp_path / "t.png"),
                                   "--cog", str(tmp_path / "c.tif"), "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["map", "--tiles", str(runs / "s1"), "--sites", str(runs / "s6"), "--only",
                                   "NLD,FRA", "--out", str(tmp_path / "s.png"), "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in ("t.png", "s.png"):
        img = matplotlib.image.imread(tmp_path / name)
        assert img.shape[0] > 300 and img.shape[1] > 600 and img.std() > 0.05  # a picture, not a blank
    with rasterio.open(tmp_path / "c.tif") as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG" and src.overviews(1)
        assert src.crs.to_string() in ("OGC:CRS84", "EPSG:4326") and src.res == (RES / 3600, RES / 3600)
        band = src.read(1)
        keys = json.loads(src.tags(1)["country_keys"])
    tiles = pq.read_table(runs / "s1" / "tiles", columns=["tile_id", "country_iso"])
    ids = tiles.column("tile_id").to_numpy()
    country = np.asarray(tiles.column("country_iso").cast(pa.string()).to_pylist())
    assert keys == sorted(COUNTRIES)
    flat = band.ravel()
    for code, key in enumerate(keys, start=1):
        assert np.array_equal(np.flatnonzero(flat == code), np.sort(ids[country == key])), key
    assert (flat == 0).sum() == flat.size - ids.size


def test_s6_with_another_country_set_says_which_set_the_index_used(tmp_path):
    """SOL (Somaliland) is a key of ne110m but not of the packaged 1:10m view: s6 --countries ne10m on an ne110m
    index names the set the index was built from (it used to say only that the key is missing)."""
    run_s1(
        S1Params(out=str(tmp_path / "s1"), countries="ne110m", resolution_arcsec=1800, only="SOL", workers=1)
    )
    run_sites(tmp_path / "s1", 50, 1, tmp_path / "plan.parquet")
    res = CliRunner().invoke(cli, ["s6", "--tiles", str(tmp_path / "s1"), "--sites", str(tmp_path / "plan.parquet"),
                                   "--seed", "1", "--countries", "ne10m", "--out", str(tmp_path / "o"), "--quiet"])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert (
        "keys not in ne10m: SOL (the tile index was built from ne110m; set --countries to it)" in res.stderr
    ), res.stderr
    assert not (tmp_path / "o").exists()


def test_s6_kernel_warm_up_is_a_stage_of_its_own_outside_the_rate(runs):
    report = json.loads((runs / "s6" / "run_report.json").read_text())
    stages = report["stages"]
    warm = report["metrics"]["warm_up_s"]
    assert "warm_up" in stages and stages["warm_up"]["wall_s"] == warm  # one measurement, one number
    seconds_in_rate = report["counters"]["written_sites"] / report["metrics"]["sites_per_s"]
    everything = sum(s["wall_s"] for s in stages.values())
    # the rate's seconds (from reading the plan to the receipt) leave the warm-up out; stages and the wall clock
    # between them differ by milliseconds, the warm-up here by ~1 s (compiled or loaded from the numba cache)
    # (counted in, the rate's seconds would be about all of the stages' and this would fail by ~warm)
    assert seconds_in_rate + warm <= everything + 0.05
