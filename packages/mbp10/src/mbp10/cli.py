# TEAM NOTE (delete this comment once read): before writing code here, read /work/main/TEAM_NOTES.md
# (ownership + git commit rules, perfkit API in docs/perfkit.md, test-time budget, 20:30 UTC report deadline).
"""Command line for mbp10 (skeleton: the pipeline's own issue fills it)."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mbp10")
def main() -> None:
    """mbp10 pipeline."""
