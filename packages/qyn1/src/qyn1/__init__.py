"""qyn1: Python source -> structural encoding -> chunked rANS -> ChaCha20-Poly1305 -> binary container."""

import os as _os
import sys as _sys

# qyn1's kernels are single-threaded. perfkit's process workers set NUMBA_NUM_THREADS=1 in their
# initializer; if numba was already imported by then (spawned children re-import the parent's main module,
# e.g. the qyn1 console script) the changed variable makes numba refuse to compile anything afterwards.
# Fixing the variable before numba is first imported keeps parent and children consistent.
if "numba" not in _sys.modules:
    _os.environ.setdefault("NUMBA_NUM_THREADS", "1")

__version__ = "0.1.0"
