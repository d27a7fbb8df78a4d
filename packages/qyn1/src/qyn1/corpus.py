"""The training/evaluation corpus: every ``*.py`` of the CPython standard library of the running
interpreter (``sysconfig.get_paths()["stdlib"]``), without third-party ``site-packages``/``dist-packages``.

Split: a file is *training* when the first byte of BLAKE2b(relative path) is even, *held out* otherwise.
Only training files build the shipped tables; ratios are reported on held-out files.

The tables also learn from the ``*.py`` files of a fixed list of PyPI wheels (:data:`PYPI_TRAINING`), fetched
into a cache folder (:func:`pypi_training_files`), weighted below the stdlib's training half. None of them is
a held-out corpus (stdlib, numba, pandas, pyarrow, rich), and none holds a file identical to a stdlib file
(checked by digest, files over 200 bytes).
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


# The PyPI training corpus: pure-Python projects of several styles (web, docs, networking, ORM, tests, maths).
PYPI_TRAINING = (
    "django==5.0.6",
    "twisted==24.3.0",
    "sqlalchemy==2.0.30",
    "docutils==0.21.2",
    "sphinx==7.3.7",
    "tornado==6.4",
    "pytest==8.2.0",
    "hypothesis==6.100.2",
    "networkx==3.3",
    "ipython==8.24.0",
    "pygments==2.18.0",
    "jinja2==3.1.4",
    "requests==2.31.0",
    "sympy==1.12",
)
PYPI_CACHE = Path.home() / ".cache" / "qyn1-corpora" / "pypi"


def pypi_fetch_command(cache: Path = PYPI_CACHE) -> str:
    """The shell command that fills ``cache`` with :data:`PYPI_TRAINING` (wheels; their ``*.py`` files are read
    from the archives, nothing is installed or run)."""
    return (
        "python3 -m pip download --no-deps --only-binary :all: --python-version 3.11 -d "
        f"{cache} " + " ".join(PYPI_TRAINING)
    )


def pypi_training_files(cache: Path = PYPI_CACHE) -> list[bytes]:
    """The ``*.py`` members of every wheel of :data:`PYPI_TRAINING` in ``cache``, in wheel then member order.
    Raises ``FileNotFoundError`` naming the fetch command when a wheel is missing."""
    import zipfile

    out = []
    for spec in PYPI_TRAINING:
        name, version = spec.split("==")
        wheels = sorted(
            p for p in Path(cache).glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-".lower())
        )
        if not wheels:
            raise FileNotFoundError(
                f"no wheel of {spec} in {cache}; fetch them with: {pypi_fetch_command(cache)}"
            )
        with zipfile.ZipFile(wheels[0]) as z:
            for member in sorted(z.namelist()):
                if member.endswith(".py"):
                    out.append(z.read(member))
    return out
