"""Command line for seg1b (skeleton: the pipeline's own issue fills it)."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seg1b")
def main() -> None:
    """seg1b pipeline."""
