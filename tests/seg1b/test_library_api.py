"""The library as a notebook user calls it: docs/seg1b.md's Python examples run as written, and a bad argument
is a Seg1bError naming it instead of a TypeError from deep inside, or a silently different run (seed 7.5 was
seed 7; count 100.5 was 100; each case below did one of those before 2026-12-08)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from seg1b.countries import load_countries
from seg1b.errors import Seg1bError
from seg1b.philox import seed_key
from seg1b.quicklook import run_map
from seg1b.s1 import S1Params, run_s1
from seg1b.s6 import S6Params
from seg1b.sites import run_sites

from tests.doc_examples import python_blocks, run_blocks

PAGE = "seg1b.md"


def test_library_example_runs(capsys):
    run_blocks(PAGE, [b for b in python_blocks(PAGE) if "run_s1(" in b])
    out = capsys.readouterr().out
    assert "seg1b s1: 324 tiles, 2 countries" in out
    assert "1000 sites, receipt blake2b-256/v1:" in out
    assert out.rstrip().endswith("seed must be a whole number, got 7.5")


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("api") / "s1"
    run_s1(
        S1Params(
            out=out, countries="ne110m", resolution_arcsec=600, only="NLD,BEL", row_group_size=10, quiet=True
        )
    )
    return out


def test_bbox_example_reads_the_window(index):
    """The GeoParquet section's bounding-box query, on a small index (its OUT is this one)."""
    (code,) = [b for b in python_blocks(PAGE) if "tiles_near_utrecht" in b]
    scope = run_blocks(PAGE, [code.replace('"OUT/tiles"', repr(str(index / "tiles")))])
    window = scope["tiles_near_utrecht"]
    assert 0 < window.num_rows < 324
    assert set(window.column("country_iso").to_pylist()) <= {"NLD", "BEL"}


def _s6(**kw) -> S6Params:
    return S6Params(
        **{"tiles": "t", "sites": "p", "seed": 7, "out": "o", "workers": 1, "countries": "ne110m", **kw}
    )


class _Frame:
    """Stands for a GeoDataFrame (it has ``to_file``) without reading one."""

    def to_file(self, path):  # pragma: no cover - never called
        raise AssertionError


CASES = [
    ("seed 7.5 ran seed 7", lambda: seed_key(7.5), "seed must be a whole number, got 7.5"),
    ("seed '7' ran seed 7", lambda: seed_key("7"), "seed must be a whole number"),
    ("seed True ran seed 1", lambda: seed_key(True), "seed must be a whole number"),
    (
        "s6 max_attempts 64.9",
        lambda: _s6(max_attempts=64.9).resolved(),
        "max_attempts must be a whole number",
    ),
    ("s6 max_attempts str", lambda: _s6(max_attempts="64").resolved(), "max_attempts must be a whole number"),
    ("s6 workers str", lambda: _s6(workers="1").resolved(), "workers must be a whole number"),
    ("s6 chunk_sites 10.5", lambda: _s6(chunk_sites=10.5).resolved(), "chunk_sites must be a whole number"),
    ("s1 workers str", lambda: S1Params(out="o", workers="2"), "workers must be a whole number"),
    ("s1 row_group_size 1000.5", lambda: S1Params(out="o", row_group_size=1000.5), "row_group_size must be"),
    ("s1 only an int", lambda: S1Params(out="o", only=3), "only must be country keys"),
    # a GeoDataFrame or None for a path: pandas' 'truth value is ambiguous', or a TypeError naming nothing
    ("s1 countries a frame", lambda: S1Params(out="o", countries=_Frame()), "countries must be a path"),
    ("s1 out None", lambda: S1Params(out=None), "out must be a path"),
    ("s1 key an int", lambda: S1Params(out="o", key=3), "key must be a name (str), got int"),
    ("s6 tiles None", lambda: _s6(tiles=None).resolved(), "tiles must be a path"),
    ("s6 countries a frame", lambda: _s6(countries=_Frame()).resolved(), "gdf.to_file"),
    ("sites tiles None", lambda: run_sites(None, 10, 1, "p.parquet"), "tiles_dir must be a path"),
    ("map countries a frame", lambda: run_map("t", "m.png", countries=_Frame()), "countries must be a path"),
    ("load_countries a frame", lambda: load_countries(_Frame()), "countries must be a path"),
    ("load_countries key int", lambda: load_countries("ne110m", key=3), "key must be a name (str), got int"),
]


@pytest.mark.parametrize("call, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_is_named(call, message):
    with pytest.raises(Seg1bError) as err:
        call()
    assert message in str(err.value)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"count": 100.5}, "count must be a whole number, got 100.5"),
        ({"count": "100"}, "count must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number, got 1.5"),
        ({"seed": "1"}, "seed must be a whole number"),
    ],
)
def test_sites_refuses_before_writing(index, tmp_path, kw, message):
    with pytest.raises(Seg1bError, match=re.escape(message)):
        run_sites(index, kw.get("count", 10), kw.get("seed", 1), tmp_path / "plan.parquet")
    assert not any(tmp_path.iterdir())


def test_whole_floats_and_numpy_ints_are_taken(index, tmp_path):
    """1e3 sites and a numpy seed are the same plan as 1000 and 1 (the refusal is for fractions only)."""
    import numpy as np

    a = run_sites(index, 1000, 1, tmp_path / "a.parquet")
    b = run_sites(index, 1e3, np.int64(1), tmp_path / "b.parquet")
    assert a["counts"] == b["counts"]
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert _s6(seed=np.uint64(7), max_attempts=64.0, chunk_sites=1e5).resolved().seed == 7


def test_map_only_not_a_list(index, tmp_path):
    with pytest.raises(Seg1bError, match="only must be country keys"):
        run_map(index, tmp_path / "m.png", only=3)
    assert not any(tmp_path.iterdir())


def _unit():
    """A 2x2-degree box over 1-degree cells: its four tiles, 20 sites."""
    import numpy as np
    import shapely
    from seg1b.grid import Grid

    grid = Grid(3600)
    rows, cols = np.meshgrid([37, 38], [184, 185], indexing="ij")
    tiles = np.sort(grid.tile_id(rows.ravel(), cols.ravel()))
    return shapely.box(4.0, 51.0, 6.0, 53.0), grid, np.arange(20, dtype=np.int64), np.arange(20) % 4, tiles


def _jitter(**kw):
    from seg1b.s6.kernels import jitter_country

    geom, grid, site_id, tix, tiles = _unit()
    args = {"site_id": site_id, "tix": tix, "tiles": tiles, "key": (7, 0), "max_attempts": 64, **kw}
    return jitter_country(geom, grid, **args)


@pytest.mark.parametrize(
    "kw, message",
    [
        # the kernels index the tiles by tix without bounds checks: these read past the arrays, silently
        ({"tix": [0, 1, 2]}, "tix has 3 entries for 20 sites"),
        ({"tix": [4] * 20}, "tix must index tiles (0..3), got 4..4"),
        ({"tix": [-1] * 20}, "tix must index tiles"),
        ({"tix": [0.5] * 20}, "tix must be a 1-D array of integers"),
        ({"tiles": [3, 2, 1, 0]}, "tiles must be sorted distinct tile ids"),
        ({"max_attempts": 0}, "max_attempts must be in 1..32767"),
        ({"key": (-1, 0)}, "key must be two integers"),
    ],
)
def test_jitter_country_checks_its_arrays(kw, message):
    """``s6.kernels.jitter_country``, the face the docs name; a tix past the tiles crashed the process."""
    with pytest.raises(Seg1bError, match=re.escape(message)):
        _jitter(**kw)


def test_jitter_country_still_jitters():
    res = _jitter(tix=[0, 1, 2, 3] * 5, tiles=list(_unit()[4]))  # lists are taken as arrays
    assert res.lon.shape == (20,) and ((res.lon >= 4.0) & (res.lon <= 6.0)).all()


def test_read_only_arrays_are_not_a_new_kernel_type():
    """Read-only arrays (Arrow's zero-copy ``to_numpy``) are another Numba type: the S6 kernels were compiled
    again for them (~7 s) and a new entry cached. jitter_country copies them to writable arrays first."""
    import numpy as np
    from seg1b.s6 import _draw

    *_, site_id, tix, tiles = _unit()
    _jitter()
    if not hasattr(_draw.draw_first, "signatures"):
        pytest.skip("NUMBA_DISABLE_JIT: no compiled signatures to compare")
    before = list(_draw.draw_first.signatures)
    frozen = [np.array(a) for a in (site_id, tix, tiles)]
    for a in frozen:
        a.flags.writeable = False
    _jitter(site_id=frozen[0], tix=frozen[1], tiles=frozen[2])
    assert list(_draw.draw_first.signatures) == before


def test_plan_written_from_a_pandas_index_is_named(tmp_path):
    """``df.set_index("site_id").to_parquet(...)`` of ids 0..n-1 stores no site_id at all (a RangeIndex is
    metadata): the plan is refused saying so, not only that it 'lacks column(s) site_id'."""
    import pandas as pd
    from seg1b.sites import read_plan

    plan = pd.DataFrame({"site_id": [0, 1, 2], "country_iso": ["NLD"] * 3, "tile_id": [5, 6, 7]})
    plan.set_index("site_id").to_parquet(tmp_path / "plan.parquet")
    with pytest.raises(Seg1bError, match=r"site_id as the pandas index .* df\.reset_index\(\)"):
        read_plan(tmp_path / "plan.parquet")
    plan.to_parquet(tmp_path / "ok.parquet")
    assert len(read_plan(tmp_path / "ok.parquet")) == 3


def test_dataset_receipt_of_out_or_its_tiles_and_nothing_else(index, tmp_path):
    """docs/seg1b.md: ``seg1b.s1.io.dataset_receipt(OUT/tiles)`` recomputes the receipt. Given OUT, a missing
    folder or S6's sites it returned the receipt of no files, which matches no run, without a word."""
    import json

    from seg1b.s1.io import dataset_receipt

    receipt = json.loads((index / "run_report.json").read_text())["receipts"]["tiles"]["digest"]
    assert dataset_receipt(index / "tiles") == dataset_receipt(index) == receipt
    for wrong in (tmp_path / "missing", tmp_path, index / "run_report.json"):
        with pytest.raises(Seg1bError, match="no S1 tile files"):
            dataset_receipt(wrong)
