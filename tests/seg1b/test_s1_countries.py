"""Country loading: packaged sets, keys, Antarctica, vector files, digests."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from seg1b.countries import load_countries
from seg1b.errors import Seg1bError


def test_ne110m_keys_are_iso_a3_codes_where_iso_is_missing_too():
    # the 1:110m set has iso_a3 = -99 for France, Norway, Kosovo, N. Cyprus, Somaliland: keys were their names
    c = load_countries("ne110m")
    assert {"FRA", "NOR", "KOS", "CYN", "SOL", "RUS", "FJI"} <= set(c.geometries)
    assert all(re.fullmatch("[A-Z]{3}", k) for k in c.geometries), sorted(c.geometries)
    assert "-99" not in c.geometries and "ATA" not in c.geometries
    assert c.key_field == "iso_a3|ADM0_A3" and c.source == "ne110m"
    # the same keys as the 1:10m set for the countries both have under an ISO code
    ne10m = set(load_countries("ne10m").geometries)
    assert {"FRA", "NOR", "KOS"} <= ne10m
    assert all(g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid for g in c.geometries.values())


def test_ne10m_is_keyed_by_adm0_a3():
    c = load_countries("ne10m", only=["FRA", "NOR", "RUS"])
    assert set(c.geometries) == {"FRA", "NOR", "RUS"}
    assert c.key_field == "ADM0_A3"


def test_antarctica_and_only():
    assert "ATA" in load_countries("ne110m", include_antarctica=True).geometries
    assert set(load_countries("ne110m", only=["ATA"]).geometries) == {"ATA"}
    with pytest.raises(Seg1bError, match="ZZZ"):
        load_countries("ne110m", only=["ZZZ"])


def test_digest_is_stable_and_sensitive():
    a = load_countries("ne110m", only=["FJI", "JAM"])
    b = load_countries("ne110m", only=["JAM", "FJI"])
    c = load_countries("ne110m", only=["FJI"])
    assert a.digest == b.digest != c.digest
    assert a.key_digests["FJI"] == c.key_digests["FJI"]


def test_geoparquet_and_projected_crs(tmp_path):
    geoms = [shapely.box(0, 0, 2, 2), shapely.box(5, 5, 6, 6)]
    table = pa.table({"code": ["AAA", "BBB"], "geometry": shapely.to_wkb(geoms).tolist()})
    meta = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": {"encoding": "WKB"}}}
    path = tmp_path / "c.parquet"
    pq.write_table(table.replace_schema_metadata({"geo": json.dumps(meta)}), path)
    c = load_countries(str(path), key="code")
    assert set(c.geometries) == {"AAA", "BBB"}
    assert shapely.equals(c.geometries["AAA"], geoms[0])

    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"ADM0_A3": "X"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1e5, 0], [1e5, 1e5], [0, 0]]]},
            }
        ],
    }
    projected = tmp_path / "p.geojson"
    projected.write_text(json.dumps(fc))
    with pytest.raises(Seg1bError, match="projected CRS"):
        load_countries(str(projected))
