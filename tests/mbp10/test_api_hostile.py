"""`mbp10.api` and the lower-level pieces docs/mbp10.md names, called as a careless notebook user would.

Each case was a silent wrong answer or an unhelpful error before (noted per test): a library call either
gives the right answer or raises `Mbp10Error` / `TypeError` with a message naming the argument.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from mbp10 import api as mb
from mbp10.episodes import EpisodeParams
from mbp10.errors import Mbp10Error
from mbp10.io import plain, typed

SYMBOLS = ("ESH4", "ESM4", "ESH4-ESM4")
D2, D3 = dt.date(2024, 1, 2), dt.date(2024, 1, 3)
QUIET = EpisodeParams(approach_pts=0.25, reset_pts=1.0, break_pts=0.5, bounce_pts=1.0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_header, synth_instruments

    folder = tmp_path_factory.mktemp("api")
    out = {}
    for date in (D2, D3):
        out[date] = folder / f"ES.FUT-{date}.dbn.zst"
        write_dbn(
            out[date],
            synth_header(date, SYMBOLS, parent="ES.FUT"),
            synth_instruments(date, 30_000, 1, SYMBOLS),
        )
    return out


@pytest.fixture(scope="module")
def days(files):
    return mb.features(files, params=QUIET)


@pytest.fixture(scope="module")
def last(days):
    vectors = days["vectors"]
    assert vectors.num_rows > 5
    return vectors.column("touch_id")[vectors.num_rows - 1].as_py()


def test_one_symbol_as_a_string_is_that_symbol(files):
    # before: iterated letter by letter, "--symbol E has no records in the file"
    one = mb.bars(files[D2], symbols="ESM4")
    assert one.equals(mb.bars(files[D2], symbols=["ESM4"]))
    assert set(one.column("symbol").to_pylist()) == {"ESM4"}


def test_one_instrument_id_as_an_int_is_that_id(files):
    # before: TypeError "'int' object is not iterable"
    assert mb.bars(files[D2], instrument_ids=4242).equals(mb.bars(files[D2], instrument_ids=[4242]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"instrument_ids": [4242.7]}, "whole number, not float 4242.7"),  # before: bars of 4242, silently
        ({"instrument_ids": ["x"]}, "whole number, not str"),
        ({"spreads": "no"}, "spreads must be True or False"),  # before: "no" is truthy, the spread was kept
        ({"front_month": 1}, "front_month must be True or False"),
        ({"symbols": [4242]}, "symbols must be strings"),
    ],
)
def test_bars_refuses_wrong_types(files, kwargs, match):
    with pytest.raises(TypeError, match=match):
        mb.bars(files[D2], **kwargs)


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        (
            {"2024-01-02": "f"},
            TypeError,
            "keys must be datetime.date, not str",
        ),  # before: AttributeError 'year'
        ({dt.datetime(2024, 1, 2): "f"}, TypeError, "not datetime"),  # before: date arithmetic TypeError
        (["f"], TypeError, "inputs must be a mapping"),  # before: "list indices must be integers"
        ({}, Mbp10Error, "no inputs"),  # before: returned {}, so days["vectors"] was a KeyError
    ],
)
def test_features_refuses_wrong_inputs(inputs, error, match):
    with pytest.raises(error, match=match):
        mb.features(inputs)


def test_features_refuses_params_that_are_not_episode_params(files):
    with pytest.raises(TypeError, match="EpisodeParams, not dict"):  # before: AttributeError
        mb.features(files, params={"approach_pts": 1.0})


@pytest.mark.parametrize(
    ("k", "error", "match"),
    [
        (-3, Mbp10Error, "at least 1"),  # before: 10 rows (a slice [:-3] of the candidates)
        (0, Mbp10Error, "at least 1"),
        ("5", TypeError, "k must be a whole number"),  # before: "slice indices must be integers"
        (2.5, TypeError, "k must be a whole number"),
    ],
)
def test_neighbours_refuses_a_bad_k(days, last, k, error, match):
    with pytest.raises(error, match=match):
        mb.neighbours(days["vectors"], last, k=k)


def test_neighbours_bad_touch_ids_and_tables(days, last):
    vectors = days["vectors"]
    with pytest.raises(TypeError, match="touch_id must be a whole number"):  # before: KeyError
        mb.neighbours(vectors, str(last))
    with pytest.raises(Mbp10Error, match="touch_id 1 is not in the vectors"):  # before: KeyError: 1
        mb.neighbours(vectors, 1)
    with pytest.raises(Mbp10Error, match="not a setup vectors table"):  # before: KeyError naming one field
        mb.neighbours(days["bar5s"], last)
    with pytest.raises(TypeError, match="pyarrow Table or a polars/pandas frame"):
        mb.neighbours(vectors.to_pylist(), last)


def test_neighbours_refuses_null_vectors(days, last):
    vectors = days["vectors"]
    i = vectors.schema.get_field_index("vector")
    col = vectors.column("vector").to_pylist()
    col[0] = None  # before: flatten() dropped the null, and every later row read its neighbour's values
    holed = vectors.set_column(i, "vector", pa.array(col, vectors.schema.field("vector").type))
    with pytest.raises(Mbp10Error, match="1 null vectors"):
        mb.neighbours(holed, last)


@pytest.mark.parametrize(
    "as_of",
    [dt.datetime(2024, 1, 3, 12), "2024-01-03T12:00Z", dt.date(2024, 1, 3)],
)
def test_neighbours_as_of_must_be_an_aware_datetime(days, last, as_of):
    with pytest.raises(TypeError, match="timezone-aware datetime"):  # before: arithmetic TypeErrors
        mb.neighbours(days["vectors"], last, as_of=as_of)


def test_neighbours_of_a_pandas_frame_and_a_typed_table(days, last):
    from mbp10.vectors import nearest

    vectors = days["vectors"]
    want = mb.neighbours(vectors, last, k=5)
    assert want.num_rows == 5
    from_pandas = mb.neighbours(vectors.to_pandas(), last, k=5)  # before: AttributeError "to_arrow"
    assert from_pandas.to_pylist() == want.to_pylist()
    # the lower-level `nearest` on a table as written (timestamps): before, a numpy UFuncTypeError
    assert nearest(vectors, last, 5).equals(nearest(plain(vectors), last, 5))


def test_day_features_on_typed_bars_and_refusals(files):
    from mbp10.pipeline import day_bars, day_features

    b2, _ = day_bars(files[D2])
    b3, _ = day_bars(files[D3])
    want = day_features(D3, b3, b2, D2, QUIET).tables()
    # mb.bars' tables: typed, with a distance to round numbers (before: a numpy UFuncTypeError; plain ones
    # got a second distance column)
    got = day_features(D3, mb.bars(files[D3]), mb.bars(files[D2]), D2, QUIET).tables()
    assert want["vectors"].num_rows > 0
    for name in want:
        assert typed(got[name]).equals(typed(want[name])), name  # typed: NaN as null, so NaN equals NaN
    with pytest.raises(Mbp10Error, match="look-ahead"):  # before: the same day's levels as prior-day levels
        day_features(D3, b3, b3, D3, QUIET)
    with pytest.raises(
        Mbp10Error, match="without prev_date"
    ):  # before: the prior-day levels dropped silently
        day_features(D3, b3, b2, None, QUIET)
    with pytest.raises(TypeError, match="pyarrow Table"):
        day_features(D3, b3.to_pandas(), None, None, QUIET)
    with pytest.raises(TypeError, match="EpisodeParams"):
        day_features(D3, b3, None, None, None)


def test_synthetic_day_helpers_check_their_arguments(tmp_path):
    """The helpers of the docs' Python API example (`synth_instruments`, `synth_header`, `write_dbn`)."""
    import numpy as np
    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_header, synth_instruments

    one = synth_instruments(D2, 1_000, 1, "ESH4")  # before: four instruments E, S, H, 4
    assert one.tobytes() == synth_instruments(D2, 1_000, 1, ("ESH4",)).tobytes()
    assert synth_header(D2, "ESH4") == synth_header(D2, ("ESH4",))  # before: a mapping per letter
    for args, match in [
        ((D2, 1_000, 1, ("ESH4", "ESH4")), "twice"),  # before: accepted (the command line refuses it)
        ((D2, 1_000, 1, ()), "one or more"),  # before: "need at least one array to concatenate"
        ((D2, 79, 1, ("ESH4", "ESM4")), "at least 80"),  # before: 80 records whatever was asked, even -5
        ((D2, 1_000, "1", ("ESH4",)), "seed='1'"),  # before: a str seed gave another day than the int
    ]:
        with pytest.raises(Mbp10Error, match=match):
            synth_instruments(*args)
    header = synth_header(D2)
    for header_, records, match in [
        (header, np.zeros(10), "MBP10_DTYPE"),  # before: a file every reader refuses ("partial record")
        (header, [1, 2], "MBP10_DTYPE"),
        (b"garbage", one, "DBN header"),  # before: written, then "not a DBN file" on reading
    ]:
        with pytest.raises(Mbp10Error, match=match):
            write_dbn(tmp_path / "x.dbn.zst", header_, records)
    assert not (tmp_path / "x.dbn.zst").exists()


def test_day_bars_never_writes_its_bronze_over_the_input(files, tmp_path):
    import shutil

    from mbp10.pipeline import day_bars

    day = tmp_path / "day.dbn.zst"
    shutil.copy(files[D2], day)
    before = day.read_bytes()
    with pytest.raises(Mbp10Error, match="is the input"):  # before: the DBN file became its bronze Parquet
        day_bars(day, day)
    assert day.read_bytes() == before
    with pytest.raises(Mbp10Error, match="is a folder"):  # before: OSError naming a temporary
        day_bars(day, tmp_path)
    with pytest.raises(TypeError, match="Selection, not dict"):  # before: AttributeError 'keeps'
        day_bars(day, selection={"symbols": ["ESH4"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.dbn.zst"]


def test_features_are_what_run_writes(files, days, tmp_path):
    """`mbp10.api.features` returns "what the commands write" (its docstring, docs/mbp10.md): every table
    equals `mbp10 run`'s files of the same inputs and parameters, read back, dates concatenated."""
    import shutil

    import pyarrow.parquet as pq
    from click.testing import CliRunner
    from mbp10.cli import main

    inputs = tmp_path / "days"
    inputs.mkdir()
    for date, path in files.items():
        shutil.copy(path, inputs / f"ES-{date}.dbn.zst")
    out = tmp_path / "out"
    params = ["--approach-pts", "0.25", "--reset-pts", "1", "--break-pts", "0.5", "--bounce-pts", "1"]
    args = [
        "run",
        "--input-dir",
        str(inputs),
        "--dates",
        f"{D2}..{D3}",
        "--executor",
        "serial",
        "--out",
        str(out),
    ]
    r = CliRunner().invoke(main, [*args, *params, "--quiet"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    from mbp10.pipeline import STAGE_DIRS

    for name, sub in STAGE_DIRS.items():
        written = pa.concat_tables(pq.read_table(out / sub / f"{d}.parquet") for d in (D2, D3))
        assert days[name].num_rows == written.num_rows > 0, name
        assert days[name].column_names == written.column_names and days[name].equals(written), name


def test_bars_are_what_the_bars_command_writes(files, tmp_path):
    import pyarrow.parquet as pq
    from click.testing import CliRunner
    from mbp10.cli import main

    for extra, kw in (
        ([], {}),
        (["--symbol", "ESM4"], {"symbols": "ESM4"}),
        (["--spreads"], {"spreads": True}),
    ):
        out = tmp_path / f"b{len(extra)}{kw.get('spreads', '')}.parquet"
        r = CliRunner().invoke(main, ["bars", str(files[D2]), "-o", str(out), *extra, "--quiet"])
        assert r.exit_code == 0, r.output
        written = pq.read_table(out)
        got = mb.bars(files[D2], **kw)
        assert got.num_rows > 0 and got.column_names == written.column_names and got.equals(written), extra


def test_a_selection_of_one_symbol_or_id(files):
    from mbp10.pipeline import day_bars
    from mbp10.symbology import Selection

    # before: "--symbol E has no records in the file" and "argument of type 'int' is not iterable"
    assert Selection(symbols="ESM4") == Selection(symbols=("ESM4",))
    assert Selection(instrument_ids=4243) == Selection(instrument_ids=(4243,))
    bars, _ = day_bars(files[D2], selection=Selection(symbols="ESM4"))
    assert set(bars.column("symbol").to_pylist()) == {"ESM4"}


def test_episode_parameters_from_numpy_numbers():
    import json

    import numpy as np

    # before: "horizon_bars=60: must be a whole number of 5-s bars" for np.int64(60) (np.arange of a grid)
    grid = [EpisodeParams(horizon_bars=h, approach_pts=np.float32(0.5)) for h in np.arange(60, 181, 60)]
    assert grid[0] == EpisodeParams(horizon_bars=60, approach_pts=0.5)
    assert json.loads(json.dumps(grid[-1].to_dict()))["horizon_bars"] == 180  # a run report's config


def test_a_synthetic_day_larger_than_memory_is_refused_before_allocating():
    from mbp10.synth import synth_day, synth_instruments

    # before: numpy's MemoryError here; a size the allocation accepts but the work does not (about 5*10**7
    # records on this 23 GiB host without swap) had no check before filling memory. Only this size is safe
    # to try on the old code: calloc refuses it at once.
    with pytest.raises(Mbp10Error, match=r"needs about .* of memory"):
        synth_day(D2, 10**15, 1)
    with pytest.raises(Mbp10Error, match=r"needs about .* of memory"):
        synth_instruments(D2, 10**15, 1, SYMBOLS)


def test_a_library_holding_the_query_twice_is_refused(days, last):
    vectors = days["vectors"]
    decided = vectors.column("decision_ns")[vectors.num_rows - 1].as_py()  # the query's decision time
    twice = pa.concat_tables([vectors, vectors])  # e.g. the same dates from two runs, concatenated
    # before: the query's own copy came back as its nearest neighbour, at distance 0
    with pytest.raises(Mbp10Error, match=f"touch_id {last} is in the library 2 times"):
        mb.neighbours(twice, last, k=3, as_of=decided)
