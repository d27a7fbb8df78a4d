"""Country keys and countries files a GIS user brings: keys that are not file-name safe, odd coordinates,
several layers. Each input is built here from boxes, independently of the code under test."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
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
