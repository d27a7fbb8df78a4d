"""The Python API examples in docs/mbp10.md run as written (in order, in a scratch folder)."""

from __future__ import annotations

from tests.doc_examples import python_blocks, run_blocks

PAGE = "mbp10.md"


def test_python_api_examples_run(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(PAGE, "## Python API")
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace = run_blocks(PAGE, blocks)
    out = capsys.readouterr().out
    assert "timestamp[ns, tz=UTC]" in out and "touches," in out
    assert namespace["days"]["vectors"].num_rows > 0 and namespace["near"].num_rows > 0
