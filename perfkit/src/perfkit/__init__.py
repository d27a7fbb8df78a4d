"""perfkit: the shared performance harness of the pipelines.

Run telemetry (:class:`Run`), cProfile capture (:func:`profile`), determinism receipts
(:mod:`perfkit.determinism`), side-by-side benchmarks (:mod:`perfkit.bench`), parallel
executors with LPT scheduling (:mod:`perfkit.parallel`) and CLI helpers (:mod:`perfkit.clitools`).
See ``docs/perfkit.md``.

The names below are imported on first use (PEP 562), so ``import perfkit.parallel`` in a worker
process does not pull in pyarrow (~45 MB resident) through :mod:`perfkit.determinism`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> the submodule that defines it (a submodule itself maps to its own name)
_EXPORTS = {
    "bench": "perfkit.bench",
    "determinism": "perfkit.determinism",
    "parallel": "perfkit.parallel",
    "atomic_path": "perfkit._atomic",
    "write_json_atomic": "perfkit._atomic",
    "digest_array": "perfkit.determinism",
    "digest_parquet": "perfkit.determinism",
    "digest_path": "perfkit.determinism",
    "digest_table": "perfkit.determinism",
    "Task": "perfkit.parallel",
    "TaskResult": "perfkit.parallel",
    "map_tasks": "perfkit.parallel",
    "rng_for": "perfkit.parallel",
    "seed_for": "perfkit.parallel",
    "profile": "perfkit.profiling",
    "SCHEMA_VERSION": "perfkit.run",
    "Run": "perfkit.run",
}

__all__ = [  # the same names as _EXPORTS, spelled out for tools that read __all__
    "SCHEMA_VERSION",
    "Run",
    "Task",
    "TaskResult",
    "atomic_path",
    "bench",
    "determinism",
    "digest_array",
    "digest_parquet",
    "digest_path",
    "digest_table",
    "map_tasks",
    "parallel",
    "profile",
    "rng_for",
    "seed_for",
    "write_json_atomic",
]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from perfkit import bench, determinism, parallel
    from perfkit._atomic import atomic_path, write_json_atomic
    from perfkit.determinism import digest_array, digest_parquet, digest_path, digest_table
    from perfkit.parallel import Task, TaskResult, map_tasks, rng_for, seed_for
    from perfkit.profiling import profile
    from perfkit.run import SCHEMA_VERSION, Run


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'perfkit' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module == f"perfkit.{name}" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
