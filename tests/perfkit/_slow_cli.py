"""Launcher of ``_slow_app`` as a console script would be: signals handled before the imports."""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from perfkit.launch import launch

    launch("_slow_app:main")
