"""`mbp10 ingest`: DBN or Parquet MBP-10 -> bronze Parquet (zstd 3), sorted by ts_event, exact integer prices."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mbp10.io import (
    BRONZE_SCHEMA,
    NO_DICTIONARY,
    PARQUET_COMPRESSION,
    ScanStats,
    input_kind,
    read_bronze,
    read_symbology,
    records_to_arrow,
    scan_dbn,
)
from mbp10.records import out_of_order_count, table_records
from mbp10.symbology import PARQUET_KEY

ROW_GROUP_ROWS = 262_144
DICTIONARY_COLUMNS = [n for n in BRONZE_SCHEMA.names if n not in NO_DICTIONARY]


class BronzeWriter:
    """`scan_dbn` consumer: converts each block to Arrow while it is in cache, writes ~256k-row groups."""

    def __init__(self, path: Path, schema: pa.Schema = BRONZE_SCHEMA):
        self.path = path
        self.schema = schema
        self._open()

    def _open(self) -> None:
        self.writer = pq.ParquetWriter(
            self.path,
            self.schema,
            compression=PARQUET_COMPRESSION[0],
            compression_level=PARQUET_COMPRESSION[1],
            use_dictionary=DICTIONARY_COLUMNS,
        )
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.rows = 0

    def update(self, rec: np.ndarray) -> None:
        for start in range(0, len(rec), ROW_GROUP_ROWS):
            batch = records_to_arrow(rec[start : start + ROW_GROUP_ROWS])
            self.pending.append(batch)
            self.pending_rows += batch.num_rows
            if self.pending_rows >= ROW_GROUP_ROWS:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            table = pa.Table.from_batches(self.pending).replace_schema_metadata(self.schema.metadata)
            self.writer.write_table(table, row_group_size=self.pending_rows)
            self.rows += self.pending_rows
            self.pending, self.pending_rows = [], 0

    def reset(self) -> None:
        self.writer.close()
        self._open()

    def close(self) -> int:
        self._flush()
        self.writer.close()
        return self.rows


def ingest_file(src: str | os.PathLike, dest: Path, extra_consumers: tuple = ()) -> ScanStats:
    """Write the bronze Parquet of one input file to `dest` (callers pass a temporary path); the DBN
    header's symbology goes into the schema metadata, so bars from bronze name their instruments too."""
    symmap = read_symbology(src)
    schema = BRONZE_SCHEMA.with_metadata({**BRONZE_SCHEMA.metadata, PARQUET_KEY: symmap.to_json()})
    if input_kind(src) == "parquet":
        rec = table_records(read_bronze(src, columns=BRONZE_SCHEMA.names))
        ts = rec["ts_event"].astype(np.int64)
        n_bad = out_of_order_count(ts)
        if n_bad:
            rec = rec[np.argsort(ts, kind="stable")]
        writer = BronzeWriter(dest, schema)
        try:
            writer.update(rec)
        finally:
            writer.close()
        return ScanStats(records=len(rec), out_of_order=n_bad, streamed=False)
    writer = BronzeWriter(dest, schema)
    try:
        stats = scan_dbn(src, [writer, *extra_consumers])
    finally:
        writer.close()
    return stats
