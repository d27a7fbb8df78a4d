"""The Python API examples in docs/mbp10.md run as written (in order, in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "mbp10.md"


def api_blocks() -> list[str]:
    text = DOC.read_text()
    section = text[text.index("## Python API") :]
    section = section[: section.index("\n## ", 5)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_python_api_examples_run(tmp_path, monkeypatch, capsys):
    blocks = api_blocks()
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "timestamp[ns, tz=UTC]" in out and "touches," in out
    assert namespace["days"]["vectors"].num_rows > 0 and namespace["near"].num_rows > 0
