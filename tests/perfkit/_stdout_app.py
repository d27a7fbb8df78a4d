"""A one-command CLI that writes 3 MB to standard output with ``perfkit.clitools.write_stdout``."""

import click
from perfkit.clitools import Group, handle_errors, write_stdout


@click.group(cls=Group)
def main():
    """Writes to standard output."""


@main.command()
@handle_errors()
def out():
    write_stdout(b"x" * 3_000_000)
