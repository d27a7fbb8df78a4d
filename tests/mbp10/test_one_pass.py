"""The one-pass bars of a stream of several instruments (`bars.BarsConsumer` -> `kernels.bar5s_multi`) equal
each instrument's bars computed alone (`compute_bars`: the same kernel with that instrument's records only,
one slot; itself checked against the per-record reference in test_bars_parity), whatever the blocks: one record a block, blocks where an instrument appears mid-block, blocks
of one instrument, the whole file as one block, an output that must grow mid-block (the kernel stops and
resumes), and a selection that skips some instruments. The integrity counts are those of a per-record walk.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from mbp10.bars import BarsConsumer, Instruments, MultiBars, compute_bars
from mbp10.symbology import Selection
from mbp10.synth import synth_instruments

from .test_instruments import assert_split_equals_alone

DATE = dt.date(2024, 1, 2)
SYMBOLS = ("ESH4", "ESM4", "ESH4-ESM4", "ESU4")


@pytest.fixture(scope="module")
def four() -> np.ndarray:
    return synth_instruments(DATE, 6_000, 11, SYMBOLS)


def alone(rec: np.ndarray, keep=None) -> dict:
    ids = rec["instrument_id"]
    return {int(i): compute_bars(rec[ids == i]) for i in np.unique(ids) if keep is None or int(i) in keep}


def one_pass(rec: np.ndarray, bounds, selection: Selection, capacity: int = 1024) -> BarsConsumer:
    c = BarsConsumer(selection=selection)
    c.bars = MultiBars(capacity)
    for a, b in itertools.pairwise(bounds):
        c.update(rec[a:b])
    return c


def blocks(n: int, size: int) -> list[int]:
    return [*range(0, n, size), n]


@pytest.mark.parametrize("size", [1, 7, 500, 10**9])
def test_every_block_size_equals_each_instrument_alone(four, size):
    ids = four["instrument_id"]
    c = one_pass(four, blocks(len(four), size), Selection(instrument_ids=tuple(np.unique(ids).tolist())), 2)
    assert_split_equals_alone(c.finish(), alone(four))


def test_blocks_of_one_instrument_and_instruments_appearing_mid_block(four):
    ids = four["instrument_id"]
    runs = [0, *np.flatnonzero(ids[1:] != ids[:-1]) + 1, len(four)]  # each block one instrument's run
    c = one_pass(four, runs, Selection(instrument_ids=tuple(np.unique(ids).tolist())))
    assert_split_equals_alone(c.finish(), alone(four))
    first_seen = sorted(int(np.argmax(ids == i)) for i in np.unique(ids))
    assert any(x % 97 for x in first_seen[1:])  # some appear inside a 97-record block
    c = one_pass(four, blocks(len(four), 97), Selection(instrument_ids=tuple(np.unique(ids).tolist())))
    assert_split_equals_alone(c.finish(), alone(four))


def test_a_selection_skips_instruments_between_kept_ones(four):
    ids = np.unique(four["instrument_id"])
    keep = {int(ids[1]), int(ids[3])}
    c = one_pass(four, blocks(len(four), 333), Selection(instrument_ids=tuple(sorted(keep))), 3)
    assert_split_equals_alone(c.finish(), alone(four, keep))
    assert c.seen == set(ids.tolist())  # skipped instruments are still seen (and counted)


def test_sequence_and_order_counts_match_a_per_record_walk(four):
    rec = four.copy()
    rng = np.random.default_rng(5)
    hit = rng.choice(len(rec), 40, replace=False)
    rec["sequence"][hit] = 0  # below the instrument's record before it
    want_back, last = 0, {}
    for iid, q in zip(rec["instrument_id"].tolist(), rec["sequence"].tolist(), strict=True):
        want_back += q < last.get(iid, -1)
        last[iid] = q
    c = one_pass(rec, blocks(len(rec), 250), Selection(spreads=True))
    assert c.integrity.sequence_backwards == want_back > 0
    # a record earlier than its instrument's record before it is found, at its row, across blocks
    late = int(np.flatnonzero(rec["instrument_id"] == rec["instrument_id"][-1])[-1])
    rec["ts_event"][late] = rec["ts_event"][0] - 1
    inst, bounds = Instruments(), blocks(len(rec), 250)
    for a, b in itertools.pairwise(bounds):
        bad = inst.scan(rec[a:b]).out_of_order
        if bad >= 0:
            break
    assert a + bad == late
