"""Commands run from an environment a user broke without knowing: the working folder deleted under the shell
(`rm -rf` of it from another terminal), `NUMBA_NUM_THREADS=0` (a common guess for "automatic").

Before: `error: No such file or directory` naming nothing, and an internal error (exit 1) from inside Numba's
import on the first parallel kernel. Now one line saying what is wrong, exit 2.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.hostile import command, run

WRITERS = {
    "qyn1": ["qyn1", "keygen", "k.bin"],
    "mbp10": ["mbp10", "synth", "--date", "2024-01-02", "--records", "100", "--out", "x.dbn.zst"],
    "batted-ball": ["batted-ball", "game", "--seed", "1", "--out", "g"],
    "perfkit": ["perfkit", "history"],
}


@pytest.mark.parametrize("cli", sorted(WRITERS))
def test_a_deleted_working_folder_is_named(cli, tmp_path):
    argv = WRITERS[cli]
    done = subprocess.run(
        [
            "sh",
            "-c",
            'mkdir gone && cd gone && rmdir ../gone && exec "$@"',
            "sh",
            command(argv[0]),
            *argv[1:],
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr
        == "error: the current folder no longer exists (it was deleted or moved); cd to one that does\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-2"])
def test_numba_threads_of_zero_is_refused_in_one_line(value, tmp_path):
    done = run(
        ["batted-ball", "season", "--seed", "1", "--games", "2", "--out", "s"],
        tmp_path,
        env={"NUMBA_NUM_THREADS": value},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: NUMBA_NUM_THREADS={value}: must be a whole number >= 1 (or unset: one thread per core)\n"
    )
    assert list(tmp_path.iterdir()) == []
