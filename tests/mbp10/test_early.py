"""`mbp10.early`: the features' work done on each instrument's final rows while a file is read gives every
table exactly as the work done on the whole day's bars does, whatever the pieces' size and the moments the
work runs (here: after every block, as in the caller's waits for the reader thread), with many touches whose
levels' states are carried from one piece to the next, with a previous day, and when an out-of-order file
is fed again from the start."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from mbp10 import bars as bars_module
from mbp10 import early as early_module
from mbp10 import io as io_module
from mbp10.bars import BarsConsumer
from mbp10.dbn import write_dbn
from mbp10.early import EarlyFeatures
from mbp10.episodes import EpisodeParams
from mbp10.io import scan_dbn
from mbp10.pipeline import day_bars, day_features, day_outputs
from mbp10.schema import BAR_NS
from mbp10.symbology import Selection
from mbp10.synth import synth_header, synth_instruments

from perfkit import digest_table

DATE = dt.date(2024, 1, 2)
SYMBOLS = ("ESH4", "ESM4", "ESH4-ESM4")
FINE = EpisodeParams(approach_pts=0.25, reset_pts=0.25, horizon_bars=30, window_before=5, window_after=50)


@pytest.fixture(scope="module")
def records():
    return synth_instruments(DATE, 40_000, 11, SYMBOLS)


def write(tmp_path, rec):
    path = tmp_path / "day.dbn.zst"
    write_dbn(path, synth_header(DATE, SYMBOLS, parent="ES.FUT"), rec)
    return path


class Stepper:
    """A `scan_dbn` consumer after the bars': runs `early.step()` until it has nothing left after each block,
    as the caller does while it waits for the reader thread."""

    def __init__(self, early: EarlyFeatures) -> None:
        self.early = early
        self.pieces = 0
        self.levels_before_end = 0

    def update(self, rec) -> None:
        while not self.early.step():
            self.pieces += 1
        self.levels_before_end = sum(inst.levels is not None for inst in getattr(self.early, "by_index", []))

    def reset(self) -> None:
        pass


def early_and_late(monkeypatch, path, params, piece, prev=None, prev_date=None, quiet=True):
    monkeypatch.setattr(io_module, "CHUNK_RECORDS", 700)  # many blocks
    monkeypatch.setattr(bars_module, "STREAM_OUTPUT_ROWS", 64)  # final rows move often
    monkeypatch.setattr(early_module, "PIECE", piece)
    monkeypatch.setattr(early_module, "_quiet", lambda: quiet)  # as on an otherwise idle machine, or not
    consumer = BarsConsumer(selection=Selection(spreads=True))
    early = EarlyFeatures(DATE, prev, prev_date, params)
    early.watch(consumer)
    stepper = Stepper(early)
    scan_dbn(path, [consumer, stepper], 0)
    bars = consumer.finish(str(path))
    got = day_features(DATE, bars, prev, prev_date, params, early)
    want = day_features(DATE, bars, prev, prev_date, params)
    return got, want, stepper


def assert_same(got, want) -> None:
    for (name, a), b in zip(got.tables().items(), want.tables().values(), strict=True):
        assert a.schema == b.schema, name
        assert a.num_rows == b.num_rows, name
        assert digest_table(a) == digest_table(b), name


@pytest.mark.parametrize(
    ("params", "piece"), [(EpisodeParams(), 2048), (EpisodeParams(), 1), (FINE, 7), (FINE, 300)]
)
def test_work_during_the_read_equals_the_whole_day(monkeypatch, tmp_path, records, params, piece):
    got, want, stepper = early_and_late(monkeypatch, write(tmp_path, records), params, piece)
    assert_same(got, want)
    assert stepper.pieces > 10 and stepper.levels_before_end == len(SYMBOLS)  # the work was done early
    assert want.episodes.num_rows > (100 if params is FINE else -1)


def test_nothing_is_done_while_another_process_wants_a_core(monkeypatch, tmp_path, records):
    got, want, stepper = early_and_late(monkeypatch, write(tmp_path, records), FINE, 64, quiet=False)
    assert_same(got, want)
    assert stepper.pieces == 0 and stepper.early.finish() == {}  # the stages compute from the whole day


def test_with_a_previous_day(monkeypatch, tmp_path, records):
    path = write(tmp_path, records)
    prev, _ = day_bars(path, selection=Selection(spreads=True), ahead=0)
    got, want, _ = early_and_late(monkeypatch, path, FINE, 64, prev, DATE)  # its own RTH: pd levels
    assert_same(got, want)
    assert "pdh" in want.levels.column("level_kind").to_pylist()


def test_a_file_fed_again_after_a_record_out_of_order(monkeypatch, tmp_path, records):
    rec = records.copy()
    ids = rec["instrument_id"]
    k = np.flatnonzero(ids == ids[0])[len(rec) // 4]
    rec["ts_event"][k] += 40 * BAR_NS  # later than its instrument's next record
    got, want, _ = early_and_late(monkeypatch, write(tmp_path, rec), FINE, 64)
    assert_same(got, want)


def test_day_outputs_with_a_reader_thread(tmp_path, records):
    path = write(tmp_path, records)
    got, stats = day_outputs(path, DATE, None, None, FINE, Selection(spreads=True), ahead=2)
    bars, _ = day_bars(path, selection=Selection(spreads=True), ahead=0)
    assert_same(got, day_features(DATE, bars, None, None, FINE))
    assert stats.records == len(records)


def test_touches_in_pieces_equal_find_touches_on_the_whole_grid():
    """Random grids with jumps over levels (a far cell on one side, then the other with no near cell
    between), cut into random pieces: the touches and their directions are `find_touches`' of the whole grid."""
    import pyarrow as pa
    from mbp10.early import _Instrument
    from mbp10.episodes import find_touches, sort_touches

    def check(mid, levels, p, cuts):
        want = find_touches(mid, (np.arange(len(mid)) + 1) * BAR_NS, levels, p)
        inst = _Instrument(None, None)
        inst.mid, inst.cells = mid, len(mid)
        inst.use_levels(levels)
        for c in cuts:
            inst._touches(c, p)
        got = sort_touches(levels, np.zeros(levels.num_rows, np.int64), *inst.touches())
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
        return want

    # far below, then a piece wholly far above (crossed with no near cell), then near from above: +1
    level = pa.table({"level_kind": ["round"], "level_price": [100.0], "valid_from_ns": [0]})
    _, bar, direction = check(np.array([95.0, 105.0, 102.0, 100.0]), level, EpisodeParams(), [1, 2, 4])
    assert bar.tolist() == [3] and direction.tolist() == [1]
    rng = np.random.default_rng(5)
    for _ in range(60):
        n = int(rng.integers(1, 400))
        mid = 100 + np.cumsum(rng.choice([-3.0, -0.5, -0.25, 0.0, 0.25, 0.5, 3.0], n))
        mid[: int(rng.integers(0, 5))] = np.nan  # no mid yet
        k = int(rng.integers(0, 8))
        levels = pa.table(
            {
                "level_kind": [f"k{i % 3}" for i in range(k)],
                "level_price": np.round(100 + rng.normal(0, 4, k) * 4) / 4,
                "valid_from_ns": rng.integers(0, n + 2, k) * BAR_NS,
            }
        )
        p = EpisodeParams(
            approach_pts=float(rng.choice([0.25, 0.5])), reset_pts=float(rng.choice([0.5, 1, 4]))
        )
        check(mid, levels, p, np.unique(np.r_[rng.integers(1, n + 1, int(rng.integers(0, 12))), n]).tolist())
