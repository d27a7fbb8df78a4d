"""Determinism receipts: content digests of arrays, Arrow tables and Parquet datasets.

A receipt depends only on column names, types, validity and values in row order. It does not
depend on how the data is chunked into record batches, row groups or files, nor on the
compression codec: every column is hashed as a stream whose encoding of two chunks is the
concatenation of the encodings of each (values, string lengths, null positions as absolute
row numbers), so splitting the stream anywhere gives the same bytes to the hasher.

Digest string: ``"blake2b-256/v<DIGEST_VERSION>:<64 hex>"``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DIGEST_VERSION = 1
ALGORITHM = "blake2b-256"
_PREFIX = f"{ALGORITHM}/v{DIGEST_VERSION}:"
_BATCH_ROWS = 1 << 20


def _hasher() -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=32)


def _finish(h: hashlib.blake2b) -> str:
    return _PREFIX + h.hexdigest()


def type_token(t: pa.DataType) -> str:
    """A type's identity for hashing; storage details (dictionary index width, list field name) are left out."""
    if pa.types.is_dictionary(t):
        return f"dictionary<{type_token(t.value_type)}>"
    # A list's child field name ("item" in Arrow, "element" after a Parquet round trip) is not content.
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"{'large_' if pa.types.is_large_list(t) else ''}list<{type_token(t.value_type)}>"
    if pa.types.is_fixed_size_list(t):
        return f"fixed_size_list<{type_token(t.value_type)}>[{t.list_size}]"
    return str(t)


class _ColumnStream:
    """Streaming hash state of one column (and, for nested types, its children)."""

    def __init__(self, dtype: pa.DataType):
        self.dtype = dtype
        self.rows = 0
        self.nulls = _hasher()  # absolute row numbers of nulls, int64
        self.values = _hasher()  # fixed-width values (nulls zeroed) or variable-width bytes
        self.lengths = _hasher()  # per-row lengths of strings/binary/lists, int64
        value_type = dtype.value_type if pa.types.is_dictionary(dtype) else dtype
        self.children: list[_ColumnStream] = []
        if (
            pa.types.is_list(value_type)
            or pa.types.is_large_list(value_type)
            or pa.types.is_fixed_size_list(value_type)
        ):
            self.children = [_ColumnStream(value_type.value_type)]
        elif pa.types.is_struct(value_type):
            self.children = [_ColumnStream(value_type.field(i).type) for i in range(value_type.num_fields)]

    def update(self, arr: pa.Array) -> None:
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        n = len(arr)
        if arr.null_count:
            null_rows = np.flatnonzero(~np.asarray(arr.is_valid()).astype(bool)).astype(np.int64) + self.rows
            self.nulls.update(null_rows.tobytes())
        self.rows += n
        t = arr.type
        if (
            pa.types.is_string(t)
            or pa.types.is_binary(t)
            or pa.types.is_large_string(t)
            or pa.types.is_large_binary(t)
        ):
            if arr.null_count:
                arr = arr.fill_null(b"" if pa.types.is_binary(t) or pa.types.is_large_binary(t) else "")
            off_type = np.int64 if (pa.types.is_large_string(t) or pa.types.is_large_binary(t)) else np.int32
            offsets = np.frombuffer(arr.buffers()[1], dtype=off_type)[arr.offset : arr.offset + n + 1]
            self.lengths.update(np.diff(offsets).astype(np.int64).tobytes())
            data = arr.buffers()[2]
            if data is not None and n:
                self.values.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            lengths = pc.list_value_length(arr).fill_null(0)
            self.lengths.update(np.asarray(lengths).astype(np.int64).tobytes())
            self.children[0].update(arr.flatten())
        elif pa.types.is_fixed_size_list(t):
            self.children[0].update(arr.flatten())
        elif pa.types.is_struct(t):
            for i, child in enumerate(self.children):
                child.update(arr.field(i))
        elif pa.types.is_null(t):
            pass
        elif pa.types.is_primitive(t) or pa.types.is_decimal(t):
            if arr.null_count:
                arr = pc.if_else(arr.is_valid(), arr, pa.scalar(_zero(t), type=t))
            self.values.update(_fixed_width_bytes(arr))
        else:
            raise TypeError(f"perfkit.determinism: unsupported Arrow type {t}")

    def digest(self) -> bytes:
        h = _hasher()
        h.update(type_token(self.dtype).encode())
        h.update(self.rows.to_bytes(8, "little"))
        for part in (self.nulls, self.values, self.lengths):
            h.update(part.digest())
        for child in self.children:
            h.update(child.digest())
        return h.digest()


def _zero(t: pa.DataType):
    if pa.types.is_boolean(t):
        return False
    if pa.types.is_decimal(t):
        return 0
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.scalar(0, type=pa.int64()).cast(t) if not pa.types.is_date32(t) else 0
    return 0


def _fixed_width_bytes(arr: pa.Array) -> bytes | memoryview:
    t = arr.type
    if pa.types.is_boolean(t):
        return np.asarray(arr, dtype=bool).view(np.uint8).tobytes()
    if pa.types.is_decimal(t):
        width = t.byte_width
        buf = arr.buffers()[1]
        return memoryview(buf)[arr.offset * width : (arr.offset + len(arr)) * width]
    values = arr.to_numpy(zero_copy_only=False)
    if values.dtype.kind in "mM":
        values = values.view(np.int64)
    return memoryview(np.ascontiguousarray(values)).cast("B")


class TableDigester:
    """Streams record batches (or tables) of one schema into a receipt.

    >>> d = TableDigester(batch.schema); d.update(batch); d.hexdigest()
    """

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self._columns = [_ColumnStream(f.type) for f in schema]

    def update(self, data: pa.RecordBatch | pa.Table) -> None:
        if data.schema.names != self.schema.names:
            raise ValueError(f"schema mismatch: {data.schema.names} != {self.schema.names}")
        for i, stream in enumerate(self._columns):
            column = data.column(i)
            if type_token(column.type) != type_token(stream.dtype):
                raise ValueError(f"column {self.schema.names[i]!r}: type {column.type} != {stream.dtype}")
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            for chunk in chunks:
                stream.update(chunk)

    @property
    def rows(self) -> int:
        return self._columns[0].rows if self._columns else 0

    def hexdigest(self) -> str:
        h = _hasher()
        h.update(b"perfkit-table")
        h.update(len(self._columns).to_bytes(8, "little"))
        for field, stream in zip(self.schema, self._columns, strict=True):
            name = field.name.encode()
            h.update(len(name).to_bytes(8, "little") + name)
            h.update(stream.digest())
        return _finish(h)


def digest_table(table: pa.Table | pa.RecordBatch) -> str:
    """Receipt of an Arrow table or record batch."""
    if not isinstance(table, (pa.Table, pa.RecordBatch)):
        raise TypeError(
            f"digest_table expects a pyarrow Table or RecordBatch, not {type(table).__module__}."
            f"{type(table).__qualname__} (pandas: pa.Table.from_pandas(df); polars: df.to_arrow())"
        )
    d = TableDigester(table.schema)
    d.update(table)
    return d.hexdigest()


def combine_digests(items, label: str) -> str:
    """One receipt over an ordered list of text items (per-file receipts, ``path<TAB>digest`` lines).

    For outputs made of pieces whose receipts are computed where each piece is made (a worker hashing
    the file it writes), so the whole never has to be read back. The caller fixes the order (e.g.
    sorted file names); the result depends on ``label``, every item and their order. Items must not
    contain newlines.
    """
    h = _hasher()
    h.update(label.encode())
    for item in items:
        if "\n" in item:
            raise ValueError("combine_digests: items must not contain newlines")
        h.update(item.encode() + b"\n")
    return _finish(h)


_ARRAY_SLICE_BYTES = 16 << 20


def digest_array(a: np.ndarray) -> str:
    """Receipt of a numpy array: dtype, shape and values in C order.

    Values, not their layout in memory: a big-endian array (read from a file written on another machine,
    or made on one) has the receipt of the same values little-endian, so receipts compare across hosts.
    """
    a = np.asarray(a)
    if a.dtype.hasobject:
        raise TypeError("perfkit.determinism: object arrays have no stable byte content")
    little = a.dtype.newbyteorder("<")
    if little != a.dtype:
        a = a.astype(little)
    h = _hasher()
    h.update(b"perfkit-ndarray")
    h.update(a.dtype.str.encode() + repr(a.dtype.descr).encode())
    h.update(repr(a.shape).encode())
    data = memoryview(np.ascontiguousarray(a)).cast("B")
    # In slices: the same digest as one update, but Ctrl-C is acted on between them (a 1 GB array is
    # otherwise one uninterruptible call of seconds).
    for start in range(0, len(data), _ARRAY_SLICE_BYTES):
        h.update(data[start : start + _ARRAY_SLICE_BYTES])
    return _finish(h)


def parquet_files(path: str | os.PathLike) -> list[Path]:
    """The Parquet files of a file or a dataset directory, in sorted relative-path order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise FileNotFoundError(f"{path}: no .parquet files in this directory")
        return files
    raise FileNotFoundError(f"{path}: no such file or directory")


class ParquetDatasetDigester:
    """The receipt of a Parquet dataset built file by file, in the order the files are added.

    Adding a dataset's files in sorted order gives :func:`digest_parquet`'s receipt of the folder, so a
    pipeline can digest each file as soon as it is written (overlapped with work still running) instead of
    reading the whole folder back at the end. Every file must have the first one's schema.
    """

    def __init__(self, batch_rows: int = _BATCH_ROWS):
        self.batch_rows = batch_rows
        self._digester: TableDigester | None = None

    def add_file(self, file: str | os.PathLike) -> None:
        pf = pq.ParquetFile(file)
        schema = pf.schema_arrow
        if self._digester is None:
            self._digester = TableDigester(schema)
        elif [(f.name, type_token(f.type)) for f in schema] != [
            (f.name, type_token(f.type)) for f in self._digester.schema
        ]:
            raise ValueError(f"{file}: schema differs from the dataset's first file")
        for batch in pf.iter_batches(batch_size=self.batch_rows):
            self._digester.update(batch)

    def hexdigest(self) -> str:
        if self._digester is None:
            raise ValueError("no file was added to the dataset digest")
        return self._digester.hexdigest()


def digest_parquet(path: str | os.PathLike, batch_rows: int = _BATCH_ROWS) -> str:
    """Receipt of a Parquet file or of a dataset directory read as one table (files in sorted order)."""
    digester = ParquetDatasetDigester(batch_rows)
    for file in parquet_files(path):
        digester.add_file(file)
    return digester.hexdigest()


def digest_path(path: str | os.PathLike) -> str:
    """Receipt of a Parquet file/dataset, an Arrow IPC file or stream (.arrow/.feather/.ipc) or a .npy file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".parquet":
        return digest_parquet(path)
    if suffix == ".npy":
        return digest_array(np.load(path, mmap_mode="r", allow_pickle=False))
    if suffix in {".arrow", ".feather", ".ipc", ".arrows"}:
        with pa.memory_map(str(path)) as source:
            try:
                table = pa.ipc.open_file(source).read_all()
            except pa.ArrowInvalid:
                source.seek(0)
                table = pa.ipc.open_stream(source).read_all()
        return digest_table(table)
    raise ValueError(
        f"{path}: unsupported file type {suffix or '(none)'} (want .parquet, a directory, .arrow/.feather, .npy)"
    )
