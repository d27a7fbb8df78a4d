"""Country keys and countries files a GIS user brings: keys that are not file-name safe, odd coordinates,
several layers. Each input is built here from boxes, independently of the code under test."""

from __future__ import annotations

import json
import warnings

import pyarrow.parquet as pq
from click.testing import CliRunner
from seg1b.cli import main
from seg1b.s1.io import dataset_receipt


def _geojson(path, features: list[tuple[object, list]], crs: bool = True) -> str:
    """A GeoJSON FeatureCollection of polygons ``(key, exterior ring)`` with the key in ``code``."""
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": k},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            for k, ring in features
        ],
    }
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path.write_text(json.dumps(fc))
    return str(path)


def _box(x0, y0, x1, y1) -> list:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def _rows_by_key(tiles_dir) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in sorted(tiles_dir.glob("part-*.parquet")):
        for k in pq.read_table(f, columns=["country_iso"]).column("country_iso").to_pylist():
            counts[k] = counts.get(k, 0) + 1
    return counts


def test_keys_with_the_same_safe_name_keep_their_own_files(s1, tmp_path):
    # "A/B" and "A_B" were both written to part-A_B-0000.parquet: the second overwrote the first
    src = _geojson(
        tmp_path / "c.geojson",
        [("A/B", _box(0, 0, 2, 1)), ("A_B", _box(10, 10, 11, 13)), ("NLD", _box(5, 50, 6, 51))],
    )
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600")
    # 600" = 1/6 degree: 12 x 6, 6 x 18 and 6 x 6 cells
    assert _rows_by_key(run.tiles_dir) == {"A/B": 72, "A_B": 108, "NLD": 36}
    assert run.report["counters"]["tiles"] == 216
    assert dataset_receipt(run.tiles_dir) == run.receipt
    names = sorted(f.name for f in run.tiles_dir.glob("part-*.parquet"))
    assert "part-NLD-0000.parquet" in names  # a plain key keeps its name
    assert len(names) == 3


def test_longitudes_beyond_180_are_refused(s1, tmp_path):
    # 0..360 data: the part east of 180 was dropped silently (a country wholly there gave 0 tiles, exit 0)
    src = _geojson(
        tmp_path / "e.geojson", [("NZL", _box(166, -47, 179, -34)), ("FJI", _box(177, -19, 182, -16))]
    )
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600", check=False)
    assert run.exit_code == 2
    line = run.stderr.strip()
    assert "\n" not in line and "e.geojson" in line and "longitude 166..182" in line, line
    assert not run.out.exists()


def test_metres_without_a_crs_are_refused_in_one_line(s1, tmp_path):
    # EPSG:3857-like coordinates in a GeoJSON with no CRS member: was exit 1 (IndexError in split_bands)
    ring = _box(550_000, 6_600_000, 800_000, 7_100_000)
    src = _geojson(tmp_path / "m.geojson", [("NLD", ring)], crs=False)
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600", check=False)
    assert run.exit_code == 2
    line = run.stderr.strip()
    assert "\n" not in line and "m.geojson" in line and "EPSG:4326" in line and "latitude 6.6e+06" in line, (
        line
    )


def test_s6_refuses_a_countries_file_changed_since_s1(s1, tmp_path):
    # the manifest holds S1's geometry digest; a moved country gave "fallback" points outside it, exit 0
    src = tmp_path / "c.geojson"
    _geojson(src, [("AAA", _box(0, 0, 2, 1)), ("BBB", _box(10, 10, 11, 13))])
    run = s1("--countries", str(src), "--key", "code", "--resolution-arcsec", "600")
    plan = tmp_path / "plan.parquet"
    sites = ["sites", "--quiet", "--tiles", str(run.out), "--count", "100", "--seed", "1", "--out", str(plan)]
    assert CliRunner().invoke(main, sites).exit_code == 0
    s6 = ["s6", "--quiet", "--tiles", str(run.out), "--sites", str(plan), "--seed", "1", "--workers", "1"]
    assert CliRunner().invoke(main, [*s6, "--out", str(tmp_path / "same")]).exit_code == 0

    _geojson(src, [("AAA", _box(20, 0, 22, 1)), ("BBB", _box(10, 10, 11, 13))])  # AAA moved 20 degrees east
    res = CliRunner().invoke(main, [*s6, "--out", str(tmp_path / "moved")])
    assert res.exit_code == 2, res.output
    line = res.stderr.strip()
    assert "\n" not in line and "c.geojson" in line and "rebuild the index" in line, line
    assert not (tmp_path / "moved").exists()


def _gpkg(path, layers: dict[str, list]) -> str:
    """A GeoPackage with one layer per ``name: [(key, geometry), ...]``, in the given order."""
    import numpy as np
    import pyogrio.raw
    import shapely

    for name, rows in layers.items():
        geoms = [g for _k, g in rows]
        kind = "Point" if geoms[0].geom_type == "Point" else "Polygon"
        pyogrio.raw.write(
            str(path), np.array(shapely.to_wkb(geoms), dtype=object), [np.array([k for k, _g in rows], dtype=object)],
            ["code"], layer=name, driver="GPKG", geometry_type=kind, crs="EPSG:4326", append=path.exists(),
        )  # fmt: skip
    return str(path)


def test_a_geopackage_with_several_layers(s1, tmp_path):
    # pyogrio read the first layer (points here) with two warnings on stderr; there was no --layer
    import shapely

    point = [("PPP", shapely.Point(1, 1))]
    land = [("AAA", shapely.box(0, 0, 2, 1))]
    sea = [("SSS", shapely.box(10, 10, 11, 11))]
    one = _gpkg(tmp_path / "one.gpkg", {"apoints": point, "land": land})
    two = _gpkg(tmp_path / "two.gpkg", {"apoints": point, "land": land, "sea": sea})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pyogrio warning would be an exit 1 here
        run = s1("--countries", one, "--key", "code", "--resolution-arcsec", "600")
        assert _rows_by_key(run.tiles_dir) == {"AAA": 72}  # the only polygon layer

        refused = s1("--countries", two, "--key", "code", "--resolution-arcsec", "600", check=False)
        assert refused.exit_code == 2
        line = refused.stderr.strip()
        assert "\n" not in line and "apoints (Point), land (Polygon), sea (Polygon)" in line, line
        assert "--layer" in line

        bad = s1("--countries", two, "--layer", "lakes", "--resolution-arcsec", "600", check=False)
        assert (
            bad.exit_code == 2
            and "--layer 'lakes' is not in" in bad.stderr
            and "\n" not in bad.stderr.strip()
        )

        sea_run = s1("--countries", two, "--layer", "sea", "--key", "code", "--resolution-arcsec", "600")
        assert _rows_by_key(sea_run.tiles_dir) == {"SSS": 36}
        # s6 takes the layer from the index's manifest (the sea's polygons, same digest)
        plan = tmp_path / "plan.parquet"
        cmd = [
            "sites",
            "--quiet",
            "--tiles",
            str(sea_run.out),
            "--count",
            "10",
            "--seed",
            "1",
            "--out",
            str(plan),
        ]
        assert CliRunner().invoke(main, cmd).exit_code == 0
        cmd = [
            "s6",
            "--quiet",
            "--tiles",
            str(sea_run.out),
            "--sites",
            str(plan),
            "--seed",
            "1",
            "--workers",
            "1",
        ]
        res = CliRunner().invoke(main, [*cmd, "--out", str(tmp_path / "s6")])
        assert res.exit_code == 0, res.output


def test_a_key_too_long_for_a_file_name_is_refused_in_one_line(s1, tmp_path):
    # was pyarrow's "File name too long" naming perfkit's private staging folder
    src = _geojson(tmp_path / "k.geojson", [("x" * 300, _box(0, 0, 2, 1))])
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600", check=False)
    assert run.exit_code == 2
    line = run.stderr.strip()
    assert "\n" not in line and "300 characters long" in line and ".pk-" not in line, line


def test_keys_that_differ_only_in_case_are_refused_unless_left_out(s1, tmp_path):
    # part-ab-0000.parquet and part-AB-0000.parquet are one file on macOS or Windows: the second replaced the first
    src = _geojson(
        tmp_path / "c.geojson",
        [
            ("ab", _box(0, 0, 2, 1)),
            ("AB", _box(10, 10, 11, 13)),
            ("x/y", _box(5, 50, 6, 51)),
            ("X/Y", _box(7, 7, 8, 8)),
        ],
    )
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600", check=False)
    assert run.exit_code == 2
    line = run.stderr.strip()
    assert (
        "\n" not in line
        and "'AB' and 'ab'" in line
        and "differ in letter case alone" in line
        and "--only" in line
    ), line
    # keys that are not plain carry their own hash in the file name: "x/y" and "X/Y" never share a file
    kept = s1("--countries", src, "--key", "code", "--only", "ab,x/y,X/Y", "--resolution-arcsec", "600")
    assert _rows_by_key(kept.tiles_dir) == {"ab": 72, "x/y": 36, "X/Y": 36}
    assert len({f.name.lower() for f in kept.tiles_dir.glob("part-*.parquet")}) == 3


def test_features_without_a_key_are_refused_unless_left_out(s1, tmp_path):
    # a null key became '' and was written as country '' (part--0000.parquet), merged with any blank key
    src = _geojson(
        tmp_path / "n.geojson",
        [(None, _box(0, 0, 2, 1)), (" ", _box(4, 0, 5, 1)), ("BBB", _box(10, 10, 11, 11))],
    )
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600", check=False)
    assert run.exit_code == 2
    line = run.stderr.strip()
    assert "\n" not in line and "2 feature(s) with no code" in line and "--only" in line, line
    kept = s1("--countries", src, "--key", "code", "--only", "BBB", "--resolution-arcsec", "600")
    assert _rows_by_key(kept.tiles_dir) == {"BBB": 36}


def test_map_refuses_outlines_that_lack_countries_of_the_index(s1, tmp_path):
    # the countries missing from --countries were left out of the picture (exit 0)
    src = _geojson(tmp_path / "c.geojson", [("AAA", _box(0, 0, 2, 1)), ("BBB", _box(10, 10, 11, 11))])
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600")
    fewer = _geojson(tmp_path / "fewer.geojson", [("AAA", _box(0, 0, 2, 1))])
    cmd = ["map", "--quiet", "--tiles", str(run.out), "--out", str(tmp_path / "m.png"), "--key", "code"]
    res = CliRunner().invoke(main, [*cmd, "--countries", fewer])
    assert res.exit_code == 2, res.output
    line = res.stderr.strip()
    assert (
        "\n" not in line and line.startswith("error: --countries ") and "fewer.geojson lack keys" in line
    ), line
    assert ": BBB (the tile index was built from " in line and line.endswith("c.geojson)"), line
    assert not (tmp_path / "m.png").exists()


def test_more_than_10000_bands_of_a_country_are_refused(tmp_path):
    # part-K-10000 would sort before part-K-2000: the file names' order is no longer the tiles' order
    import pytest
    from seg1b.countries import load_countries
    from seg1b.errors import Seg1bError
    from seg1b.grid import Grid
    from seg1b.s1.pipeline import S1Params, plan_units

    src = _geojson(
        tmp_path / "tall.geojson", [("TALL", _box(0, 0, 1, 14))]
    )  # 14 degrees = 10,080 rows at 5" (+1 for the edge)
    countries = load_countries(src, key="code")
    params = S1Params(
        out=str(tmp_path / "o"), countries=src, key="code", resolution_arcsec=5, max_unit_cells=720
    )
    with pytest.raises(Seg1bError, match=r"TALL needs 10,08[01] row bands .* at most 10,000"):
        plan_units(countries, Grid(5), params, str(tmp_path / "o"), {})
    fewer = S1Params(
        out=str(tmp_path / "o"), countries=src, key="code", resolution_arcsec=5, max_unit_cells=800
    )
    assert len(plan_units(countries, Grid(5), fewer, str(tmp_path / "o"), {})) <= 10_000


def test_map_only_zooms_to_a_country_across_the_antimeridian(s1, tmp_path):
    # Fiji's parts at 177..180 and -180..-178 gave a view of the whole world's width, Fiji a few pixels
    import shapely
    from seg1b.quicklook import view_extent

    fiji = shapely.MultiPolygon([shapely.box(177, -19, 180, -16), shapely.box(-180, -18, -178, -17)])
    assert view_extent([fiji]) == (177.0, -19.0, 182.0, -16.0, True)
    assert view_extent([shapely.box(3, 50, 7, 54)]) == (3.0, 50.0, 7.0, 54.0, False)
    europe_and_alaska = [shapely.box(-10, 35, 40, 70), shapely.box(-170, 55, -140, 70)]
    assert view_extent(europe_and_alaska)[4] is False  # moving Alaska east does not make it narrower

    src = _geojson(tmp_path / "c.geojson", [("FFF", _box(177, -19, 180, -16)), ("AAA", _box(0, 0, 2, 1))])
    fc = json.loads((tmp_path / "c.geojson").read_text())
    fc["features"][0]["geometry"] = shapely.geometry.mapping(fiji)
    (tmp_path / "c.geojson").write_text(json.dumps(fc))
    run = s1("--countries", src, "--key", "code", "--resolution-arcsec", "600")
    png = tmp_path / "f.png"
    cmd = ["map", "--quiet", "--tiles", str(run.out), "--out", str(png), "--only", "FFF"]
    res = CliRunner().invoke(main, cmd)
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 1000
