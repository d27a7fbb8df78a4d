"""Which dates a multi-date run covers and the input file of each (no Numba: checked before any work)."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mbp10.calendar import check_supported
from mbp10.errors import Mbp10Error
from mbp10.io import probe

_DATE_RE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def parse_date_range(text: str) -> tuple[dt.date, dt.date]:
    """'2024-01-02..2024-01-05' (inclusive) or a single date -> (first, last). Not expanded into a list: a
    range of centuries costs nothing."""
    try:
        if ".." in text:
            a, b = (dt.date.fromisoformat(x.strip()) for x in text.split("..", 1))
        else:
            a = b = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise Mbp10Error(f"bad --dates {text!r}: expected YYYY-MM-DD..YYYY-MM-DD") from None
    if b < a:
        raise Mbp10Error(f"bad --dates {text!r}: end before start")
    for d in (a, b):
        check_supported(d, "--dates")
    return a, b


def find_inputs(input_dir: Path, first: dt.date, last: dt.date) -> dict[dt.date, Path]:
    """The input file of each date: a .dbn/.dbn.zst/.parquet whose name holds the date (YYYY-MM-DD or YYYYMMDD)."""
    if not input_dir.is_dir():
        raise Mbp10Error(f"{input_dir}: input directory does not exist")
    found: dict[dt.date, Path] = {}
    for p in sorted(input_dir.iterdir()):
        if not (p.name.endswith((".dbn", ".dbn.zst", ".parquet")) and p.is_file()):
            continue
        m = _DATE_RE.search(p.name)
        if not m:
            continue
        try:
            d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        if first <= d <= last:
            if d in found:
                raise Mbp10Error(f"two inputs for {d}: {found[d].name} and {p.name}")
            found[d] = p
    return found


@dataclass
class DatePlan:
    """The dates asked for (first..last, inclusive) and the input file of each date that has one."""

    text: str
    first: dt.date
    last: dt.date
    inputs: dict[dt.date, Path]
    #: `io.probe(path).frames` of each zstd input, from `plan_dates`: a worker whose file is still the
    #: one probed (`io.file_identity`) does not walk its frames again.
    frames: dict[dt.date, tuple | None] = field(default_factory=dict)

    @property
    def n_dates(self) -> int:
        return (self.last - self.first).days + 1

    def fingerprint(self) -> str:
        """A digest of every input's date, name, size and modification time: a run resumed with `--resume`
        must find the inputs the killed run read (an input replaced meanwhile would give a mix)."""
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        for date, path in sorted(self.inputs.items()):
            st = path.stat()
            h.update(f"{date.isoformat()}\0{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()


def plan_dates(input_dir: str | os.PathLike, dates_text: str) -> DatePlan:
    """Parse the date range, find every date's input and check its header; bad input raises Mbp10Error."""
    first, last = parse_date_range(dates_text)
    inputs = find_inputs(Path(input_dir), first, last)
    if not inputs:
        raise Mbp10Error(f"{input_dir}: no input files for {dates_text}")
    frames = {date: probe(src).frames for date, src in inputs.items()}
    return DatePlan(dates_text, first, last, inputs, frames)
