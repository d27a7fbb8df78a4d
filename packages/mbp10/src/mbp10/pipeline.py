"""The mbp10 flow, one date at a time and over many dates.

  DBN / bronze Parquet --(decode, bar5s kernel)--> silver bar5s
  previous date's bars + this date's bars --> levels --> bar distance to level, episodes, approach features
  --> gold setup vectors

`mbp10.dates.plan_dates` finds the input of each date (before any output is claimed); `run_dates` maps the
bars of every date (independent: the heavy decode) over the workers through `perfkit.parallel.map_tasks`, and
runs the level-dependent stages of a date (which need its previous session's bars) in the calling process as
soon as both are in, while the workers decode later dates; each date's files are digested into the receipts
once every earlier date's are. Outputs are one Parquet file per date and stage, so receipts do not depend on
the worker count or completion order. `run_dates` fills a folder the caller owns (the CLI's `perfkit.job`
staging folder, renamed into place only when the whole run succeeded).

Both steps are resumable phases (`map_tasks(phase=...)`, "bars" and "features"): each task names the files
it writes, so inside a `perfkit.job(..., resumable=True)` a rerun of a killed run (`mbp10 run --resume`) keeps
every date whose files and counters are journaled and recomputes only the rest. A kept "bars" date keeps its
staging file too, which is all the "features" step reads of it (its own bars, and its next date's prior-day
levels), so a resumed date feeds the next step exactly as a recomputed one would.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from perfkit.errors import InputError

from mbp10.bar_columns import DIST_COLUMN
from mbp10.calendar import previous_session, sessions
from mbp10.dates import DatePlan
from mbp10.episodes import EpisodeParams
from mbp10.errors import Mbp10Error
from mbp10.instruments import (
    approach_all,
    episodes_all,
    level_distance_all,
    levels_all,
    series_all,
    vectors_all,
)
from mbp10.io import (
    ScanStats,
    arrow_to_np,
    input_kind,
    read_ahead,
    read_bronze,
    read_symbology,
    scan_dbn,
    write_table,
)
from mbp10.records import iter_table_records, out_of_order_count
from mbp10.symbology import Selection
from perfkit import atomic_path

STAGE_DIRS = {
    "bar5s": "silver/bar5s",
    "levels": "silver/levels",
    "episodes": "silver/episodes",
    "episode_bars": "silver/episode_bars",
    "approach": "silver/approach",
    "approach_signature": "silver/approach_signature",
    "vectors": "gold/vectors",
}
STAGING = "_staging/bar5s_core"  # Arrow IPC between the passes: no encode/decode cost, memory-mapped reads


def write_staging(table: pa.Table, path: Path) -> None:
    with (
        atomic_path(path) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as w,
    ):
        w.write_table(table)


def read_staging(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


def write_parquet(table: pa.Table, path: str | os.PathLike) -> None:
    """Write atomically (temp file + rename), zstd level 3."""
    with atomic_path(path) as tmp:
        write_table(table, tmp)


def day_bars(
    path: str | os.PathLike,
    bronze_out: Path | None = None,
    selection: Selection | None = None,
    ahead: int | None = None,
    frames: tuple | None = None,
) -> tuple[pa.Table, ScanStats]:
    """bar5s (without the level distance) of one input file, per instrument (`selection` says which:
    default every outright); optionally the bronze Parquet in the same pass. `stats.integrity` holds the
    feed's integrity counters. `ahead`: blocks a reader thread decompresses ahead of the kernels (a DBN
    input without bronze; 0: none; None: `io.read_ahead()`, when a core is free). `frames`:
    `io.probe(path).frames`, when the caller probed the file (its frames are then not walked again)."""
    if selection is not None and not isinstance(selection, Selection):
        raise TypeError(f"selection must be an mbp10.symbology.Selection, not {type(selection).__name__}")
    if bronze_out is not None:
        _check_bronze_out(path, bronze_out)
    try:
        return _day_bars(path, bronze_out, selection, ahead, frames)
    except InputError as e:  # e.g. a ts_event span too long for memory: name the file
        raise Mbp10Error(f"{path}: {e}") from None


def _check_bronze_out(path, bronze_out) -> None:
    """Refuse a bronze output that is a folder or the input file itself (`day_bars(day, day)` replaced the
    DBN file with its bronze Parquet): one `stat`, nothing when `bronze_out` does not exist yet."""
    try:
        out = os.stat(bronze_out)
    except OSError:
        return
    if os.path.isdir(bronze_out):
        raise Mbp10Error(f"bronze output {bronze_out} is a folder; give a file name")
    try:
        src = os.stat(path)
    except OSError:
        return  # refused as an input below
    if (src.st_dev, src.st_ino) == (out.st_dev, out.st_ino):
        raise Mbp10Error(f"bronze output {bronze_out} is the input {path}: it would be replaced")


def _day_bars(
    path, bronze_out: Path | None, selection: Selection | None, ahead: int | None, frames=None
) -> tuple[pa.Table, ScanStats]:
    from mbp10.bars import BarsConsumer  # Numba: not imported by a `run` parent, which only runs the features

    consumer = BarsConsumer(selection=selection)
    if input_kind(path) == "parquet":
        consumer.symmap = read_symbology(path)
        table = read_bronze(path)
        ts = table.column("ts_event").cast(pa.int64()).to_numpy()
        ids = table.column("instrument_id").to_numpy()
        n_bad = sum(out_of_order_count(ts[ids == i]) for i in np.unique(ids))
        if out_of_order_count(ts):
            table = table.take(np.argsort(ts, kind="stable"))
        if bronze_out is not None:
            from mbp10.ingest import ingest_file

            with atomic_path(bronze_out) as tmp:
                ingest_file(path, tmp)
        for block in iter_table_records(table):
            consumer.update(block)
        stats = ScanStats(records=table.num_rows, out_of_order=n_bad, streamed=False)
    elif bronze_out is not None:
        from mbp10.ingest import ingest_file

        with atomic_path(bronze_out) as tmp:
            stats = ingest_file(path, tmp, extra_consumers=(consumer,))
    else:
        stats = scan_dbn(path, [consumer], read_ahead() if ahead is None else ahead, frames)
    bars = consumer.finish(str(path))
    stats.integrity = {
        **consumer.integrity.counters(),
        "books_crossed_events": int(np.sum(arrow_to_np(bars.column("bar5s_flag_crossed_cnt_sum")))),
        "books_locked_events": int(np.sum(arrow_to_np(bars.column("bar5s_flag_locked_cnt_sum")))),
        "instruments_in_file": len(consumer.seen),
        "instruments_kept": _runs(arrow_to_np(bars.column("instrument_id"))),
    }
    return bars, stats


def _runs(ids: np.ndarray) -> int:
    """Distinct values of sorted `ids` (the bars' instrument ids): runs of equal values, without a sort."""
    return int(len(ids) > 0) + int(np.count_nonzero(ids[1:] != ids[:-1]))


@dataclass
class DayOutputs:
    bars: pa.Table
    levels: pa.Table
    episodes: pa.Table
    episode_bars: pa.Table
    approach: pa.Table
    approach_signature: pa.Table
    vectors: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {
            "bar5s": self.bars,
            "levels": self.levels,
            "episodes": self.episodes,
            "episode_bars": self.episode_bars,
            "approach": self.approach,
            "approach_signature": self.approach_signature,
            "vectors": self.vectors,
        }


def day_features(
    date: dt.date,
    bars: pa.Table,
    prev_bars: pa.Table | None,
    prev_date: dt.date | None,
    params: EpisodeParams,
) -> DayOutputs:
    """Every level-dependent stage of one date, each instrument on its own (`mbp10.instruments`).

    `bars`/`prev_bars` as `day_bars` returns them (plain or `io.typed`). Only what costs nothing is checked
    here (types, the order of the dates); that the bars are of `date`'s session and `prev_bars` of
    `prev_date`'s is the caller's (`calendar.check_bars_of`, as `run` and `mbp10.api.features` do)."""
    bars, prev_bars = _plain_bars(bars, "bars"), _plain_bars(prev_bars, "prev_bars")
    if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
        raise TypeError(f"date must be a datetime.date, not {type(date).__name__} {date!r}")
    if prev_bars is not None and prev_bars.num_rows and prev_date is None:  # its levels were dropped
        raise Mbp10Error("day_features: prev_bars given without prev_date (the session they are of)")
    if prev_date is not None and not (type(prev_date) is dt.date and prev_date < date):
        raise Mbp10Error(f"day_features: prev_date {prev_date!r} is not a date before {date} (look-ahead)")
    if not isinstance(params, EpisodeParams):
        raise TypeError(f"params must be an mbp10.episodes.EpisodeParams, not {type(params).__name__}")
    levels = levels_all(date, bars, prev_bars, prev_date)
    bars = level_distance_all(bars, levels)
    episodes, windows = episodes_all(date.isoformat(), bars, levels, params)
    series = series_all(bars, episodes)
    approach, signature = approach_all(bars, episodes, series)
    vectors = vectors_all(bars, episodes, approach, signature, params.reset_pts, series)
    return DayOutputs(bars, levels, episodes, windows, approach, signature, vectors)


def _plain_bars(bars, name: str) -> pa.Table | None:
    """A bars table as the stages compute on it: `io.plain` of a typed one (one look at a column type)."""
    if bars is None:
        return None
    if not isinstance(bars, pa.Table):
        raise TypeError(
            f"{name} must be a pyarrow Table (from day_bars or mbp10.api.bars), not {type(bars).__name__}"
        )
    if "bar_start_ns" not in bars.column_names:
        raise Mbp10Error(f"day_features: {name} has no bar_start_ns column (not a bar5s table)")
    # `mbp10.api.bars`' distance to round numbers: the distances to this day's levels are made here
    if DIST_COLUMN in bars.column_names:
        bars = bars.drop_columns([DIST_COLUMN])
    if pa.types.is_timestamp(bars.schema.field("bar_start_ns").type):
        from mbp10.io import plain

        return plain(bars)
    return bars


# -- many dates ------------------------------------------------------------------------------------------


def bars_task(payload: tuple) -> dict:
    """Pass 1 (one date): decode + bar5s core into the staging area; optional bronze."""
    date_iso, src, out_dir, bronze, selection, ahead, frames = payload
    out = Path(out_dir)
    bronze_out = out / "bronze" / f"{date_iso}.parquet" if bronze else None
    t0 = time.perf_counter()
    from mbp10.bars import warm_up

    warm_up()  # the worker's first task loads (or compiles) the kernels: timed apart, kept out of the rate
    compile_s = time.perf_counter() - t0
    bars, stats = day_bars(src, bronze_out, Selection(**selection), ahead, frames)
    write_staging(bars, out / STAGING / f"{date_iso}.arrow")
    counts = {"records": stats.records, "out_of_order": stats.out_of_order, "bars": bars.num_rows}
    counts.update(stats.integrity)
    return {**counts, "compile_s": compile_s}


def features_task(payload: tuple) -> dict:
    """Pass 2 (one date): levels from the previous date's bars, then every later stage."""
    date_iso, prev_iso, out_dir, params = payload
    out = Path(out_dir)
    bars = read_staging(out / STAGING / f"{date_iso}.arrow")
    prev = read_staging(out / STAGING / f"{prev_iso}.arrow") if prev_iso else None
    date = dt.date.fromisoformat(date_iso)
    prev_date = dt.date.fromisoformat(prev_iso) if prev_iso else None
    res = day_features(date, bars, prev, prev_date, EpisodeParams(**params))
    counts = {}
    for stage, table in res.tables().items():
        write_parquet(table, out / STAGE_DIRS[stage] / f"{date_iso}.parquet")
        counts[f"{stage}_rows"] = table.num_rows
    outcomes = res.episodes.column("outcome").to_pylist()
    for o in ("break", "bounce", "chop"):
        counts[f"touches_{o}"] = outcomes.count(o)
    return counts


def check_input_date(out: Path, date_iso: str, src) -> None:
    """Refuse an input whose bars are not of the session its name says (`calendar.check_bars_of`): `run`
    finds a date's file by the date in its name, and a copy of another day's file would otherwise give that
    day's touches under this date (only round-number levels, no counter). Reads the bar starts of the
    date's staged bars (memory-mapped); a file without bars has nothing to check."""
    from mbp10.calendar import check_bars_of

    starts = read_staging(out / STAGING / f"{date_iso}.arrow").column("bar_start_ns").to_numpy()
    if len(starts):
        check_bars_of(starts, dt.date.fromisoformat(date_iso), src, " (the date in its name)")


def _previous_input(date: dt.date, inputs: dict) -> str | None:
    prev = previous_session(date)
    return prev.isoformat() if prev in inputs else None


def bars_files(date_iso: str, bronze: bool) -> tuple[str, ...]:
    """What `bars_task` writes for one date, relative to the output folder (for a resumed run's check)."""
    return (f"{STAGING}/{date_iso}.arrow", *((f"bronze/{date_iso}.parquet",) if bronze else ()))


def features_files(date_iso: str) -> tuple[str, ...]:
    """What `features_task` writes for one date, relative to the output folder."""
    return tuple(f"{sub}/{date_iso}.parquet" for sub in STAGE_DIRS.values())


def cleanup_staging(out: Path) -> None:
    shutil.rmtree(out / "_staging", ignore_errors=True)


class StageReceipts:
    """Receipts of the per-date stage folders, digested date by date as the dates are finished.

    The same bytes as ``perfkit.digest_parquet(folder)`` once every date is in: that digest reads a
    folder's files in sorted name order (``<date>.parquet``: date order) as one stream, so the files of
    each date are fed, read back from disk, as soon as every earlier date is in too. A run thus digests
    while its workers still decode later dates instead of after them.
    """

    def __init__(self, out: Path, dates: list[str]):
        from perfkit.determinism import ParquetDatasetDigester

        self.out = out
        self.waiting = sorted(dates)
        self.finished: set[str] = set()
        self.digests = {stage: ParquetDatasetDigester() for stage in STAGE_DIRS}

    def date_done(self, date_iso: str) -> None:
        self.finished.add(date_iso)
        while self.waiting and self.waiting[0] in self.finished:
            d = self.waiting.pop(0)
            for stage, sub in STAGE_DIRS.items():
                self.digests[stage].add_file(self.out / sub / f"{d}.parquet")

    def receipts(self) -> dict[str, str]:
        """Every stage's receipt; a folder holding any other file than the dates' is digested whole."""
        import perfkit

        done = sorted(self.finished)
        out = {}
        for stage, sub in STAGE_DIRS.items():
            files = sorted(
                p.relative_to(self.out / sub).as_posix() for p in (self.out / sub).rglob("*.parquet")
            )
            same = not self.waiting and files == [f"{d}.parquet" for d in done]
            out[stage] = self.digests[stage].hexdigest() if same else perfkit.digest_parquet(self.out / sub)
        return out


def run_dates(
    plan: DatePlan,
    out_dir: str | os.PathLike,
    *,
    run,
    workers: int = 1,
    executor: str = "serial",
    scheduler: str | None = None,
    bronze: bool = False,
    params: EpisodeParams | None = None,
    selection: Selection | None = None,
    quiet: bool = True,
) -> dict:
    """Every stage for every date of `plan`: fills `out_dir` (an existing folder the caller owns) with
    <layer>/<stage>/<date>.parquet and records stages, items, counters and receipts in `run` (a perfkit.Run).
    """
    from perfkit.clitools import progress
    from perfkit.parallel import Task, map_tasks

    import perfkit

    params = params or EpisodeParams()
    sel = (selection or Selection()).to_dict()
    # One date at a time (serial): a reader thread decompresses ahead on a free core (`io.read_ahead`, asked
    # per date). Parallel workers already keep the cores busy: a thread each would only contend with them.
    ahead = None if executor == "serial" else 0
    out = Path(out_dir)
    inputs = plan.inputs
    t0 = time.perf_counter()
    run.metric("workers", workers)
    run.metric("executor", executor)
    todo = sorted(inputs)
    keys = [d.isoformat() for d in todo]
    prev_of: dict[str, str | None] = {}
    bars_done: set[str] = set()
    res1: dict = {}
    res2: dict = {}
    receipts = StageReceipts(out, keys)

    def features(ready: list[str]) -> None:
        """The level-dependent stages of `ready` dates, in date order, in this process's main thread.

        Light (0.1-0.2 s a date, most of it Parquet writes), so the parent does them between the
        workers' results: no second round of worker start-up, and a Ctrl-C stops them at once (a thread
        pool would first finish its running dates: 3.6 s measured under load). Each date is its own
        resumable "features" task; its files are then digested into the receipts.
        """
        for k in ready:
            check_input_date(out, k, inputs[dt.date.fromisoformat(k)])
            with run.stage("features"):
                res2.update(
                    map_tasks(
                        features_task,
                        [
                            Task(
                                key=k,
                                payload=(k, prev_of[k], str(out), params.to_dict()),
                                files=features_files(k),
                            )
                        ],
                        phase="features",
                    )
                )
            with run.stage("receipts"):
                receipts.date_done(k)
            bar.advance()

    def bars_finished(r) -> None:
        bar.advance()
        bars_done.add(r.key)
        if not prev_of:
            # Prior-day levels come from the previous trading session (CME_Equity calendar) when its input
            # is in this run; a missing previous session gives none (never an older day's). Looked up at
            # the first result, not before the workers start: the calendar imports pandas (~0.8 s).
            prev_of.update({d.isoformat(): _previous_input(d, inputs) for d in todo})
        features(
            [
                k
                for k in keys
                if k not in res2 and k in bars_done and (prev_of[k] is None or prev_of[k] in bars_done)
            ]
        )

    try:
        with run.stage("bars"), progress(2 * len(todo), "bars, features", quiet=quiet) as bar:
            res1 = map_tasks(
                bars_task,
                [
                    # In date order (the highest cost first), not by size: each date's features can run as
                    # soon as its bars and its previous session's are in, and its receipts when every
                    # earlier date's are.
                    Task(
                        key=k,
                        payload=(k, str(inputs[d]), str(out), bronze, sel, ahead, plan.frames.get(d)),
                        cost=len(todo) - i,
                        files=bars_files(k, bronze),
                    )
                    for i, (d, k) in enumerate(zip(todo, keys, strict=True))
                ],
                executor=executor,
                workers=workers,
                scheduler=scheduler,
                on_result=bars_finished,
                phase="bars",
                # Spawned workers, not forked from a preloaded server: those start faster (bars pass 1.7-1.8 s
                # vs 2.5-2.6 s on four 400k-record days) with less memory (157 vs 210 MiB a worker), but the
                # first fork waits, with Ctrl-C held, until the server has imported the pipeline and Numba:
                # an interrupt then took 0.5-1.2 s to act at load 4-6, and would pass 2 s on a busier machine.
            )
    except BaseException:
        cleanup_staging(out)  # also when a date fails: no half-made intermediate state is left
        raise
    expected = sessions(plan.first, plan.last)
    missing = [d.isoformat() for d in expected if d not in inputs]
    run.count("sessions_expected", len(expected))
    run.count("sessions_missing", len(missing))
    run.count("inputs_outside_sessions", len(set(inputs) - set(expected)))  # e.g. a holiday's file
    run.metric("missing_sessions", missing)
    totals = {"records": 0, "touches": 0, "resumed": 0}
    compile_s = {}  # worker -> seconds its first task spent loading the kernels
    computed = 0  # records decoded by this run (not kept from a killed one): the rate's numerator
    for d in todo:
        k = d.isoformat()
        r1, r2 = res1[k], res2[k]
        counters = {**r1.value, **r2.value}
        loaded = counters.pop("compile_s")
        if r1.attempts > 0:  # a date kept from a killed run (attempts 0) loaded nothing in this one
            compile_s[r1.worker] = max(compile_s.get(r1.worker, 0.0), loaded)
        totals["resumed"] += (r1.attempts == 0) + (r2.attempts == 0)
        run.add_item(k, elapsed_s=r1.elapsed_s + r2.elapsed_s, worker=r1.worker, **counters)
        for name, v in counters.items():
            run.count(name, v)
        totals["records"] += r1.value["records"]
        computed += r1.value["records"] if r1.attempts > 0 else 0
        totals["touches"] += r2.value["episodes_rows"]
    wall = time.perf_counter() - t0
    # Workers load their kernels side by side at the start: the slowest load is left out of the rate.
    slowest_compile = max(compile_s.values(), default=0.0)
    run.metric("worker_compile_s", slowest_compile)
    busy = wall - slowest_compile
    run.metric("records_per_s", computed / busy if busy > 0 else None)
    with run.stage("receipts"):
        for stage, digest in receipts.receipts().items():
            run.receipt(stage, digest)
        if bronze:
            run.receipt("bronze", perfkit.digest_parquet(out / "bronze"))
    # Only now: a run killed while digesting a year of outputs keeps the bars its resume needs.
    cleanup_staging(out)
    return {"dates": len(todo), "wall_s": wall, **totals}
