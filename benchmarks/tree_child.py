"""Run a benchmark script again as a child process, on this checkout's code or on another tree's.

The A/B scripts (``qyn1_cm_speed.py``, ``qyn1_decode_speed.py``) measure in a fresh process per run, so
two versions of a package can be alternated in one session: ``src`` (another tree's ``packages/<name>/src``)
goes first on ``PYTHONPATH``. The child is the same script with ``--child`` and the given options; it prints
its measurement as JSON on its last line of output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def measure_in_child(script: str, src: str | None = None, **options: object) -> dict:
    """``python SCRIPT --child --<option> <value> ...`` (``src`` first on ``PYTHONPATH`` when given): the
    JSON object on the last line of its output."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    argv = [sys.executable, script, "--child"]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])
