"""``perfkit.numba_cache.depend_on``: a cached Numba kernel that calls another module's kernel is compiled
again when that module changes, instead of being served stale from ``NUMBA_CACHE_DIR``."""

from __future__ import annotations

import os
import subprocess
import sys

CALLEE = "from numba import njit\n\n\n@njit(cache=True)\ndef value():\n    return {}\n"
CALLER = """\
from numba import njit

import callee
{register}

@njit(cache=True)
def twice():
    return 2 * callee.value()


print(twice())
"""


def _run(folder) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(folder / "cache"), "PYTHONPATH": str(folder)}
    out = subprocess.run([sys.executable, str(folder / "caller.py")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_caller_is_recompiled_when_the_module_it_calls_changes(tmp_path):
    register = "from perfkit import numba_cache\n\nnumba_cache.depend_on(__file__, [callee.__file__])\n"
    (tmp_path / "caller.py").write_text(CALLER.format(register=register))
    (tmp_path / "callee.py").write_text(CALLEE.format(1))
    assert _run(tmp_path) == "2"
    (tmp_path / "callee.py").write_text(CALLEE.format(5))
    # Without depend_on this prints 2 (checked): Numba checks the caller against its own file only and
    # serves it with the old callee compiled in.
    assert _run(tmp_path) == "10"
