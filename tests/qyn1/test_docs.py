"""The Python API examples in docs/qyn1.md run as written (in order, in a scratch folder)."""

from __future__ import annotations

from tests.doc_examples import python_blocks, run_blocks

PAGE = "qyn1.md"


def test_python_api_examples_run(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(PAGE, "## Python API")
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    run_blocks(PAGE, blocks)
    out = capsys.readouterr().out
    assert "2 files," in out and "['app.py', 'pkg/util.py']" in out and "def main():" in out
    assert (tmp_path / "project.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "restored").rglob("*.py")) == ["app.py", "util.py"]
