"""The bar5s kernel equals the per-record reference loop (integers exactly, floats to 1e-9 relative)."""

from __future__ import annotations

import numpy as np
import pytest
from mbp10.bar_columns import FLOAT_COLUMNS, INT_COLUMNS
from mbp10.bars import BarAccumulator, compute_bars
from mbp10.dbn import read_dbn
from mbp10.reference import bars_reference

from .testdata import DATABENTO, ES_REAL, shared_file


def assert_bars_equal(fast, ref) -> None:
    assert fast.column("bar_start_ns").to_numpy().tolist() == ref["bar_start_ns"].tolist()
    for name in INT_COLUMNS:
        np.testing.assert_array_equal(fast.column(name).to_numpy(), ref[name], err_msg=name)
    for name in FLOAT_COLUMNS:
        np.testing.assert_allclose(
            fast.column(name).to_numpy(zero_copy_only=False), ref[name], rtol=1e-9, atol=0, err_msg=name
        )


def fast_bars(records: np.ndarray):
    order = np.argsort(records["ts_event"].astype(np.int64), kind="stable")
    return compute_bars(np.ascontiguousarray(records[order]))


def test_synthetic_day_matches_reference(small_day_bars):
    assert_bars_equal(*small_day_bars)


@pytest.mark.parametrize("start", [0, 11_111, 25_000])
def test_synthetic_slices_match_reference(small_day, start):
    part = small_day[start : start + 3_000]
    assert_bars_equal(fast_bars(part), bars_reference(part))


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_chunking_does_not_change_bars(small_day, chunk):
    part = small_day[:5_000]
    whole = fast_bars(part)
    acc = BarAccumulator(capacity=4)
    for i in range(0, len(part), chunk):
        acc.update(part[i : i + chunk])
    got = acc.finish()
    assert got.column_names == whole.column_names
    for name in whole.column_names:
        np.testing.assert_array_equal(got[name].to_numpy(), whole[name].to_numpy(), err_msg=name)


@pytest.mark.parametrize(
    "path",
    [
        DATABENTO / "GLBX.MDP3__test_data.mbp-10.dbn.zst",
        DATABENTO / "IFEU.IMPACT__test_data.mbp-10.dbn.zst",
        DATABENTO / "NDEX.IMPACT__test_data.mbp-10.dbn.zst",
        DATABENTO / "XNAS.ITCH__test_data.mbp-10.dbn.zst",
        DATABENTO / "test_data.mbp-10.v3.dbn.zst",
        pytest.param(ES_REAL / "esh4-glbx-mdp3-20231225.mbp-10.derived.dbn.zst", marks=pytest.mark.shared),
    ],
    ids=lambda p: p.name.split("__")[0].split(".dbn")[0],
)
def test_real_samples_match_reference(path):
    records = read_dbn(shared_file(path)).records
    assert_bars_equal(fast_bars(records), bars_reference(records))
