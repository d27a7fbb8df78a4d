"""perfkit profile (cProfile, in-process) and perfkit pyspy (py-spy, needs ptrace)."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ._cli_helpers import REPORT_A, invoke, one_error_line

HOT_SCRIPT = textwrap.dedent(
    """
    import sys, time

    def hot_loop_function(n):
        total = 0
        for i in range(n):
            total += i * i
        return total

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < {seconds}:
        hot_loop_function(10_000)
    with open(sys.argv[1], "w") as fh:  # proves the command ran, with its own arguments
        fh.write(" ".join(sys.argv[2:]))
    print("script stdout")
    print("script stderr", file=sys.stderr)
    sys.exit({code})
    """
)


def _script(tmp_path: Path, seconds: float = 0.3, code: int = 0) -> Path:
    path = tmp_path / "hot.py"
    path.write_text(HOT_SCRIPT.format(seconds=seconds, code=code))
    return path


# --- perfkit profile ---------------------------------------------------------------------------------


def test_profile_python_script_names_the_hot_function(tmp_path):
    script, marker = _script(tmp_path), tmp_path / "ran.txt"
    out = tmp_path / "prof" / "run.pstats"
    result = invoke("profile", "-o", out, "--top", "15", "--", "python", script, marker, "--flag", "x")
    assert result.exit_code == 0, result.output
    assert marker.read_text() == "--flag x"  # the script's own options were passed through untouched
    assert out.stat().st_size > 0
    top = json.loads((out.parent / "run.top.json").read_text())
    assert 0 < len(top) <= 15
    hot = [r for r in top if r["name"] == "hot_loop_function"]
    assert hot and hot[0]["calls"] > 10 and hot[0]["file"] == str(script)
    assert "hot_loop_function" in result.stdout and "cumtime" in result.stdout


def test_profile_console_script_in_process(tmp_path):
    """A console script of this environment (perfkit itself) runs under the profiler in this process."""
    out = tmp_path / "show.pstats"
    result = invoke("profile", "-o", out, "--", "perfkit", "show", REPORT_A)
    assert result.exit_code == 0, result.output
    assert "top 10 items" in result.stdout  # the profiled command's own output
    names = {r["name"] for r in json.loads((tmp_path / "show.top.json").read_text())}
    assert "render_report" in names


def test_profile_python_module(tmp_path):
    result = invoke("profile", "-o", tmp_path / "m.pstats", "--", "python", "-m", "json.tool", REPORT_A)
    assert result.exit_code == 0, result.output
    assert '"pipeline": "seg1b"' in result.stdout
    assert any("json" in r["file"] for r in json.loads((tmp_path / "m.top.json").read_text()))


def test_profile_keeps_the_command_exit_code_and_still_writes(tmp_path):
    result = invoke(
        "profile", "-o", tmp_path / "p.pstats", "--", "python", _script(tmp_path, code=3), tmp_path / "m"
    )
    assert result.exit_code == 3
    assert (tmp_path / "p.pstats").exists() and (tmp_path / "p.top.json").exists()


def test_two_profiles_share_a_folder_each_with_its_own_top_functions(tmp_path):
    # one profile_top.json per folder refused every second profile there, and --force took the first's JSON
    first = invoke("profile", "-o", tmp_path / "a.pstats", "--", "python", "-c", "sum(range(10))")
    second = invoke("profile", "-o", tmp_path / "b.pstats", "--", "python", "-m", "json.tool", REPORT_A)
    assert first.exit_code == 0 and second.exit_code == 0, (first.output, second.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pstats", "a.top.json", "b.pstats", "b.top.json"]
    assert any("json" in r["file"] for r in json.loads((tmp_path / "b.top.json").read_text()))
    assert not any("json" in r["file"] for r in json.loads((tmp_path / "a.top.json").read_text()))
    again = invoke("profile", "-o", tmp_path / "a.pstats", "--", "python", "-c", "pass")
    assert again.exit_code == 2 and "a.pstats exists; pass --force" in one_error_line(again)


def test_profile_command_that_raises_exits_1_with_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('no such tile')\n")
    result = invoke("profile", "-o", tmp_path / "p.pstats", "--", "python", bad)
    assert result.exit_code == 1
    assert "error: command failed: ValueError: no such tile" in result.stderr
    assert (tmp_path / "p.pstats").exists()


def test_profile_of_a_command_that_was_interrupted_writes_nothing(tmp_path):
    """A command that handles Ctrl-C itself and exits 130 leaves no profile that looks complete, and
    `perfkit profile` adds no line to the command's own `interrupted` (the auditor's P6)."""
    script = tmp_path / "slow.py"
    script.write_text(
        "import os, signal, sys\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    signal.pause()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', file=sys.stderr)\n"
        "    sys.exit(130)\n"
    )
    result = invoke("profile", "-o", tmp_path / "p.pstats", "--", "python", script)
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == ["interrupted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.py"]


def test_profile_unknown_command_is_one_line_exit_2(tmp_path):
    result = invoke("profile", "-o", tmp_path / "p.pstats", "--", "definitely-not-a-command", "x")
    assert result.exit_code == 2
    assert "not a console script of this environment" in one_error_line(result)
    assert not (tmp_path / "p.pstats").exists()


# --- perfkit pyspy -----------------------------------------------------------------------------------

PERFKIT = str(Path(sys.executable).parent / "perfkit")
PYSPY = str(Path(sys.executable).parent / "py-spy")
BUSY = "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.3:\n    pass\n"


def _pyspy_can_attach_here(tmp_path: Path) -> bool:
    """Ask py-spy itself, independently of perfkit, whether it can sample a child on this machine."""
    out = tmp_path / "direct.json"
    proc = subprocess.run(
        [PYSPY, "record", "--format", "speedscope", "-o", str(out), "--", sys.executable, "-c", BUSY],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return proc.returncode == 0 and out.exists()


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False, **kw)


def test_pyspy_on_this_machine(tmp_path):
    """Whatever this machine allows: a speedscope profile naming the hot function, or one line + exit 2."""
    script, marker, out = (
        _script(tmp_path, seconds=1.0, code=0),
        tmp_path / "ran.txt",
        tmp_path / "p.speedscope.json",
    )
    proc = _run([PERFKIT, "pyspy", "-o", str(out), "--", "python", str(script), str(marker), "a"])
    if _pyspy_can_attach_here(tmp_path):
        assert proc.returncode == 0, proc.stderr
        assert marker.read_text() == "a" and "script stdout" in proc.stdout and "script stderr" in proc.stderr
        assert (
            "py-spy>" not in proc.stdout + proc.stderr
        )  # py-spy's chatter stays out of the command's output
        doc = json.loads(out.read_text())
        assert "speedscope" in doc["$schema"]
        assert "hot_loop_function" in {f["name"] for f in doc["shared"]["frames"]}
        assert sum(len(p["samples"]) for p in doc["profiles"]) > 10
    else:
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
        assert proc.stderr.startswith("error: py-spy cannot attach")
        assert not out.exists() and not marker.exists()


def test_pyspy_passes_the_command_exit_code(tmp_path):
    if not _pyspy_can_attach_here(tmp_path):
        pytest.skip("py-spy cannot attach on this machine; test_pyspy_on_this_machine covers the refusal")
    out = tmp_path / "p.json"
    proc = _run(
        [
            PERFKIT,
            "pyspy",
            "-o",
            str(out),
            "--",
            "python",
            str(_script(tmp_path, code=4)),
            str(tmp_path / "m"),
        ]
    )
    assert proc.returncode == 4 and out.exists(), proc.stderr


def test_pyspy_passes_the_exit_code_of_a_command_that_ends_with_os_exit(tmp_path):
    """The pipelines' commands end with os._exit (no interpreter teardown): their exit code still comes
    through, success and bad input alike (the auditor's P3: always 1)."""
    if not _pyspy_can_attach_here(tmp_path):
        pytest.skip("py-spy cannot attach on this machine; test_pyspy_on_this_machine covers the refusal")
    for code in (0, 2):
        script = tmp_path / f"ends_{code}.py"
        script.write_text(BUSY + f"import os, sys\nsys.stdout.flush()\nos._exit({code})\n")
        out = tmp_path / f"p{code}.json"
        proc = _run([PERFKIT, "pyspy", "-o", str(out), "--", "python", str(script)])
        assert proc.returncode == code and out.exists(), proc.stderr


_DENY_PTRACE = textwrap.dedent(
    """
    # Install the seccomp rule a container's default profile applies without CAP_SYS_PTRACE (ptrace and
    # process_vm_readv fail with EPERM), then exec the command: py-spy genuinely cannot attach under it.
    import ctypes, errno, os, sys
    lib = ctypes.CDLL(sys.argv[1])
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    ctx = lib.seccomp_init(0x7FFF0000)  # SCMP_ACT_ALLOW
    for name in (b"ptrace", b"process_vm_readv"):
        assert lib.seccomp_rule_add(ctx, 0x00050000 | errno.EPERM, lib.seccomp_syscall_resolve_name(name), 0) == 0
    assert lib.seccomp_load(ctx) == 0
    os.execv(sys.argv[2], sys.argv[2:])
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux-only")
def test_pyspy_where_ptrace_is_denied_fails_with_one_line(tmp_path):
    libseccomp = ctypes.util.find_library("seccomp")
    if libseccomp is None:
        pytest.skip("libseccomp is not installed, so a ptrace denial cannot be set up here")
    launcher = tmp_path / "deny_ptrace.py"
    launcher.write_text(_DENY_PTRACE)
    marker, out = tmp_path / "ran.txt", tmp_path / "p.speedscope.json"
    proc = _run(
        [sys.executable, str(launcher), libseccomp, PERFKIT, "pyspy", "-o", str(out), "--", "python",
         str(_script(tmp_path)), str(marker)]
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: py-spy cannot attach here"), proc.stderr
    assert "SYS_PTRACE" in lines[0]
    assert not out.exists() and not marker.exists()  # refused before running anything of the user's
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_pyspy_missing_binary_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFKIT_PYSPY", str(tmp_path / "no-py-spy"))
    result = invoke("pyspy", "-o", tmp_path / "p.json", "--", "python", "-c", "pass")
    assert result.exit_code == 2
    assert "py-spy not found" in one_error_line(result)


def test_pyspy_unknown_command_is_one_line_exit_2(tmp_path):
    result = invoke("pyspy", "-o", tmp_path / "p.json", "--", "definitely-not-a-command")
    assert result.exit_code == 2
    assert one_error_line(result) == "error: command not found: definitely-not-a-command"


@pytest.mark.skipif(os.name != "posix", reason="py-spy record spawns POSIX processes here")
def test_pyspy_help_mentions_ptrace():
    assert "SYS_PTRACE" in invoke("pyspy", "--help").stdout


def test_profile_leaves_wrappers_out_sorts_by_own_time_and_exports_speedscope(tmp_path):
    """Through the real console script (click + perfkit's entry point): the table starts at the script's own
    hot function, not at click's dispatch; --sort own ranks by tottime; the speedscope file is valid."""
    script = _script(tmp_path, seconds=0.4)
    out, scope = tmp_path / "p.pstats", tmp_path / "p.speedscope.json"
    argv = [str(Path(sys.executable).parent / "perfkit"), "profile", "--top", "5", "--speedscope", str(scope),
            "-o", str(out), "--", sys.executable, str(script), str(tmp_path / "ran")]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = [ln for ln in done.stdout.split("function (file:line:function)")[1].splitlines() if ":" in ln]
    assert any("hot_loop_function" in r for r in rows[:2])  # own time: the hot loop at the top
    own = [float(r.split()[2]) for r in rows]
    assert own == sorted(own, reverse=True)  # ranked by tottime
    assert not any("click/" in r or "perfkit/cli.py" in r or "runpy" in r for r in rows)
    assert "by own time" in done.stdout
    doc = json.loads(scope.read_text())
    frames = [f["name"] for f in doc["shared"]["frames"]]
    assert "hot_loop_function" in frames and not any(f in ("main", "invoke") for f in frames[:1])
    events = doc["profiles"][0]["events"]
    depth = 0
    for e in events:  # balanced open/close events, never closing before opening, times ordered
        depth += 1 if e["type"] == "O" else -1
        assert depth >= 0
    assert depth == 0 and [e["at"] for e in events] == sorted(e["at"] for e in events)


def test_profile_never_writes_over_a_file_the_command_names(tmp_path):
    """perfkit cannot know which of the command's arguments it reads: `-o` over any file they name is
    refused, with --force too (the auditor's P2: a countries GeoPackage became a pstats file)."""
    data = tmp_path / "countries.gpkg"
    data.write_bytes(b"GPKG precious")
    for named in (str(data), f"--countries={data}"):
        result = invoke("profile", "--force", "-o", data, "--", "python", "-c", "print(1)", named)
        assert result.exit_code == 2 and "-o " in one_error_line(result) and "is the input" in result.stderr
        assert data.read_bytes() == b"GPKG precious"
