"""Every console command: has help text, answers --help, and takes perfkit's common options."""

import importlib
from importlib.metadata import entry_points

import click
import pytest
from click.testing import CliRunner

PIPELINES = ["seg1b", "mbp10", "qyn1", "batted-ball"]
COMMON = {"--profile", "--report-dir", "--workers", "--force", "--quiet"}


def _group(name: str) -> click.Group:
    """The click group behind a console script (entry points go through ``<package>._entry:main``)."""
    (ep,) = [ep for ep in entry_points(group="console_scripts") if ep.name == name]
    package = ep.value.split(".", 1)[0]
    return importlib.import_module(f"{package}.cli").main


def _commands(name: str):
    """``(name, command)`` of every command, subcommands of a command group as ``"group sub"``."""
    found = []
    for cmd_name, command in sorted(_group(name).commands.items()):
        found.append((cmd_name, command))
        if isinstance(command, click.Group):
            found += [(f"{cmd_name} {sub}", command.commands[sub]) for sub in sorted(command.commands)]
    return found


ALL = [(p, n, c) for p in [*PIPELINES, "perfkit"] for n, c in _commands(p)]


@pytest.mark.parametrize(("prog", "name", "command"), ALL, ids=[f"{p} {n}" for p, n, _ in ALL])
def test_command_has_help(prog, name, command):
    assert (command.help or command.short_help or "").strip(), f"{prog} {name} has no help text"
    result = CliRunner().invoke(_group(prog), [*name.split(), "--help"])
    assert result.exit_code == 0, result.output


# Quick look-ups that run no pipeline work (nothing to profile, parallelise or report on), and qyn1's
# `profile` and `bench`, which are themselves the profiler and the benchmark of the pipeline.
LOOKUPS = {("qyn1", "keygen"), ("qyn1", "list"), ("qyn1", "cat"), ("qyn1", "presets"), ("mbp10", "similar")}
LOOKUPS |= {("qyn1", "profile"), ("qyn1", "bench")}
PIPELINE_COMMANDS = [
    (p, n, c)
    for p, n, c in ALL
    if p in PIPELINES and (p, n) not in LOOKUPS and not isinstance(c, click.Group)
]


@pytest.mark.parametrize(
    ("prog", "name", "command"), PIPELINE_COMMANDS, ids=[f"{p} {n}" for p, n, _ in PIPELINE_COMMANDS]
)
def test_pipeline_command_takes_common_options(prog, name, command):
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    # --workers exactly where there is work to spread, i.e. where an --executor runs it: a single trajectory,
    # game, day's bars or package verification has none, and an option that is accepted but ignored lies.
    required = COMMON if "--executor" in options else COMMON - {"--workers"}
    missing = required - options
    assert not missing, f"{prog} {name} lacks {sorted(missing)}"
    assert "--executor" in options or "--workers" not in options, (
        f"{prog} {name} offers --workers it cannot use"
    )


@pytest.mark.parametrize("prog", PIPELINES)
def test_every_pipeline_has_commands(prog):
    assert _commands(prog), f"{prog} has no commands"
