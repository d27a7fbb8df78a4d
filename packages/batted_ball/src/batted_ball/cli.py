"""Command line for batted-ball (skeleton: the pipeline's own issue fills it)."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="batted-ball")
def main() -> None:
    """batted-ball pipeline."""
