"""Command line for mbp10: synth, ingest, bars, levels, episodes, approach, vectors, similar, run.

Every command that writes claims its outputs through `perfkit.job` first (checked against its inputs and
against what exists, before any work), then imports the Numba kernels and reads its inputs inside the
job: a refused command answers in the time of its imports, and bad input found later leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from pathlib import Path

import click
from perfkit.clitools import (
    EXECUTORS,
    Group,
    NotAnOptionPath,
    common_options,
    executor_for,
    executor_option,
    handle_errors,
    scheduler_option,
)

import perfkit
from mbp10.errors import Mbp10Error

PIPELINE = "mbp10"


def _job(
    command: str,
    config: dict,
    *,
    force,
    report_dir,
    profile,
    inputs=(),
    files=(),
    directories=(),
    resume: bool | None = None,
):
    """`perfkit.job.job` for one mbp10 command: outputs claimed and checked against the inputs before any
    work, staged privately, committed on success; bad input (`Mbp10Error`) leaves nothing anywhere.
    `resume` not None: the folder output keeps a journal of finished dates, and True continues the run a
    `kill -9` left unfinished (`mbp10 run --resume`)."""
    from perfkit.job import job

    return job(
        PIPELINE,
        command,
        config=config,
        inputs=inputs,
        files=files,
        directories=directories,
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=(Mbp10Error,),
        resumable=resume is not None,
        resume=bool(resume),
    )


def _say_report(j, quiet: bool) -> None:
    if not quiet and j.report_path is not None:
        click.echo(f"report: {j.report_path}", err=True)


def _date(value: str, option: str = "--date") -> dt.date:
    from mbp10.calendar import check_supported

    try:
        date = dt.date.fromisoformat(value)
    except ValueError:
        raise Mbp10Error(f"bad {option} {value!r}: expected a real date, YYYY-MM-DD") from None
    check_supported(date, option)
    return date


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise Mbp10Error(f"{path}: no such file")
    if not (path.is_file() or path.is_dir()):
        # a FIFO would block the open until a writer comes, and its bytes can be read only once
        raise Mbp10Error(f"{path}: not a regular file (a pipe, device or socket); give a file")
    return path


def _read_parquet(path: Path, required: tuple[str, ...], what: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _existing(path)
    try:
        # One file through ParquetFile: read_table goes through pyarrow.dataset, which imports pandas (~1 s).
        table = pq.read_table(path) if Path(path).is_dir() else pq.ParquetFile(path).read()
    except (OSError, pa.ArrowException) as e:
        raise Mbp10Error(f"{path}: not a readable Parquet file ({e})") from None
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise Mbp10Error(f"{path}: missing columns {', '.join(missing[:5])} (not a {what} table)")
    from mbp10.io import plain

    return plain(table)


def selection_options(command):
    """--symbol (repeatable), --instrument-id (repeatable), --spreads, --front-month: the command gets them
    as one `selection` (`mbp10.symbology.Selection`)."""

    @functools.wraps(command)
    def fn(*args, symbols, instrument_ids, spreads, front_month, **kwargs):
        from click.core import ParameterSource

        selection = _selection(symbols, instrument_ids, spreads, front_month)
        given = click.get_current_context().get_parameter_source("spreads") != ParameterSource.DEFAULT
        # this wrapper runs outside the command's handle_errors: a refusal still exits 2 in one line
        handle_errors(bad_input=(Mbp10Error,))(selection.check)(spreads_given=given)
        return command(*args, selection=selection, **kwargs)

    fn = click.option(
        "--front-month",
        is_flag=True,
        help="keep only the outright with the largest traded volume in each input file (one a date); "
        "not with --spreads",
    )(fn)
    fn = click.option(
        "--spreads/--no-spreads",
        default=False,
        show_default=True,
        help="with no --symbol/--instrument-id (refused with them): also compute calendar spreads "
        "(symbols with '-')",
    )(fn)
    fn = click.option(
        "--instrument-id", "instrument_ids", type=click.IntRange(min=0), multiple=True, help="repeatable"
    )(fn)
    return click.option(
        "--symbol", "symbols", multiple=True, help="raw symbol from the DBN header, e.g. ESH4 (repeatable)"
    )(fn)


def _selection(symbols, instrument_ids, spreads, front_month):
    from mbp10.symbology import Selection

    return Selection(tuple(symbols), tuple(instrument_ids), spreads, front_month)


def _count_integrity(run, stats) -> None:
    for name, value in stats.integrity.items():
        run.count(name, value)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mbp10")
def main() -> None:
    """MBP-10 ticks -> 5-second bars -> level episodes -> approach features -> setup vectors."""


@main.command()
@click.option("--date", "date_s", required=True, help="Trading date, YYYY-MM-DD.")
@click.option("--records", type=click.IntRange(min=40), default=1_900_000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True, help="FILE.dbn.zst"
)
@click.option(
    "--symbol",
    "symbols",
    multiple=True,
    help="instrument raw symbol, repeatable (default ESH4); a '-' makes a calendar spread (ESH4-ESM4)",
)
@click.option(
    "--parent", default=None, help="write a parent pull's header (e.g. ES.FUT) with one mapping per symbol"
)
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def synth(date_s, records, seed, out, symbols, parent, profile, report_dir, force, quiet):
    """Write a deterministic synthetic ES-like MBP-10 day as a DBN v3 file (one or several instruments,
    interleaved by ts_recv).

    Example: mbp10 synth --date 2024-01-02 --records 300000 --seed 1 --out day.dbn.zst
    """
    from mbp10.symbology import check_parent_symbol, check_raw_symbol
    from mbp10.synth import SYMBOL

    symbols = tuple(symbols) or (SYMBOL,)
    for symbol in symbols:
        check_raw_symbol(symbol, "--symbol")
    if parent is not None:
        check_parent_symbol(parent, "--parent")
    if len(set(symbols)) != len(symbols):
        raise Mbp10Error(f"--symbol given twice: {', '.join(symbols)}")
    if records < 40 * len(symbols):
        raise Mbp10Error(f"--records {records} is below 40 a symbol ({len(symbols)} symbols)")
    from perfkit.limits import check_memory

    from mbp10.synth import synth_memory_bytes

    date = _date(date_s)
    check_memory(synth_memory_bytes(records), f"--records {records:,}")
    config = {"date": date_s, "records": records, "seed": seed, "symbols": list(symbols), "parent": parent}
    with _job("synth", config, files=[out], force=force, report_dir=report_dir, profile=profile) as j:
        import numpy as np

        from mbp10.dbn import write_dbn
        from mbp10.synth import synth_day, synth_header, synth_instruments, warm_up

        with j.run.stage("compile"):  # Numba compile or cache load: kept out of the simulate rate
            warm_up()
        t0 = time.perf_counter()
        with j.run.stage("simulate"):
            if len(symbols) == 1 and symbols[0] == SYMBOL:
                rec = synth_day(date, records, seed)
            else:
                rec = synth_instruments(date, records, seed, symbols)
        elapsed = time.perf_counter() - t0
        with j.run.stage("write"):
            write_dbn(j.path(out), synth_header(date, symbols, parent), rec)
        j.run.count("records", len(rec))
        j.run.metric("records_per_s", len(rec) / elapsed if elapsed > 0 else None)
        with j.run.stage("receipt"):
            j.run.receipt("records", perfkit.digest_array(rec.view(np.uint8)))
    _say_report(j, quiet)
    if not quiet:
        click.echo(f"wrote {len(rec):,} records to {out}")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".dbn.zst", ".dbn", ".parquet"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


@main.command()
@click.argument("input_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=NotAnOptionPath(file_okay=False, path_type=Path),
    required=True,
    help="bronze folder (new or empty; with --force, an earlier ingest's folder)",
)
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def ingest(input_path, out, profile, report_dir, force, quiet):
    """DBN (.dbn, .dbn.zst) or Parquet -> a bronze folder: OUT/<name>.parquet (zstd 3, sorted by ts_event)
    and the run report.

    Example: mbp10 ingest day.dbn.zst --out bronze/
    """
    name = f"{_stem(_existing(input_path))}.parquet"
    config = {"input": str(input_path)}
    with _job(
        "ingest",
        config,
        inputs=[input_path],
        directories=[out],
        force=force,
        report_dir=report_dir,
        profile=profile,
    ) as j:
        from mbp10.ingest import ingest_file
        from mbp10.io import probe

        probe(input_path)
        dest = j.path(out) / name
        with j.run.stage("ingest"):
            stats = ingest_file(input_path, dest)
        j.run.count("records", stats.records)
        j.run.count("out_of_order_records", stats.out_of_order)
        j.run.receipt("bronze", perfkit.digest_parquet(dest))
    _say_report(j, quiet)
    if not quiet:
        click.echo(
            f"wrote {stats.records:,} records to {out / name} ({stats.out_of_order} out of order, sorted)"
        )


@main.command()
@click.argument("input_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--levels",
    "levels_path",
    type=NotAnOptionPath(dir_okay=False, path_type=Path),
    default=None,
    help="levels Parquet for the distance column (default: round numbers, every 50 points within 10% of the first mid)",
)
@selection_options
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def bars(input_path, out, levels_path, selection, profile, report_dir, force, quiet):
    """DBN file or bronze Parquet -> silver bar5s Parquet (one row per instrument and non-empty 5-s bar).

    Example: mbp10 bars day.dbn.zst -o bars.parquet --symbol ESH4
    """
    _existing(input_path)
    config = {
        "input": str(input_path),
        "levels": str(levels_path) if levels_path else None,
        **selection.to_dict(),
    }
    with _job(
        "bars",
        config,
        inputs=[input_path, levels_path],
        files=[out],
        force=force,
        report_dir=report_dir,
        profile=profile,
    ) as j:
        from mbp10.io import probe, write_table

        probed = probe(input_path)  # most bad input is refused before Numba is imported
        levels = (
            _read_parquet(levels_path, ("instrument_id", "level_price", "valid_from_ns"), "levels")
            if levels_path
            else None
        )
        from mbp10.bars import warm_up
        from mbp10.instruments import level_distance_all
        from mbp10.pipeline import day_bars

        with j.run.stage("compile"):  # Numba compile or cache load: kept out of the records rate
            warm_up()
        t0 = time.perf_counter()
        with j.run.stage("decode+bar5s"):
            table, stats = day_bars(input_path, selection=selection, frames=probed.frames)  # one walk
        elapsed = time.perf_counter() - t0
        with j.run.stage("level_distance"):
            table = level_distance_all(table, levels)
        with j.run.stage("write"):
            write_table(table, j.path(out))
        j.run.count("records", stats.records)
        j.run.count("out_of_order_records", stats.out_of_order)
        _count_integrity(j.run, stats)
        j.run.count("bars", table.num_rows)
        j.run.metric("records_per_s", stats.records / elapsed if elapsed > 0 else None)
        j.run.receipt("bar5s", perfkit.digest_parquet(j.path(out)))
    _say_report(j, quiet)
    if not quiet:
        click.echo(
            f"{stats.records:,} records -> {table.num_rows:,} bars in {out} "
            f"({stats.out_of_order} out of order, sorted)"
        )


BARS_REQUIRED = (
    "instrument_id",
    "bar_start_ns",
    "bar5s_book_mid_px_eob",
    "bar5s_trade_high_px",
    "bar5s_trade_low_px",
    "bar5s_trade_last_px",
)


@main.command()
@click.option("--bars", "bars_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option("--date", "date_s", required=True)
@click.option("--prev-bars", type=NotAnOptionPath(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--prev-date",
    "prev_date_s",
    default=None,
    help="date of --prev-bars (default: the previous trading session)",
)
@click.option("-o", "--out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def levels(bars_path, date_s, prev_bars, prev_date_s, out, profile, report_dir, force, quiet):
    """Levels of a date: prior-day H/L/C, overnight H/L, opening range H/L, round numbers.

    Example: mbp10 levels --bars d2.parquet --prev-bars d1.parquet --date 2024-01-03 -o levels.parquet
    """
    date = _date(date_s)
    prev_date = _date(prev_date_s, "--prev-date") if prev_date_s else None
    with _job(
        "levels",
        {"date": date_s},
        inputs=[bars_path, prev_bars],
        files=[out],
        force=force,
        report_dir=report_dir,
        profile=profile,
    ) as j:
        from mbp10.instruments import levels_all
        from mbp10.io import write_table

        bars_t = _read_parquet(bars_path, BARS_REQUIRED, "bar5s")
        check_date_in_bars(bars_t, date, bars_path)
        prev_t = _read_parquet(prev_bars, BARS_REQUIRED, "bar5s") if prev_bars else None
        if prev_t is not None:
            prev_date = check_prev_bars(prev_t, prev_bars, bars_path, date, prev_date)
        with j.run.stage("levels"):
            table = levels_all(date, bars_t, prev_t, prev_date if prev_t is not None else None)
        write_table(table, j.path(out))
        j.run.count("levels", table.num_rows)
        j.run.receipt("levels", perfkit.digest_parquet(j.path(out)))
    _say_report(j, quiet)
    if not quiet:
        click.echo(f"{table.num_rows} levels -> {out}")


def check_date_in_bars(bars, date: dt.date, path: Path) -> None:
    """Refuse levels for a date whose session (CME_Equity calendar; the UTC day when the date has no
    session) is not the one the bars are of (`calendar.check_bars_of`): they would be round numbers only,
    or another day's overnight and opening range."""
    from mbp10.calendar import check_bars_of

    check_bars_of(bars.column("bar_start_ns").to_numpy(), date, path)


def check_prev_bars(prev, prev_path: Path, bars_path: Path, date: dt.date, prev_date: dt.date | None):
    """The date of `--prev-bars`, checked: before `--date`, not the `--bars` file itself, and its bars of
    that session (default: the session before `date`). Prior-day levels fall back to the whole file when
    the session's regular hours hold no bars, so any other file would give another day's levels (or the
    same day's: look-ahead)."""
    from mbp10.calendar import check_bars_of, previous_session

    if prev_date is not None and prev_date >= date:
        raise Mbp10Error(f"--prev-date {prev_date} is not before --date {date}")
    if bars_path.resolve() == prev_path.resolve() or prev_path.samefile(bars_path):
        raise Mbp10Error(f"{prev_path}: --prev-bars is the --bars file; give the previous session's bars")
    if prev_date is None:
        prev_date = previous_session(date) or date - dt.timedelta(days=1)
        what = f" (the session before --date {date})"
    else:
        what = " (--prev-date)"
    check_bars_of(prev.column("bar_start_ns").to_numpy(), prev_date, prev_path, what)
    return prev_date


def episode_options(fn):
    from mbp10.episodes import EpisodeParams

    d = EpisodeParams()
    for name, typ in reversed(
        [
            ("approach_pts", float),
            ("reset_pts", float),
            ("break_pts", float),
            ("bounce_pts", float),
            ("horizon_bars", int),
            ("window_before", int),
            ("window_after", int),
        ]
    ):
        fn = click.option(
            f"--{name.replace('_', '-')}", name, type=typ, default=getattr(d, name), show_default=True
        )(fn)
    return fn


@main.command()
@click.option("--bars", "bars_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option("--levels", "levels_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option("-o", "--out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option("--windows-out", type=NotAnOptionPath(dir_okay=False, path_type=Path), default=None)
@episode_options
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def episodes(bars_path, levels_path, out, windows_out, profile, report_dir, force, quiet, **params):
    """Level touches (touch_id, window, outcome break/bounce/chop) of one date's bars.

    Example: mbp10 episodes --bars bars.parquet --levels levels.parquet -o episodes.parquet
    """
    from mbp10.episodes import EpisodeParams
    from mbp10.instruments import episodes_all

    p = EpisodeParams(**params)
    with _job(
        "episodes",
        p.to_dict(),
        inputs=[bars_path, levels_path],
        files=[out, windows_out],
        force=force,
        report_dir=report_dir,
        profile=profile,
    ) as j:
        from mbp10.io import write_table

        bars_t = _read_parquet(bars_path, BARS_REQUIRED, "bar5s")
        lv = _read_parquet(
            levels_path, ("instrument_id", "date", "level_kind", "level_price", "valid_from_ns"), "levels"
        )
        from mbp10.stage_inputs import check_levels_on_bars

        date_iso = check_levels_on_bars(lv, bars_t, levels_path, bars_path)
        with j.run.stage("episodes"):
            ep, win = episodes_all(date_iso, bars_t, lv, p)
        write_table(ep, j.path(out))
        if windows_out:
            write_table(win, j.path(windows_out))
        j.run.count("touches", ep.num_rows)
        j.run.receipt("episodes", perfkit.digest_parquet(j.path(out)))
    _say_report(j, quiet)
    if not quiet:
        click.echo(f"{ep.num_rows} touches -> {out}")


@main.command()
@click.option("--bars", "bars_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--episodes", "episodes_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True
)
@click.option("-o", "--out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option("--signature-out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def approach(bars_path, episodes_path, out, signature_out, profile, report_dir, force, quiet):
    """Approach features per touch and window bar, and the per-touch setup signature.

    Example: mbp10 approach --bars b.parquet --episodes e.parquet -o a.parquet --signature-out s.parquet
    """
    with _job(
        "approach",
        {},
        inputs=[bars_path, episodes_path],
        files=[out, signature_out],
        force=force,
        report_dir=report_dir,
        profile=profile,
    ) as j:
        from mbp10.approach import FLOW
        from mbp10.instruments import approach_all
        from mbp10.io import write_table

        bars_t = _read_parquet(bars_path, BARS_REQUIRED + tuple(FLOW.values()), "bar5s")
        ep = _read_parquet(
            episodes_path,
            (
                "instrument_id",
                "touch_id",
                "touch_bar",
                "level_price",
                "direction",
                "date",  # these two for the check that the touches are on --bars
                "touch_bar_start_ns",
            ),
            "episodes",
        )
        from mbp10.stage_inputs import check_touches_on_bars

        check_touches_on_bars(ep, bars_t, episodes_path, bars_path)
        with j.run.stage("approach"):
            ap, sig = approach_all(bars_t, ep)
        write_table(ap, j.path(out))
        write_table(sig, j.path(signature_out))
        j.run.receipt("approach", perfkit.digest_parquet(j.path(out)))
        j.run.receipt("approach_signature", perfkit.digest_parquet(j.path(signature_out)))
    _say_report(j, quiet)
    if not quiet:
        click.echo(f"{ep.num_rows} touches -> {out}, {signature_out}")


@main.command()
@click.option("--bars", "bars_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--episodes", "episodes_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True
)
@click.option(
    "--approach", "approach_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True
)
@click.option(
    "--signature", "signature_path", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True
)
@click.option("--reset-pts", type=float, default=4.0, show_default=True)
@click.option("-o", "--out", type=NotAnOptionPath(dir_okay=False, path_type=Path), required=True)
@common_options(workers=False)
@handle_errors(bad_input=(Mbp10Error,))
def vectors(
    bars_path,
    episodes_path,
    approach_path,
    signature_path,
    reset_pts,
    out,
    profile,
    report_dir,
    force,
    quiet,
):
    """Gold setup vectors: one float32 vector per touch with its outcome.

    Example: mbp10 vectors --bars b.parquet --episodes e.parquet --approach a.parquet --signature s.parquet -o v.parquet
    """
    with _job(
        "vectors",
        {"reset_pts": reset_pts},
        inputs=[bars_path, episodes_path, approach_path, signature_path],
        files=[out],
        force=force,
        report_dir=report_dir,
        profile=profile,
    ) as j:
        from mbp10.instruments import vectors_all
        from mbp10.io import write_table

        bars_t = _read_parquet(bars_path, BARS_REQUIRED, "bar5s")
        ep = _read_parquet(
            episodes_path,
            (
                "instrument_id",
                "touch_id",
                "touch_bar",
                "outcome",
                "decision_ns",
                "outcome_known_ns",
                "date",  # these two for the check that the touches are on --bars
                "touch_bar_start_ns",
            ),
            "episodes",
        )
        ap = _read_parquet(approach_path, ("instrument_id", "touch_id", "rel_bar", "dist_pts"), "approach")
        sig = _read_parquet(
            signature_path, ("instrument_id", "touch_id", "sig_dist_start"), "approach signature"
        )
        from mbp10.stage_inputs import check_same_touches, check_touches_on_bars

        check_touches_on_bars(ep, bars_t, episodes_path, bars_path)
        check_same_touches(ep, ap, episodes_path, approach_path)
        check_same_touches(ep, sig, episodes_path, signature_path)
        with j.run.stage("vectors"):
            table = vectors_all(bars_t, ep, ap, sig, reset_pts)
        write_table(table, j.path(out))
        j.run.receipt("vectors", perfkit.digest_parquet(j.path(out)))
    _say_report(j, quiet)
    if not quiet:
        click.echo(f"{table.num_rows} vectors -> {out}")


def _instant(value: str, option: str) -> int:
    """UTC nanoseconds of 'YYYY-MM-DD' (midnight UTC) or an ISO date-time (UTC unless it names a zone)."""
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Mbp10Error(
            f"bad {option} {value!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return (t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


@main.command()
@click.option(
    "--vectors",
    "vectors_path",
    type=NotAnOptionPath(path_type=Path),
    required=True,
    help="a gold vectors Parquet file or folder (e.g. OUT/gold/vectors)",
)
@click.option("--touch-id", type=int, required=True)
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="cut (UTC date or ISO time, not after the touch's decision time); default: neighbours only from "
    "sessions before the touch's",
)
@click.option(
    "--json", "as_json", is_flag=True, help="one JSON object: the query, the cut and the neighbours"
)
@handle_errors(bad_input=(Mbp10Error,))
def similar(vectors_path, touch_id, k, as_of, as_json):
    """The k setups nearest to a touch, point in time (a look-up: writes nothing). Outcomes not yet known
    at the cut are shown as '?' (null in --json).

    Example: mbp10 similar --vectors out/gold/vectors --touch-id 2024010300004 --k 10 --json
    """
    import json

    from mbp10.schema import VECTORS_REQUIRED
    from mbp10.vectors import nearest

    as_of_ns = _instant(as_of, "--as-of") if as_of is not None else None
    library = _read_parquet(vectors_path, VECTORS_REQUIRED, "setup vectors")
    try:
        hits = nearest(library, touch_id, k, as_of_ns)
    except KeyError:
        raise Mbp10Error(f"touch_id {touch_id} is not in {vectors_path}") from None
    rows = hits.to_pylist()
    if not rows:  # said on stderr: --json still prints its object, with "neighbours": []
        cut = (
            f"decided by --as-of {as_of}" if as_of is not None else f"of a session before touch {touch_id}'s"
        )
        click.echo(f"no candidates: {vectors_path} holds no other touch {cut}", err=True)
    if as_json:
        import pyarrow.compute as pc

        query = library.filter(pc.equal(library.column("touch_id"), touch_id))
        query = query.drop_columns(["vector", "outcome", "outcome_known_ns"])  # not known at its decision
        click.echo(
            json.dumps(
                {"query": query.to_pylist()[0], "as_of_ns": as_of_ns, "k": k, "neighbours": rows},
                default=str,
            )
        )
        return
    if not rows:
        return
    click.echo(
        f"{'touch_id':>15} {'symbol':>10} {'date':>10} {'level':>6} {'price':>9} {'dir':>3} {'outcome':>7} "
        f"{'distance':>9}"
    )
    for r in rows:
        click.echo(
            f"{r['touch_id']:>15} {r['symbol'] or '':>10} {r['date']:>10} {r['level_kind']:>6} "
            f"{r['level_price']:>9.2f} {r['direction']:>3} {r['outcome'] or '?':>7} {r['distance']:>9.3f}"
        )


@main.command()
@click.option("--input-dir", type=NotAnOptionPath(file_okay=False, path_type=Path), required=True)
@click.option("--dates", "dates_s", required=True, help="YYYY-MM-DD..YYYY-MM-DD (inclusive)")
@click.option(
    "--out",
    type=NotAnOptionPath(file_okay=False, path_type=Path),
    required=True,
    help="output folder (new or empty; with --force, an earlier run's folder)",
)
@executor_option(EXECUTORS, default="processes")
@scheduler_option()
@click.option("--bronze/--no-bronze", default=False, show_default=True, help="also write bronze Parquet")
@click.option(
    "--resume",
    is_flag=True,
    help="continue the run a kill -9 (or a lost machine) left unfinished for --out: keep its finished dates, "
    "compute the rest; every option but --workers/--executor/--scheduler must be the same",
)
@selection_options
@episode_options
@common_options
@handle_errors(bad_input=(Mbp10Error,))
def run(
    input_dir,
    dates_s,
    out,
    executor,
    scheduler,
    bronze,
    resume,
    selection,
    profile,
    report_dir,
    workers,
    force,
    quiet,
    **params,
):
    """All stages for many dates, dates in parallel; receipts identical for any worker count.

    --scheduler runs the dates on a Dask cluster; --resume continues a killed run (docs/cluster.md).

    Example: mbp10 run --input-dir days/ --dates 2024-01-02..2024-01-05 --workers 2 --out out/
    """
    from mbp10.dates import plan_dates
    from mbp10.episodes import EpisodeParams

    executor = executor_for(executor, scheduler)
    p = EpisodeParams(**params)
    plan = plan_dates(input_dir, dates_s)
    # What defines the output (a --resume must match it), then execution options perfkit leaves out of that
    # comparison (perfkit.resume.EXECUTION_OPTIONS).
    config = {
        "dates": dates_s,
        "input_dir": str(input_dir),
        "input_files": plan.fingerprint(),
        "bronze": bronze,
        **p.to_dict(),
        **selection.to_dict(),
        "workers": workers,
        "executor": executor,
    }
    if scheduler:
        config["scheduler"] = scheduler
    with _job(
        "run",
        config,
        inputs=[input_dir, *plan.inputs.values()],
        directories=[out],
        force=force,
        report_dir=report_dir,
        profile=profile,
        resume=resume,
    ) as j:
        from mbp10.pipeline import run_dates

        summary = run_dates(
            plan,
            j.path(out),
            run=j.run,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            bronze=bronze,
            params=p,
            selection=selection,
            quiet=quiet,
        )
    _say_report(j, quiet)
    if not quiet:
        kept = f" ({summary['resumed']} of {2 * summary['dates']} date passes resumed)" if resume else ""
        click.echo(
            f"{summary['dates']} dates, {summary['records']:,} records, {summary['touches']} touches "
            f"in {summary['wall_s']:.2f} s{kept} -> {out}"
        )
