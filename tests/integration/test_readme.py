"""The README works as written: every line of its example block runs, in order, in a scratch folder laid out
like the checkout (``.venv`` linked, ``perfkit/src`` and ``fixtures/`` copied), from a shell that has not
activated the environment, and exits 0 with no traceback."""

from __future__ import annotations

import compileall
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
MARKER = "<!-- tests/integration/test_readme.py runs every line of the next block"
# What the examples name relative to the checkout; each is copied (or linked, for .venv) into the scratch folder.
NEEDED = ("perfkit/src", "fixtures")


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "README.md lost the marker before its example block"
    block = re.search(r"```sh\n(.*?)```", text[text.index(MARKER) :], re.S)
    assert block, "no ```sh block after the README's example marker"
    return [
        line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _new_shell_env() -> dict[str, str]:
    """The environment of a new shell: nothing activated, the venv not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = str(REPO_ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    return env


def test_examples_name_only_installed_commands_and_shipped_paths():
    examples = readme_examples()
    assert len(examples) >= 10
    scripts = {p.name for p in (REPO_ROOT / ".venv" / "bin").iterdir()}
    for line in examples:
        for command in re.findall(r"(?:^|&&\s*)(\S+)", line.split("  #")[0]):
            assert command.startswith(".venv/bin/"), f"{line!r}: call the command as .venv/bin/<name>"
            assert command.removeprefix(".venv/bin/") in scripts, f"{line!r}: {command} is not installed"
        for rel in re.findall(r"(?<!\S)((?:perfkit|fixtures)/\S+)", line):
            assert (REPO_ROOT / rel).exists(), f"{line!r}: {rel} is not in the checkout"
            assert rel.startswith(NEEDED), f"{line!r}: add {rel} to NEEDED"
    # the diff example compares two runs the block itself makes
    diff = next(line for line in examples if " diff " in line)
    for report in re.findall(r"out/\S+/run_report\.json", diff):
        folder = report.removesuffix("/run_report.json")
        assert any(f"--out {folder} " in f"{line} " for line in examples), f"no example writes {folder}"


@pytest.mark.slow
def test_readme_examples_run_in_order(tmp_path: Path):
    scratch = tmp_path / "checkout"
    scratch.mkdir()
    (scratch / ".venv").symlink_to(REPO_ROOT / ".venv")
    ignore = shutil.ignore_patterns(".pk-*")  # __pycache__ kept: a checkout has it after make setup
    for rel in NEEDED:
        shutil.copytree(REPO_ROOT / rel, scratch / rel, ignore=ignore, symlinks=True)
    # a checkout has bytecode beside the sources after `make setup` (compileall), whatever this one has
    compileall.compile_dir(scratch / "perfkit" / "src", quiet=1)
    env = _new_shell_env()
    timings = []
    for line in readme_examples():
        start = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", line], cwd=scratch, env=env, capture_output=True, text=True, timeout=300
        )
        timings.append((round(time.monotonic() - start, 1), line.split("  #")[0].strip()))
        assert proc.returncode == 0, f"{line}\nexit {proc.returncode}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, f"{line}\n{proc.stderr[-2000:]}"
    print("\n".join(f"{t:6.1f} s  {cmd}" for t, cmd in timings))
    # what the block promises: a byte-exact round trip of perfkit/src (paths stored relative to it, like
    # tar -C), without the bytecode the example excludes
    source = scratch / "perfkit" / "src"
    unpacked = scratch / "out" / "unpacked"
    files = [p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files
    for src in files:
        restored = unpacked / src.relative_to(source)
        assert restored.read_bytes() == src.read_bytes(), (
            f"{src.relative_to(scratch)} not restored byte for byte"
        )
    assert not list(unpacked.rglob("__pycache__"))
