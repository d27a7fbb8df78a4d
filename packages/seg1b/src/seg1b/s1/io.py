"""Parquet output of the tile index and the on-disk mask cache (I/O only; the kernels live in s1/kernels.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from perfkit.determinism import combine_digests

from perfkit import atomic_path
from seg1b.errors import Seg1bError
from seg1b.geoparquet import BBOX, attribute_digest, tile_schema
from seg1b.s1.kernels import TILE_SCHEMA

MANIFEST_KEY = b"seg1b"  # footer key: how the index was built (countries, key, grid), read by sites/s6
# footer key: the file's country and its tiles as tile-id intervals (file metadata, not the Arrow schema's)
RUNS_KEY = b"seg1b:tile_runs"
_BBOX_FIELDS = [f"{BBOX}.{k}" for k in ("xmin", "ymin", "xmax", "ymax")]
# Chosen per column by timing each on a 1M-row Chinese band (docs/perf/seg1b.md, "Speed work"): tile_id and
# col rise by one along a run, so delta encoding; the longitudes are smooth sequences, so BYTE_STREAM_SPLIT; the
# columns that are constant along a grid row (row, the latitudes, area_m2, bbox.ymin/ymax) are long runs of one
# value, which PLAIN + the codec stores as small and writes fastest; only the country column is a dictionary.
_ROW_CONSTANT = ["row", "centroid_lat", "south", "north", "area_m2", f"{BBOX}.ymin", f"{BBOX}.ymax"]
_ENCODING = {
    "tile_id": "DELTA_BINARY_PACKED",
    "col": "DELTA_BINARY_PACKED",
    **{c: "BYTE_STREAM_SPLIT" for c in ["centroid_lon", "west", "east", f"{BBOX}.xmin", f"{BBOX}.xmax"]},
    **{c: "PLAIN" for c in _ROW_CONSTANT},
}
ZSTD_LEVEL = 1
# rows the writer encodes per internal batch (Arrow's default is 1,024): fewer, longer calls per page
WRITE_BATCH_ROWS = 1 << 16


def part_name(country: str, chunk: int) -> str:
    """``part-<country>-<chunk>.parquet``: the country key made filename-safe, the chunk zero-padded.

    A key that is not already safe (``A/B``, ``Ünï``) gets ``~`` and 8 hex digits of its blake2b after the safe
    form (``part-A_B~1a2b3c4d-0000.parquet``), so two keys never share a file (``A/B`` and ``A_B`` did: the
    second overwrote the first). ``~`` is never in a safe key, so a plain key's name cannot be taken either;
    plain keys keep their names.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", country)
    if safe != country:
        safe += "~" + hashlib.blake2b(country.encode(), digest_size=4).hexdigest()
    return f"part-{safe}-{chunk:04d}.parquet"


def file_schema(geometry: str, manifest: dict | None = None) -> pa.Schema:
    """The schema of a tile file: the tile columns, ``bbox`` (+ cell polygons), the manifest in the footer."""
    schema = TILE_SCHEMA
    if manifest is not None:
        schema = schema.with_metadata({MANIFEST_KEY: json.dumps(manifest, sort_keys=True).encode()})
    return tile_schema(schema, geometry)


def open_writer(path: str | os.PathLike, compression: str, schema) -> pq.ParquetWriter:
    """One writer per output file, with the exact tile schema (:func:`file_schema`).

    Row-group statistics on ``tile_id``/``row``/``col`` (S6's lookups) and on the ``bbox`` fields (a bbox
    filter skips row groups, the point of the GeoParquet 1.1 covering).
    """
    return pq.ParquetWriter(
        str(path),
        schema,
        compression=None if compression == "none" else compression,
        compression_level=ZSTD_LEVEL if compression == "zstd" else None,
        use_dictionary=["country_iso"],
        column_encoding=_ENCODING,
        write_statistics=["tile_id", "row", "col", *_BBOX_FIELDS],
        write_batch_size=WRITE_BATCH_ROWS,
    )


def tile_runs_value(grid, country: str, runs: np.ndarray) -> bytes:
    """The ``RUNS_KEY`` footer value of a file holding the cells of ``runs`` (row, first col, end col) of
    ``country``: JSON ``{"country": ..., "intervals": base64 of little-endian int64 start, stop pairs}``, one
    pair per run, ``tile_id`` in ``[start, stop)``.

    S6 takes the file's country from it (no read of the ``country_iso`` column) and checks that a site's tile
    is a tile of its country against the intervals (the 30" world: 439 K of them for 221 M tiles) instead of
    decoding every ``tile_id`` of the country's row groups.
    """
    first = runs[:, 0].astype(np.int64) * grid.ncols
    pairs = np.empty((len(runs), 2), dtype="<i8")
    pairs[:, 0] = first + runs[:, 1]
    pairs[:, 1] = first + runs[:, 2]
    intervals = base64.b64encode(pairs.tobytes()).decode()
    return json.dumps({"country": country, "intervals": intervals}).encode()


def read_manifest(tiles_dir: str | os.PathLike) -> dict | None:
    """The manifest S1 wrote into its files' footers (the first file's), or None (an older index, no files)."""
    root = Path(tiles_dir)
    if (root / "tiles").is_dir():
        root = root / "tiles"
    try:
        first = min(root.glob("part-*.parquet"), default=None)
        if first is None or not first.is_file():
            return None
        meta = pq.read_schema(first).metadata or {}
        return json.loads(meta[MANIFEST_KEY]) if MANIFEST_KEY in meta else None
    except (OSError, ValueError, KeyError):
        return None  # not readable here: the reader of the index reports it properly


def combine_receipts(file_receipts: dict[str, str]) -> str:
    """The dataset receipt: blake2b-256 over the per-file perfkit receipts, in sorted file-name order.

    Each file's receipt is ``perfkit.determinism`` content (names, types, values in row order; independent of
    row groups and codec), hashed by the worker while it writes, so the dataset never has to be read back.
    """
    return combine_digests((file_receipts[name] for name in sorted(file_receipts)), "seg1b-tiles-dataset")


def dataset_receipt(tiles_dir: str | os.PathLike) -> str:
    """Recompute the dataset receipt from the files on disk (the tile columns of each file: bbox and
    geometry follow from them, see :func:`seg1b.geoparquet.attribute_digest`).

    ``tiles_dir`` is ``OUT/tiles`` or ``OUT``. A path with no tile files (a missing folder, a file, S6's
    ``sites/``) is refused: it used to give the receipt of nothing, which no S1 run has (S1 always writes
    a file)."""
    tiles_dir = Path(tiles_dir)
    if (tiles_dir / "tiles").is_dir():
        tiles_dir = tiles_dir / "tiles"
    files = sorted(tiles_dir.glob("part-*.parquet")) if tiles_dir.is_dir() else []
    if not files or "area_m2" not in pq.read_schema(files[0]).names:
        raise Seg1bError(
            f"no S1 tile files in {tiles_dir} (expected tiles/part-*.parquet written by seg1b s1)"
        )
    return combine_receipts({f.name: attribute_digest(f) for f in files})


def cache_path(
    cache_dir: str | os.PathLike, resolution_arcsec: int, rule: str, key_digest: str, band
) -> Path:
    """Mask cache entry of one country band: keyed by its geometry digest, the grid and the rule."""
    b0, b1 = band
    return Path(cache_dir) / f"s1-{resolution_arcsec}as-{rule}-{key_digest[:32]}-{b0}-{b1}.npy"


def read_cached_runs(path: Path) -> np.ndarray | None:
    try:
        runs = np.load(path, allow_pickle=False)
    except (FileNotFoundError, ValueError, OSError):
        return None
    if runs.ndim != 2 or runs.shape[1] != 3 or runs.dtype != np.int32:
        return None
    return runs


def write_cached_runs(path: Path, runs: np.ndarray) -> None:
    """Write through perfkit's private temporary and a rename: concurrent workers never see half an entry,
    and the temporary of a killed run is swept the next time the entry is written."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, runs, allow_pickle=False)
