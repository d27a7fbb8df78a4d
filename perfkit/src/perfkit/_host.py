"""Facts about the machine and checkout a run happened on: host, versions, git revision, memory."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

_VERSIONED = ("numpy", "numba", "pyarrow")


def host_facts() -> dict:
    """Cores, Python and the versions of the numeric libraries whose behaviour changes results or speed."""
    facts = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    for name in _VERSIONED:
        try:
            facts[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            facts[name] = None
    return facts


def git_revision(start: Path | None = None) -> str | None:
    """The checkout's HEAD commit, or None outside a git work tree (e.g. an installed wheel)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=start or Path.cwd(),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    return rev if out.returncode == 0 and rev else None


def _maxrss_bytes(who: int) -> int:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(who).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far."""
    return _maxrss_bytes(resource.RUSAGE_SELF)


def peak_rss_children_bytes() -> int:
    """Largest peak RSS among this process's waited-for children (worker processes)."""
    return _maxrss_bytes(resource.RUSAGE_CHILDREN)
