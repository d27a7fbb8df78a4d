"""Hostile input for every seg1b command, as a careless or hostile user would type it (issue 11).

Each row runs the real ``seg1b`` console script in a scratch folder (``tests/hostile.py``): expected exit
code, exactly one stderr line naming the path or value, no traceback, every file that was there before
untouched, no perfkit temporaries left. The scratch folder always holds ``s1/`` (a real S1 output at 1-degree
cells: FJI, NLD, QAT, USA, with its perfkit marker), ``plan.parquet`` (a 400-site plan over it) and
``mine.txt`` (a file of the user's). Option values that click or the parameter checks refuse are swept
in-process at the end (same one-line, exit-2, nothing-written checks, without an interpreter start each).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from perfkit.outputs import MARKER
from seg1b.cli import main as cli

from tests.hostile import Case, check_case, snapshot, temporaries

COUNTRIES = ("FJI", "NLD", "QAT", "USA")


def s6(*extra: str, tiles="s1", sites="plan.parquet", countries="ne110m") -> list[str]:
    return ["seg1b", "s6", "--tiles", tiles, "--sites", sites, "--seed", "7", "--countries", countries,
            "--workers", "1", "--quiet", *extra]  # fmt: skip


def sites(*extra: str, tiles="s1", count: str | None = "300") -> list[str]:
    size = ["--count", count] if count is not None else []
    return ["seg1b", "sites", "--tiles", tiles, *size, "--seed", "1", "--quiet", *extra]


def s1(*extra: str, countries="ne110m", only: str | None = "FJI", workers: str | None = "1") -> list[str]:
    return ["seg1b", "s1", "--countries", countries, "--resolution-arcsec", "3600", "--quiet",
            *(["--only", only] if only else []), *(["--workers", workers] if workers else []), *extra]  # fmt: skip


def qmap(*extra: str, tiles="s1") -> list[str]:
    return ["seg1b", "map", "--tiles", tiles, "--quiet", *extra]


POLYGON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"ADM0_A3": "AAA"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]]]},
        }
    ],
}
_scratch: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    if "dir" in _scratch:
        shutil.rmtree(_scratch.pop("dir"), ignore_errors=True)


@functools.cache
def _fixture() -> Path:
    """A real S1 output, a plan over it and an S6 output, made once in-process (through perfkit.job)."""
    from seg1b.s1.pipeline import S1Params, run_s1
    from seg1b.s6.pipeline import S6Params, run_s6
    from seg1b.sites import run_sites

    d = _scratch.setdefault("dir", Path(tempfile.mkdtemp(prefix="seg1b-hostile-")))
    run_s1(S1Params(out=str(d / "s1"), countries="ne110m", resolution_arcsec=3600, only=COUNTRIES, workers=1))
    run_sites(d / "s1", 400, 1, d / "plan.parquet")
    run_s6(
        S6Params(
            tiles=str(d / "s1"), sites=str(d / "plan.parquet"), seed=7, out=str(d / "s6"), countries="ne110m"
        )
    )
    return d


def base(folder: Path) -> None:
    d = _fixture()
    shutil.copytree(d / "s1", folder / "s1")
    shutil.copy(d / "plan.parquet", folder / "plan.parquet")
    (folder / "mine.txt").write_text("the user's own file\n")


def with_(*steps):
    """The base scratch folder, then each ``step(folder)``."""

    def setup(folder: Path) -> None:
        base(folder)
        for step in steps:
            step(folder)

    return setup


def write(name: str, data: bytes | str):
    def step(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return step


def symlink(name: str, target: str):
    return lambda folder: os.symlink(target, folder / name)


def a_fifo(folder: Path) -> None:
    """A FIFO in the scratch folder (``tests.hostile.snapshot`` records it without reading it)."""
    os.mkfifo(folder / "in.fifo")


def copy(src: str, dst: str):
    return lambda folder: shutil.copy(folder / src, folder / dst)


def prior_s6(name: str):
    return lambda folder: shutil.copytree(_fixture() / "s6", folder / name)


FIFO = "in.fifo"
LONG_250 = "é" * 100 + "x" * 42 + ".parquet"  # 250 bytes in UTF-8: a legal name
LONG_256 = "a" * 256

CASES = [
    # --- s6: outputs against inputs and foreign files ------------------------------------------------
    Case(
        "s6-out-folder-with-foreign-files", s6("--out", "D"), 2, "pass --force", with_(write("D/a.txt", "x"))
    ),
    Case(
        "s6-out-folder-with-foreign-files-force",
        s6("--out", "D", "--force"),
        2,
        "did not write (a.txt)",
        with_(write("D/a.txt", "x")),
    ),
    Case("s6-out-is-the-s1-folder", s6("--out", "s1", "--force"), 2, "is the input s1", with_()),
    Case(
        "s6-out-holds-the-tiles-input",
        s6("--out", "s1", "--force", tiles="s1/tiles"),
        2,
        "would contain the input s1/tiles",
        with_(),
    ),
    # the folder forgotten: `--out --force` made a folder named '--force' and exited 0 (NotAnOptionPath)
    Case("s6-out-is-an-option", s6("--out", "--force"), 2, "'--force' is an option, not a path", with_()),
    Case("s6-out-is-the-current-folder", s6("--out", ".", "--force"), 2, "current folder", with_()),
    Case(
        "s6-out-inside-symlinked-input",
        s6("--out", "link/x"),
        2,
        "inside the input folder s1",
        with_(symlink("link", "s1")),
    ),
    Case("s6-profile-is-the-plan", s6("--out", "o", "--profile", "plan.parquet"), 2, "is the input", with_()),
    Case(
        "s6-profile-inside-input",
        s6("--out", "o", "--profile", "s1/x.pstats"),
        2,
        "inside the input",
        with_(),
    ),
    Case(
        "s6-report-dir-inside-input", s6("--out", "o", "--report-dir", "s1/rep"), 2, "--report-dir", with_()
    ),
    Case("s6-rerun-without-force", s6("--out", "s6"), 2, "exists; pass --force", with_(prior_s6("s6"))),
    Case(
        "s6-earlier-output-plus-foreign-file-force",
        s6("--out", "s6", "--force"),
        2,
        "did not write (mine.txt)",
        with_(prior_s6("s6"), copy("mine.txt", "s6/mine.txt")),
    ),
    Case("s6-out-name-too-long", s6("--out", LONG_256), 2, "longer than", with_()),
    # --- s6: bad inputs ----------------------------------------------------------------------------
    Case("s6-sites-not-parquet", s6("--out", "o", sites="mine.txt"), 2, "cannot read site plan", with_()),
    Case("s6-sites-is-a-folder", s6("--out", "o", sites="s1"), 2, "cannot read site plan", with_()),
    Case("s6-tiles-is-a-file", s6("--out", "o", tiles="plan.parquet"), 2, "is a file", with_()),
    Case("s6-countries-missing", s6("--out", "o", countries="nope.gpkg"), 2, "not found", with_()),
    Case(
        "s6-countries-garbage",
        s6("--out", "o", countries="c.geojson"),
        2,
        "cannot read countries file",
        with_(write("c.geojson", bytes(range(256)))),
    ),
    Case(
        "s6-countries-empty",
        s6("--out", "o", countries="c.geojson"),
        2,
        "cannot read countries file",
        with_(write("c.geojson", b"")),
    ),
    # --- s6: odd but legal names -------------------------------------------------------------------
    Case(
        "s6-odd-names",
        s6("--out", "./-out ü", sites="plan ü.parquet"),
        0,
        setup=with_(copy("plan.parquet", "plan ü.parquet")),
    ),
    # --- sites -------------------------------------------------------------------------------------
    Case(
        "sites-report-dir-with-foreign-files",
        sites("--out", "p.parquet", "--report-dir", "D"),
        0,
        setup=with_(write("D/a.txt", "x"), write("D/b/c.txt", "y")),
    ),
    # `cd X && seg1b sites ... --report-dir .` with X holding the user's files: the case runs in X
    Case(
        "sites-report-dir-is-the-current-folder",
        sites("--out", "p.parquet", "--report-dir", "."),
        0,
        setup=with_(),
    ),
    Case(
        "sites-report-dir-holds-a-foreign-report-name",
        sites("--out", "p.parquet", "--report-dir", "D"),
        2,
        "not a perfkit report",
        with_(write("D/run_report.json", "my notes\n")),
    ),
    Case(
        "sites-out-inside-input",
        sites("--out", "s1/run_report.json", "--force"),
        2,
        "inside the input",
        with_(),
    ),
    Case(
        "sites-out-symlink-into-input",
        sites("--out", "rr.json", "--force"),
        2,
        "inside the input folder s1",
        with_(symlink("rr.json", "s1/run_report.json")),
    ),
    Case(
        "sites-profile-inside-input",
        sites("--out", "p.parquet", "--profile", "s1/p.pstats"),
        2,
        "inside",
        with_(),
    ),
    Case(
        "sites-profile-is-the-counts-file",
        sites("--counts", "c.csv", "--out", "p.parquet", "--profile", "c.csv", "--force", count=None),
        2,
        "is the input c.csv",
        with_(write("c.csv", "country_iso,count\nFJI,5\n")),
    ),
    Case("sites-rerun-without-force", sites("--out", "plan.parquet"), 2, "exists; pass --force", with_()),
    Case(
        "sites-count-beyond-memory",
        sites("--out", "p.parquet", count="1000000000000"),
        2,
        "of memory",
        with_(),
    ),
    Case(
        "sites-counts-not-utf8",
        sites("--counts", "c.csv", "--out", "p.parquet", count=None),
        2,
        "not a UTF-8 CSV",
        with_(write("c.csv", bytes(range(128, 256)))),
    ),
    Case(
        "sites-counts-empty",
        sites("--counts", "c.csv", "--out", "p.parquet", count=None),
        2,
        "needs a header",
        with_(write("c.csv", b"")),
    ),
    Case(
        "sites-counts-beyond-memory",
        sites("--counts", "c.csv", "--out", "p.parquet", count=None),
        2,
        "of memory",
        with_(write("c.csv", "country_iso,count\nFJI,99999999999999999999\n")),
    ),
    Case(
        "sites-tiles-not-an-s1-folder",
        sites("--out", "p.parquet", tiles="plan.parquet"),
        2,
        "is a file",
        with_(),
    ),
    Case("sites-out-leading-dash", sites("--out", "./-x.parquet"), 0, setup=with_()),
    Case("sites-out-250-byte-name", sites("--out", LONG_250), 0, setup=with_()),
    Case("sites-out-spaces-and-unicode", sites("--out", "my plans/plan ü.parquet"), 0, setup=with_()),
    # --- s1 ----------------------------------------------------------------------------------------
    Case(
        "s1-profile-in-proc",
        s1("--out", "o", "--profile", "/proc/x.pstats"),
        2,
        "--profile /proc/x.pstats",
        with_(),
    ),
    Case("s1-rerun-without-force", s1("--out", "s1"), 2, "exists; pass --force", with_()),
    Case("s1-workers-10000", s1("--out", "o", workers="10000"), 2, "--workers", with_()),
    Case(
        "s1-cost-history-is-a-geojson",
        s1("--out", "o", "--cost-history", "c.geojson", countries="c.geojson", only=None),
        2,
        "not a seg1b cost history",
        with_(write("c.geojson", json.dumps(POLYGON))),
    ),
    Case("s1-cache-dir-inside-out", s1("--out", "o", "--cache-dir", "o/cache"), 2, "would contain", with_()),
    Case(
        "s1-memory-of-one-unit",
        s1("--out", "o", "--resolution-arcsec", "1", "--max-unit-cells", "1000000000000", only="RUS"),
        2,
        "of memory",
        with_(),
    ),
    Case("s1-countries-garbage", s1("--out", "o", countries="mine.txt"), 2, "cannot read countries", with_()),
    # a FIFO would block the reader forever (s1 --countries did hang)
    Case("s1-countries-fifo", s1("--out", "o", countries=FIFO), 2, "not a regular file", with_(a_fifo)),
    Case(
        "s1-cost-history-fifo",
        s1("--out", "o", "--cost-history", FIFO),
        2,
        "not a regular file",
        with_(a_fifo),
    ),
    Case("s6-sites-fifo", s6("--out", "o", sites=FIFO), 2, "not a regular file", with_(a_fifo)),
    Case(
        "sites-counts-fifo",
        sites("--counts", FIFO, "--out", "p.parquet", count=None),
        2,
        "not a regular",
        with_(a_fifo),
    ),
    # --- map (issue 15): its PNG and GeoTIFF are claimed like every output -----------------------------
    Case("map-out-inside-the-index", qmap("--out", "s1/tiles/m.png"), 2, "inside", with_()),
    Case("map-cog-over-the-plan", qmap("--out", "m.png", "--cog", "plan.parquet"), 2, ".tif", with_()),
    Case("map-cog-inside-the-index", qmap("--out", "m.png", "--cog", "s1/c.tif"), 2, "inside", with_()),
    Case("map-out-not-png", qmap("--out", "mine.txt"), 2, "--out must name a .png", with_()),
    Case("map-out-exists", qmap("--out", "m.png"), 2, "pass --force", with_(write("m.png", "mine"))),
    Case("map-only-unknown", qmap("--out", "m.png", "--only", "XXX"), 2, "--only names countries", with_()),
    # a selection of no country ran the whole world (176 countries for `--only ,,,`), exit 0
    Case("s1-only-names-nothing", s1("--out", "o", only=",, ,"), 2, "--only names no country key", with_()),
    Case("map-only-empty", qmap("--out", "m.png", "--only", ""), 2, "--only names no country key", with_()),
    # offered "for symmetry" and ignored: an option that does nothing is not offered
    Case("sites-workers-not-offered", sites("--out", "p2.parquet", "--workers", "2"), 2, "No such option '--workers'", with_()),
    Case("map-workers-not-offered", qmap("--out", "m.png", "--workers", "2"), 2, "No such option '--workers'", with_()),
    Case("map-sites-is-a-plan", qmap("--out", "m.png", "--sites", "plan.parquet"), 2, "no S6 sites", with_()),
    Case("s1-geometry-unknown", s1("--out", "o", "--geometry", "points"), 2, "--geometry", with_()),
    # --- a Dask cluster named where it cannot be used, --resume over a finished output (issue 17) -------
    Case("s1-scheduler-with-processes", s1("--out", "o", "--executor", "processes", "--scheduler", "tcp://127.0.0.1:1"), 2, "--scheduler tcp://127.0.0.1:1 runs on a Dask cluster; it cannot be used with --executor processes", with_()),
    Case("s6-scheduler-with-processes", s6("--out", "o", "--executor", "processes", "--scheduler", "tcp://127.0.0.1:1"), 2, "it cannot be used with --executor processes", with_()),
    Case("s1-scheduler-env-with-threads", s1("--out", "o", "--executor", "threads"), 2, "--scheduler tcp://127.0.0.1:1 runs on a Dask cluster; it cannot be used with --executor threads", with_(), env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:1"}),
    Case("s1-resume-over-a-finished-output", s1("--out", "s1", "--resume"), 2, "pass --force", with_()),
    Case("s6-resume-over-a-finished-output", s6("--out", "s6", "--resume"), 2, "pass --force", with_(prior_s6("s6"))),
    # --- --layer (audit G5): a layer the countries file does not have -----------------------------------
    Case("s1-layer-not-in-packaged", s1("--out", "o", "--layer", "countries"), 2, "--layer 'countries' given, but ne110m has one layer", with_()),
    Case("s1-layer-unknown", s1("--out", "o", "--layer", "lakes", countries="poly.geojson"), 2, "--layer 'lakes' is not in poly.geojson (layers: poly (Polygon))", with_(write("poly.geojson", json.dumps(POLYGON)))),
    Case("s6-layer-not-in-packaged", s6("--out", "o", "--layer", "x"), 2, "--layer 'x' given, but ne110m has one layer", with_()),
    # --- "--" as a path, a file output ending in a slash (audit G11, G12) -----------------------------
    Case("s1-out-double-dash", s1("--out", "--"), 2, "Invalid value for '--out': '--' is an option, not a path", with_()),
    Case("sites-out-trailing-slash", sites("--out", "sdir/"), 2, "'sdir/' ends with a slash, which names a folder", with_()),
    Case("map-cog-trailing-slash", qmap("--out", "m.png", "--cog", "c.tif/"), 2, "'c.tif/' ends with a slash", with_()),
    Case("map-layer-unknown", qmap("--out", "m.png", "--layer", "x"), 2, "--layer 'x' given, but ne110m has one layer", with_()),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case: Case, tmp_path: Path):
    check_case(case, tmp_path)


# Rows that wait for a timeout (perfkit gives a scheduler 10 s to answer).
SLOW_CASES = [
    Case("s1-scheduler-unreachable", s1("--out", "o", "--scheduler", "tcp://127.0.0.1:1"), 2, "cannot reach the Dask scheduler at tcp://127.0.0.1:1", with_()),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=[c.id for c in SLOW_CASES])
def test_hostile_slow(case: Case, tmp_path: Path):
    check_case(case, tmp_path)


def test_s6_rerun_with_force_replaces_its_own_output(tmp_path):
    """An S6 output (marked by perfkit) is replaced whole with --force; the rest of the folder untouched."""
    case = Case("s6-rerun-force", s6("--seed", "8", "--out", "s6", "--force"), 0, setup=with_(prior_s6("s6")))
    before = _setup_snapshot(case, tmp_path)
    _check_ran(case, tmp_path)
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("s6")} == {
        k: v for k, v in before.items() if not k.startswith("s6")
    }
    assert after["s6/run_report.json"] != before["s6/run_report.json"]
    assert json.loads((tmp_path / "s6" / "run_report.json").read_text())["config"]["seed"] == 8
    marker = json.loads((tmp_path / "s6" / MARKER).read_text())
    assert marker["owner"] == "seg1b s6" and sorted(marker["entries"]) == [
        "events.jsonl",
        "run_report.json",
        "sites",
    ]


def test_s1_rerun_with_force_replaces_its_own_output(tmp_path):
    case = Case("s1-rerun-force", s1("--out", "s1", "--force"), 0, setup=with_())
    before = _setup_snapshot(case, tmp_path)
    _check_ran(case, tmp_path)
    after = snapshot(tmp_path)
    assert after["mine.txt"] == before["mine.txt"] and after["plan.parquet"] == before["plan.parquet"]
    report = json.loads((tmp_path / "s1" / "run_report.json").read_text())
    assert list(report["results"]["per_country_tiles"]) == ["FJI"]  # the new run's output, whole
    assert json.loads((tmp_path / "s1" / MARKER).read_text())["owner"] == "seg1b s1"


def test_sites_rerun_with_force_replaces_the_plan_and_keeps_no_report(tmp_path):
    case = Case("sites-rerun-force", sites("--out", "plan.parquet", "--force"), 0, setup=with_())
    before = _setup_snapshot(case, tmp_path)
    _check_ran(case, tmp_path)
    after = snapshot(tmp_path)
    assert after["plan.parquet"] != before["plan.parquet"]
    assert set(after) == set(before)  # no PLAN.report/ folder, nothing else new
    import pyarrow.parquet as pq

    assert pq.read_metadata(tmp_path / "plan.parquet").num_rows == 300


def _setup_snapshot(case: Case, folder: Path) -> dict:
    case.setup(folder)
    return snapshot(folder)


def _check_ran(case: Case, folder: Path) -> None:
    check_case(Case(case.id, case.argv, case.exit_code, untouched=False), folder)


# --- every numeric option: negative, zero, huge, NaN (in-process: no interpreter start per value) -----


def _numeric_rows():
    s1 = ["s1", "--countries", "ne110m", "--only", "FJI", "--workers", "1"]
    s6 = ["s6", "--tiles", "{s1}", "--sites", "{plan}", "--countries", "ne110m", "--workers", "1"]
    sites = ["sites", "--tiles", "{s1}"]
    rows = []
    for value, message in (
        ("0", "does not divide"),
        ("-60", "does not divide"),
        ("7", "does not divide"),
        ("99999999999999999999999", "does not divide"),
        ("nan", "not a valid integer"),
    ):
        rows.append((f"s1-resolution-{value}", [*s1, "--resolution-arcsec", value], message))
    for name, values in (
        ("--row-group-size", ("0", "-1", "99999999999999999999999", "nan")),
        ("--max-unit-cells", ("0", "-5", "nan")),
    ):
        for value in values:
            message = "not a valid integer" if value == "nan" else name
            rows.append((f"s1{name}-{value}", [*s1, "--resolution-arcsec", "3600", name, value], message))
    for value in ("0", "-1", "10000", "nan"):
        rows.append(
            (
                f"s1-workers-{value}",
                [*s1[:-2], "--resolution-arcsec", "3600", "--workers", value],
                "--workers",
            )
        )
    for value, message in (("-1", "seed"), (str(1 << 128), "seed"), ("nan", "not a valid integer")):
        rows.append((f"s6-seed-{value[:8]}", [*s6, "--seed", value], message))
    for value in ("0", "-1", "32768", "99999999999999999999999", "nan"):
        rows.append(
            (f"s6-max-attempts-{value[:8]}", [*s6, "--seed", "1", "--max-attempts", value], "max-attempts")
        )
    for value in ("0", "-5", "nan"):
        rows.append((f"s6-chunk-sites-{value}", [*s6, "--seed", "1", "--chunk-sites", value], "chunk-sites"))
    for value in ("0", "10000", "nan"):
        rows.append((f"s6-workers-{value}", [*s6[:-2], "--seed", "1", "--workers", value], "--workers"))
    for value, message in (
        ("-1", "--count must be >= 0"),
        ("1000000000000", "of memory"),
        ("nan", "not a valid integer"),
        ("1e3", "not a valid integer"),
    ):
        rows.append((f"sites-count-{value}", [*sites, "--count", value, "--seed", "1"], message))
    for value, message in (
        ("-1", "--seed must be in"),
        (str(1 << 128), "--seed must be in"),
        ("nan", "not a valid integer"),
    ):
        rows.append((f"sites-seed-{value[:8]}", [*sites, "--count", "10", "--seed", value], message))
    return rows  # fmt: skip


NUMERIC = _numeric_rows()


@pytest.mark.parametrize(("name", "argv", "message"), NUMERIC, ids=[r[0] for r in NUMERIC])
def test_numeric_option_refused(name, argv, message, tmp_path):
    d = _fixture()
    argv = [a.format(s1=d / "s1", plan=d / "plan.parquet") for a in argv]
    out = tmp_path / ("o.parquet" if argv[0] == "sites" else "o")
    res = CliRunner().invoke(cli, [*argv, "--out", str(out)])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert message in lines[0], lines[0]
    assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())  # nothing written, no temporaries
    assert not temporaries(d)
