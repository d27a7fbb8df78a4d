"""Console entry point: SIGINT/SIGTERM handled before the CLI's heavy imports (see perfkit.launch)."""

from perfkit.launch import launch


def main() -> None:
    launch("qyn1.cli:main")
