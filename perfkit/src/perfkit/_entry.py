"""Console entry point of ``perfkit``: signals handled before the heavy imports (see perfkit.launch)."""

from perfkit.launch import launch


def main() -> None:
    launch("perfkit.cli:main")
