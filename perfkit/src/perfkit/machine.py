"""Which machine a benchmark ran on: a fingerprint, so history compares runs of one machine only.

Like asv's `machine.json`: the CPU model, the core count, the memory, the OS kernel's machine type, and the
versions of Python and of the libraries whose speed the figures depend on. Two records with the same
fingerprint are comparable; a new CPU, more memory or another numba is another machine, because its figures
move for reasons that are not the code. Records written before fingerprints existed have none: history
treats them as one machine, `unknown/legacy`, and says so.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
from typing import Any

__all__ = ["LEGACY", "describe", "machine_id", "machine_label"]

LEGACY = "unknown/legacy"
_LIBRARIES = ("numpy", "numba", "llvmlite", "pyarrow")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def describe() -> dict[str, Any]:
    """This machine's fingerprint facts (memory rounded to GiB: the kernel's figure drifts by pages)."""
    memory = _memory_bytes()
    facts: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30) if memory else None,
        "arch": platform.machine(),
        "python": platform.python_version(),
    }
    for name in _LIBRARIES:
        try:
            facts[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            facts[name] = None
    facts["id"] = machine_id(facts)
    return facts


def machine_id(facts: dict[str, Any] | None) -> str:
    """A short stable id of the facts (without any `id` already in them); LEGACY for a record with none."""
    if not facts:
        return LEGACY
    body = {k: v for k, v in facts.items() if k != "id"}
    return hashlib.blake2b(json.dumps(body, sort_keys=True).encode(), digest_size=6).hexdigest()


def machine_label(facts: dict[str, Any] | None) -> str:
    """`<id>: <cores> x <cpu model>, <memory> GiB, Python <v>, numba <v>` for tables and charts."""
    if not facts:
        return f"{LEGACY} (records written before machine fingerprints)"
    return (
        f"{machine_id(facts)}: {facts.get('cores')} x {facts.get('cpu_model')}, {facts.get('memory_gib')} GiB, "
        f"Python {facts.get('python')}, numba {facts.get('numba')}"
    )
