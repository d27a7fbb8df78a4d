"""GeoParquet 1.1 columns and metadata for seg1b's outputs (sites, plans, tile index): geometry as WKB or, for
S6's sites, the GeoArrow native ``point`` encoding (a struct of x and y doubles), a ``bbox`` covering struct and
the ``geo`` key, CRS OGC:CRS84 (lon/lat on WGS84) as PROJJSON.

Built with numpy straight into Arrow buffers (a WKB point is 21 bytes, a cell polygon 93): no shapely objects,
so adding geometry to 10 M sites costs one pass over the coordinates. The native encoding writes two plain
double columns instead of a binary one: ~1 CPU-second less per 10 M sites (a one-off A/B of the writer on the
30" 10 M-site output, at load ~5; not a recorded benchmark). The columns are added after the receipt is
taken: receipts hash the attribute columns only, and the geometry is a function of them (see docs/seg1b.md).
Spec: https://geoparquet.org/releases/v1.1.0/ ("covering", "bbox").
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GEO_VERSION = "1.1.0"
GEOMETRY = "geometry"
BBOX = "bbox"
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])  # packed: 21 bytes
_WKB_BOX = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("rings", "<u4"), ("npoints", "<u4"), ("xy", "<f8", (10,))]
)
# required (non-null) fields: the Parquet writer writes no definition levels for them (see s1/_cells.py)
BBOX_TYPE = pa.struct([pa.field(n, pa.float64(), nullable=False) for n in ("xmin", "ymin", "xmax", "ymax")])
_BBOX_FIELD = pa.field(BBOX, BBOX_TYPE, nullable=False)
_GEOMETRY_FIELD = pa.field(GEOMETRY, pa.binary(), nullable=False)
# GeoArrow's native point: a struct of x and y (https://geoarrow.org/format, "Point")
POINT_TYPE = pa.struct([pa.field(n, pa.float64(), nullable=False) for n in ("x", "y")])
_POINT_FIELD = pa.field(GEOMETRY, POINT_TYPE, nullable=False)


@lru_cache(maxsize=1)
def crs84_projjson() -> dict:
    """OGC:CRS84 as PROJJSON (the GeoParquet default CRS, written out so every reader sees it)."""
    from pyproj import CRS

    return CRS.from_user_input("OGC:CRS84").to_json_dict()


def _binary(records: np.ndarray, width: int) -> pa.Array:
    n = records.size
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(records.view(np.uint8))]
    )


def point_wkb(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """Little-endian WKB points (x = lon, y = lat)."""
    rec = np.empty(len(lon), dtype=_WKB_POINT)
    rec["order"], rec["type"], rec["x"], rec["y"] = 1, 1, lon, lat
    return _binary(rec, _WKB_POINT.itemsize)


def box_wkb(west: np.ndarray, south: np.ndarray, east: np.ndarray, north: np.ndarray) -> pa.Array:
    """Little-endian WKB polygons of lon/lat boxes, one counter-clockwise ring of five points."""
    rec = np.empty(len(west), dtype=_WKB_BOX)
    rec["order"], rec["type"], rec["rings"], rec["npoints"] = 1, 3, 1, 5
    xy = rec["xy"]
    for i, (x, y) in enumerate(((west, south), (east, south), (east, north), (west, north), (west, south))):
        xy[:, 2 * i], xy[:, 2 * i + 1] = x, y
    return _binary(rec, _WKB_BOX.itemsize)


def bbox_column(xmin, ymin, xmax, ymax) -> pa.StructArray:
    """The GeoParquet 1.1 ``bbox`` covering: a struct of four doubles per row."""
    arrays = [pa.array(np.asarray(v, dtype=np.float64)) for v in (xmin, ymin, xmax, ymax)]
    return pa.StructArray.from_arrays(arrays, fields=list(BBOX_TYPE))


def geo_metadata(geometry_types: list[str], encoding: str = "WKB") -> bytes:
    """The ``geo`` key: one geometry column (``encoding`` WKB or point), OGC:CRS84, planar edges, the ``bbox``
    covering."""
    column = {
        "encoding": encoding,
        "geometry_types": geometry_types,
        "crs": crs84_projjson(),
        "edges": "planar",
        "covering": {"bbox": {k: [BBOX, k] for k in ("xmin", "ymin", "xmax", "ymax")}},
    }
    if geometry_types == ["Polygon"]:
        column["orientation"] = "counterclockwise"
    meta = {"version": GEO_VERSION, "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}
    return json.dumps(meta, separators=(",", ":")).encode()


def point_schema(schema: pa.Schema, encoding: str = "WKB") -> pa.Schema:
    """``schema`` + ``geometry`` (points as WKB or GeoArrow ``point``) + ``bbox``, with the ``geo`` metadata."""
    out = schema.append(_POINT_FIELD if encoding == "point" else _GEOMETRY_FIELD).append(_BBOX_FIELD)
    return out.with_metadata({**(schema.metadata or {}), b"geo": geo_metadata(["Point"], encoding)})


def with_points(table: pa.Table, lon: np.ndarray, lat: np.ndarray, schema: pa.Schema) -> pa.Table:
    """``table`` with point geometry (in ``schema``'s encoding) and its bbox (xmin = xmax = lon, ymin = ymax =
    lat) appended."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if schema.field(GEOMETRY).type == POINT_TYPE:
        geometry = pa.StructArray.from_arrays([pa.array(lon), pa.array(lat)], fields=list(POINT_TYPE))
    else:
        geometry = point_wkb(lon, lat)
    cols = [*table.columns, geometry, bbox_column(lon, lat, lon, lat)]
    return pa.Table.from_arrays(cols, schema=schema)


def tile_schema(schema: pa.Schema, geometry: str) -> pa.Schema:
    """The tile index schema: ``bbox`` always; ``geometry`` (cell polygons) and ``geo`` with ``polygons``."""
    out = schema.append(_BBOX_FIELD)
    if geometry == "none":
        return out
    out = out.append(_GEOMETRY_FIELD)
    return out.with_metadata({**(schema.metadata or {}), b"geo": geo_metadata(["Polygon"])})


def with_tile_geometry(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A tile table with its ``bbox`` (the cell edges) and, when ``schema`` has one, its polygon column."""
    edges = [table.column(n).to_numpy() for n in ("west", "south", "east", "north")]
    cols = [*table.columns, bbox_column(*edges)]
    if GEOMETRY in schema.names:
        cols.append(box_wkb(*edges))
    return pa.Table.from_arrays(cols, schema=schema)


def attribute_digest(path: str | os.PathLike) -> str:
    """The receipt of a seg1b Parquet file or dataset: ``perfkit.determinism`` content of every column but
    ``geometry`` and ``bbox`` (files in sorted order), i.e. what ``perfkit digest`` gave before the outputs
    became GeoParquet; the geometry is a function of those columns, so the receipts did not change."""
    from perfkit.determinism import TableDigester, parquet_files

    digester = None
    for file in parquet_files(path):
        pf = pq.ParquetFile(file)
        names = [n for n in pf.schema_arrow.names if n not in (GEOMETRY, BBOX)]
        if digester is None:
            digester = TableDigester(pa.schema([pf.schema_arrow.field(n) for n in names]))
        for batch in pf.iter_batches(columns=names):
            digester.update(batch)
    if digester is None:
        raise ValueError(f"{path}: no Parquet files")
    return digester.hexdigest()
