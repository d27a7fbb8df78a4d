"""Receipts depend on content only: not on chunking, row groups, codecs or file splits."""

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perfkit.determinism import (
    ParquetDatasetDigester,
    TableDigester,
    digest_array,
    digest_parquet,
    digest_path,
    digest_table,
)


def _table(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    ints = pa.array(rng.integers(-(10**12), 10**12, n), pa.int64(), mask=rng.random(n) < 0.1)
    names = pa.array(rng.choice(["USA", "RUS", "FJI", ""], n)).dictionary_encode()
    return pa.table(
        {
            "tile_id": ints,
            "country_iso": names,
            "lon": rng.normal(size=n),
            "flag": pa.array(rng.random(n) < 0.5, mask=rng.random(n) < 0.05),
            "label": pa.array([f"s{i % 17}" * (i % 3) for i in range(n)], mask=rng.random(n) < 0.2),
            "vec": pa.array([[float(i), 1.0][: i % 3] for i in range(n)]),
            "fixed": pa.FixedSizeListArray.from_arrays(pa.array(np.arange(2 * n, dtype=np.float32)), 2),
        }
    )


def test_same_digest_across_chunks_row_groups_codecs_and_file_splits(tmp_path):
    table = _table()
    expected = digest_table(table)
    assert digest_table(pa.Table.from_batches(table.to_batches(max_chunksize=777))) == expected
    for codec, row_group in [("zstd", 1000), ("snappy", 4096), ("none", 100_000), ("lz4", 333)]:
        path = tmp_path / f"t-{codec}.parquet"
        pq.write_table(table, path, compression=codec, row_group_size=row_group)
        assert digest_parquet(path) == expected, codec
    dataset = tmp_path / "ds"
    dataset.mkdir()
    for i, start in enumerate(range(0, len(table), 1500)):
        pq.write_table(table.slice(start, 1500), dataset / f"part-{i:03d}.parquet")
    assert digest_path(dataset) == expected
    feather.write_feather(table, tmp_path / "t.arrow", chunksize=999)
    assert digest_path(tmp_path / "t.arrow") == expected


def test_dataset_digested_file_by_file_matches_the_folder_and_checks_schemas(tmp_path):
    table = _table(4000, seed=2)
    files = []
    for i, start in enumerate(range(0, len(table), 900)):
        files.append(tmp_path / f"{i:02d}.parquet")
        pq.write_table(table.slice(start, 900), files[-1], row_group_size=300)
    digester = ParquetDatasetDigester(batch_rows=128)
    for file in files:
        digester.add_file(file)
    assert digester.hexdigest() == digest_parquet(tmp_path) == digest_table(table)
    pq.write_table(table.drop_columns(["vec"]).slice(0, 10), tmp_path / "other.parquet")
    with pytest.raises(ValueError, match=r"other\.parquet: schema differs"):
        digester.add_file(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="no file"):
        ParquetDatasetDigester().hexdigest()


def test_streaming_digester_matches_whole_table():
    table = _table(3000, seed=1)
    digester = TableDigester(table.schema)
    for batch in table.to_batches(max_chunksize=250):
        digester.update(batch)
    assert digester.hexdigest() == digest_table(table) and digester.rows == 3000


@pytest.mark.parametrize(
    "change",
    ["value", "dtype", "name", "order", "null"],
)
def test_any_content_change_changes_the_digest(change):
    table = _table(500, seed=2)
    lon = table.column("lon").to_numpy().copy()
    if change == "value":
        lon[123] = np.nextafter(lon[123], np.inf)
        other = table.set_column(2, "lon", pa.array(lon))
    elif change == "dtype":
        other = table.set_column(2, "lon", pa.array(lon.astype(np.float32)))
    elif change == "name":
        other = table.rename_columns(["tile_id", "country_iso", "longitude", *table.column_names[3:]])
    elif change == "order":
        other = table.take(np.r_[1, 0, np.arange(2, len(table))])
    else:
        other = table.set_column(2, "lon", pa.array(lon, mask=np.arange(len(lon)) == 7))
    assert digest_table(other) != digest_table(table)


def test_numpy_array_digest(tmp_path):
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    np.save(tmp_path / "a.npy", a)
    assert digest_path(tmp_path / "a.npy") == digest_array(a) == digest_array(np.asfortranarray(a))
    assert digest_array(a.astype(np.int32)) != digest_array(a)
    assert digest_array(a.reshape(4, 3)) != digest_array(a)


def test_array_digest_is_of_values_not_byte_order(tmp_path):
    """The same values stored big-endian (an .npy written on another machine) have the same receipt; the
    little-endian receipt is the one pinned before this rule (no pipeline's receipt moved)."""
    a = np.array([1, -2, 3], dtype="<i8")
    assert (
        digest_array(a) == "blake2b-256/v1:77d24a91eebdf0fc8a3c5113bc1a96bd5d362db91c36477322694fe2b5b24de6"
    )
    assert digest_array(a.astype(">i8")) == digest_array(a)
    pairs = np.array([(1, 2.5)], dtype=[("k", "<u4"), ("v", "<f8")])
    assert digest_array(pairs.astype([("k", ">u4"), ("v", ">f8")])) == digest_array(pairs)
    np.save(tmp_path / "big.npy", a.astype(">i8"))
    assert digest_path(tmp_path / "big.npy") == digest_array(a)
    assert digest_array(a.astype(">i4")) != digest_array(a)  # a different type is still different


def test_digest_table_names_what_it_wants():
    import pandas as pd

    with pytest.raises(TypeError, match=r"not pandas.*DataFrame \(pandas: pa.Table.from_pandas\(df\)"):
        digest_table(pd.DataFrame({"a": [1]}))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=200),
    chunk=st.integers(1, 50),
)
def test_chunking_never_changes_the_digest(values, chunk):
    table = pa.table(
        {"v": pa.array(values, pa.int64()), "s": pa.array([None if v is None else str(v) for v in values])}
    )
    assert digest_table(pa.Table.from_batches(table.to_batches(max_chunksize=chunk))) == digest_table(table)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        digest_path(tmp_path / "nope.parquet")


def test_combined_digest_depends_on_label_items_and_order():
    from perfkit.determinism import combine_digests

    a = combine_digests(["x", "y"], "label")
    assert a == combine_digests(iter(["x", "y"]), "label") and a.startswith("blake2b-256/v1:")
    assert (
        len(
            {
                a,
                combine_digests(["y", "x"], "label"),
                combine_digests(["x", "y"], "other"),
                combine_digests(["x"], "label"),
            }
        )
        == 4
    )
    with pytest.raises(ValueError, match="newline"):
        combine_digests(["a\nb"], "label")


def test_array_digest_is_the_same_when_hashed_in_slices(monkeypatch):
    import perfkit.determinism as det

    a = np.arange(300_000, dtype=np.int64)
    whole = det.digest_array(a)
    monkeypatch.setattr(det, "_ARRAY_SLICE_BYTES", 4096)
    assert det.digest_array(a) == whole
