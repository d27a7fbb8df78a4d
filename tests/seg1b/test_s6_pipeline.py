"""S6 end to end on a deterministic fixture: the 1:110m USA, RUS (two heavy, antimeridian-crossing countries),
FJI (antimeridian islands), GRC, the island states VUT, BHS, TTO and the small dense QAT and NLD, at 10
arc-minutes, with a tile index built by S1 and a plan from ``seg1b sites``."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner
from perfkit.determinism import digest_parquet, digest_table
from seg1b.cli import main as cli
from seg1b.countries import load_countries
from seg1b.geoparquet import attribute_digest
from seg1b.s1.io import RUNS_KEY
from seg1b.s6.pipeline import SITES_SCHEMA, S6BudgetError, S6Params, run_s6
from seg1b.sites import allocate, generate_plan, read_counts, read_plan
from seg1b.tile_index import open_tile_index

pytestmark = pytest.mark.xdist_group("seg1b_s6")

COUNTRIES = ["USA", "RUS", "FJI", "GRC", "VUT", "BHS", "TTO", "QAT", "NLD"]
RES = 600
SITES = 24_000
SEED = 20261121


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory) -> Path:
    from seg1b.s1.pipeline import S1Params, run_s1

    d = tmp_path_factory.mktemp("s6fixture")
    run_s1(
        S1Params(
            out=str(d / "tiles_out"),
            countries="ne110m",
            resolution_arcsec=RES,
            only=tuple(COUNTRIES),
            executor="serial",
            workers=1,
            quiet=True,
        )
    )
    generate_plan(d / "tiles_out", SITES, 1, d / "plan.parquet")
    return d


@pytest.fixture(scope="module")
def geoms():
    c = load_countries("ne110m", only=COUNTRIES)
    for g in c.geometries.values():
        shapely.prepare(g)
    return c.geometries


def _run(fixture_dir: Path, out: Path, **kw) -> dict:
    params = S6Params(
        tiles=str(fixture_dir / "tiles_out"),
        sites=str(fixture_dir / "plan.parquet"),
        seed=kw.pop("seed", SEED),
        out=str(out),
        countries="ne110m",
        **{"workers": 1, **kw},
    )
    return run_s6(params)


@pytest.fixture(scope="module")
def fast(fixture_dir) -> dict:
    return _run(fixture_dir, fixture_dir / "fast")


def _report(summary: dict) -> dict:
    return json.loads(Path(summary["report"]).read_text())


# ------------------------------------------------------------------------------------------------------------
# the output


def test_every_point_inside_its_tile_and_country(fast, fixture_dir, geoms):
    t = pq.read_table(Path(fast["out"]) / "sites")
    tiles = pq.read_table(
        fixture_dir / "tiles_out" / "tiles", columns=["tile_id", "west", "south", "east", "north"]
    )
    ids = tiles.column("tile_id").to_numpy()
    order = np.argsort(ids)
    pos = order[np.searchsorted(ids[order], t.column("tile_id").to_numpy())]
    lon, lat = t.column("lon").to_numpy(), t.column("lat").to_numpy()
    for side, op in (("west", np.greater_equal), ("south", np.greater_equal)):
        assert op(lon if side == "west" else lat, tiles.column(side).to_numpy()[pos]).all()
    assert (lon <= tiles.column("east").to_numpy()[pos]).all()
    assert (lat <= tiles.column("north").to_numpy()[pos]).all()
    country = np.asarray(t.column("country_iso").cast(pa.string()).to_pylist(), dtype=object)
    status = np.asarray(t.column("status").cast(pa.string()).to_pylist(), dtype=object)
    for key, geom in geoms.items():
        sel = country == key
        assert sel.any(), key
        inside = shapely.intersects_xy(geom, lon[sel], lat[sel])
        assert inside[status[sel] == "accepted"].all(), key
    assert set(status) <= {"accepted", "fallback"}


def test_output_schema_order_and_receipt(fast, fixture_dir):
    sites = Path(fast["out"]) / "sites"
    t = pq.read_table(sites)
    assert t.schema.names == [*SITES_SCHEMA.names, "geometry", "bbox"]  # GeoParquet: point + covering
    t = t.select(SITES_SCHEMA.names)
    assert t.schema.remove_metadata() == SITES_SCHEMA
    assert t.num_rows == SITES
    sid = t.column("site_id").to_numpy()
    assert (np.diff(sid) > 0).all()
    plan = read_plan(fixture_dir / "plan.parquet")
    np.testing.assert_array_equal(sid, plan.site_id)
    np.testing.assert_array_equal(t.column("tile_id").to_numpy(), plan.tile_id)
    # the receipt hashes the site columns (the geometry follows from lon/lat): as before GeoParquet
    assert fast["receipt"] == digest_table(t) == attribute_digest(sites)
    assert _report(fast)["receipts"]["sites"]["digest"] == fast["receipt"]


def test_report_rng_budget_and_per_country_facts(fast):
    r = _report(fast)
    c = r["counters"]
    assert c["planned_sites"] == c["written_sites"] == SITES
    assert c["rng_events"] == c["attempts"] >= SITES
    assert c["accepted"] + c["fallback"] == SITES
    assert set(r["items"]) == set(COUNTRIES)
    hist = r["results"]["attempts_histogram"]
    for key, item in r["items"].items():
        ic = item["counters"]
        assert ic["planned"] == ic["written"] > 0
        h = {int(a): n for a, n in hist[key].items()}
        assert sum(h.values()) == ic["planned"]
        assert sum(a * n for a, n in h.items()) == ic["rng_events"]
        assert item["elapsed_s"] >= 0
    assert len(r["top_items"]) == len(r["metrics"]["slowest_countries"]) == min(10, len(COUNTRIES))
    assert r["histograms"]["attempts"]["result"] is True
    assert r["config"]["seed"] == SEED and r["config"]["max_attempts"] == 64
    assert r["status"] == "ok"


def test_different_seed_different_points(fast, fixture_dir, tmp_path):
    other = _run(fixture_dir, tmp_path / "other", seed=SEED + 1)
    assert other["receipt"] != fast["receipt"]


# ------------------------------------------------------------------------------------------------------------
# parity and determinism


def test_legacy_gives_the_identical_receipt(fast, fixture_dir, tmp_path):
    legacy = _run(fixture_dir, tmp_path / "legacy", mode="legacy")
    assert legacy["receipt"] == fast["receipt"]
    rf, rl = _report(fast), _report(legacy)
    assert rf["counters"] == rl["counters"]
    assert rf["results"] == rl["results"]


def test_fallbacks_match_legacy_with_one_attempt(fixture_dir, tmp_path, geoms):
    a = _run(fixture_dir, tmp_path / "fast1", max_attempts=1, chunk_sites=5000)
    b = _run(fixture_dir, tmp_path / "legacy1", max_attempts=1, mode="legacy")
    assert a["receipt"] == b["receipt"]
    assert a["fallback"] > 0
    t = pq.read_table(tmp_path / "fast1" / "sites")
    fb = np.asarray(t.column("status").cast(pa.string()).to_pylist()) == "fallback"
    country = np.asarray(t.column("country_iso").cast(pa.string()).to_pylist(), dtype=object)
    lon, lat = t.column("lon").to_numpy(), t.column("lat").to_numpy()
    assert (t.column("attempts").to_numpy()[fb] == 1).all()
    for key in set(country[fb]):
        sel = fb & (country == key)
        # point_on_surface of country ∩ tile: inside the country (GEOS puts it in the interior)
        assert shapely.intersects_xy(geoms[key], lon[sel], lat[sel]).all(), key


@pytest.mark.parametrize(
    ("executor", "workers", "chunk_sites"),
    [
        ("serial", 1, 997),
        ("threads", 2, 1500),
        ("processes", 2, None),
        ("threads", 4, 1500),
        ("dask", 2, 2500),
    ],
)
def test_receipt_independent_of_workers_executor_and_chunking(
    fast, fixture_dir, tmp_path, executor, workers, chunk_sites
):
    s = _run(fixture_dir, tmp_path / "out", executor=executor, workers=workers, chunk_sites=chunk_sites)
    assert s["receipt"] == fast["receipt"]
    if chunk_sites:
        assert s["units"] > len(COUNTRIES)  # heavy countries really were split
    assert _report(s)["counters"] == _report(fast)["counters"]


def test_plan_row_order_does_not_matter(fast, fixture_dir, tmp_path):
    t = pq.read_table(fixture_dir / "plan.parquet")
    perm = np.random.default_rng(0).permutation(t.num_rows)
    pq.write_table(t.take(pa.array(perm)), tmp_path / "shuffled.parquet")
    s = run_s6(
        S6Params(
            tiles=str(fixture_dir / "tiles_out"),
            sites=str(tmp_path / "shuffled.parquet"),
            seed=SEED,
            out=str(tmp_path / "o"),
            countries="ne110m",
            workers=1,
        )
    )
    assert s["receipt"] == fast["receipt"]


def test_indexes_read_through_the_tile_id_column_give_the_same_receipt(fast, fixture_dir, tmp_path):
    """S1's files carry their tiles as intervals in the footer, and S6 looks the plan's tiles up there (no
    tile_id read). The other paths read the column: one file holding every country (not S1's layout, small
    row groups), and S1's files rewritten without the intervals (an older S1) or, for one file, with
    intervals that do not match its rows (ignored)."""
    assert _report(fast)["metrics"]["index_rows_read"] == 0  # the fixture's S1 index: intervals only
    src = fixture_dir / "tiles_out" / "tiles"
    one, per = tmp_path / "one" / "tiles", tmp_path / "per" / "tiles"
    one.mkdir(parents=True)
    per.mkdir(parents=True)
    pq.write_table(pq.read_table(src), one / "all.parquet", row_group_size=5000)
    for i, f in enumerate(sorted(src.glob("*.parquet"))):
        t = pq.read_table(f)
        with pq.ParquetWriter(per / f.name, t.schema) as w:
            w.write_table(t, row_group_size=2000)
            if i == 0:  # one interval short: the footer disagrees with the rows
                record = json.loads(pq.ParquetFile(f).metadata.metadata[RUNS_KEY])
                short = base64.b64encode(base64.b64decode(record["intervals"])[:-16]).decode()
                w.add_key_value_metadata({RUNS_KEY: json.dumps({**record, "intervals": short})})
    assert all(f.runs is None for files in open_tile_index(per).files.values() for f in files)
    for index, mode in ((one.parent, "fast"), (per.parent, "legacy")):
        s = run_s6(
            S6Params(
                tiles=str(index), sites=str(fixture_dir / "plan.parquet"), seed=SEED,
                out=str(tmp_path / f"o-{mode}"), countries="ne110m", workers=1, mode=mode,
            )
        )  # fmt: skip
        assert s["receipt"] == fast["receipt"]
    assert _report(s)["metrics"]["index_rows_read"] > 0  # S1's files without intervals: the column read


def test_rng_budget_failure_is_loud(fixture_dir, tmp_path, monkeypatch):
    import seg1b.s6.pipeline as s6

    real = s6.jitter_country

    def leaky(*a, **kw):
        r = real(*a, **kw)
        r.rng_events += 1
        return r

    monkeypatch.setattr(s6, "jitter_country", leaky)
    with pytest.raises(S6BudgetError, match="RNG budget"):
        _run(fixture_dir, tmp_path / "leaky")
    assert not (tmp_path / "leaky").exists()


# ------------------------------------------------------------------------------------------------------------
# bad input: one line, exit 2, nothing written


def _bad_plan(fixture_dir: Path, tmp_path: Path, edit) -> Path:
    t = pq.read_table(fixture_dir / "plan.parquet")
    cols = {n: t.column(n).to_pylist() for n in t.column_names}
    edit(cols)
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(cols), path)
    return path


def _tile_of(fixture_dir: Path, country: str) -> int:
    t = pq.read_table(next((fixture_dir / "tiles_out" / "tiles").glob(f"part-{country}-*.parquet")))
    return int(t.column("tile_id")[0].as_py())


def _first_row_of(cols: dict, country: str) -> int:
    return cols["country_iso"].index(country)


BAD_CASES = {
    "unknown-tile": (
        lambda fx: lambda c: c["tile_id"].__setitem__(_first_row_of(c, "GRC"), 5),  # a polar cell: nobody's
        "an unknown tile_id",
    ),
    "other-country-tile": (
        lambda fx: lambda c: c["tile_id"].__setitem__(_first_row_of(c, "GRC"), _tile_of(fx, "USA")),
        "a tile of USA, not of GRC",
    ),
    "outside-grid": (lambda fx: lambda c: c["tile_id"].__setitem__(3, -1), "not a cell of the"),
    "duplicate-site": (
        lambda fx: lambda c: c["site_id"].__setitem__(10, c["site_id"][11]),
        "duplicate site_id",
    ),
    "missing-column": (lambda fx: lambda c: c.pop("tile_id"), "lacks column(s) tile_id"),
    "unknown-country": (
        lambda fx: lambda c: c["country_iso"].__setitem__(0, "XXX"),
        "countries with no tiles",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_plan_exit_2_nothing_written(fixture_dir, tmp_path, case):
    make, message = BAD_CASES[case]
    plan = _bad_plan(fixture_dir, tmp_path, make(fixture_dir))
    out = tmp_path / "deeper" / "out"
    res = CliRunner().invoke(
        cli,
        ["s6", "--tiles", str(fixture_dir / "tiles_out"), "--sites", str(plan), "--seed", "1",
         "--countries", "ne110m", "--workers", "1", "--out", str(out), "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert not out.exists() and not out.parent.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--max-attempts", "0"],
        ["--seed", "-3"],
        ["--tiles", "/nonexistent/tiles"],
        ["--sites", "/nonexistent/plan.parquet"],
        ["--countries", "/nonexistent/countries.gpkg"],
        ["--scheduler", "tcp://127.0.0.1:1", "--executor", "threads"],
    ],
)
def test_bad_arguments_exit_2(fixture_dir, tmp_path, args):
    base = {"--tiles": str(fixture_dir / "tiles_out"), "--sites": str(fixture_dir / "plan.parquet"),
            "--seed": "1", "--countries": "ne110m", "--out": str(tmp_path / "out")}  # fmt: skip
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["s6", "--quiet", "--workers", "1"] + [x for kv in base.items() for x in kv]
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------------------
# the plan generator


def test_cli_sites_then_s6(fixture_dir, tmp_path):
    r = CliRunner()
    res = r.invoke(cli, ["sites", "--tiles", str(fixture_dir / "tiles_out"), "--count", "3000", "--seed", "9",
                         "--out", str(tmp_path / "p.parquet")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "3,000 sites" in res.output
    # a one-file output keeps no report unless --report-dir asks for one (no PLAN.report/ beside it)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]
    res = r.invoke(cli, ["sites", "--tiles", str(fixture_dir / "tiles_out"), "--count", "3000", "--seed", "9",
                         "--out", str(tmp_path / "q.parquet"), "--report-dir", str(tmp_path / "rep")])  # fmt: skip
    assert res.exit_code == 0, res.output
    plan_report = json.loads((tmp_path / "rep" / "run_report.json").read_text())
    assert plan_report["receipts"]["plan"]["digest"] == attribute_digest(tmp_path / "p.parquet")
    assert plan_report["counters"]["sites"] == 3000 and plan_report["status"] == "ok"
    res = r.invoke(cli, ["s6", "--tiles", str(fixture_dir / "tiles_out"), "--sites", str(tmp_path / "p.parquet"),
                         "--seed", "2", "--countries", "ne110m", "--workers", "1", "--out", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "3,000 sites" in res.output and (tmp_path / "o" / "run_report.json").is_file()


def test_plan_is_deterministic_heavy_tailed_and_valid(fixture_dir, tmp_path):
    a = generate_plan(fixture_dir / "tiles_out", 5000, 4, tmp_path / "a.parquet")
    b = generate_plan(fixture_dir / "tiles_out", 5000, 4, tmp_path / "b.parquet")
    c = generate_plan(fixture_dir / "tiles_out", 5000, 5, tmp_path / "c.parquet")
    assert digest_parquet(tmp_path / "a.parquet") == digest_parquet(tmp_path / "b.parquet")
    assert digest_parquet(tmp_path / "a.parquet") != digest_parquet(tmp_path / "c.parquet")
    assert a["sites"] == 5000 and set(a["counts"]) == set(COUNTRIES)
    counts = sorted(a["counts"].values(), reverse=True)
    assert counts[0] > 5 * counts[-1]  # heavy-tailed
    assert a["counts"]["USA"] == counts[0] and a["counts"]["NLD"] >= a["counts"]["GRC"]  # pinned heavy ones
    plan = read_plan(tmp_path / "a.parquet")
    assert (plan.site_id == np.arange(5000)).all()
    tiles = pq.read_table(fixture_dir / "tiles_out" / "tiles", columns=["tile_id", "country_iso"])
    pairs = set(zip(tiles.column("country_iso").cast(pa.string()).to_pylist(), tiles.column("tile_id").to_pylist(),
                    strict=True))  # fmt: skip
    assert all(
        (plan.countries[k], t) in pairs
        for k, t in zip(plan.code.tolist(), plan.tile_id.tolist(), strict=True)
    )
    assert b["counts"] == a["counts"]
    assert all(c["counts"][k] == a["counts"][k] for k in ("USA", "NLD", "QAT", "RUS"))  # pinned ranks


def test_plan_from_counts_csv(fixture_dir, tmp_path):
    path = tmp_path / "counts.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["country_iso", "count"])
        w.writerows([["QAT", 700], ["FJI", 50], ["TTO", 0]])
    s = generate_plan(fixture_dir / "tiles_out", None, 3, tmp_path / "p.parquet", counts_file=path)
    assert s["counts"] == {"FJI": 50, "QAT": 700}
    res = CliRunner().invoke(cli, ["sites", "--tiles", str(fixture_dir / "tiles_out"), "--counts", str(path),
                                   "--count", "5", "--seed", "1", "--out", str(tmp_path / "x.parquet")])  # fmt: skip
    assert res.exit_code == 2 and "exactly one of" in res.stderr


def test_plan_columns_are_required_like_every_other_output(fixture_dir, tmp_path):
    # site_id, country_iso and tile_id were nullable in the plan only
    generate_plan(fixture_dir / "tiles_out", 20, 3, tmp_path / "p.parquet")
    schema = pq.read_schema(tmp_path / "p.parquet")
    assert [schema.field(n).nullable for n in ("site_id", "country_iso", "tile_id")] == [False] * 3


def test_counts_csv_with_a_byte_order_mark(tmp_path):
    # Excel's "CSV UTF-8" starts with EF BB BF: the header was refused as lacking country_iso
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfcountry_iso,count\r\nNLD,10\r\nFJI,0\r\n")
    assert read_counts(path) == {"NLD": 10, "FJI": 0}


def test_allocation_sums_and_covers():
    keys = [f"K{i:03d}" for i in range(200)] + ["USA", "QAT", "NLD"]
    alloc = allocate(keys, 1_000_003, 1)
    assert sum(alloc.values()) == 1_000_003 and min(alloc.values()) >= 1
    top = sorted(alloc, key=alloc.get, reverse=True)[:3]
    assert top == ["USA", "NLD", "QAT"]
