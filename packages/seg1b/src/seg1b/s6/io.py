"""S6's output: the sites as GeoParquet 1.1 files (GeoArrow native points), written in threads a row group at a
time, and its receipt."""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from perfkit.determinism import digest_table

from seg1b.geoparquet import point_schema, with_points

ROWS_PER_FILE = 1 << 22
ROW_GROUP_SIZE = 1 << 20

# Every column required (no nulls): the writer writes no definition levels (as for the tile index).
SITES_SCHEMA = pa.schema(
    [
        pa.field(name, dtype, nullable=False)
        for name, dtype in [
            ("site_id", pa.int64()),
            ("country_iso", pa.dictionary(pa.int32(), pa.string())),
            ("tile_id", pa.int64()),
            ("lon", pa.float64()),
            ("lat", pa.float64()),
            ("attempts", pa.int16()),
            ("status", pa.dictionary(pa.int8(), pa.string())),
        ]
    ]
)
# site_id ascends (the output is sorted by it): delta encoding stores it in a few bits a row, and writes it
# ~5x faster than PLAIN; the rest is PLAIN (random tiles and coordinates) or a dictionary
_ENCODING = {"site_id": "DELTA_BINARY_PACKED"}
WRITE_BATCH_ROWS = 1 << 16
# Row-group statistics where a reader prunes with them: the ids, the point's x/y and the bbox covering (a
# GeoParquet reader's spatial filter); not on lon/lat (the same values as geometry.x/y) nor the dictionaries.
_STATISTICS = [
    "site_id",
    "tile_id",
    "geometry.x",
    "geometry.y",
    *(f"bbox.{k}" for k in ("xmin", "ymin", "xmax", "ymax")),
]


def write_sites(table: pa.Table, dest: Path, compression: str) -> str:
    """Write ``table`` as ``dest/part-NNNNN.parquet`` files of equal size, in threads; return its receipt.

    The receipt is computed in this thread meanwhile. One thread per file up to one more than the cores (10 M
    sites: three files of 3.3 M rows); equal files let the threads finish at about the same time. Each thread
    writes its file a row group at a time and stops at the next row group once the run is interrupted, so a
    Ctrl-C waits for one row group, not for whole files.
    """
    dest.mkdir(parents=True)
    n = table.num_rows
    nfiles = max(1, math.ceil(n / ROWS_PER_FILE))
    per_file = max(1, math.ceil(n / nfiles))
    codec = None if compression == "none" else compression
    stop = threading.Event()
    # GeoParquet: + the points and their bbox, after the receipt's columns
    schema = point_schema(table.schema, encoding="point")

    def write(i: int) -> None:
        part = table.slice(i * per_file, per_file)
        with pq.ParquetWriter(
            dest / f"part-{i:05d}.parquet",
            schema,
            compression=codec,
            use_dictionary=["country_iso", "status"],
            column_encoding=_ENCODING,
            write_statistics=_STATISTICS,
            write_batch_size=WRITE_BATCH_ROWS,
        ) as writer:
            for start in range(0, max(part.num_rows, 1), ROW_GROUP_SIZE):
                if stop.is_set():
                    return
                rows = part.slice(start, ROW_GROUP_SIZE)
                geo = with_points(rows, rows.column("lon").to_numpy(), rows.column("lat").to_numpy(), schema)
                writer.write_table(geo, row_group_size=ROW_GROUP_SIZE)

    pool = ThreadPoolExecutor(max_workers=min(nfiles, (os.cpu_count() or 1) + 1))
    try:
        futures = [pool.submit(write, i) for i in range(nfiles)]
        receipt = digest_table(table)
        for f in futures:
            f.result()
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return receipt
