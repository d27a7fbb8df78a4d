"""Resumable folder outputs: a journal of finished work items inside the output's staging folder.

A long command (S1's world, a year of MBP-10 days, a season) writes one folder through
:func:`perfkit.job.job`, whose private staging folder survives a crash or ``kill -9`` of the run (an
interrupt or a failure discards it, as always). While the run goes on, :func:`perfkit.parallel.map_tasks`
records each finished task here: its value, and the size and modification time of the files it wrote
into the staging folder. ``--resume`` adopts the staging folder a killed run left (after checking that
it was started with the same options), keeps the tasks whose files are still as recorded, and runs only
the rest; the journal is dropped when the folder is committed, so outputs never contain it.

Layout: ``<staging>/.perfkit-journal/options.json`` (the options that define the output) and one
pickle per finished task, ``<phase>-<blake2b(key)>.pkl``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from perfkit._atomic import atomic_path

JOURNAL = ".perfkit-journal"
OPTIONS_FILE = "options.json"

# Options that change how a run executes, never what it writes: a resumed run may change them.
EXECUTION_OPTIONS = frozenset(
    {"workers", "executor", "scheduler", "quiet", "force", "report_dir", "profile", "resume", "progress"}
)


def output_options(config: Mapping) -> dict:
    """The part of a command's config that defines its output (execution-only options left out)."""
    return {k: v for k, v in config.items() if k not in EXECUTION_OPTIONS}


def _canonical(options: Mapping) -> str:
    return json.dumps(options, sort_keys=True, default=str)


def recorded_options(staged: Path) -> dict | None:
    """The options a (possibly killed) run recorded in its staging folder, or None if it kept no journal."""
    try:
        return json.loads((staged / JOURNAL / OPTIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def differing_options(recorded: Mapping, wanted: Mapping) -> list[str]:
    """Names of the options whose values differ between two runs, sorted."""
    a, b = json.loads(_canonical(recorded)), json.loads(_canonical(wanted))
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


class Journal:
    """The finished tasks of one folder output, kept in its staging folder."""

    def __init__(self, staged: Path, options: Mapping):
        self.staged = Path(staged)
        self.folder = self.staged / JOURNAL
        self.folder.mkdir(mode=0o700, exist_ok=True)
        if not (self.folder / OPTIONS_FILE).exists():
            with atomic_path(self.folder / OPTIONS_FILE) as tmp:
                tmp.write_text(_canonical(options) + "\n", encoding="utf-8")

    def _entry(self, phase: str, key: str) -> Path:
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
        return self.folder / f"{phase}-{digest}.pkl"

    def _stat(self, relative: str) -> tuple[int, int] | None:
        try:
            st = os.stat(self.staged / relative)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def _unchanged(self, relative: str, recorded: tuple[int, int] | None) -> bool:
        """True if a task's file is as recorded (a file the task did not write must still be absent)."""
        now = self._stat(relative)
        return now == (None if recorded is None else tuple(recorded))

    def record(self, phase: str, key: str, value: Any, files: Iterable[str] = ()) -> None:
        """Note that task ``key`` of ``phase`` finished with ``value`` and wrote ``files`` (relative paths)."""
        entry = {"key": key, "value": value, "files": {f: self._stat(f) for f in files}}
        final = self._entry(phase, key)
        # The journal folder is private to this run: a plain temporary + rename, no sweep of the folder
        # (atomic_path's sweep would scan every entry on every record).
        tmp = final.with_name(f"{final.name}.{os.getpid()}.part")
        with open(tmp, "wb") as fh:  # streamed: no in-memory copy of a large value (10 M sites: ~190 MB)
            pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, final)

    def finished(self, phase: str, keys: Iterable[str]) -> dict[str, Any]:
        """``{key: value}`` of the tasks among ``keys`` whose entry exists and whose files are unchanged."""
        done = {}
        for key in keys:
            try:
                entry = pickle.loads(self._entry(phase, key).read_bytes())
            except (OSError, pickle.UnpicklingError, EOFError):
                continue
            if entry.get("key") != key:
                continue
            if all(self._unchanged(f, st) for f, st in entry["files"].items()):
                done[key] = entry["value"]
        return done
