"""seg1b CLI commands of S6: ``seg1b sites`` (site plans) and ``seg1b s6`` (site jitter).

They are registered on the ``seg1b`` click group of :mod:`seg1b.cli`, which imports this module at its end.
"""

from __future__ import annotations

import click

from seg1b.cli import main
from seg1b.errors import Seg1bError

COMPRESSIONS = ("zstd", "snappy", "lz4", "none")
EXECUTORS = ("serial", "threads", "processes", "dask")


def _s6_errors(fn):
    """Bad input -> one line, exit 2; anything else (an RNG budget failure) -> one line, exit 1."""
    from perfkit.clitools import handle_errors

    return handle_errors(bad_input=(Seg1bError,))(fn)


@main.command("sites")
@click.option(
    "--tiles", required=True, type=click.Path(), help="S1 output directory (holds tiles/part-*.parquet)."
)
@click.option("--count", type=int, default=None, help="Total sites, allocated heavy-tailed across countries.")
@click.option(
    "--counts",
    "counts_file",
    type=click.Path(),
    default=None,
    help="CSV country_iso,count instead of --count.",
)
@click.option("--seed", type=int, required=True, help="Seed of every draw (allocation, tiles, site ids).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Plan Parquet file to write.")
@click.option("--quiet", is_flag=True, help="No summary line.")
@_s6_errors
def sites_command(tiles, count, counts_file, seed, out, quiet) -> None:
    """Generate a site plan (site_id, country_iso, tile_id) over a tile index.

    Example: seg1b sites --tiles /tmp/tiles300 --count 100000 --seed 1 --out /tmp/plan.parquet
    """
    from seg1b.sites import generate_plan

    s = generate_plan(tiles, count, seed, out, counts_file=counts_file)
    if not quiet:
        top = sorted(s["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        click.echo(
            f"sites: {s['sites']:,} sites in {s['countries']} countries "
            f"(top: {', '.join(f'{k} {v:,}' for k, v in top)}) -> {s['out']}"
        )


@main.command("s6")
@click.option(
    "--tiles", required=True, type=click.Path(), help="S1 output directory (holds tiles/part-*.parquet)."
)
@click.option(
    "--sites", required=True, type=click.Path(), help="Site plan Parquet (site_id, country_iso, tile_id)."
)
@click.option(
    "--seed", type=int, required=True, help="Philox key: every draw is keyed by (seed, site_id, attempt)."
)
@click.option(
    "--max-attempts", type=int, default=64, show_default=True, help="Draws per site before fallback."
)
@click.option(
    "--countries",
    default="ne10m",
    show_default=True,
    help="ne10m | ne110m (packaged Natural Earth sets) or a vector file path (as for s1).",
)
@click.option("--key", default=None, help="Field that identifies a country (as for s1).")
@click.option(
    "--mode",
    type=click.Choice(["fast", "legacy"]),
    default="fast",
    show_default=True,
    help="legacy: the per-site, per-attempt Shapely reference (parity tests, speed ratio).",
)
@click.option("--workers", type=int, default=None, help="Parallel workers (default: CPU count).")
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default=None,
    help="Default: dask with --scheduler, serial for 1 worker, else threads (the kernels release the GIL).",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (with --executor dask).")
@click.option("--chunk-sites", type=int, default=None, help="Sites per work unit of a heavy country.")
@click.option("--compression", type=click.Choice(COMPRESSIONS), default="zstd", show_default=True)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Output: OUT/sites/, OUT/run_report.json."
)
@click.option(
    "--report-dir", type=click.Path(file_okay=False), default=None, help="Where run_report.json goes."
)
@click.option(
    "--profile", type=click.Path(dir_okay=False), default=None, help="cProfile the run to this .pstats."
)
@click.option("--quiet", is_flag=True, help="No progress bar or summary line.")
@_s6_errors
def s6_command(**opts) -> None:
    """Place every planned site at a random point of its tile inside its country.

    Example: seg1b s6 --tiles /tmp/tiles300 --sites /tmp/plan.parquet --seed 7 --countries ne110m --out /tmp/s6
    """
    from seg1b.s6 import S6Params, format_summary, run_s6

    summary = run_s6(S6Params.from_cli(opts))
    if not opts["quiet"]:
        click.echo(format_summary(summary))
