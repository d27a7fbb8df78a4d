"""DBN decoding and the synthetic day: field offsets, DBNStore round trip, determinism, realism."""

from __future__ import annotations

import datetime as dt

import databento
import databento_dbn
import numpy as np
import pytest
from mbp10.dbn import read_dbn
from mbp10.io import DbnStream
from mbp10.records import record_words
from mbp10.schema import F_LAST, F_SNAPSHOT, MBP10_DTYPE, PRICE_SCALE, UNDEF_PRICE
from mbp10.synth import synth_day

from .testdata import DATABENTO, ES_REAL, shared_file


def test_dtype_matches_databento_dbn_layout():
    theirs = np.dtype([(n, t) for n, t in databento_dbn.MBP10Msg._dtypes])
    assert theirs.names == MBP10_DTYPE.names
    for name in MBP10_DTYPE.names:
        assert theirs.fields[name][1] == MBP10_DTYPE.fields[name][1], name
        assert theirs.fields[name][0].itemsize == MBP10_DTYPE.fields[name][0].itemsize, name


# databento's to_df() still calls DataFrame.set_index(inplace=True), deprecated in pandas 3.1.
PANDAS_INPLACE = pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")


@PANDAS_INPLACE
@pytest.mark.parametrize(
    "path",
    [
        DATABENTO / "GLBX.MDP3__test_data.mbp-10.dbn.zst",
        DATABENTO / "IFEU.IMPACT__test_data.mbp-10.dbn.zst",
        pytest.param(ES_REAL / "esh4-glbx-mdp3-20231225.mbp-10.derived.dbn.zst", marks=pytest.mark.shared),
    ],
    ids=["ESH1", "BRN", "ESH4"],
)
def test_decode_matches_dbnstore_on_real_samples(path):
    ours = read_dbn(shared_file(path))
    store = databento.DBNStore.from_file(path)
    theirs = store.to_ndarray()
    assert len(ours.records) == len(theirs)
    for name in MBP10_DTYPE.names:
        np.testing.assert_array_equal(ours.records[name], theirs[name], err_msg=name)
    # the word offsets the kernel indexes
    w64, w32, b8 = record_words(ours.records)
    np.testing.assert_array_equal(w64[:, 1], theirs["ts_event"].astype(np.int64))
    np.testing.assert_array_equal(w64[:, 2], theirs["price"])
    np.testing.assert_array_equal(w32[:, 6], theirs["size"])
    np.testing.assert_array_equal(b8[:, 28], theirs["action"].view(np.uint8))
    np.testing.assert_array_equal(b8[:, 29], theirs["side"].view(np.uint8))
    np.testing.assert_array_equal(b8[:, 30], theirs["flags"])
    for k in range(10):
        np.testing.assert_array_equal(w64[:, 6 + 4 * k], theirs[f"bid_px_{k:02d}"])
        np.testing.assert_array_equal(w64[:, 7 + 4 * k], theirs[f"ask_px_{k:02d}"])
        np.testing.assert_array_equal(w32[:, 16 + 8 * k], theirs[f"bid_sz_{k:02d}"])
        np.testing.assert_array_equal(w32[:, 17 + 8 * k], theirs[f"ask_sz_{k:02d}"])
        sizes = theirs[f"bid_sz_{k:02d}"].astype(np.int64) | (
            theirs[f"ask_sz_{k:02d}"].astype(np.int64) << 32
        )
        np.testing.assert_array_equal(w64[:, 8 + 4 * k], sizes)
    # Prices are exact integers: the DataFrame view is the same number / 1e9.
    df = store.to_df(price_type="fixed", pretty_ts=False, map_symbols=False)
    np.testing.assert_array_equal(df["price"].to_numpy(), ours.records["price"])


@PANDAS_INPLACE
def test_synth_file_reads_in_dbnstore(small_day, small_day_file):
    store = databento.DBNStore.from_file(small_day_file)
    assert store.metadata.version == 3
    assert str(store.metadata.schema) == "mbp-10"
    assert store.symbology["symbols"] == ["ESH4"]
    theirs = store.to_ndarray()
    np.testing.assert_array_equal(theirs.view(np.uint8), small_day.view(np.uint8))
    assert len(store.to_df()) == len(small_day)


def test_streaming_blocks_equal_the_whole_file(small_day, small_day_file):
    with DbnStream(small_day_file, chunk_records=1_001) as s:
        blocks = [b.copy() for b in s]
    assert [len(b) for b in blocks[:-1]] == [1_001] * (len(blocks) - 1)
    np.testing.assert_array_equal(np.concatenate(blocks).view(np.uint8), small_day.view(np.uint8))


def test_synth_is_deterministic_and_seeded():
    a = synth_day(dt.date(2024, 3, 5), 5_000, seed=3)
    b = synth_day(dt.date(2024, 3, 5), 5_000, seed=3)
    c = synth_day(dt.date(2024, 3, 5), 5_000, seed=4)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_synth_chunks_do_not_change_the_day(monkeypatch, small_day):
    """The simulation runs in chunks (so Ctrl-C is acted on between them); any chunk size gives the same day,
    and the same bytes as before chunking (the digest below was taken from the one-call kernel)."""
    import hashlib

    from mbp10 import synth_kernel

    whole = synth_kernel.simulate
    days = {}
    for chunk in (1, 997, 30_000):
        monkeypatch.setattr(synth_kernel, "simulate", lambda *a, chunk=chunk: whole(*a, chunk=chunk))
        days[chunk] = synth_day(dt.date(2024, 1, 2), 30_000, seed=7).tobytes()
    assert days[1] == days[997] == days[30_000] == small_day.tobytes()
    assert hashlib.blake2b(days[1], digest_size=16).hexdigest() == "7f12638163e9ecf6a3082321a55c49e3"


def test_synth_day_is_realistic(small_day):
    r = small_day
    ts = r["ts_event"].astype(np.int64)
    assert (np.diff(ts) >= 0).all()
    acts = {k.decode(): int(v) for k, v in zip(*np.unique(r["action"], return_counts=True), strict=True)}
    assert set(acts) == {"A", "C", "M", "T", "R"} and acts["R"] == 1
    assert acts["T"] > 0.03 * len(r)
    assert r["flags"][-1] & F_LAST and (r["flags"][:40] & F_SNAPSHOT).any()
    # Prices on the 0.25 tick; books at F_LAST are never crossed.
    px = r["price"][r["price"] != UNDEF_PRICE]
    assert (px % (PRICE_SCALE // 4) == 0).all()
    last = (r["flags"] & F_LAST) != 0
    both = last & (r["bid_px_00"] != UNDEF_PRICE) & (r["ask_px_00"] != UNDEF_PRICE)
    assert (r["bid_px_00"][both] < r["ask_px_00"][both]).all()
    # Every trade is followed in its event by a fill at the same price on the passive side.
    t_idx = np.nonzero(r["action"] == b"T")[0]
    for i in t_idx[:200]:
        if i + 1 < len(r):
            assert r["action"][i + 1] in (b"C", b"M") and r["price"][i + 1] == r["price"][i]
            assert r["side"][i + 1] != r["side"][i]
    # Activity is U-shaped: the first RTH half hour is busier than the overnight hours.
    day0 = ts[0] - ts[0] % 86_400_000_000_000
    hour = (ts - day0) // 3_600_000_000_000
    assert (hour == 14).sum() > 2 * (hour == 3).sum()


def test_bronze_from_one_record_blocks_equals_the_records(tmp_path, small_day, small_day_file):
    # Blocks of one record are views into the reused decode buffer: the writer must copy them.
    import pyarrow.parquet as pq
    from mbp10.ingest import BronzeWriter

    writer = BronzeWriter(tmp_path / "b.parquet")
    with DbnStream(small_day_file, chunk_records=1) as s:
        for i, block in enumerate(s):
            writer.update(block)
            if i == 2_000:
                break
    writer.close()
    t = pq.read_table(tmp_path / "b.parquet")
    np.testing.assert_array_equal(
        t["ts_event"].cast("int64").to_numpy(), small_day["ts_event"][:2_001].astype(np.int64)
    )
    assert t["action"].to_pylist() == [a.decode() for a in small_day["action"][:2_001]]
    np.testing.assert_array_equal(t["bid_px_03"].to_numpy(), small_day["bid_px_03"][:2_001])


def test_uncompressed_dbn_streams_like_zstd(tmp_path, small_day, small_day_file):
    import datetime as dt

    from mbp10.bars import BarsConsumer
    from mbp10.io import scan_dbn
    from mbp10.synth import synth_header

    plain = tmp_path / "day.dbn"
    plain.write_bytes(synth_header(dt.date(2024, 1, 2)) + small_day.tobytes())
    assert databento.DBNStore.from_file(plain).to_ndarray().shape == small_day.shape
    tables = []
    for path in (plain, small_day_file):
        consumer = BarsConsumer()
        stats = scan_dbn(path, [consumer])
        assert stats.streamed and stats.records == len(small_day)
        tables.append(consumer.finish())
    for name in tables[0].column_names:
        np.testing.assert_array_equal(tables[0][name].to_numpy(), tables[1][name].to_numpy(), err_msg=name)
