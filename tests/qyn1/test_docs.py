"""The Python API examples in docs/qyn1.md run as written (in order, in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "qyn1.md"


def api_blocks() -> list[str]:
    text = DOC.read_text()
    section = text[text.index("## Python API") :]
    section = section[: section.index("\n## ", 5)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_python_api_examples_run(tmp_path, monkeypatch, capsys):
    blocks = api_blocks()
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "2 files," in out and "['app.py', 'pkg/util.py']" in out and "def main():" in out
    assert (tmp_path / "project.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "restored").rglob("*.py")) == ["app.py", "util.py"]
