"""perfkit.clitools: one-line errors with the right exit codes; atomic outputs."""

import contextlib

import click
import pytest
from click.testing import CliRunner
from perfkit.clitools import (
    atomic_path,
    common_options,
    executor_for,
    executor_option,
    handle_errors,
    scheduler_option,
)


class DomainError(Exception):
    pass


@click.command()
@common_options
@click.argument("what")
@handle_errors(bad_input=(DomainError,))
def cmd(what, profile, report_dir, workers, force, quiet):
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
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith("internal error: RuntimeError: internal failure (this is a bug; please report it")


def test_common_options_are_passed():
    result = CliRunner().invoke(cmd, ["fine", "--workers", "3", "--quiet"])
    assert result.exit_code == 0 and "ok workers=3 quiet=True" in result.output


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_path(final, kind="dir") as tmp:
        (tmp / "part-0.parquet").write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(final, kind="dir") as tmp:
        (tmp / "part-0.parquet").write_text("whole")
    assert (final / "part-0.parquet").read_text() == "whole"


def test_atomic_path_never_replaces_a_folder(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError), atomic_path(final, kind="dir"):
        pass
    assert (final / "keep.txt").read_text() == "user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_path_temporary_is_private_and_short(tmp_path):
    final = tmp_path / ("n" * 250)
    with atomic_path(final) as tmp:
        assert tmp.stat().st_mode & 0o777 == 0o600
        assert len(tmp.name) < 40
        tmp.write_text("x")
    from perfkit._atomic import default_mode

    assert final.read_text() == "x" and final.stat().st_mode & 0o777 == default_mode(False)


def test_workers_above_the_cap_is_a_one_line_usage_error():
    from perfkit.clitools import Group
    from perfkit.limits import max_workers

    @click.group(cls=Group)
    def grp():
        """A group."""

    grp.add_command(cmd, "cmd")
    result = CliRunner().invoke(grp, ["cmd", "fine", "--workers", str(max_workers() + 1)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--workers" in lines[0] and lines[0].startswith("error: grp cmd:")


def _group():
    from perfkit.clitools import Group

    @click.group(cls=Group)
    def grp():
        """A group of one command."""

    grp.add_command(cmd, "cmd")
    return grp


def test_a_bare_group_prints_its_help_as_written_on_stderr_exit_2():
    result = CliRunner().invoke(_group(), [])
    assert result.exit_code == 2 and result.stdout == ""
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[0].startswith("Usage: grp [OPTIONS] COMMAND") and "A group of one command." in lines
    assert "Commands:" in lines and "cmd" in lines, result.stderr


@pytest.mark.parametrize("option", ["--report-dir", "--profile"])
@pytest.mark.parametrize("value", ["--force", "--quiet", "--workers", "--"])
def test_a_path_option_given_another_option_as_its_value_is_refused(tmp_path, monkeypatch, option, value):
    """``--report-dir --force`` (the folder forgotten) must not write a folder named ``--force``."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_group(), ["cmd", "fine", option, value])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"'{value}' is an option, not a path" in lines[0], result.output
    assert lines[0].startswith("error: grp cmd:") and f"./{value}" in lines[0]
    assert not any(tmp_path.iterdir())


def test_a_path_option_named_like_an_option_with_a_folder_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_group(), ["cmd", "fine", "--report-dir", "./--force"])
    assert result.exit_code == 0, result.output


def test_an_interrupt_wrapped_in_another_exception_still_exits_130():
    """A Ctrl-C inside a C extension's import surfaces as SystemError caused by the KeyboardInterrupt."""

    @click.command()
    @handle_errors()
    def wrapped():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("returned a result with an exception set") from exc

    result = CliRunner().invoke(wrapped, [])
    assert result.exit_code == 130 and result.output.strip() == "interrupted"


def test_a_failure_after_a_stop_signal_is_reported_as_the_interrupt():
    """A signal that lands inside a C extension can surface as an unrelated error (a half-imported module's
    AttributeError); once a stop signal has arrived, the failure is reported as the interrupt."""
    import signal

    from perfkit import interrupts

    @click.command()
    @handle_errors()
    def half_imported():
        with contextlib.suppress(KeyboardInterrupt):  # swallowed by someone else's code
            signal.raise_signal(signal.SIGINT)
        raise AttributeError("partially initialized module 'pandas' has no attribute 'DataFrame'")

    result = CliRunner().invoke(half_imported, [])
    assert interrupts.received() == signal.SIGINT
    assert result.exit_code == 130 and result.output.strip() == "interrupted"


@click.command()
@executor_option(default="processes")
@scheduler_option()
@handle_errors()
def _cluster_cmd(executor, scheduler):
    click.echo(f"{executor_for(executor, scheduler)} {scheduler}")


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, (0, "processes None")),
        (["--scheduler", "tcp://h:8786"], {}, (0, "dask tcp://h:8786")),
        ([], {"DASK_SCHEDULER_ADDRESS": "tcp://e:1"}, (0, "dask tcp://e:1")),
        (["--executor", "dask", "--scheduler", "tcp://h:8786"], {}, (0, "dask tcp://h:8786")),
        (
            ["--executor", "threads", "--scheduler", "tcp://h:8786"],
            {},
            (2, "cannot be used with --executor threads"),
        ),
    ],
)
def test_scheduler_option_implies_dask_and_reads_the_environment(argv, env, expected):
    result = CliRunner().invoke(_cluster_cmd, argv, env=env)
    assert (result.exit_code, expected[1] in result.output) == (expected[0], True), result.output


def test_progress_counts_are_rounded_with_separators_and_a_unit():
    from perfkit.clitools import Progress

    bar = Progress(1_234_567.5, "tiles", unit="tiles")
    assert bar._counts(6000.3) == "6,000/1,234,568 tiles"
    assert Progress(None, "games")._counts(3) == "3/?"


def test_a_reader_leaving_mid_write_ends_the_command_with_141_not_0():
    """``cmd | head -c 1``: the pending write returns short (CPython's buffered writer then drops the rest
    and reports no error, so a plain ``sys.stdout.buffer.write`` exits 0 with its output cut);
    ``write_stdout`` keeps writing and the broken pipe becomes the quiet 141."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": f"{here}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    launcher = "from perfkit.launch import launch; launch('_stdout_app:main')"
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher, "out"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout.read(1) == b"x"
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141, err
    assert err == b""


def test_a_file_path_ending_in_a_slash_is_refused(tmp_path, monkeypatch):
    """``--profile sdir/`` names a folder: writing a file ``sdir`` instead would surprise (the seg1b audit's G12)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_group(), ["cmd", "fine", "--profile", "sdir/"])
    assert result.exit_code == 2, result.output
    assert "ends with a slash" in result.output and not any(tmp_path.iterdir())


@click.command()
@handle_errors()
def full_disk():
    # pyarrow's own text for a failed write: errno set, its message longer than the reason.
    raise OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left on device")


def test_a_full_disk_is_said_in_words_without_the_librarys_errno_text():
    result = CliRunner().invoke(full_disk, [])
    assert result.exit_code == 2
    assert result.output.strip() == "error: No space left on device"


@click.command()
@handle_errors()
def no_descriptors():
    raise OSError(24, "Too many open files")


def test_running_out_of_file_descriptors_is_a_limit_to_raise_not_a_bug():
    result = CliRunner().invoke(no_descriptors, [])
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("error: too many open files (ulimit -n is ") and "internal error" not in line


@click.command()
@handle_errors()
def no_memory_map():
    raise OSError(12, "Memory mapping file failed: Cannot allocate memory")


def test_a_memory_map_refused_for_lack_of_memory_is_out_of_memory_not_a_bug():
    result = CliRunner().invoke(no_memory_map, [])
    assert (result.exit_code, result.output.strip()) == (
        2,
        "error: out of memory; try a smaller size or fewer --workers",
    )
