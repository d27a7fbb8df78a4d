"""Per-language/domain priors: chunk size, workers, executor. Selected with ``--preset`` or a
``[tool.qyn1]`` table (``preset``, ``chunk_size``, ``workers``, ``executor``) in the packed project's
``pyproject.toml``; explicit command-line options win over both."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from qyn1.errors import Qyn1Error

KiB = 1024


@dataclass(frozen=True)
class Preset:
    name: str
    chunk_size: int
    workers: int
    executor: str
    description: str

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
        Preset(
            "js-bundle",
            128 * KiB,
            max(1, int(_cpus() / 1.25)),
            "processes",
            "JS bundles: byte-level path, one worker per 1-1.5 vCPU",
        ),
        Preset(
            "rust-cpp", 112 * KiB, _cpus(), "processes", "Rust/C++ trees: byte-level path, 96-128 KiB chunks"
        ),
        Preset("small", 64 * KiB, 1, "serial", "tiny projects and tests: in-process, 64 KiB chunks"),
    )
}
DEFAULT = "python"


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise Qyn1Error(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})") from None


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
    return table


def resolve(preset: str | None, project_dir=None, **overrides) -> Preset:
    """Preset from the command line, else from ``[tool.qyn1]``, else the default; then overrides."""
    table = from_pyproject(project_dir) if project_dir is not None else {}
    p = get(preset or table.get("preset", DEFAULT))
    for k in ("chunk_size", "workers", "executor"):
        if k in table and overrides.get(k) is None:
            overrides[k] = table[k]
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "chunk_size" in changes:
        cs = int(changes["chunk_size"])
        if not 1 * KiB <= cs <= 16 * 1024 * KiB:
            raise Qyn1Error("chunk size must be between 1 KiB and 16 MiB")
        changes["chunk_size"] = cs
    return replace(p, **changes)
