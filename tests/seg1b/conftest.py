"""seg1b test helpers: run the ``seg1b`` CLI in-process and read what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from seg1b.cli import main


class S1Run:
    def __init__(self, out: Path, result):
        self.out = out
        self.result = result
        self.exit_code = result.exit_code
        self.stderr = result.stderr

    @property
    def report(self) -> dict:
        return json.loads((self.out / "run_report.json").read_text())

    @property
    def receipt(self) -> str:
        return self.report["receipts"]["tiles"]["digest"]

    @property
    def tiles_dir(self) -> Path:
        return self.out / "tiles"


@pytest.fixture
def s1(tmp_path):
    """``s1(*args, out=name)`` runs ``seg1b s1 --quiet *args --out tmp/name`` and returns an S1Run."""
    counter = {"n": 0}

    def run(*args: str, out: str | None = None, check: bool = True) -> S1Run:
        counter["n"] += 1
        target = tmp_path / (out or f"run{counter['n']}")
        result = CliRunner().invoke(main, ["s1", "--quiet", *args, "--out", str(target)])
        if check and result.exit_code != 0:
            raise AssertionError(
                f"seg1b s1 failed ({result.exit_code}): {result.output} {result.exception!r}"
            )
        return S1Run(target, result)

    return run
