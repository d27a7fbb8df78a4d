"""Record blocks as the kernels read them, and the bronze-table <-> record conversion.

A block is a contiguous `MBP10_DTYPE` array; `record_words` gives the three views the kernels index
(int64 words, uint32 words, bytes; no copy). Bronze Parquet is turned back into record blocks a chunk at a
time, so both inputs go through the same kernel code.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from mbp10.schema import BRONZE_COLUMNS, MBP10_DTYPE, RECORD_LENGTH_WORDS, RECORD_SIZE, RTYPE_MBP10


def record_words(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int64 (n, 46), uint32 (n, 92), uint8 (n, 368)) views of a contiguous MBP10_DTYPE array."""
    if rec.dtype != MBP10_DTYPE:
        raise TypeError(f"expected MBP10_DTYPE records, got {rec.dtype}")
    if not rec.flags.c_contiguous:
        rec = np.ascontiguousarray(rec)
    raw = rec.view(np.uint8).reshape(len(rec), RECORD_SIZE)
    return raw.view(np.int64), raw.view(np.uint32), raw


def out_of_order_count(ts: np.ndarray) -> int:
    """Records whose ts_event is earlier than some record before them in the input."""
    if len(ts) < 2:
        return 0
    run_max = np.maximum.accumulate(ts)
    return int(np.count_nonzero(ts[1:] < run_max[:-1]))


def _np(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A bronze column as the record field's numbers: timestamps as int64 ns, one-character strings (or the
    uint8 codes of older bronze files) as bytes."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_timestamp(col.type):
        col = col.view(pa.int64())
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return np.array(col.to_pylist(), dtype="S1") if col.null_count else _chars(col)
    return col.to_numpy(zero_copy_only=False)


def _chars(col: pa.Array) -> np.ndarray:
    """The bytes of a string array whose every value is one character (else each value's first byte)."""
    offsets = np.frombuffer(col.buffers()[1], np.int32 if pa.types.is_string(col.type) else np.int64)
    offsets = offsets[col.offset : col.offset + len(col) + 1]
    data = np.frombuffer(col.buffers()[2], np.uint8)
    if len(col) and offsets[-1] - offsets[0] == len(col):
        return data[offsets[0] : offsets[-1]].copy().view("S1")
    return np.array(col.to_pylist(), dtype="S1")


def table_records(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    """MBP10_DTYPE records from bronze columns (missing ts_in_delta/sequence/ids are zero)."""
    rec = np.zeros(table.num_rows, MBP10_DTYPE)
    rec["length"] = RECORD_LENGTH_WORDS
    rec["rtype"] = RTYPE_MBP10
    names = set(table.schema.names)
    for name, _ in BRONZE_COLUMNS:
        if name not in names:
            continue
        values = _np(table.column(name))
        if name in ("action", "side") and values.dtype != np.dtype("S1"):
            rec[name] = values.astype(np.uint8).view("S1")
        else:
            rec[name] = values
    return rec


def iter_table_records(table: pa.Table, chunk_rows: int = 65_536) -> Iterator[np.ndarray]:
    """Record blocks of a bronze table, `chunk_rows` at a time."""
    for batch in table.to_batches(max_chunksize=chunk_rows):
        yield table_records(batch)
