"""What qyn1's preload modules (:mod:`qyn1.preload`, :mod:`qyn1.preload_decode`) do last in perfkit's fork
server: hand the C heap's free pages back to the system, so that the workers forked from it neither count them
in their RSS and PSS nor copy them when they reuse that free space.

Loading the tables and warming the kernels frees temporaries (decompressed model data, conversions) that glibc
keeps in the heap. With ``malloc_trim`` after the warm-up, the largest pack and unpack workers had 0.9 and
1.4 MiB less unique memory and 0.7 and 1.3 MiB less PSS (docs/perf/qyn1.md, "Worker memory, round 11";
``gc.freeze`` on top of it measured no change, so the server does not freeze its objects).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys


def settle() -> None:
    """Collect garbage, then give the C heap's free pages back to the system (glibc; elsewhere a no-op)."""
    gc.collect()
    if sys.platform.startswith("linux"):
        # not glibc (musl has no malloc_trim): nothing to give back
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)
