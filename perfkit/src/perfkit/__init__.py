"""perfkit: the shared performance harness of the pipelines.

Run telemetry (:class:`Run`), cProfile capture (:func:`profile`), determinism receipts
(:mod:`perfkit.determinism`), side-by-side benchmarks (:mod:`perfkit.bench`), parallel
executors with LPT scheduling (:mod:`perfkit.parallel`) and CLI helpers (:mod:`perfkit.clitools`).
See ``docs/perfkit.md``.
"""

from perfkit import bench, determinism, parallel
from perfkit._atomic import atomic_path, write_json_atomic
from perfkit.determinism import digest_array, digest_parquet, digest_path, digest_table
from perfkit.parallel import Task, TaskResult, map_tasks, rng_for, seed_for
from perfkit.profiling import profile
from perfkit.run import SCHEMA_VERSION, Run

__all__ = [
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
