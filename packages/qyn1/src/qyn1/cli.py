"""Command line for qyn1 (skeleton: the pipeline's own issue fills it)."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qyn1")
def main() -> None:
    """qyn1 pipeline."""
