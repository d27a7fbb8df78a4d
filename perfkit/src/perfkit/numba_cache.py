"""Numba's on-disk cache for a module whose kernels call kernels (or read constants) of other modules: its
cache entries are keyed on the sources of those modules too.

Why: Numba keys a cached function on its own source file only, yet a cached caller holds the compiled code
of every kernel it calls and the values of the globals it reads. After an edit in a callee's module, a
persistent ``NUMBA_CACHE_DIR`` would keep serving the caller built from the old code -- silently wrong
results (qyn1's fused decoder, batted-ball's game kernel). :func:`depend_on` registers, for the functions
of one source file, Numba's own locators with a stamp that also hashes the listed files, so such an edit
recompiles them. If Numba's internals ever change shape, nothing is registered (each pipeline's test of
its fast path against its reference is then the guard).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Iterable


def depend_on(source: str, deps: Iterable[str] = (), *, modules: Iterable[str] = ()) -> None:
    """Key the Numba cache of the functions defined in ``source`` (call before they are decorated) on the
    contents of ``source``, of every file in ``deps`` and of every module named in ``modules`` (found
    without importing it). List what the kernels call or read, directly and through the callees."""
    from numba.core import caching

    def find(name):  # public names in Numba >= 0.61, with a leading underscore before
        return getattr(caching, name, None) or getattr(caching, "_" + name, None)

    impl = find("CacheImpl")
    bases = [find(n) for n in ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")]
    if impl is None or not isinstance(getattr(impl, "_locator_classes", None), list) or None in bases:
        return
    source = os.path.abspath(source)
    named = [importlib.util.find_spec(m).origin for m in modules]
    files = [source, *(os.path.abspath(d) for d in [*deps, *named])]
    classes = [_locator(base, source, files) for base in bases]
    impl._locator_classes = [*classes, *impl._locator_classes]


def _stamp(files: list[str], seen: dict) -> bytes:
    """SHA-256 of the files' contents, hashed again only when a file's size or modification time changed
    (every cached function of a module asks for it when its cache is loaded)."""
    key = tuple((st.st_mtime_ns, st.st_size) for st in map(os.stat, files))
    if seen.get("key") != key:
        h = hashlib.sha256()
        for f in files:
            with open(f, "rb") as fh:
                h.update(fh.read())
        seen.update(key=key, digest=h.digest())
    return seen["digest"]


def _locator(base, source: str, files: list[str]):
    seen: dict = {}

    class Locator(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.abspath(py_file) != source:
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return _stamp(files, seen)

    Locator.__name__ = f"DependentSources{base.__name__}"
    return Locator
