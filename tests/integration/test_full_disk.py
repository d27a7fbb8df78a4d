"""A full disk, as a user meets it: every command that writes ends with one line naming the output
(`error: No space left on device: <output>`), exit 2, and leaves nothing on the full file system.

Before this test the line named no file, and `mbp10 bars`/`run` printed pyarrow's own text
("Error writing bytes to file. Detail: [errno 28] ..."). The file system is a real tmpfs filled to the
last page, so the rows are skipped where one cannot be mounted (not root, or no CAP_SYS_ADMIN).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.hostile import Case, check_case, run


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """A 1 MiB tmpfs filled to the last page (a file `filler`)."""
    mount = tmp_path_factory.mktemp("full")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # full
        finally:
            os.close(fd)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Inputs on a disk with room: an MBP-10 day, a small source tree, a key and a qyn1 package of it."""
    folder = tmp_path_factory.mktemp("inputs")
    day = folder / "ES-2024-01-02.dbn.zst"
    assert (
        run(
            ["mbp10", "synth", "--date", "2024-01-02", "--records", "20000", "--out", str(day), "-q"], folder
        ).returncode
        == 0
    )
    src = folder / "src"
    src.mkdir()
    (src / "a.py").write_text("".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(2000)))
    key = folder / "key.bin"
    assert run(["qyn1", "keygen", str(key)], folder).returncode == 0
    pkg = folder / "src.qyn"
    assert run(["qyn1", "pack", str(src), "-o", str(pkg), "--key", str(key), "-q"], folder).returncode == 0
    return {"day": day, "days": folder, "src": src, "key": key, "pkg": pkg}


ROWS = {
    "seg1b-s1": (
        ["seg1b", "s1", "--countries", "ne110m", "--resolution-arcsec", "600", "--only", "LUX", "-q"],
        "s1",
    ),
    "mbp10-bars": (["mbp10", "bars", "{day}", "-q"], "bars.parquet"),
    "mbp10-run": (
        ["mbp10", "run", "--input-dir", "{days}", "--dates", "2024-01-02", "--executor", "serial", "-q"],
        "run",
    ),
    "qyn1-pack": (["qyn1", "pack", "{src}", "--key", "{key}", "-q"], "src.qyn"),
    "qyn1-unpack": (["qyn1", "unpack", "{pkg}", "--key", "{key}", "-q"], "unpacked"),
    "batted-ball-season": (["batted-ball", "season", "--seed", "1", "--games", "20", "-q"], "season"),
    "perfkit-profile": (
        [
            "perfkit",
            "profile",
            "-o",
            "x.pstats",
            "--",
            "batted-ball",
            "trajectory",
            "--exit-velo",
            "100",
            "--launch-angle",
            "28",
        ],
        "x.pstats",
    ),
}


def _argv(row: str, paths: dict, full) -> list[str]:
    argv, output = ROWS[row]
    argv = [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv]
    if row == "perfkit-profile":
        return argv
    flag = "--out" if argv[:2] in (["seg1b", "s1"], ["mbp10", "run"], ["batted-ball", "season"]) else "-o"
    return [*argv, flag, str(full / output)]


@pytest.mark.parametrize("row", sorted(ROWS))
def test_a_full_disk_ends_the_command_with_one_line_naming_the_output(row, full, inputs):
    case = Case(
        f"full-disk-{row}", _argv(row, inputs, full), 2, f"No space left on device: {full / ROWS[row][1]}"
    )
    check_case(case, full)  # exit 2, that one line, the filler untouched, nothing else left, no temporaries
