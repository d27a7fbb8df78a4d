"""Paths and helpers shared by the mbp10 tests (the real Databento samples live in ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "mbp10"
DATABENTO = SHARED / "databento"
ES_REAL = SHARED / "es_real"


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path} is absent (needs ../shared/data/mbp10)")
    return path


