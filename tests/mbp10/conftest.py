"""Fixtures of the mbp10 tests: small synthetic days, generated once per session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from mbp10.synth import synth_day, synth_header


@pytest.fixture(scope="session")
def small_day() -> np.ndarray:
    """A 30k-record synthetic day (with its R clear at the halt)."""
    return synth_day(dt.date(2024, 1, 2), 30_000, seed=7)


@pytest.fixture(scope="session")
def small_day_file(tmp_path_factory, small_day) -> Path:
    from mbp10.dbn import write_dbn

    path = tmp_path_factory.mktemp("dbn") / "2024-01-02.dbn.zst"
    write_dbn(path, synth_header(dt.date(2024, 1, 2)), small_day)
    return path


@pytest.fixture(scope="session")
def small_day_bars(small_day):
    """(fast bars table, reference bars dict) of the small synthetic day, computed once."""
    from mbp10.bars import compute_bars
    from mbp10.reference import bars_reference

    return compute_bars(small_day), bars_reference(small_day)
