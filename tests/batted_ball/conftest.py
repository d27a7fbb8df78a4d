"""Fixtures for the batted-ball tests: the reference-data folder (skipped when ../shared is absent)."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bb_data(shared_data: Path) -> Path:
    path = shared_data / "batted_ball"
    if not (path / "nathan_reference_cases.csv").is_file():
        pytest.skip(f"batted-ball reference data not available: {path} is absent")
    return path
