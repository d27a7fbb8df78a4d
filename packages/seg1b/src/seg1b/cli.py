"""Command line for seg1b: ``s1`` builds the global tile index, ``sites`` a site plan, ``s6`` jitters sites."""

from __future__ import annotations

import functools
from collections.abc import Callable

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

from seg1b.errors import Seg1bError
from seg1b.options import COMPRESSIONS, DEFAULT_COMPRESSION, GEOMETRY_CHOICES, MODES


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seg1b")
def main() -> None:
    """seg1b pipeline: S1 global tile index, S6 site jitter."""


FLAGS = {"counts_file": "--counts"}  # library parameter -> flag, where the flag is not --<name-with-dashes>


def cli_errors(command):
    """Library errors name library parameters (``max_attempts``); on the command line they name the flag."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Seg1bError as exc:
            if not exc.params:
                raise
            raise Seg1bError(exc.for_cli(FLAGS)) from None

    return wrapper


def resume_option(what: str) -> Callable:
    """``--resume``: continue the run a ``kill -9`` (or a lost machine) left unfinished for ``--out``."""
    return click.option(
        "--resume",
        is_flag=True,
        help=f"Continue the run a kill -9 (or a lost machine) left unfinished for --out: keep its finished "
        f"units, compute the rest. {what} must be the same; --workers/--executor/--scheduler may change "
        "(docs/cluster.md).",
    )


def compression_option(what: str) -> Callable:
    """``--compression`` of S1's and S6's Parquet files: lz4 by default, the fastest codec to write."""
    return click.option(
        "--compression",
        type=click.Choice(COMPRESSIONS),
        default=DEFAULT_COMPRESSION,
        show_default=True,
        help=f"Parquet codec of the {what}; lz4 writes fastest.",
    )


def layer_option(what: str) -> Callable:
    """``--layer``: the layer of a countries file with several (GeoPackage, FileGDB)."""
    return click.option(
        "--layer",
        default=None,
        help=f"Layer of the countries file to read ({what}); without it a file's only polygon layer.",
    )


def with_executor(opts: dict) -> dict:
    """``--scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) implies dask, also for ``--executor auto`` given by
    name; another executor named with a scheduler is refused in one line (perfkit's ``executor_for``)."""
    executor, scheduler = opts["executor"], opts["scheduler"]
    return {
        **opts,
        "executor": "dask" if scheduler and executor == "auto" else executor_for(executor, scheduler),
    }


@main.command("s1")
@click.option(
    "--countries",
    default="ne10m",
    show_default=True,
    help="ne10m | ne110m (packaged Natural Earth sets) or a vector file path.",
)
@click.option(
    "--key",
    default=None,
    help="Field that identifies a country (default ADM0_A3; ne110m: iso_a3, or ADM0_A3 where it is -99).",
)
@layer_option("recorded in the index for s6, sites and map")
@click.option(
    "--resolution-arcsec",
    type=int,
    default=30,
    show_default=True,
    help="Cell size in arc-seconds; must divide a degree (3600) into whole cells.",
)
@click.option(
    "--rule",
    type=click.Choice(["center", "any"]),
    default="center",
    show_default=True,
    help="center: cell centre inside the country; any: any overlap (all-touched).",
)
@click.option("--only", default=None, help="Comma-separated country keys to run.")
@click.option("--include-antarctica", is_flag=True, help="Keep Antarctica (ATA), excluded by default.")
@click.option(
    "--out",
    "out",
    required=True,
    type=NotAnOptionPath(file_okay=False),
    help="Output directory: OUT/tiles/ dataset and OUT/run_report.json.",
)
@click.option(
    "--row-group-size", type=int, default=1 << 20, show_default=True, help="Parquet rows per row group."
)
@compression_option("tile files (zstd level 1: about half the bytes)")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="fast",
    show_default=True,
    help="reference (alias legacy): the slow per-tile reference path (parity tests, speed ratio).",
)
@click.option(
    "--geometry",
    type=click.Choice(GEOMETRY_CHOICES),
    default="none",
    show_default=True,
    help="polygons: also write each cell's polygon as GeoParquet geometry (a bbox column is always written).",
)
@executor_option(("auto", *EXECUTORS), "auto")
@scheduler_option()
@resume_option("--countries, --resolution-arcsec, --rule, --only and the other output options")
@click.option(
    "--max-unit-cells",
    type=int,
    default=None,
    help="Split countries into row bands of at most about this many cells (default: total/48).",
)
@click.option(
    "--cost-history",
    type=NotAnOptionPath(dir_okay=False),
    default=None,
    help="JSON file of measured per-unit seconds: read to order units, updated after the run.",
)
@click.option(
    "--cache-dir",
    type=NotAnOptionPath(file_okay=False),
    default=None,
    help="Mask cache directory (keyed by geometry digest, grid and rule).",
)
@common_options
@handle_errors(bad_input=(Seg1bError,))
@cli_errors
def s1_command(**opts) -> None:
    """Enumerate the grid cells of every country and write the tile index dataset.

    Example: seg1b s1 --countries ne110m --resolution-arcsec 300 --out /tmp/tiles300
    """
    from seg1b.s1.pipeline import S1Params, run_s1  # imported here: keeps `seg1b --help` fast

    summary = run_s1(S1Params.from_cli(with_executor(opts)))
    if not opts["quiet"]:
        click.echo(summary)


@main.command("sites")
@click.option(
    "--tiles", required=True, type=NotAnOptionPath(), help="S1 output directory (holds tiles/part-*.parquet)."
)
@click.option("--count", type=int, default=None, help="Total sites, allocated heavy-tailed across countries.")
@click.option(
    "--counts",
    "counts_file",
    type=NotAnOptionPath(),
    default=None,
    help="CSV country_iso,count instead of --count.",
)
@click.option("--seed", type=int, required=True, help="Seed of every draw (allocation, tiles, site ids).")
@click.option(
    "--out", required=True, type=NotAnOptionPath(dir_okay=False), help="Plan Parquet file to write."
)
@common_options(workers=False)
@handle_errors(bad_input=(Seg1bError,))
@cli_errors
def sites_command(tiles, count, counts_file, seed, out, profile, report_dir, force, quiet) -> None:
    """Generate a site plan (site_id, country_iso, tile_id) over a tile index.

    The plan is one file, so a run report (per-country planned sites, the plan's receipt) is written only
    with --report-dir. Plan generation is one pass (no --workers).

    Example: seg1b sites --tiles /tmp/tiles300 --count 100000 --seed 1 --out /tmp/plan.parquet
    """
    from seg1b.sites import run_sites

    summary = run_sites(
        tiles, count, seed, out, counts_file=counts_file, force=force, report_dir=report_dir, profile=profile
    )
    if not quiet:
        top = sorted(summary["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        click.echo(
            f"sites: {summary['sites']:,} sites in {summary['countries']} countries "
            f"(top: {', '.join(f'{k} {v:,}' for k, v in top)}) -> {summary['out']}"
        )


@main.command("s6")
@click.option(
    "--tiles", required=True, type=NotAnOptionPath(), help="S1 output directory (holds tiles/part-*.parquet)."
)
@click.option(
    "--sites",
    required=True,
    type=NotAnOptionPath(),
    help="Site plan Parquet (site_id, country_iso, tile_id).",
)
@click.option(
    "--seed", type=int, required=True, help="Philox key: every draw is keyed by (seed, site_id, attempt)."
)
@click.option(
    "--max-attempts", type=int, default=64, show_default=True, help="Draws per site before fallback."
)
@click.option(
    "--countries",
    default=None,
    help="ne10m | ne110m | a vector file path (default: the set the tile index was built from).",
)
@click.option("--key", default=None, help="Field that identifies a country (as for s1).")
@layer_option("default: the index's")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="fast",
    show_default=True,
    help="reference (alias legacy): the per-site, per-attempt Shapely reference (parity tests, speed ratio).",
)
@executor_option(("auto", *EXECUTORS), "auto")
@scheduler_option()
@resume_option("--tiles, --sites, --seed, --max-attempts, --countries and the other output options")
@click.option("--chunk-sites", type=int, default=None, help="Sites per work unit of a heavy country.")
@compression_option("site files (the coordinates hardly compress)")
@click.option(
    "--out",
    required=True,
    type=NotAnOptionPath(file_okay=False),
    help="Output: OUT/sites/, OUT/run_report.json.",
)
@common_options
@handle_errors(bad_input=(Seg1bError,))
@cli_errors
def s6_command(**opts) -> None:
    """Place every planned site at a random point of its tile inside its country.

    Example: seg1b s6 --tiles /tmp/tiles300 --sites /tmp/plan.parquet --seed 7 --countries ne110m --out /tmp/s6
    """
    from seg1b.s6.pipeline import S6Params, format_summary, run_s6

    opts = with_executor(opts)
    summary = run_s6(S6Params.from_cli({**opts, "profile": opts["profile"] and str(opts["profile"])}))
    if not opts["quiet"]:
        click.echo(format_summary(summary))


@main.command("map")
@click.option(
    "--tiles", required=True, type=NotAnOptionPath(), help="S1 output directory (the grid and countries)."
)
@click.option(
    "--sites", default=None, type=NotAnOptionPath(), help="S6 output directory: draw site density instead."
)
@click.option("--only", default=None, help="Comma-separated country keys: draw (and zoom to) these only.")
@click.option("--out", required=True, type=NotAnOptionPath(dir_okay=False), help="PNG file to write.")
@click.option(
    "--cog",
    default=None,
    type=NotAnOptionPath(dir_okay=False),
    help="Also write the country-id raster (GeoTIFF).",
)
@click.option("--countries", default=None, help="Outlines (default: the set the tile index was built from).")
@click.option("--key", default=None, help="Field that identifies a country (as for s1).")
@layer_option("default: the index's")
@common_options(workers=False)
@handle_errors(bad_input=(Seg1bError,))
@cli_errors
def map_command(
    tiles, sites, only, out, cog, countries, key, layer, profile, report_dir, force, quiet
) -> None:
    """Render a PNG quick-look: tiles per country of an S1 index, or site density of an S6 output.

    With --cog, also write the grid's country-id raster as a Cloud-Optimised GeoTIFF (0 = no country,
    i = the i-th key in the band's country_keys tag). A report is written only with --report-dir.

    Example: seg1b map --tiles /tmp/tiles300 --out /tmp/tiles.png --cog /tmp/countries.tif
    """
    from seg1b.quicklook import run_map

    summary = run_map(
        tiles, out, sites=sites, only=only, cog=cog, countries=countries, key=key, layer=layer,
        force=force, report_dir=report_dir, profile=profile,
    )  # fmt: skip
    if not quiet:
        shown = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
            for k, v in summary.items()
            if k not in ("out", "cog")
        )
        click.echo(f"map: {shown} -> {summary['out']}" + (f", {summary['cog']}" if summary["cog"] else ""))
