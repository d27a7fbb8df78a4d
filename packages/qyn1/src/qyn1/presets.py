"""Per-project priors: chunk size (of Python text), workers, executor. Codecs are chosen per chunk whatever
the preset (``qyn1.codec``); the ``js-bundle`` and ``rust-cpp`` presets of container v1 were removed in v2:
they only changed the chunk size of the byte-level path, which never selected a model for those languages
(and non-Python files now use ``pipeline.GENERAL_CHUNK``-sized chunks, machine code
``pipeline.MACHINE_CHUNK``-sized ones, whatever the preset).

Selected with ``--preset`` or a ``[tool.qyn1]`` table (``preset``, ``chunk_size``, ``workers``, ``executor``) in the packed project's
``pyproject.toml``; explicit command-line options win over both. Any other key in the table is refused (one
line naming the file and the key), as is a value out of range where it is used."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from perfkit.clitools import EXECUTORS

from perfkit import limits
from qyn1.errors import Qyn1Error

KiB = 1024


@dataclass(frozen=True)
class Preset:
    name: str
    chunk_size: int
    workers: int
    executor: str
    description: str
    # the cm coder on every Python chunk, winning by size alone (qyn1.codec.encode_chunk); otherwise only where
    # the zstd probe flags a chunk, and by codec.CM_PYTHON_MARGIN over the structural payload
    python_cm: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _cpus() -> int:
    return os.cpu_count() or 1


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "python",
            128 * KiB,
            min(4, _cpus()),
            "processes",
            "general Python project (default): 128 KiB chunks",
        ),
        Preset(
            "python-web",
            96 * KiB,
            min(4, max(3, _cpus())),
            "processes",
            "Python web apps: many small modules, 64-96 KiB chunks, 3-4 workers",
        ),
        Preset(
            "python-data",
            192 * KiB,
            min(2, _cpus()),
            "processes",
            "Python data/ML: large modules and notebooks-as-scripts, 128-192 KiB streaming chunks",
        ),
        Preset("small", 64 * KiB, 1, "serial", "tiny projects and tests: in-process, 64 KiB chunks"),
        Preset(
            "python-max",
            1024 * KiB,
            min(4, _cpus()),
            "processes",
            "smallest packages: 1 MiB Python chunks (solid groups of 8x more files) and the cm coder "
            "competes by size alone on every Python chunk (pack ~2x slower; a chunk cm wins unpacks ~10x "
            "slower, reading one file decodes up to 1 MiB: ~1 s)",
            python_cm=True,
        ),
    )
}
DEFAULT = "python"


TABLE_KEYS = ("preset", "chunk_size", "workers", "executor")


def get(name: str, where: str = "") -> Preset:
    """The preset of that name; an unknown name is refused, naming ``where`` it came from when given."""
    try:
        return PRESETS[name]
    except KeyError:
        said = f"{where}: " if where else ""
        raise Qyn1Error(f"{said}unknown preset {name!r} (choose from {', '.join(PRESETS)})") from None


def from_pyproject(project_dir: str | os.PathLike) -> dict:
    """The ``[tool.qyn1]`` table of ``project_dir/pyproject.toml`` (empty when absent)."""
    p = Path(project_dir) / "pyproject.toml"
    if not p.is_file():
        return {}
    try:
        data = tomllib.loads(p.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise Qyn1Error(f"{p}: invalid TOML: {e}") from None
    table = data.get("tool", {}).get("qyn1", {})
    if not isinstance(table, dict):
        raise Qyn1Error(f"{p}: [tool.qyn1] must be a table")
    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:  # refused, not ignored: a misspelt key (chunksize) would otherwise pack with the default
        raise Qyn1Error(
            f"[tool.qyn1] in {p}: unknown key {unknown[0]!r} (the keys are {', '.join(TABLE_KEYS)})"
        )
    return table


def _checked(field: str, value, where: str):
    """A setting from the command line or ``[tool.qyn1]``, checked; the error names where it came from."""
    if field == "executor":
        if value not in EXECUTORS:
            raise Qyn1Error(f"{where}: executor {value!r} is not one of {', '.join(EXECUTORS)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise Qyn1Error(f"{where}: {field} must be a whole number, got {value!r}")
    low, high = (1 * KiB, 16 * 1024 * KiB) if field == "chunk_size" else (1, limits.max_workers())
    if not low <= value <= high:
        what = (
            "chunk size must be between 1 KiB and 16 MiB"
            if field == "chunk_size"
            else (f"workers must be between 1 and {high} (8 per core)")
        )
        raise Qyn1Error(f"{where}: {what}, got {value}")
    return value


def resolve(preset: str | None, project_dir=None, **overrides) -> Preset:
    """Preset from the command line, else from ``[tool.qyn1]``, else the default; then overrides."""
    table = from_pyproject(project_dir) if project_dir is not None else {}
    where_table = f"[tool.qyn1] in {Path(project_dir) / 'pyproject.toml'}" if table else ""
    name = preset or table.get("preset", DEFAULT)
    where = "--preset" if preset else (where_table + " key 'preset'" if "preset" in table else "")
    if not isinstance(name, str):
        raise Qyn1Error(f"{where}: preset must be a name, got {name!r}")
    p = get(name, where)
    changes = {}
    for k in ("chunk_size", "workers", "executor"):
        if overrides.get(k) is not None:
            changes[k] = _checked(k, overrides[k], "--" + k.replace("_", "-"))
        elif k in table:
            changes[k] = _checked(k, table[k], f"{where_table} key {k!r}")
    return replace(p, **changes)
