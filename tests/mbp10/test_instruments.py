"""Books never mix: a file holding several instruments gives, for each instrument, exactly the bars of that
instrument alone (fast path and reference), symbols come from the DBN header's mappings, and the default /
--symbol / --instrument-id / --spreads / --front-month selections keep what they say.

Multi-instrument inputs are built independently of the code under test: a real ES file and a re-keyed copy
of it (another instrument_id, prices 1,000 points higher, times shifted) interleaved by ts_recv with
numpy, and `synth_instruments` (each instrument simulated on its own stream, then interleaved).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pyarrow as pa
import pytest
from mbp10.bars import compute_bars
from mbp10.dbn import encode_metadata, read_dbn, write_dbn
from mbp10.pipeline import day_bars, day_features
from mbp10.reference import bars_reference_by_instrument
from mbp10.schema import PRICE_SCALE, UNDEF_PRICE
from mbp10.symbology import Selection
from mbp10.synth import INSTRUMENT_ID, synth_header, synth_instruments

from perfkit import digest_table

from .test_bars_parity import assert_bars_equal
from .testdata import ES_REAL, shared_file

DATE = dt.date(2024, 1, 2)
SYMBOLS = ("ESH4", "ESM4", "ESH4-ESM4")


def rekeyed(records: np.ndarray, instrument_id: int, points: float, shift_ns: int) -> np.ndarray:
    """A copy of `records` as another instrument: new id, every defined price moved, times shifted."""
    out = records.copy()
    out["instrument_id"] = instrument_id
    delta = round(points * PRICE_SCALE)
    names = ["price"] + [f"{s}_px_{k:02d}" for s in ("bid", "ask") for k in range(10)]
    for name in names:
        col = out[name]
        col[col != UNDEF_PRICE] += delta
    out["ts_event"] += shift_ns
    out["ts_recv"] += shift_ns
    return out


def interleave(*parts: np.ndarray) -> np.ndarray:
    rec = np.concatenate(parts)
    return rec[np.argsort(rec["ts_recv"], kind="stable")]


def per_instrument_alone(records: np.ndarray) -> dict:
    ids = records["instrument_id"]
    out = {}
    for iid in np.unique(ids):
        mine = records[ids == iid]
        out[int(iid)] = compute_bars(mine[np.argsort(mine["ts_event"].astype(np.int64), kind="stable")])
    return out


def assert_split_equals_alone(table, alone: dict) -> None:
    ids = table.column("instrument_id").to_numpy()
    assert sorted(np.unique(ids).tolist()) == sorted(alone)
    for iid, bars in alone.items():
        part = table.filter(ids == iid)
        assert part.num_rows == bars.num_rows
        for name in bars.column_names:
            a = part.column(name).to_numpy(zero_copy_only=False)
            b = bars.column(name).to_numpy(zero_copy_only=False)
            np.testing.assert_array_equal(a, b, err_msg=f"{iid} {name}")


@pytest.mark.shared
def test_real_file_and_rekeyed_copy_interleaved(tmp_path):
    real = read_dbn(shared_file(ES_REAL / "esh4-glbx-mdp3-20231225.mbp-10.derived.dbn.zst"))
    a = np.array(real.records)
    b = rekeyed(a, 99, 1000.0, 1_234_567)
    both = interleave(a, b)
    assert not (both["instrument_id"][:-1] == both["instrument_id"][1:]).all()  # really interleaved
    start, end = int(both["ts_event"].min()), int(both["ts_event"].max()) + 1
    header = encode_metadata(
        dataset="GLBX.MDP3", start_ns=start, end_ns=end, instruments=[("ESH4", 17077), ("ESZ9", 99)]
    )
    path = tmp_path / "two.dbn.zst"
    write_dbn(path, header, both)
    bars, stats = day_bars(path)
    assert stats.records == len(both)
    assert_split_equals_alone(bars, per_instrument_alone(both))
    symbols = dict(
        zip(bars.column("instrument_id").to_pylist(), bars.column("symbol").to_pylist(), strict=True)
    )
    assert symbols == {17077: "ESH4", 99: "ESZ9"}
    # the copy's mids are its own book: 1,000 points above the original's, bar for bar
    ids = bars.column("instrument_id").to_numpy()
    mid = bars.column("bar5s_book_mid_px_eob").to_numpy(zero_copy_only=False)
    assert np.nanmin(mid[ids == 99]) > np.nanmax(mid[ids == 17077]) + 500
    # the reference on a slice agrees per instrument too
    part = both[:6000]
    ref = bars_reference_by_instrument(part)
    fast = per_instrument_alone(part)
    for iid in ref:
        assert_bars_equal(fast[iid], ref[iid])


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    rec = synth_instruments(DATE, 24_000, 5, SYMBOLS)
    path = tmp_path_factory.mktemp("multi") / "three.dbn.zst"
    write_dbn(path, synth_header(DATE, SYMBOLS, parent="ES.FUT"), rec)
    return rec, path


def test_synth_instruments_split_equals_each_alone_and_reference(three):
    rec, path = three
    assert set(np.unique(rec["instrument_id"]).tolist()) == {
        INSTRUMENT_ID,
        INSTRUMENT_ID + 1,
        INSTRUMENT_ID + 2,
    }
    bars, _ = day_bars(path, selection=Selection(spreads=True))
    assert_split_equals_alone(bars, per_instrument_alone(rec))
    ref = bars_reference_by_instrument(rec)
    ids = bars.column("instrument_id").to_numpy()
    for iid, cols in ref.items():
        assert_bars_equal(bars.filter(ids == iid), cols)


def test_symbols_from_the_parent_pull_header_and_default_selection(three):
    _, path = three
    bars, stats = day_bars(path)  # default: outrights only
    pairs = set(zip(bars.column("instrument_id").to_pylist(), bars.column("symbol").to_pylist(), strict=True))
    assert pairs == {(INSTRUMENT_ID, "ESH4"), (INSTRUMENT_ID + 1, "ESM4")}
    assert stats.integrity["instruments_in_file"] == 3 and stats.integrity["instruments_kept"] == 2


def test_symbol_instrument_id_and_front_month(three):
    rec, path = three
    only, _ = day_bars(path, selection=Selection(symbols=("ESM4",)))
    assert set(only.column("symbol").to_pylist()) == {"ESM4"}
    by_id, _ = day_bars(path, selection=Selection(instrument_ids=(INSTRUMENT_ID + 2,)))
    assert set(by_id.column("symbol").to_pylist()) == {"ESH4-ESM4"}
    # the front month is the outright with the most traded contracts, counted here from the records
    trades = rec[rec["action"] == b"T"]
    volume = {
        iid: int(trades["size"][trades["instrument_id"] == iid].sum())
        for iid in (INSTRUMENT_ID, INSTRUMENT_ID + 1)
    }
    front, _ = day_bars(path, selection=Selection(front_month=True))
    assert set(front.column("instrument_id").to_pylist()) == {max(volume, key=volume.get)}


def test_unknown_symbol_is_bad_input(three):
    from mbp10.errors import Mbp10Error

    _, path = three
    with pytest.raises(Mbp10Error, match="--symbol ESZ9 has no records"):
        day_bars(path, selection=Selection(symbols=("ESZ9",)))


def test_features_never_mix_instruments(three):
    """Levels, touches, approach features and vectors of each instrument equal those computed from its bars
    alone, value for value (the stages run every instrument in one pass: a mixed-up row would show here)."""
    _, path = three
    bars, _ = day_bars(path, selection=Selection(spreads=True))
    p = _params(approach_pts=0.25, reset_pts=1.0)  # tight: every instrument of the short day has touches
    together = day_features(DATE, bars, None, None, p)
    ids = bars.column("instrument_id").to_numpy()
    tid = together.episodes.column("touch_id").to_numpy()
    first = 0  # touch ids of the date count on across instruments (ascending ids)
    for iid in np.unique(ids):
        alone = day_features(DATE, bars.filter(ids == iid), None, None, p)
        n_touches = alone.episodes.num_rows
        assert n_touches > 0
        for name, table in together.tables().items():
            mine = table.filter(table.column("instrument_id").to_numpy() == iid)
            theirs = alone.tables()[name]
            if "touch_id" in theirs.column_names:  # alone, this instrument's touches count from 0
                theirs = theirs.set_column(
                    theirs.column_names.index("touch_id"),
                    "touch_id",
                    pa.array(theirs.column("touch_id").to_numpy() + first),
                )
            assert digest_table(mine) == digest_table(theirs), (name, iid)  # NaN-aware, any chunking
        first += n_touches
    assert len(np.unique(tid)) == len(tid) == first  # touch ids stay unique across instruments


def _params(**kw):
    from mbp10.episodes import EpisodeParams

    return EpisodeParams(**kw)


@pytest.mark.parametrize(
    "name",
    [
        "GLBX.MDP3__test_data.mbp-10.dbn.zst",
        "IFEU.IMPACT__test_data.mbp-10.dbn.zst",
        "NDEX.IMPACT__test_data.mbp-10.dbn.zst",
        "XNAS.ITCH__test_data.mbp-10.dbn.zst",
    ],
)
def test_symbols_match_databento_on_its_own_samples(name):
    """Our symbol of each instrument is the one `databento`'s `to_df()` maps it to (Databento's real headers)."""
    import databento as db

    from .testdata import DATABENTO

    path = DATABENTO / name
    with warnings.catch_warnings():  # databento's to_df uses a pandas keyword pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        df = db.DBNStore.from_file(path).to_df()
    theirs = set(zip(df["instrument_id"].astype(int), df["symbol"].astype(str), strict=True))
    bars, _ = day_bars(path, selection=Selection(spreads=True))
    ours = set(zip(bars.column("instrument_id").to_pylist(), bars.column("symbol").to_pylist(), strict=True))
    assert ours == theirs


def test_symbols_for_each_bar_by_its_utc_date():
    """One date (the one-sort-free path), a mapping that changes at midnight, rows out of order, no mapping."""
    from mbp10.symbology import DAY_NS, SymbolMap

    m = SymbolMap({7: [(100, 101, "ESH4"), (101, 102, "ESM4")]})
    one = (100 * DAY_NS + np.array([0, 5, DAY_NS - 1])).astype(np.int64)
    assert m.symbols_for(7, one).to_pylist() == ["ESH4"] * 3
    two = np.array([101 * DAY_NS + 1, 100 * DAY_NS, 101 * DAY_NS], np.int64)
    assert m.symbols_for(7, two).to_pylist() == ["ESM4", "ESH4", "ESM4"]
    assert m.symbols_for(7, np.array([102 * DAY_NS], np.int64)).to_pylist() == [None]
    assert m.symbols_for(8, one).to_pylist() == [None] * 3
    assert m.symbols_for(7, np.empty(0, np.int64)).to_pylist() == []
