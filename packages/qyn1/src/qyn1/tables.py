"""Shipped, versioned model tables (package data ``qyn1/data/tables-v<N>.npz``), loaded once per process.

Every entry ``<name>.freq`` is a quantised frequency table (rows sum to ``2**scale``), with optional
``<name>.o1map`` (order-1 context map) and ``<name>.scale``; ``vocab.*`` entries hold the morpheme and word
lists. Built by ``python -m qyn1.train`` from the training half of the stdlib corpus (see ``qyn1.corpus``).
A package records the tables version in its header; decoding needs the same version.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from qyn1.errors import FormatError

if TYPE_CHECKING:  # imported where a model is built: it loads numba, which reading a table never needs
    from qyn1 import rans

TABLES_VERSION = 3
_FILE = f"tables-v{TABLES_VERSION}.npz"


@functools.lru_cache(maxsize=1)
def arrays() -> dict[str, np.ndarray]:
    """All arrays of the shipped tables (empty dict when the package was built without them)."""
    ref = resources.files("qyn1") / "data" / _FILE
    if not ref.is_file():
        return {}
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        return {k: _as_loaded(k, z[k]) for k in z.files}


def _as_loaded(key: str, a: np.ndarray) -> np.ndarray:
    """Context maps (stored uint16) as the models and kernels read them, int32: converted once here, so that
    no model holds a second copy beside the stored one (docs/perf/qyn1.md, "Worker memory, round 11")."""
    return a.astype(np.int32) if key.endswith((".ctxmap", ".rowmap")) else a


def available() -> bool:
    return bool(arrays())


def has_python() -> bool:
    return "py.kinds.freq" in arrays()


_MODELS: dict[str, rans.Model] = {}


def model(name: str) -> rans.Model:
    """The cached rANS model ``name`` from the shipped tables."""
    m = _MODELS.get(name)
    if m is None:
        from qyn1 import rans

        a = arrays()
        if f"{name}.freq" not in a:
            raise FormatError(f"model table {name!r} is missing from qyn1 tables v{TABLES_VERSION}")
        nsym = a[f"{name}.freq"].shape[-1]
        maps = {k: _per_symbol(a.get(f"{name}.{k}"), nsym) for k in ("o1map", "o2map", "o3map", "dmap")}
        m = rans.Model(
            a[f"{name}.freq"],
            int(a[f"{name}.scale"]),
            maps["o1map"],
            name=name,
            o2map=maps["o2map"],
            dmap=maps["dmap"],
            o3map=maps["o3map"],
            ctxmap=a.get(f"{name}.ctxmap"),
        )
        _MODELS[name] = m
    return m


def _per_symbol(cmap: np.ndarray | None, nsym: int) -> np.ndarray | None:
    """A context map with one entry per symbol. The match models' maps stop before their last symbol,
    MATCH, which the decoder replaces by the predicted symbol before it becomes context; the kernels index
    maps with symbols unchecked, so ``rans.Model`` wants an entry for every symbol: pad with 0."""
    if cmap is None or len(cmap) >= nsym:
        return cmap
    return np.concatenate([cmap, np.zeros(nsym - len(cmap), dtype=cmap.dtype)])


def load_all() -> list[rans.Model]:
    """Every shipped model, built now (a fork server does this once for all its workers)."""
    return [model(k.removesuffix(".freq")) for k in sorted(arrays()) if k.endswith(".freq")]


def vocab(name: str) -> list[str]:
    """A word list (morphemes, keywords...) stored as one NUL-separated UTF-8 blob."""
    return _vocab(name)


@functools.cache
def _vocab(name: str) -> list[str]:
    blob = vocab_blob(name).tobytes().decode("utf-8")
    return blob.split("\0") if blob else []


def vocab_blob(name: str) -> np.ndarray:
    """A word list as stored: its NUL-separated UTF-8 bytes (uint8), without a ``str`` per word."""
    a = arrays()
    key = f"vocab.{name}"
    if key not in a:
        raise FormatError(f"vocabulary {name!r} is missing from qyn1 tables v{TABLES_VERSION}")
    return a[key]
