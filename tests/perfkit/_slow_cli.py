"""Launcher of ``_slow_app``, shaped like a console script (its imports run in spawned workers too)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from perfkit.launch import launch

if __name__ == "__main__":
    launch("_slow_app:main")
