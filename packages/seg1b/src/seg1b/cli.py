"""Command line for seg1b: ``seg1b s1`` builds the global tile index (S6 adds ``sites`` and ``s6``)."""

from __future__ import annotations

import click
from perfkit.clitools import common_options, handle_errors

from seg1b.errors import Seg1bError

COMPRESSIONS = ("zstd", "snappy", "lz4", "none")
EXECUTORS = ("serial", "threads", "processes", "dask")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seg1b")
def main() -> None:
    """seg1b pipeline: S1 global tile index, S6 site jitter."""


def _split_keys(_ctx, _param, value: str | None) -> list[str] | None:
    if not value:
        return None
    keys = [k.strip() for k in value.split(",") if k.strip()]
    return keys or None


@main.command("s1")
@click.option(
    "--countries",
    default="ne10m",
    show_default=True,
    help="ne10m | ne110m (packaged Natural Earth sets) or a vector file path.",
)
@click.option(
    "--key", default=None, help="Field that identifies a country (default ADM0_A3; ne110m: iso_a3/name)."
)
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
@click.option("--only", callback=_split_keys, default=None, help="Comma-separated country keys to run.")
@click.option("--include-antarctica", is_flag=True, help="Keep Antarctica (ATA), excluded by default.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory: OUT/tiles/ dataset and OUT/run_report.json.",
)
@click.option(
    "--row-group-size", type=int, default=1 << 20, show_default=True, help="Parquet rows per row group."
)
@click.option("--compression", type=click.Choice(COMPRESSIONS), default="zstd", show_default=True)
@click.option(
    "--mode",
    type=click.Choice(["fast", "legacy"]),
    default="fast",
    show_default=True,
    help="legacy: the slow per-tile reference path (parity tests, speed ratio).",
)
@click.option(
    "--executor",
    type=click.Choice(["auto", *EXECUTORS]),
    default="auto",
    show_default=True,
    help="auto: serial for one worker or under 2M estimated cells, else processes.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (with --executor dask).")
@click.option(
    "--max-unit-cells",
    type=int,
    default=None,
    help="Split countries into row bands of at most about this many cells (default: total/48).",
)
@click.option(
    "--cost-history",
    type=click.Path(dir_okay=False),
    default=None,
    help="JSON file of measured per-unit seconds: read to order units, updated after the run.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Mask cache directory (keyed by geometry digest, grid and rule).",
)
@common_options
@handle_errors(bad_input=(Seg1bError,))
def s1_command(**opts) -> None:
    """Enumerate the grid cells of every country and write the tile index dataset.

    Example: seg1b s1 --countries ne110m --resolution-arcsec 300 --out /tmp/tiles300
    """
    from seg1b.s1 import S1Params, run_s1  # imported here: keeps `seg1b --help` fast

    summary = run_s1(S1Params.from_cli(opts))
    if not opts["quiet"]:
        click.echo(summary)


from seg1b import s6_cli  # noqa: E402, F401  (registers the S6 commands `sites` and `s6`)
