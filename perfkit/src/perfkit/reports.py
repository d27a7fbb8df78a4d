"""Load and validate run reports, benchmark histories and summaries (the files the CLI reads).

Every way a file can be unusable — missing, not JSON, not an object, another schema_version, an unknown
pipeline name — becomes one `PerfkitError` with a one-line message; the CLI prints it as `error: ...` on
stderr and exits 2.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

__all__ = [
    "KNOWN_PIPELINES",
    "REPORT_FILENAME",
    "SCHEMA_VERSION",
    "PerfkitError",
    "check_pipeline",
    "load_json",
    "load_report",
]

SCHEMA_VERSION = 1
REPORT_FILENAME = "run_report.json"
KNOWN_PIPELINES = ("seg1b", "mbp10", "qyn1", "batted_ball")

# Fields every schema-1 report carries (docs/perfkit.md); the rest are optional for reading.
_REQUIRED_FIELDS = ("pipeline", "status")
# Sections that must be JSON objects when present: a report where one is a list is corrupt, and the views
# and the diff would otherwise fail deep inside with an unhelpful traceback.
_OBJECT_SECTIONS = (
    "config",
    "host",
    "stages",
    "items",
    "item_time_quantiles",
    "counters",
    "results",
    "histograms",
    "metrics",
    "receipts",
)


#: Added to "not found: -": perfkit reads its inputs from files, never from standard input.
STDIN_NOTE = " (standard input is not read: give a file)"


class PerfkitError(Exception):
    """Bad input to a perfkit command: the message is one line, shown as `error: <message>` (exit 2)."""


#: The largest file a perfkit command reads whole (a run report of a million items is ~200 MB): a device such as
#: /dev/zero, or a wrong file of many GB, is refused in one line instead of filling the machine's memory.
READ_LIMIT = 512 << 20


def not_a_device(path: Path, what: str) -> None:
    """Refuse a character or block device or a socket (``/dev/zero`` never ends); a pipe is read as a file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # the read that follows names the problem
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise PerfkitError(f"{what} {path} is a device or socket, not a file")


def read_bounded(path: Path, what: str, limit: int | None = None) -> bytes:
    """The bytes of an input file, at most ``limit`` (`READ_LIMIT`); a device or a larger file is a one-line
    `PerfkitError`."""
    limit = READ_LIMIT if limit is None else limit
    not_a_device(path, what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise PerfkitError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise PerfkitError(f"{what} {path} is larger than {limit >> 20} MiB: not a {what}")
    return data


def load_json(path: str | Path, what: str = "file") -> Any:
    """Read a JSON file; a missing file, a device, a huge file or invalid JSON becomes a one-line `PerfkitError`."""
    p = Path(path)
    if not p.exists():
        raise PerfkitError(f"{what} not found: {p}" + STDIN_NOTE * (str(path) == "-"))
    if p.is_dir():
        raise PerfkitError(f"{what} is a directory, not a JSON file: {p}")
    try:
        text = read_bounded(p, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PerfkitError(f"cannot read {what} {p}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PerfkitError(
            f"{what} {p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def load_report(path: str | Path) -> dict[str, Any]:
    """Load a `run_report.json` (or the one inside a run's output directory) and check it is schema 1."""
    p = Path(path)
    if p.is_dir():
        p = p / REPORT_FILENAME
        if not p.exists():
            raise PerfkitError(f"no {REPORT_FILENAME} in directory {p.parent}")
    report = load_json(p, what="report")
    if not isinstance(report, dict):
        raise PerfkitError(f"report {p} is not a JSON object (got {type(report).__name__})")
    if "schema_version" not in report:
        raise PerfkitError(f"report {p} has no schema_version: not a perfkit run report")
    version = report["schema_version"]
    if version != SCHEMA_VERSION:
        raise PerfkitError(
            f"report {p} has schema_version {version!r}; this perfkit reads schema_version {SCHEMA_VERSION}"
        )
    missing = [f for f in _REQUIRED_FIELDS if f not in report]
    if missing:
        raise PerfkitError(f"report {p} is missing required field(s): {', '.join(missing)}")
    for section in _OBJECT_SECTIONS:
        value = report.get(section)
        if value is not None and not isinstance(value, dict):
            raise PerfkitError(
                f"report {p}: section {section!r} should be an object, got {type(value).__name__}"
            )
    top = report.get("top_items")
    if top is not None and not isinstance(top, list):
        raise PerfkitError(f"report {p}: top_items should be a list, got {type(top).__name__}")
    return report


def check_pipeline(name: str) -> str:
    """Return the canonical pipeline name (`batted-ball` -> `batted_ball`) or raise `PerfkitError`."""
    canonical = name.strip().replace("-", "_")
    if canonical not in KNOWN_PIPELINES:
        raise PerfkitError(f"unknown pipeline {name!r} (known: {', '.join(KNOWN_PIPELINES)})")
    return canonical


def is_number(value: Any) -> bool:
    """True for int/float (not bool) values that are finite numbers."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# "per second" (of wall or CPU), "MB a second", "per hour" as a word of a figure's name
_RATE = re.compile(r"(?:^|_)(?:per_(?:cpu_)?s|[mgk]b_s|msym_s|per_hour)(?:_|$)")


def is_rate(name: str) -> bool:
    """True when a figure's name says it is a rate, higher is better, not a duration: ``records_per_s``,
    ``records_per_cpu_s``, ``pack_mb_s_per_core``, ``batch_per_s_2_threads``, ``games_per_hour_core``,
    ``MB_per_s``. (``records_per_cpu_s`` ends in ``_s`` like a duration: shown as hours, and its fall
    called an improvement, before this test named it.)"""
    return _RATE.search(name.rsplit(".", 1)[-1].lower()) is not None
