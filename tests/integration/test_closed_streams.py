"""Commands started with a standard stream closed (`cmd >&-`, `2>&-`, `<&-`: cron lines, daemons, scripts).

Before perfkit.stdstreams, Python started such a process with `sys.stdout = None`: every CLI, even
`--help`, ended with two tracebacks and exit 1, and a command whose output is its standard output
(`qyn1 cat`) did the same instead of saying so. Now status lines go to /dev/null, output that is the
command's result is refused in one line (exit 2), and error lines with stderr closed still exit 2.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.hostile import command, run

CLIS = ["seg1b", "mbp10", "qyn1", "batted-ball", "perfkit"]


def run_closed(argv: list[str], cwd, redirect: str) -> subprocess.CompletedProcess:
    """Run a console script through ``sh`` with ``redirect`` (``>&-``, ``2>&-``, ``<&-``) applied."""
    return subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", command(argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """A key and a qyn1 package holding `a.py`."""
    folder = tmp_path_factory.mktemp("closed")
    (folder / "src").mkdir()
    (folder / "src" / "a.py").write_text("def f(x):\n    return x + 1\n")
    assert run(["qyn1", "keygen", "key.bin"], folder).returncode == 0
    assert run(["qyn1", "pack", "src", "-o", "src.qyn", "--key", "key.bin", "-q"], folder).returncode == 0
    return folder


@pytest.mark.parametrize("cli", CLIS)
def test_help_with_stdout_closed_exits_0(cli, tmp_path):
    done = run_closed([cli, "--help"], tmp_path, ">&-")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_output_that_is_the_result_is_refused_when_stdout_is_closed(package):
    done = run_closed(["qyn1", "cat", "src.qyn", "a.py", "--key", "key.bin"], package, ">&-")
    assert done.returncode == 2
    assert (
        done.stderr
        == "error: standard output is closed (the command was started with >&-): nothing written\n"
    )


def test_a_command_that_writes_a_file_runs_with_stdout_closed(package):
    done = run_closed(["qyn1", "unpack", "src.qyn", "-o", "out", "--key", "key.bin"], package, ">&-")
    assert (done.returncode, done.stderr) == (0, "")
    assert (package / "out" / "a.py").read_text() == "def f(x):\n    return x + 1\n"


def test_bad_input_with_stderr_closed_still_exits_2(package):
    done = run_closed(["qyn1", "cat", "src.qyn", "nope.py", "--key", "key.bin"], package, "2>&-")
    assert (done.returncode, done.stdout) == (2, "")


def test_stdin_closed_is_not_read_as_a_package(package):
    done = run_closed(["qyn1", "list", "-", "--key", "key.bin"], package, "<&-")
    assert done.returncode == 2
    assert done.stderr.startswith("error: no package on standard input")


def test_an_error_line_nobody_reads_keeps_its_exit_code(package):
    """stderr a pipe whose reader has gone (`2>&1 | grep -q ...` after its match): the line is lost, exit 2
    stays (it was 1: the BrokenPipeError of writing the line became an internal error)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [command("qyn1"), "cat", "src.qyn", "nope.py", "--key", "key.bin"],
            cwd=package,
            stdout=subprocess.PIPE,
            stderr=write_end,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stdout) == (2, b"")
