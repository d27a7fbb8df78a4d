"""perfkit.Run: the report and event log, on success and on failure."""

import json
import random
import subprocess
import sys

import pytest

import perfkit


def _read(path):
    return json.loads(path.read_text())


def test_report_has_every_contract_field(tmp_path):
    with perfkit.Run("demo", tmp_path, {"n": 3}) as run:
        with run.stage("load"):
            pass
        with run.stage("load"):
            pass
        for i in range(12):
            with run.item(f"item-{i:02d}", rows=i) as item:
                item["rows"] += 1
        run.add_item("remote", 5.0, worker="pid-1", rows=7)
        run.count("rows", 10)
        run.count("rows", 5)
        run.result("per_item", {"a": 1})
        run.metric("rows_per_s", 123.0)
        run.histogram("attempts", [1, 1, 2, 5])
        run.receipt("out", perfkit.digest_array([1, 2, 3]))
    report = _read(tmp_path / "run_report.json")
    assert report["schema_version"] == perfkit.SCHEMA_VERSION == 1
    assert report["status"] == "ok" and report["error"] is None
    assert report["config"] == {"n": 3}
    assert report["stages"]["load"]["calls"] == 2
    assert report["items"]["item-03"]["counters"] == {"rows": 4}
    assert report["counters"] == {"rows": 15}
    assert report["results"] == {"per_item": {"a": 1}}
    assert report["metrics"] == {"rows_per_s": 123.0}
    assert len(report["top_items"]) == 10 and report["top_items"][0]["key"] == "remote"
    assert report["item_time_quantiles"]["count"] == 13 and report["item_time_quantiles"]["max_s"] >= 5.0
    hist = report["histograms"]["attempts"]
    assert hist["count"] == 4 and hist["max"] == 5 and sum(hist["counts"]) == 4 and hist["result"] is False
    assert report["receipts"]["out"]["digest"].startswith("blake2b-256/v1:")
    assert report["receipts"]["out"]["digest_version"] == 1
    assert report["peak_rss_bytes"] > 1_000_000
    for key in ("cpu_count", "python", "numpy", "numba", "pyarrow"):
        assert key in report["host"]
    assert "git_revision" in report


def test_events_log_has_item_start_and_complete(tmp_path):
    with perfkit.Run("demo", tmp_path, {}) as run, run.item("USA", tiles=3):
        pass
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds == ["run_start", "item_start", "item_complete", "run_complete"]
    assert events[2]["key"] == "USA" and events[2]["counters"] == {"tiles": 3}


def _strict(text: str):
    """Parse as standard JSON: NaN and Infinity are not JSON (jq and JavaScript refuse them)."""

    def refuse(name):
        raise ValueError(f"not standard JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_reports_are_standard_json_whatever_floats_they_hold(tmp_path):
    """A NaN (a mean of nothing) or an infinity in a result, counter or item: null in every file, so the
    report parses anywhere (it was written as Python's NaN/Infinity)."""
    import numpy as np

    with perfkit.Run("demo", tmp_path, {"limit": float("inf")}) as run:
        run.result("mean", float("nan"))
        run.result("per_bar", np.array([1.0, np.nan]))
        run.result("spread", np.float64("-inf"))
        with run.item("day", ratio=float("nan")):
            pass
    report = _strict((tmp_path / "run_report.json").read_text())
    assert report["results"]["mean"] is None and report["results"]["per_bar"] == [1.0, None]
    assert report["results"]["spread"] is None and report["config"]["limit"] is None
    events = [_strict(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[2]["counters"] == {"ratio": None}


def test_failed_run_still_writes_a_failed_report(tmp_path):
    with pytest.raises(ZeroDivisionError), perfkit.Run("demo", tmp_path, {}) as run, run.stage("compute"):
        1 / 0  # noqa: B018
    report = _read(tmp_path / "run_report.json")
    assert report["status"] == "failed"
    assert report["error"].startswith("ZeroDivisionError")
    assert report["stages"]["compute"]["calls"] == 1
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_git_revision_is_read_from_the_checkout(tmp_path):
    import subprocess

    from perfkit._host import git_revision

    repo = tmp_path / "repo"
    repo.mkdir()
    assert git_revision(repo) is None or len(git_revision(repo)) == 40  # tmp may sit inside a checkout
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert git_revision(repo) == head
    subprocess.run(["git", "-C", str(repo), "pack-refs", "--all"], check=True)
    assert git_revision(repo) == head  # from packed-refs too


def test_report_counts_worker_process_peak_rss(tmp_path):
    from perfkit.parallel import Task, map_tasks

    from tests.perfkit._tasks import draw

    with perfkit.Run("demo", tmp_path, {}):
        results = map_tasks(draw, [Task("a", (1, "a", 3))], executor="processes", workers=1)
    worker_peak = results["a"].extra["peak_rss_bytes"]
    report = _read(tmp_path / "run_report.json")
    assert worker_peak > 10_000_000
    assert report["peak_rss_children_bytes"] >= worker_peak


def test_perfkit_names_are_importable_and_listed():
    """The lazily imported top-level names all resolve, and __all__ lists exactly them."""
    assert sorted(perfkit.__all__) == sorted(perfkit._EXPORTS)
    for name in perfkit.__all__:
        assert getattr(perfkit, name) is not None
    with pytest.raises(AttributeError):
        perfkit.no_such_name  # noqa: B018


def test_worker_side_import_does_not_load_pyarrow():
    """A process worker imports perfkit.parallel; pyarrow (~45 MB) must come only with determinism."""
    import subprocess
    import sys

    code = "import sys, perfkit, perfkit.parallel; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def spin_cpu(seconds):
    """A task that burns `seconds` of CPU in its worker (module level: process workers import it)."""
    import time

    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        pass
    return seconds


def test_stage_counts_worker_process_cpu_and_logs_each_task(tmp_path):
    """A stage whose work runs in worker processes reports the workers' CPU (the parent's is near 0), and
    events.jsonl holds one task event per task with its worker and start/end times."""
    import json

    from perfkit.parallel import Task, map_tasks

    with perfkit.Run("demo", tmp_path) as run, run.stage("work"):
        results = map_tasks(spin_cpu, [Task(str(i), 0.3) for i in range(4)], executor="processes", workers=2)
    stage = run.report["stages"]["work"]
    assert stage["worker_cpu_s"] >= 4 * 0.3 * 0.8  # each task burns ~0.3 s of CPU
    assert stage["cpu_s"] < stage["worker_cpu_s"]
    tasks = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    tasks = [e for e in tasks if e["event"] == "task"]
    assert sorted(e["key"] for e in tasks) == ["0", "1", "2", "3"]
    assert {e["worker"] for e in tasks} == {r.worker for r in results.values()}
    assert all(e["finished"] >= e["started"] and e["task_in_worker"] >= 1 for e in tasks)
    assert sorted(e["task_in_worker"] for e in tasks if e["worker"] == tasks[0]["worker"])[0] == 1


def test_report_quantiles_are_numpys_to_the_bit():
    """The report's task quantiles are computed without NumPy; they must be NumPy's linear quantile and median
    exactly (odd and even counts, t below and above one half, values of many magnitudes)."""
    import statistics

    import numpy as np
    from perfkit.run import quantile

    rng = random.Random(7)
    for n in (1, 2, 3, 4, 9, 10, 11, 57, 200):
        for _ in range(30):
            xs = sorted(rng.random() * 10 ** rng.randint(-6, 4) for _ in range(n))
            for q in (0.1, 0.5, 0.9, 0.99):
                assert quantile(xs, q) == float(np.quantile(np.array(xs), q)), (n, q)
            assert statistics.median(xs) == float(np.median(np.array(xs))), n


def test_the_job_harness_imports_no_numpy():
    """Every command imports perfkit.job before it parses its options; NumPy costs ~50 ms there, so perfkit
    imports it only where a histogram or a seed is made."""
    code = "import sys, perfkit.job, perfkit.parallel, perfkit.run; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
