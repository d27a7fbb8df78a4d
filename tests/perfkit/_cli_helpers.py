"""Shared bits of the perfkit CLI tests: golden fixture paths and a CliRunner wrapper."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from perfkit.cli import main

GOLDEN = Path(__file__).parent / "golden"
REPORT_A = GOLDEN / "report_a.json"
REPORT_B_PERF = GOLDEN / "report_b_perf_only.json"
REPORT_C_RESULT = GOLDEN / "report_c_result_change.json"
REPORT_FAILED = GOLDEN / "report_failed.json"
REPORT_SCHEMA2 = GOLDEN / "report_schema2.json"
REPORT_TRUNCATED = GOLDEN / "report_truncated.json"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result: Result) -> str:
    """The single stderr line of a failed command (asserts there is exactly one)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def write(path: Path, report: dict) -> Path:
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
