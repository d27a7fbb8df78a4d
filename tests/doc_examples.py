"""The Python examples of a page in docs/, to run as written (each package's docs tests)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(page: str, heading: str | None = None) -> list[str]:
    """The ```python blocks of ``docs/<page>``: all of them, or those of the section that starts at the
    ``heading`` line, up to the next ``## `` heading."""
    text = (DOCS / page).read_text()
    if heading is not None:
        text = text[text.index(heading) :]
        end = text.find("\n## ", len(heading))
        text = text if end < 0 else text[:end]
    return re.findall(r"```python\n(.*?)```", text, re.S)


def run_blocks(page: str, blocks: list[str], namespace: dict | None = None) -> dict:
    """Execute ``blocks`` in order in one namespace, as a reader pasting them into one session, and return
    it (tracebacks name ``docs/<page>``)."""
    namespace = {} if namespace is None else namespace
    for block in blocks:
        exec(compile(block, str(DOCS / page), "exec"), namespace)
    return namespace
