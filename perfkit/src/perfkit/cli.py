import click


@click.group()
def main() -> None:
    """perfkit."""
