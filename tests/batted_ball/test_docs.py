"""docs/batted_ball.md: the library example runs as written, and every CLI command is documented."""

from pathlib import Path

from batted_ball.cli import main

from tests.doc_examples import python_blocks, run_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "batted_ball.md"


def test_library_example_runs(capsys):
    run_blocks("batted_ball.md", python_blocks("batted_ball.md", "## Reading and writing")[:1])
    assert "balls in play, league BA" in capsys.readouterr().out


def test_every_command_is_in_the_docs():
    text = DOC.read_text()
    names = [n for n in main.commands if n != "plot"] + [f"plot {n}" for n in main.commands["plot"].commands]
    missing = [n for n in names if f"batted-ball {n}" not in text]
    assert not missing, missing


def test_help_examples_feed_each_other():
    """A ``plot --from DIR`` example reads play-by-play that an earlier example writes (``--out DIR`` of
    ``game``, or of ``season`` with ``--pbp``): run in order, as a new user copies them, they work. The
    season example lacked ``--pbp``, so both plot examples after it ended in 'no balls_in_play.parquet'."""
    commands = [main.commands[n] for n in main.commands if n != "plot"]
    commands += list(main.commands["plot"].commands.values())
    examples = [
        line.split("Example:", 1)[1].split()
        for cmd in commands
        for line in (cmd.help or "").splitlines()
        if "Example:" in line
    ]
    written = set()
    for words in examples:
        if "--from" in words:
            source = words[words.index("--from") + 1]
            assert source in written, (
                f"{' '.join(words)}: no example before it writes {source}'s play-by-play"
            )
        if "--out" in words and (words[1] == "game" or "--pbp" in words):
            written.add(words[words.index("--out") + 1])
    assert any("--from" in w for w in examples)
