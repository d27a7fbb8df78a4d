"""Parquet output of the tile index and the on-disk mask cache (I/O only; the kernels live in tiles.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from perfkit.determinism import combine_digests, digest_parquet

from perfkit import atomic_path
from seg1b.tiles import TILE_SCHEMA

COMPRESSIONS = ("zstd", "snappy", "lz4", "none")
# Measured on a 1M-row Russian band (docs/perf/seg1b.md): the float columns are smooth sequences, so
# BYTE_STREAM_SPLIT + zstd level 1 writes them fastest and smallest (~10x smaller than dictionaries);
# tile_id/row/col are near-sequential, so delta encoding; only the country column is a dictionary.
_FLOATS = ["centroid_lon", "centroid_lat", "west", "south", "east", "north", "area_m2"]
_ENCODING = {
    "tile_id": "DELTA_BINARY_PACKED",
    "row": "DELTA_BINARY_PACKED",
    "col": "DELTA_BINARY_PACKED",
    **{c: "BYTE_STREAM_SPLIT" for c in _FLOATS},
}
ZSTD_LEVEL = 1


def part_name(country: str, chunk: int) -> str:
    """``part-<country>-<chunk>.parquet``: the country key made filename-safe, the chunk zero-padded."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", country)
    return f"part-{safe}-{chunk:04d}.parquet"


def open_writer(path: str | os.PathLike, compression: str) -> pq.ParquetWriter:
    """One writer per output file, with the exact tile schema."""
    return pq.ParquetWriter(
        str(path),
        TILE_SCHEMA,
        compression=None if compression == "none" else compression,
        compression_level=ZSTD_LEVEL if compression == "zstd" else None,
        use_dictionary=["country_iso"],
        column_encoding=_ENCODING,
        write_statistics=["tile_id", "row", "col"],
    )


def combine_receipts(file_receipts: dict[str, str]) -> str:
    """The dataset receipt: blake2b-256 over the per-file perfkit receipts, in sorted file-name order.

    Each file's receipt is ``perfkit.determinism`` content (names, types, values in row order; independent of
    row groups and codec), hashed by the worker while it writes, so the dataset never has to be read back.
    """
    return combine_digests((file_receipts[name] for name in sorted(file_receipts)), "seg1b-tiles-dataset")


def dataset_receipt(tiles_dir: str | os.PathLike) -> str:
    """Recompute the dataset receipt from the files on disk (``perfkit.digest_parquet`` per file)."""
    files = sorted(Path(tiles_dir).glob("part-*.parquet"))
    return combine_receipts({f.name: digest_parquet(f) for f in files})


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
