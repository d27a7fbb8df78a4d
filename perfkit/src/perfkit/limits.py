"""Resource bounds a user's options are checked against before any allocation."""

from __future__ import annotations

import os

from perfkit.errors import InputError

WORKERS_PER_CORE = 8


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def max_workers() -> int:
    """The largest ``--workers`` any command accepts: 8 per usable core."""
    return WORKERS_PER_CORE * cpu_count()


def default_workers() -> int:
    """The ``--workers`` default: one per usable core."""
    return cpu_count()


def available_memory() -> int:
    """Bytes of memory available to new allocations (``MemAvailable``; total RAM if unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def format_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError


def check_memory(needed_bytes: float, what: str, *, fraction: float = 0.8) -> None:
    """Refuse (``InputError``) work whose estimated memory exceeds ``fraction`` of what is available.

    ``what`` names the request, e.g. ``"--count 1,000,000,000,000 sites"``.
    """
    available = available_memory()
    if needed_bytes > fraction * available:
        raise InputError(
            f"{what} needs about {format_bytes(needed_bytes)} of memory, more than {fraction:.0%} of the "
            f"{format_bytes(available)} available; use a smaller size"
        )
