"""What would FMA contraction buy the single-trajectory kernel? (issue 16: the single kernel's >= 50x).

The single kernel (`kernels.fly`) is bound by the latency of one dependent chain per force evaluation
(v^2, a square root, a division, the state update). Letting LLVM fuse multiplies and adds
(`fastmath={"contract"}`) shortens that chain a little but changes the last bits of every trajectory, so every
receipt. This probe measures the gain before anyone decides to pay that price: it compiles a copy of the
kernels module with contraction on every kernel (in a temporary folder; nothing in the package changes) and
times the same 512 ACCURATE balls through both, interleaved, in CPU time on one Numba thread.

Run: `flock /tmp/bench.lock .venv/bin/python benchmarks/probe_batted_ball_fma.py` (prints; records nothing).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from batted_ball.physics import kernels
from batted_ball.physics.environment import Environment, SimulationMode
from batted_ball.physics.flight import FlightArgs

sys.path.insert(0, str(Path(__file__).parent))
from bench_batted_ball import _NO, _NO_PATH, fly_balls

PAIRS = 9
PLAIN = '@njit(cache=True, nogil=True, error_model="numpy")'
CONTRACT = '@njit(cache=False, nogil=True, error_model="numpy", fastmath={"contract"})'


def contracted_kernels():
    """A copy of `batted_ball.physics.kernels` whose scalar kernels may fuse multiply-adds."""
    src = Path(kernels.__file__).read_text()
    src = src.replace(PLAIN, CONTRACT).replace("from . import", "from batted_ball.physics import")
    src = src.replace("from .", "from batted_ball.physics.")
    path = Path(tempfile.mkdtemp(prefix="bb-fma-")) / "kernels_fma.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("kernels_fma", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    numba.set_num_threads(1)
    fused = contracted_kernels()
    a = FlightArgs.of(Environment(), SimulationMode.ACCURATE)
    state = fly_balls(2048)[3]
    rows = [tuple(float(v) for v in r) for r in state[:512]]

    def fly_all(module) -> np.ndarray:
        return np.array(
            [
                module.fly(
                    *r, a.c0, a.cd0, a.cdspin, a.inv_tau, 0.0, 0.0, 0.0, a.dt, 0.0, 15.0, _NO, _NO, _NO_PATH
                )[:-1]
                for r in rows
            ]
        )

    plain, contracted = fly_all(kernels), fly_all(fused)  # also compiles both
    differ = np.abs(plain - contracted)
    print(f"{len(rows)} ACCURATE balls: largest difference of any output field {np.nanmax(differ):.3g}")
    times = {"plain": [], "contracted": []}
    for _ in range(PAIRS):
        for name, module in (("plain", kernels), ("contracted", fused)):
            t0 = time.process_time()
            fly_all(module)
            times[name].append(time.process_time() - t0)
    ratios = np.array(times["plain"]) / np.array(times["contracted"])
    for name, t in times.items():
        print(f"{name:>10}: {len(rows) / np.median(t):,.0f} trajectories per CPU-s (median of {PAIRS})")
    print(
        f"contracted vs plain, per pair: {' '.join(f'{r:.3f}' for r in ratios)}; median {np.median(ratios):.3f}x"
    )


if __name__ == "__main__":
    main()
