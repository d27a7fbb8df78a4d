"""perfkit gate: verdicts, baseline and workload files, and the probe outside valgrind.

The counting itself runs under valgrind in `make perf-gate` (minutes), not here; these tests check what
decides the verdict and that the probe runs a command twice with the client requests doing nothing natively.
"""

from __future__ import annotations

import json
import platform

import pytest
from perfkit.reports import PerfkitError

from perfkit import gate

from ._cli_helpers import REPORT_A, invoke, one_error_line


def test_verdict_fails_only_above_the_threshold():
    base = {"a": 1_000_000, "b": 1_000_000, "c": 1_000_000, "d": 1_000_000}
    counts = {"a": (1_029_000, 1.0), "b": (1_031_000, 1.0), "c": (960_000, 1.0), "d": (1_000_000, 1.0),
              "new": (5, 1.0)}  # fmt: skip
    got = {r.name: (r.status, r.change) for r in gate.compare(counts, base, 0.03)}
    assert got["a"][0] == "ok" and got["b"][0] == "FAIL" and got["c"][0] == "improved"
    assert got["d"] == ("ok", 0.0) and got["new"] == ("new", None)
    assert got["b"][1] == pytest.approx(0.031)


def test_baseline_round_trip_keeps_other_workloads(tmp_path):
    path = tmp_path / "baseline.json"
    assert gate.read_baseline(path) == {}
    gate.write_baseline(path, gate.compare({"mbp10": (123, 1.0)}, {}, 0.03), {"seg1b": 456})
    doc = json.loads(path.read_text())
    assert doc["instructions"] == {"mbp10": 123, "seg1b": 456} and "update on purpose" in doc["comment"]
    assert gate.read_baseline(path) == {"mbp10": 123, "seg1b": 456}
    path.write_text('{"instructions": {"mbp10": "many"}}')
    with pytest.raises(PerfkitError, match="integers"):
        gate.read_baseline(path)


def test_bad_workload_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "w.json"
    bad.write_text('{"workloads": {"x": {"command": "seg1b s1"}}}')
    result = invoke("gate", "--workloads", bad, "--baseline", tmp_path / "b.json")
    assert result.exit_code == 2 and "'command' list of strings" in one_error_line(result)
    bad.write_text('{"workloads": {"x": {"command": ["true"]}}}')
    result = invoke("gate", "--workloads", bad, "--only", "y", "--baseline", tmp_path / "b.json")
    assert result.exit_code == 2 and "unknown gate workload(s) y" in one_error_line(result)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the client request code is x86-64")
def test_probe_runs_the_command_twice_and_the_requests_do_nothing_outside_valgrind(tmp_path):
    assert gate._client_request(gate._RUNNING_ON_VALGRIND) == 0
    gate.probe(["perfkit", "show", str(REPORT_A), "--html", "{out}.html"], str(tmp_path))
    first, counted = (tmp_path / "a.html").read_text(), (tmp_path / "b.html").read_text()
    assert first == counted and first.startswith("<!DOCTYPE html>")
    with pytest.raises(SystemExit, match=r"gate workload failed \(exit 2\): perfkit digest"):
        gate.probe(["perfkit", "digest", "{out}"], str(tmp_path))  # a missing path: the first call fails


def test_the_workloads_of_the_repository_name_real_console_scripts():
    from importlib.metadata import entry_points
    from pathlib import Path

    workloads = gate.load_workloads(Path(__file__).parents[2] / "benchmarks" / "gate" / "workloads.json")
    scripts = {e.name for e in entry_points(group="console_scripts")}
    for pipeline in ("seg1b", "mbp10", "qyn1", "batted_ball"):  # every pipeline is gated
        assert any(name.startswith(pipeline) for name in workloads)
    for spec in workloads.values():
        if "call" in spec:  # a kernel workload: a function in benchmarks/gate/
            file, function = spec["call"].replace("{repo}", str(Path(__file__).parents[2])).rsplit(":", 1)
            assert function in Path(file).read_text()
            continue
        assert spec["command"][0] in scripts
        assert all(step[0] in scripts for step in spec.get("setup", []))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "nan"], "error: --threshold must be a finite number > 0, got nan"),
        (["--threshold", "0"], "error: --threshold must be a finite number > 0, got 0.0"),
        (["--jobs", "0"], "Invalid value for '--jobs': 0 is not in the range x>=1."),
    ],
)
def test_bad_gate_options_are_one_line_exit_2_before_any_counting(tmp_path, args, message):
    """Checked before valgrind runs: the workloads file does not even exist."""
    result = invoke("gate", "--workloads", tmp_path / "none.json", *args)
    assert result.exit_code == 2 and message in one_error_line(result)


def test_every_gate_command_line_parses(tmp_path):
    """The gate runs its workloads' command lines only in CI's last step: an option renamed or removed from a
    command (mbp10 bars lost --workers) must fail here, in `make test`, not minutes later in the gate.
    Each command line is parsed by its click command (types and required options checked), not run."""
    from importlib import import_module
    from importlib.metadata import entry_points
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    workloads = json.loads((repo / "benchmarks/gate/workloads.json").read_text())
    lines = [
        line
        for w in workloads["workloads"].values()
        for line in [*w.get("setup", []), w.get("command")]
        if line is not None
    ]
    assert len(lines) >= 4  # the mbp10 setup and command, batted-ball, seg1b
    for argv in lines:
        argv = [a.replace("{tmp}", str(tmp_path)).replace("{out}", str(tmp_path / "out")) for a in argv]
        (ep,) = [ep for ep in entry_points(group="console_scripts") if ep.name == argv[0]]
        group = import_module(f"{ep.value.split('.', 1)[0]}.cli").main
        command = group.commands[argv[1]]
        command.make_context(argv[1], argv[2:])  # click.UsageError on an unknown or bad option
