"""The training/evaluation corpus: every ``*.py`` of the CPython standard library of the running
interpreter (``sysconfig.get_paths()["stdlib"]``), without third-party ``site-packages``/``dist-packages``.

Split: a file is *training* when the first byte of BLAKE2b(relative path) is even, *held out* otherwise.
Only training files build the shipped tables; ratios are reported on held-out files.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

_EXCLUDED_DIRS = {"site-packages", "dist-packages", "__pycache__"}


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def corpus_files(root: Path | None = None) -> list[Path]:
    """All corpus files, sorted by relative path."""
    root = stdlib_root() if root is None else Path(root)
    out = []
    for p in root.rglob("*.py"):
        rel = p.relative_to(root)
        if _EXCLUDED_DIRS.intersection(rel.parts[:-1]) or not p.is_file() or p.is_symlink():
            continue
        out.append(p)
    out.sort(key=lambda p: p.relative_to(root).as_posix())
    return out


def is_training(relpath: str) -> bool:
    return hashlib.blake2b(relpath.encode("utf-8"), digest_size=8).digest()[0] % 2 == 0


def split(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """(training, held_out) file lists."""
    root = stdlib_root() if root is None else Path(root)
    train, held = [], []
    for p in corpus_files(root):
        (train if is_training(p.relative_to(root).as_posix()) else held).append(p)
    return train, held
