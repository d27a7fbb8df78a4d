"""Command line for mbp10 (skeleton: the pipeline's own issue fills it)."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mbp10")
def main() -> None:
    """mbp10 pipeline."""
