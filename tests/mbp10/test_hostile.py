"""mbp10 as a hostile or careless user drives it: every row runs the real `mbp10` console script in a scratch
folder and checks the safe-runs contract (exit code, one stderr line without a traceback, files untouched,
no `.pk-*` temporaries left). See tests/hostile.py for the helpers.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from pathlib import Path

import pytest

from tests.hostile import Case, check_case, run, snapshot, temporaries

from .testdata import trades_dbn

DAY = "day.dbn.zst"
DATE = dt.date(2024, 1, 2)
LONG_245 = "b" * 237 + ".parquet"  # a legal name: 245 bytes (NAME_MAX is 255)
LONG_256 = "b" * 248 + ".parquet"


@functools.cache
def _day_bytes(n_records: int = 2_000, last_ts: int | None = None) -> bytes:
    """A small synthetic day as .dbn.zst bytes (made once per test session)."""
    import tempfile

    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_day, synth_header

    rec = synth_day(DATE, n_records, seed=3)
    if last_ts is not None:
        rec["ts_event"][-1] = last_ts
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.dbn.zst"
        write_dbn(path, synth_header(DATE), rec)
        return path.read_bytes()


def _files(**named):
    """A setup writing files: name -> bytes, str, or a callable(folder) -> bytes; names may hold folders."""

    def setup(folder: Path) -> None:
        for name, content in named.items():
            path = folder / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if callable(content):
                content = content(path)
            if isinstance(content, str):
                content = content.encode()
            if content is not None:
                path.write_bytes(content)

    return setup


def _and(*setups):
    def setup(folder: Path) -> None:
        for s in setups:
            s(folder)

    return setup


def _symlink(link: str, target: str):
    return lambda folder: (folder / link).symlink_to(target)


def _hardlink(link: str, target: str):
    return lambda folder: os.link(folder / target, folder / link)


def _truncated(path: Path) -> bytes:
    raw = _day_bytes()
    return raw[: len(raw) * 2 // 3]


def _corrupt_zstd(path: Path) -> bytes:
    raw = bytearray(_day_bytes())
    raw[200:4000] = bytes(range(256)) * 14 + bytes(range(200))  # body of the zstd frame overwritten
    return bytes(raw)


@functools.cache
def _cut_stream(records: int = 20_000, kept: int = 10_000) -> bytes:
    """The issue's cut stream: the header and `kept` of `records` records compressed, a block flushed, the
    frame's end (last block, checksum) left off. zstandard decodes it without an error."""
    import zstandard
    from mbp10.synth import synth_day, synth_header

    rec = synth_day(DATE, records, seed=3)
    c = zstandard.ZstdCompressor(level=3).compressobj()
    out = c.compress(synth_header(DATE) + rec[:kept].tobytes())
    return out + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)


@functools.cache
def _foreign_record() -> bytes:
    """A valid-looking MBP-10 day whose record 1,500 is a trade message's type (rtype 0x00)."""
    import tempfile

    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_day, synth_header

    rec = synth_day(DATE, 2_000, seed=3)
    rec["rtype"][1_500] = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "f.dbn.zst"
        write_dbn(out, synth_header(DATE), rec)
        return out.read_bytes()


def _old_episodes() -> bytes:
    """An episodes table as written before decision times existed (no touch_bar/decision_ns/...)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    table = pa.table({"instrument_id": pa.array([4242], pa.uint32()), "touch_id": [1], "outcome": ["break"]})
    pq.write_table(table, buf)
    return buf.getvalue()


def _two_instruments(path: Path) -> bytes:
    return _two_instruments_bytes()


@functools.cache
def _two_instruments_bytes() -> bytes:
    import tempfile

    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_header, synth_instruments

    symbols = ("ESH4", "ESM4")
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "two.dbn.zst"
        write_dbn(p, synth_header(DATE, symbols), synth_instruments(DATE, 2_000, 3, symbols))
        return p.read_bytes()


def _bars_file(path: Path) -> bytes:
    """A real bar5s Parquet file of DATE (from the small synthetic day)."""
    return _bars_bytes()


@functools.cache
def _bars_bytes() -> bytes:
    import tempfile

    from mbp10.io import write_table
    from mbp10.pipeline import day_bars

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "d.dbn.zst", Path(tmp) / "b.parquet"
        src.write_bytes(_day_bytes())
        write_table(day_bars(src)[0], out)
        return out.read_bytes()


def _trades(path: Path) -> None:
    trades_dbn(path)


def _not_vectors_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1, 2, 3]}), path)


day = _files(**{DAY: lambda p: _day_bytes()})
days = _files(**{"days__ES-20240102.dbn.zst": lambda p: _day_bytes()})
dummy = "not read: the command is refused before it reads its inputs"
m = "mbp10"
RUN = [m, "run", "--input-dir", "days", "--dates", "2024-01-01..2024-01-03", "--executor", "serial", "-q"]
SYNTH = [m, "synth", "--date", "2024-01-02", "--out", "d.dbn.zst"]

CASES = [
    Case(
        "bars-input-cut-zstd-stream",
        [m, "bars", "cut.dbn.zst", "-o", "b.parquet"],
        2,
        "cut.dbn.zst: truncated or corrupt zstd stream",
        _files(**{"cut.dbn.zst": lambda p: _cut_stream()}),
    ),
    Case(
        "ingest-input-cut-zstd-stream",
        [m, "ingest", "cut.dbn.zst", "--out", "bronze"],
        2,
        "cut.dbn.zst: truncated or corrupt zstd stream",
        _files(**{"cut.dbn.zst": lambda p: _cut_stream()}),
    ),
    Case(
        "bars-input-foreign-record-mid-stream",
        [m, "bars", "f.dbn.zst", "-o", "b.parquet"],
        2,
        "f.dbn.zst: record has rtype 0x00, expected MBP-10",
        _files(**{"f.dbn.zst": lambda p: _foreign_record()}),
    ),
    Case(
        "ingest-input-foreign-record-mid-stream",
        [m, "ingest", "f.dbn.zst", "--out", "bronze"],
        2,
        "f.dbn.zst: record has rtype 0x00, expected MBP-10",
        _files(**{"f.dbn.zst": lambda p: _foreign_record()}),
    ),
    Case(
        "bars-unknown-symbol",
        [m, "bars", "two.dbn.zst", "-o", "b.parquet", "--symbol", "ESZ9"],
        2,
        "--symbol ESZ9 has no records in the file (symbols: ESH4, ESM4)",
        _files(**{"two.dbn.zst": _two_instruments}),
    ),
    Case(
        "bars-unknown-instrument-id",
        [m, "bars", "two.dbn.zst", "-o", "b.parquet", "--instrument-id", "7"],
        2,
        "--instrument-id 7 has no records in the file (ids: 4242, 4243)",
        _files(**{"two.dbn.zst": _two_instruments}),
    ),
    Case(
        "bars-negative-instrument-id",
        [m, "bars", "two.dbn.zst", "-o", "b.parquet", "--instrument-id", "-1"],
        2,
        "--instrument-id",
        _files(**{"two.dbn.zst": _two_instruments}),
    ),
    Case(
        "levels-date-absent-from-bars",
        [m, "levels", "--bars", "b.parquet", "--date", "2024-01-05", "-o", "l.parquet"],
        2,
        "b.parquet: no bars in the 2024-01-05 session; bars span 2024-01-02",
        _files(**{"b.parquet": _bars_file}),
    ),
    Case(
        "levels-date-is-a-holiday",
        [m, "levels", "--bars", "b.parquet", "--date", "2024-01-01", "-o", "l.parquet"],
        2,
        "no bars in the 2024-01-01 day (not a CME trading session)",
        _files(**{"b.parquet": _bars_file}),
    ),
    Case(
        "vectors-episodes-without-decision-times",
        [
            m,
            "vectors",
            "--bars",
            "b.parquet",
            "--episodes",
            "e.parquet",
            "--approach",
            "e.parquet",
            "--signature",
            "e.parquet",
            "-o",
            "v.parquet",
        ],
        2,
        "e.parquet: missing columns touch_bar, decision_ns, outcome_known_ns",
        _files(**{"b.parquet": _bars_file, "e.parquet": lambda p: _old_episodes()}),
    ),
    Case(
        "similar-as-of-not-a-time",
        [m, "similar", "--vectors", "v.parquet", "--touch-id", "1", "--as-of", "yesterday"],
        2,
        "bad --as-of 'yesterday'",
    ),
    Case(
        "synth-same-symbol-twice",
        [
            m,
            "synth",
            "--date",
            "2024-01-02",
            "--records",
            "100",
            "--symbol",
            "ESH4",
            "--symbol",
            "ESH4",
            "--out",
            "d.dbn.zst",
        ],
        2,
        "--symbol given twice",
    ),
    # -- an output, --profile or --report-dir that is (or holds, or sits inside) an input -----------------
    Case("bars-out-is-input", [m, "bars", DAY, "-o", DAY], 2, f"is the input {DAY}", day),
    Case(
        "bars-out-is-input-via-symlink",
        [m, "bars", "link.dbn.zst", "-o", DAY],
        2,
        "is the input link.dbn.zst",
        _and(day, _symlink("link.dbn.zst", DAY)),
    ),
    Case(
        "bars-out-is-input-via-hard-link",
        [m, "bars", "hard.dbn.zst", "-o", DAY],
        2,
        "is the input hard.dbn.zst",
        _and(day, _hardlink("hard.dbn.zst", DAY)),
    ),
    Case("bars-profile-is-input", [m, "bars", DAY, "-o", "b.parquet", "--profile", DAY], 2, "--profile", day),
    Case(
        "bars-levels-is-output",
        [m, "bars", DAY, "-o", "lv.parquet", "--levels", "lv.parquet", "--force"],
        2,
        "is the input lv.parquet",
        _and(day, _files(**{"lv.parquet": dummy})),
    ),
    Case(
        "bars-report-dir-is-input",
        [m, "bars", DAY, "-o", "b.parquet", "--report-dir", DAY],
        2,
        "is a file",
        day,
    ),
    Case(
        "bars-report-dir-dot-keeps-every-file",
        [m, "bars", DAY, "-o", "b.parquet", "--report-dir", ".", "-q"],
        0,
        "",
        _and(day, _files(**{"notes.txt": "mine", "sub__more.txt": "mine too"})),
    ),
    Case(
        "bars-report-dir-holds-a-foreign-run-report",
        [m, "bars", DAY, "-o", "b.parquet", "--report-dir", "rep"],
        2,
        "not a perfkit report",
        _and(day, _files(**{"rep__run_report.json": '{"mine": true}'})),
    ),
    Case(
        "bars-report-dir-inside-input",
        [m, "bars", DAY, "-o", "b.parquet", "--report-dir", f"{DAY}/rep"],
        2,
        "--report-dir",
        day,
    ),
    Case("run-out-is-input-dir", [*RUN, "--out", "days"], 2, "is the input days", days),
    Case("run-out-inside-input-dir", [*RUN, "--out", "days/out"], 2, "inside the input folder days", days),
    Case(
        "run-report-dir-is-input-dir", [*RUN, "--out", "o", "--report-dir", "days"], 2, "--report-dir", days
    ),
    Case(
        "run-report-dir-inside-input-dir",
        [*RUN, "--out", "o", "--report-dir", "days/rep"],
        2,
        "--report-dir",
        days,
    ),
    Case(
        "ingest-out-holds-input",
        [m, "ingest", f"in/{DAY}", "--out", "in"],
        2,
        f"would contain the input in/{DAY}",
        _files(**{f"in__{DAY}": lambda p: _day_bytes()}),
    ),
    Case("ingest-out-is-current-folder", [m, "ingest", DAY, "--out", "."], 2, "current folder", day),
    Case(
        "episodes-both-outputs-one-file",
        [
            m,
            "episodes",
            "--bars",
            "b.parquet",
            "--levels",
            "l.parquet",
            "-o",
            "e.parquet",
            "--windows-out",
            "e.parquet",
        ],
        2,
        "overlaps the output",
        _files(**{"b.parquet": dummy, "l.parquet": dummy}),
    ),
    Case(
        "approach-signature-out-is-input",
        [
            m,
            "approach",
            "--bars",
            "b.parquet",
            "--episodes",
            "e.parquet",
            "-o",
            "a.parquet",
            "--signature-out",
            "b.parquet",
        ],
        2,
        "is the input b.parquet",
        _files(**{"b.parquet": dummy, "e.parquet": dummy}),
    ),
    # -- outputs that cannot be written: exit 2, one line (was 1, internal error) ---------------------------
    Case(
        "bars-out-parent-is-a-file",
        [m, "bars", DAY, "-o", "notes.txt/b.parquet"],
        2,
        "not a folder",
        _and(day, _files(**{"notes.txt": "notes"})),
    ),
    Case("bars-out-in-proc", [m, "bars", DAY, "-o", "/proc/b.parquet"], 2, "/proc/b.parquet", day),
    Case(
        "synth-out-in-sys",
        [m, "synth", "--date", "2024-01-02", "--out", "/sys/d.dbn.zst"],
        2,
        "/sys/d.dbn.zst",
    ),
    Case("bars-out-name-too-long", [m, "bars", DAY, "-o", LONG_256], 2, "longer than 255", day),
    Case(
        "bars-out-is-a-folder",
        [m, "bars", DAY, "-o", "sub"],
        2,
        "is a directory",
        _and(day, _files(sub__x="x")),
    ),
    Case(
        "bars-out-exists",
        [m, "bars", DAY, "-o", "b.parquet"],
        2,
        "pass --force",
        _and(day, _files(**{"b.parquet": "old"})),
    ),
    Case(
        "synth-out-exists",
        [m, "synth", "--date", "2024-01-02", "--records", "100", "--out", DAY],
        2,
        "--force",
        day,
    ),
    Case(
        "run-force-over-foreign-files",
        [*RUN, "--out", "o", "--force"],
        2,
        "holds files this command did not write",
        _and(days, _files(**{"o__notes.txt": "mine", "o__silver__keep.parquet": "mine too"})),
    ),
    Case(
        "ingest-out-is-a-file",
        [m, "ingest", DAY, "--out", "notes.txt"],
        2,
        "is a file",
        _and(day, _files(**{"notes.txt": "notes"})),
    ),
    # -- options out of range: refused before any work --------------------------------------------------------
    Case(
        "synth-seed-negative",
        [m, "synth", "--date", "2024-01-02", "--seed", "-1", "--out", "d.dbn.zst"],
        2,
        "--seed",
    ),
    Case(
        "synth-records-0",
        [m, "synth", "--date", "2024-01-02", "--records", "0", "--out", "d.dbn.zst"],
        2,
        "--records",
    ),
    Case(
        "synth-records-negative",
        [m, "synth", "--date", "2024-01-02", "--records", "-5", "--out", "d.dbn.zst"],
        2,
        "--records",
    ),
    Case(
        "synth-records-1e15",
        [m, "synth", "--date", "2024-01-02", "--records", str(10**15), "--out", "d.dbn.zst"],
        2,
        "--records 1,000,000,000,000,000 needs about",
    ),
    Case("synth-date-feb-30", [m, "synth", "--date", "2024-02-30", "--out", "d.dbn.zst"], 2, "'2024-02-30'"),
    Case("synth-date-garbage", [m, "synth", "--date", "garbage", "--out", "d.dbn.zst"], 2, "'garbage'"),
    # one day's bars have no work to spread: --workers was offered and ignored; now it is not offered
    Case(
        "bars-workers-not-offered",
        [m, "bars", DAY, "-o", "b.parquet", "--workers", "2"],
        2,
        "No such option '--workers'",
        day,
    ),
    # the file forgotten: `-o --force` wrote a Parquet file named '--force' and exited 0 (NotAnOptionPath)
    Case(
        "bars-out-is-an-option",
        [m, "bars", DAY, "-o", "--force"],
        2,
        "'--force' is an option, not a path",
        day,
    ),
    # `-o -` wrote a Parquet file named '-' and exited 0 (perfkit.outputs refuses it for every command)
    Case("bars-out-dash", [m, "bars", DAY, "-o", "-"], 2, "cannot write to standard output", day),
    # symbols DBN cannot store were an internal error (exit 1); empty or half spreads were written
    *(
        Case(f"synth-{name}", [*SYNTH, option, value], 2, message)
        for name, option, value, message in [
            ("symbol-empty", "--symbol", "", "bad --symbol ''"),
            ("symbol-space", "--symbol", "ES H4", "bad --symbol 'ES H4'"),
            ("symbol-half-spread", "--symbol", "ESH4-", "two legs"),
            ("symbol-too-long", "--symbol", "A" * 71, "1-70 printable ASCII"),
            ("symbol-not-ascii", "--symbol", "ÉSH4", "bad --symbol"),
            (
                "parent-spread",
                "--parent",
                "ES.FUT-X",
                "bad --parent 'ES.FUT-X': a parent symbol is ROOT.FUT or ROOT.OPT",
            ),
        ]
    ),
    Case("run-workers-10000", [*RUN, "--out", "o", "--workers", "10000"], 2, "--workers", days),
    Case("run-dates-garbage", [*RUN[:5], "2024-13-01..x", "--out", "o"], 2, "bad --dates", days),
    Case(
        "run-dates-reversed", [*RUN[:5], "2024-01-05..2024-01-01", "--out", "o"], 2, "end before start", days
    ),
    Case(
        "run-dates-without-inputs",
        [*RUN[:5], "2030-01-01..2030-01-31", "--out", "o"],
        2,
        "no input files",
        days,
    ),
    # -- a Dask cluster named where it cannot be used (refused before anything is claimed) --
    Case(
        "run-scheduler-with-serial",
        [*RUN, "--out", "o", "--scheduler", "tcp://127.0.0.1:1"],
        2,
        "--scheduler tcp://127.0.0.1:1 runs on a Dask cluster; it cannot be used with --executor serial",
        days,
    ),
    Case(
        "run-scheduler-with-threads",
        [*RUN[:6], "--executor", "threads", "--scheduler", "tcp://127.0.0.1:1", "--out", "o"],
        2,
        "it cannot be used with --executor threads",
        days,
    ),
    Case(
        "run-scheduler-env-with-threads",
        [*RUN[:6], "--executor", "threads", "--out", "o"],
        2,
        "it cannot be used with --executor threads",
        days,
        env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:1"},
    ),
    Case("run-executor-unknown", [*RUN, "--out", "o", "--executor", "gpu"], 2, "--executor", days),
    Case(
        "episodes-window-1e9-bars",
        [
            m,
            "episodes",
            "--bars",
            "b.parquet",
            "--levels",
            "l.parquet",
            "-o",
            "e.parquet",
            "--window-before",
            "1000000000",
        ],
        2,
        "window_before=1000000000",
        _files(**{"b.parquet": dummy, "l.parquet": dummy}),
    ),
    Case(
        "episodes-horizon-0",
        [
            m,
            "episodes",
            "--bars",
            "b.parquet",
            "--levels",
            "l.parquet",
            "-o",
            "e.parquet",
            "--horizon-bars",
            "0",
        ],
        2,
        "horizon_bars=0",
        _files(**{"b.parquet": dummy, "l.parquet": dummy}),
    ),
    Case(
        "run-approach-pts-nan",
        [*RUN, "--out", "o", "--approach-pts", "nan"],
        2,
        "approach_pts=nan",
        days,
    ),
    # -- bad input files: one line naming the file, nothing written, no report ------------------------------
    Case(
        "bars-input-is-a-fifo",
        [m, "bars", "p.dbn.zst", "-o", "b.parquet"],
        2,
        "p.dbn.zst: not a regular file",
        lambda folder: os.mkfifo(folder / "p.dbn.zst"),
    ),
    Case(
        "bars-input-missing",
        [m, "bars", "absent.dbn.zst", "-o", "b.parquet"],
        2,
        "absent.dbn.zst: no such file",
    ),
    Case(
        "bars-input-empty",
        [m, "bars", "e.dbn.zst", "-o", "b.parquet"],
        2,
        "e.dbn.zst: empty file",
        _files(**{"e.dbn.zst": b""}),
    ),
    Case(
        "bars-input-garbage",
        [m, "bars", "g.dbn.zst", "-o", "b.parquet"],
        2,
        "g.dbn.zst: not a DBN file",
        _files(**{"g.dbn.zst": "hello, this is not market data\n" * 200}),
    ),
    Case(
        "bars-input-truncated-with-report-dir",
        [m, "bars", "t.dbn.zst", "-o", "b.parquet", "--report-dir", "rep"],
        2,
        "t.dbn.zst: truncated",
        _files(**{"t.dbn.zst": _truncated}),
    ),
    Case(
        "bars-input-corrupt-zstd",
        [m, "bars", "c.dbn.zst", "-o", "b.parquet"],
        2,
        "c.dbn.zst: truncated or corrupt",
        _files(**{"c.dbn.zst": _corrupt_zstd}),
    ),
    Case(
        "bars-input-trades-schema",
        [m, "bars", "t.dbn", "-o", "b.parquet"],
        2,
        "schema is trades",
        _files(**{"t.dbn": _trades}),
    ),
    Case(
        "bars-input-spans-72-years",
        [m, "bars", "gap.dbn.zst", "-o", "b.parquet"],
        2,
        "gap.dbn.zst: ts_event from 2024-01-02",
        _files(**{"gap.dbn.zst": lambda p: _day_bytes(100, 4 * 10**18)}),
    ),
    Case(
        "ingest-input-truncated",
        [m, "ingest", "t.dbn.zst", "--out", "bronze"],
        2,
        "truncated",
        _files(**{"t.dbn.zst": _truncated}),
    ),
    Case(
        "similar-vectors-not-parquet",
        [m, "similar", "--vectors", DAY, "--touch-id", "1"],
        2,
        "not a readable Parquet",
        day,
    ),
    Case(
        "similar-vectors-missing",
        [m, "similar", "--vectors", "v.parquet", "--touch-id", "1"],
        2,
        "no such file",
    ),
    Case(
        "similar-vectors-other-table",
        [m, "similar", "--vectors", "v.parquet", "--touch-id", "1"],
        2,
        "missing columns",
        _files(**{"v.parquet": _not_vectors_parquet}),
    ),
    # -- odd but legal names work ----------------------------------------------------------------------------
    Case(
        "bars-spaces-unicode-dashes",
        [m, "bars", "./-x my ü day.dbn.zst", "-o", "./-y bärs ☃.parquet", "-q"],
        0,
        "",
        _files(**{"-x my ü day.dbn.zst": lambda p: _day_bytes()}),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case, tmp_path):
    check_case(case, tmp_path)


# Rows that wait for a timeout (perfkit gives a scheduler 10 s to answer).
SLOW_CASES = [
    Case(
        "run-scheduler-unreachable",
        [*RUN[:6], "--scheduler", "tcp://127.0.0.1:1", "--out", "o"],
        2,
        "cannot reach the Dask scheduler at tcp://127.0.0.1:1",
        days,
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=[c.id for c in SLOW_CASES])
def test_hostile_slow(case, tmp_path):
    check_case(case, tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_output_folder(tmp_path):
    day(tmp_path)
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        check_case(
            Case("bars-out-read-only-folder", [m, "bars", DAY, "-o", "ro/b.parquet"], 2, "ro/b.parquet"),
            tmp_path,
        )
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_245_character_output_name(tmp_path):
    """A legal 245-byte name works (the temporary's name does not grow with it), and nothing else is written:
    no FILE.report/ folder beside a one-file output."""
    day(tmp_path)
    r = run([m, "bars", DAY, "-o", LONG_245, "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([DAY, LONG_245])


def test_force_replaces_an_output_and_keeps_everything_else(tmp_path):
    day(tmp_path)
    (tmp_path / "b.parquet").write_text("old")
    (tmp_path / "notes.txt").write_text("mine")
    r = run([m, "bars", DAY, "-o", "b.parquet", "--force", "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b.parquet").read_bytes()[:4] == b"PAR1"
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([DAY, "b.parquet", "notes.txt"])
    assert not temporaries(tmp_path)


def test_ingest_folder_holds_the_report_and_reruns_only_with_force(tmp_path):
    day(tmp_path)
    r = run([m, "ingest", DAY, "--out", "bronze", "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "bronze" / "run_report.json").read_text())
    assert report["status"] == "ok" and report["counters"]["records"] == 2_000
    before = snapshot(tmp_path)
    again = run([m, "ingest", DAY, "--out", "bronze", "-q"], tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr and snapshot(tmp_path) == before
    forced = run([m, "ingest", DAY, "--out", "bronze", "-q", "--force"], tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "bronze" / "day.parquet").exists() and not temporaries(tmp_path)


REAL = "GLBX.MDP3__test_data.mbp-10.dbn.zst"  # Databento's own MBP-10 sample (Apache-2.0)
REAL_CASES = [
    Case("real-sample-out-is-input", [m, "bars", REAL, "-o", REAL, "--force"], 2, f"is the input {REAL}"),
    Case("real-sample-truncated", [m, "bars", "cut.dbn.zst", "-o", "b.parquet"], 2, "cut.dbn.zst: truncated"),
    Case(
        "real-sample-garbage-tail",
        [m, "bars", "tail.dbn.zst", "-o", "b.parquet"],
        2,
        "tail.dbn.zst: truncated or corrupt zstd",
    ),
    Case("real-sample-bars", [m, "bars", REAL, "-o", "b.parquet", "-q"], 0),
]


@pytest.mark.parametrize("case", REAL_CASES, ids=[c.id for c in REAL_CASES])
def test_hostile_real_sample(case, shared_data, tmp_path):
    """The same contract on a real Databento file (copied: ../shared is read-only, and root would not care)."""
    raw = (shared_data / "mbp10" / "databento" / REAL).read_bytes()
    (tmp_path / REAL).write_bytes(raw)
    (tmp_path / "cut.dbn.zst").write_bytes(raw[: len(raw) - 40])
    (tmp_path / "tail.dbn.zst").write_bytes(raw + b"\x00garbage after the zstd frame")
    check_case(case, tmp_path)
