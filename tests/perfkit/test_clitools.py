"""perfkit.clitools: one-line errors with the right exit codes; atomic outputs."""

import click
import pytest
from click.testing import CliRunner
from perfkit.clitools import atomic_path, common_options, handle_errors


class DomainError(Exception):
    pass


@click.command()
@common_options
@click.argument("what")
@handle_errors(bad_input=(DomainError,))
def cmd(what, profile, report_dir, workers, quiet):
    if what == "bad":
        raise DomainError("input.csv: column 'x' missing")
    if what == "boom":
        raise RuntimeError("internal\nfailure")
    click.echo(f"ok workers={workers} quiet={quiet}")


def test_bad_input_is_one_line_exit_2():
    result = CliRunner().invoke(cmd, ["bad"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: input.csv: column 'x' missing"


def test_internal_failure_is_one_line_exit_1():
    result = CliRunner().invoke(cmd, ["boom"])
    assert result.exit_code == 1
    assert result.output.strip() == "internal error: RuntimeError: internal failure"


def test_common_options_are_passed():
    result = CliRunner().invoke(cmd, ["fine", "--workers", "3", "--quiet"])
    assert result.exit_code == 0 and "ok workers=3 quiet=True" in result.output


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.mkdir()
        (tmp / "part-0.parquet").write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(final) as tmp:
        tmp.mkdir()
        (tmp / "part-0.parquet").write_text("whole")
    assert (final / "part-0.parquet").read_text() == "whole"
