"""The bar5s kernel as this host's Numba build compiles it, end to end.

CI runs the tests with NUMBA_CPU_NAME=generic (the target `perfkit gate` counts), where `mbp10.ofi` picks the
scalar OFI loop; the vector step (AVX2 and up) is what every user's machine runs. This test builds the kernel
for the host in a subprocess (NUMBA_CPU_NAME/NUMBA_CPU_FEATURES removed, an empty Numba cache of its own, so
nothing compiled for another target is reused), checks that the vector step was compiled in (64-bit vector
compares on ymm/zmm registers in the kernel's machine code) and that its bars equal, by receipt, those of
this process's build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from mbp10.bars import compute_bars
from numba.core.codegen import get_host_cpu_features

import perfkit

pytestmark = pytest.mark.xdist_group("processes")  # a subprocess compiling the kernels: ~5 CPU-s

# Only the bar kernel is compiled (not a CLI command's every stage): its first call compiles it.
HOST_BARS = """
import json, re, sys
import numpy as np
import perfkit
from mbp10 import kernels, ofi
from mbp10.bars import compute_bars

table = compute_bars(np.load(sys.argv[1]))
asm = "\\n".join(kernels.bar5s_multi.inspect_asm(sig) for sig in kernels.bar5s_multi.signatures)
wide = re.findall(r"\\bvpcmp\\w*q\\b[^\\n]*[yz]mm", asm)  # vpcmpgtq (AVX2), vpcmp[n]ltq/leq/eqq (AVX-512)
print(json.dumps({"vector": ofi.VECTOR, "wide_compares": len(wide), "receipt": perfkit.digest_table(table)}))
"""


def test_host_build_runs_the_vector_ofi_step_with_the_same_bars(tmp_path, small_day):
    if "+avx2" not in get_host_cpu_features().split(","):
        pytest.skip("this host has no AVX2: its Numba build uses the scalar OFI loop, as the tests' build")
    records = tmp_path / "day.npy"
    np.save(records, small_day)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba_cache")
    done = subprocess.run(
        [sys.executable, "-c", HOST_BARS, str(records)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    host = json.loads(done.stdout)
    assert host["vector"] is True, "a host with AVX2 did not select the vector OFI step"
    assert host["wide_compares"] > 0, "the kernel's machine code has no 64-bit vector compare: no vector step"
    assert host["receipt"] == perfkit.digest_table(compute_bars(small_day))
