"""Facts about the machine and checkout a run happened on: host, versions, git revision, memory."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
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


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree: "gitdir: <path>"
            text = candidate.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve()
    return None


def git_revision(start: Path | None = None) -> str | None:
    """The checkout's HEAD commit, or None outside a git work tree (e.g. an installed wheel).

    Read from ``.git`` directly rather than by running ``git``: a forked child would count the
    parent's memory in its own peak RSS, which would then pollute the children's figure.
    """
    try:
        git_dir = _git_dir((start or Path.cwd()).resolve())
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        for base in (git_dir, common):
            if (base / ref).is_file():
                return (base / ref).read_text(encoding="utf-8").strip() or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref:
                    return sha
    except OSError:
        return None
    return None  # a new repository with no commit yet


_WORKER_PEAKS: list[int] = []


def _vm_hwm_bytes() -> int | None:
    """VmHWM of this process's current address space (reset by exec, unlike ru_maxrss)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far."""
    hwm = _vm_hwm_bytes()
    if hwm is not None:
        return hwm
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _smaps_rollup() -> dict[str, int] | None:
    """``Rss``, ``Pss`` and ``Private_*`` of this process in bytes (Linux), or None."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as fh:
            fields = {}
            for line in fh:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
            return fields
    except (OSError, ValueError):
        return None


_SHARED_AT_PEAK = {"hwm": 0, "shared": 0, "shared_pss": 0}


def worker_memory() -> dict[str, int]:
    """What a worker process reports after each task: its peak RSS, and the part of that peak that is
    its own.

    * ``peak_rss_bytes`` -- VmHWM: every page the worker has mapped, including pages it shares with
      other processes (a forked worker shares the libraries, modules and tables its fork server loaded).
    * ``peak_unique_bytes`` -- the peak minus the pages shared with other processes (USS at the peak):
      what one more worker costs.
    * ``peak_pss_bytes`` -- the unique part plus an equal share of the shared pages (PSS at the peak):
      the workers' figures then add up to the memory they use together.

    Reading ``smaps_rollup`` takes milliseconds, so it is re-read only when the peak has grown; the split
    assumes the shared pages did not change since then (they are libraries and preloaded data).
    """
    hwm = peak_rss_bytes()
    out = {"peak_rss_bytes": hwm}
    if hwm > _SHARED_AT_PEAK["hwm"]:
        rollup = _smaps_rollup()
        if not rollup or "Rss" not in rollup:
            return out
        private = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
        shared = max(rollup["Rss"] - private, 0)
        _SHARED_AT_PEAK.update(hwm=hwm, shared=shared, shared_pss=max(rollup.get("Pss", 0) - private, 0))
    if _SHARED_AT_PEAK["hwm"]:
        unique = max(hwm - _SHARED_AT_PEAK["shared"], 0)
        out["peak_unique_bytes"] = unique
        out["peak_pss_bytes"] = unique + _SHARED_AT_PEAK["shared_pss"]
    return out


_WORKER_UNIQUE_PEAKS: list[int] = []


def note_worker_peak(peak_bytes: int, unique_bytes: int | None = None) -> None:
    """Remember the peak RSS (and its unique part) a worker process reported; perfkit.parallel calls
    this per task."""
    _WORKER_PEAKS.append(int(peak_bytes))
    if unique_bytes is not None:
        _WORKER_UNIQUE_PEAKS.append(int(unique_bytes))


def peak_rss_children_bytes() -> int:
    """Largest peak RSS reported by a worker process that ran perfkit.parallel tasks (0 if none).

    Measured inside each worker (VmHWM), not with RUSAGE_CHILDREN: that one counts the parent's
    memory at fork time in every child, so it would report the parent's peak, not the workers'.
    """
    return max(_WORKER_PEAKS, default=0)


def peak_unique_children_bytes() -> int:
    """Largest unique (unshared) peak memory reported by a worker process (0 if none was reported)."""
    return max(_WORKER_UNIQUE_PEAKS, default=0)
