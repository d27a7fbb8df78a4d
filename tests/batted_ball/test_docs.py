"""docs/batted_ball.md: the library example runs as written, and every CLI command is documented."""

import re
from pathlib import Path

from batted_ball.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "batted_ball.md"


def test_library_example_runs(capsys):
    text = DOC.read_text()
    section = text[text.index("## Reading and writing") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, str(DOC), "exec"), {})
    assert "balls in play, league BA" in capsys.readouterr().out


def test_every_command_is_in_the_docs():
    text = DOC.read_text()
    names = [n for n in main.commands if n != "plot"] + [f"plot {n}" for n in main.commands["plot"].commands]
    missing = [n for n in names if f"batted-ball {n}" not in text]
    assert not missing, missing
