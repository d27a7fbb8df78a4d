"""perfkit.parallel: identical results for any worker count and executor; LPT order; keyed RNG."""

import contextlib

import pytest
from perfkit.parallel import Task, lpt_order, map_tasks, rng_for, seed_for, worker_utilisation

from tests.perfkit._tasks import draw, exit_marks, fail_on, survive

TASKS = [Task(key=f"item-{i}", payload=(42, f"item-{i}", 5), cost=(i * 7) % 11) for i in range(9)]


def _values(results):
    return {k: r.value[0] for k, r in results.items()}


@pytest.fixture(scope="module")
def serial_values():
    return _values(map_tasks(draw, TASKS, executor="serial"))


@pytest.mark.parametrize(
    ("executor", "workers"),
    [("threads", 1), ("threads", 2), ("threads", 4), ("processes", 2), ("processes", 4)],
)
def test_results_identical_for_any_workers_and_executor(serial_values, executor, workers):
    results = map_tasks(draw, TASKS, executor=executor, workers=workers)
    assert list(results) == [t.key for t in TASKS]  # task order, not completion order
    assert _values(results) == serial_values


def test_process_workers_run_numba_single_threaded_and_end_without_teardown(tmp_path):
    tasks = [Task(key=f"k{i}", payload=str(tmp_path)) for i in range(2)]
    results = map_tasks(exit_marks, tasks, executor="processes", workers=2)
    assert {r.value for r in results.values()} == {"1"}
    pids = {r.worker for r in results.values()}
    # Spawned workers end once the pool stops them: their atexit handlers ran, the module teardown did not.
    ran = sorted(p.name for p in tmp_path.glob("atexit-*"))
    assert ran and len(ran) == len(pids)
    assert not list(tmp_path.glob("teardown-*"))


def test_a_stopped_process_pool_finalizes_its_semaphores_in_the_stopping_thread(tmp_path, monkeypatch):
    """An interrupted pool's queue semaphores are unlinked *and* unregistered by the thread that stops it.

    Left to the pool's manager or feeder thread as it ends, the finalizer raced the command's exit: cut
    between the two steps, the resource tracker warned of a "leaked" semaphore (an interrupt test failed
    on that in CI). Before the fix every finalizer ran in the ending manager thread."""
    import concurrent.futures as cf
    import threading
    import time
    import weakref
    from multiprocessing import synchronize

    from perfkit import parallel

    finalized_in = []
    cleanup = synchronize.SemLock._cleanup
    monkeypatch.setattr(
        synchronize.SemLock,
        "_cleanup",
        staticmethod(lambda name: (finalized_in.append(threading.get_ident()), cleanup(name))),
    )
    (tmp_path / "hold").touch()  # the task runs until the pool is stopped
    pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=parallel._SPAWN)
    pool.submit(survive, (0, "slow", str(tmp_path)))
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("started-k0-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    threads = [weakref.ref(pool._executor_manager_thread), weakref.ref(pool._call_queue._thread)]
    parallel._stop_processes(pool)
    deadline = time.monotonic() + 10  # (the old code's threads ended on their own, later)
    while any(t() is not None for t in threads) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert finalized_in and set(finalized_in) == {threading.get_ident()}, finalized_in


@pytest.mark.xdist_group("dask")
def test_dask_local_cluster_gives_identical_results(serial_values):
    results = map_tasks(draw, TASKS, executor="dask", workers=2)
    assert _values(results) == serial_values
    assert all(r.worker.startswith("pid-") for r in results.values())


def test_lpt_order_is_heaviest_first_with_stable_ties():
    order = [t.key for t in lpt_order([Task("b", cost=1), Task("a", cost=1), Task("c", cost=5)])]
    assert order == ["c", "a", "b"]


def test_serial_runs_in_lpt_order_and_reports_each_result():
    seen = []
    map_tasks(
        fail_on, [Task("light", 1, cost=1), Task("heavy", 2, cost=9)], on_result=lambda r: seen.append(r.key)
    )
    assert seen == ["heavy", "light"]


def test_task_errors_propagate_with_their_type_and_key():
    with pytest.raises(ValueError, match="bad payload") as info:
        map_tasks(fail_on, [Task("ok", 1), Task("x", "bad")], executor="threads", workers=2)
    assert any("'x'" in note for note in info.value.__notes__)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown executor"):
        map_tasks(draw, TASKS, executor="gpu")
    with pytest.raises(ValueError, match="unique"):
        map_tasks(draw, [Task("a"), Task("a")])


def test_rng_streams_are_keyed_by_item_not_order():
    a = rng_for(7, "USA", 3).random(4)
    assert (rng_for(7, "USA", 3).random(4) == a).all()
    assert not (rng_for(7, "USA", 4).random(4) == a).any()
    assert not (rng_for(8, "USA", 3).random(4) == a).any()
    assert seed_for(7, 1) == seed_for(7, 1) != seed_for(7, 2)
    with pytest.raises(ValueError):
        rng_for(1, -1)


@pytest.mark.parametrize("seed", [1.5, "1", True, 1.0])
def test_a_seed_that_is_not_an_integer_is_refused(seed):
    """int(1.5) and int("1") were seed 1's stream without a word (a library caller's float seed)."""
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        rng_for(seed, "x")
    import numpy as np

    assert (rng_for(np.int64(1), "x").random(2) == rng_for(1, "x").random(2)).all()


UNGUARDED = """
from perfkit.parallel import Task, map_tasks
print("body runs")
map_tasks(abs, [Task("a", -1), Task("b", -2)], executor="processes", workers=2)
"""


def test_a_main_script_without_a_guard_is_refused_before_any_worker_starts(tmp_path):
    """Workers import the main script again: unguarded, its body ran twice and ~250 lines ended in
    WorkerLost. Now one RuntimeError naming the fix, before any process starts (the body runs once)."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1 and out.stdout == "body runs\n"
    assert out.stderr.splitlines()[-1] == (
        f"RuntimeError: process workers import the main script {script} again, which would run its top-level "
        'code in each of them: put that code under `if __name__ == "__main__":` (or use threads)'
    )


def test_worker_utilisation_counts_idle_time():
    results = map_tasks(fail_on, [Task("a", 1), Task("b", 2)], executor="serial")
    stats = worker_utilisation(results.values(), wall_s=1.0, workers=2)
    assert 0.99 < stats["idle_fraction"] <= 1.0 and stats["workers"] == 2


SCRIPT = """
import numba  # imported by the main module first, as a pipeline CLI does: spawned workers re-import it
from perfkit.parallel import Task, map_tasks
from tests.perfkit._tasks import numba_threads

if __name__ == "__main__":
    for executor in ("processes", "dask"):
        results = map_tasks(numba_threads, [Task(str(i), 100 + i) for i in range(3)], executor=executor, workers=2)
        print(executor, sorted({r.value[1] for r in results.values()}), [r.value[0] for r in results.values()])
"""


@pytest.mark.xdist_group("dask")
def test_workers_compile_numba_single_threaded_when_main_imported_numba(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "main.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("NUMBA_NUM_THREADS", None)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines == [f"{ex} [1] [4950.0, 5050.0, 5151.0]" for ex in ("processes", "dask")]


PRELOAD_SCRIPT = """
import os
from perfkit.parallel import Task, map_tasks
from tests.perfkit._preload_probe import where_imported
from tests.perfkit._tasks import draw

if __name__ == "__main__":
    tasks = [Task(str(i), i) for i in range(6)]
    preload = ["tests.perfkit._preload_probe"]
    first = map_tasks(where_imported, tasks, executor="processes", workers=2, preload=preload)
    again = map_tasks(where_imported, tasks, executor="processes", workers=2, preload=preload)
    both = (*first.values(), *again.values())
    for r in both:
        pid, imported_in, threads = r.value
        m = r.extra
        ok = 0 < m["peak_unique_bytes"] <= m["peak_pss_bytes"] <= m["peak_rss_bytes"]
        print(pid != imported_in, imported_in != os.getpid(), threads, ok)
    print(len({r.value[1] for r in both}))
    tasks = [Task(f"item-{i}", (42, f"item-{i}", 5), cost=i % 3) for i in range(9)]
    forked = map_tasks(draw, tasks, executor="processes", workers=2, preload=preload)
    serial = map_tasks(draw, tasks, executor="serial")
    print({k: r.value[0] for k, r in forked.items()} == {k: r.value[0] for k, r in serial.items()})
"""


def test_preloaded_modules_are_imported_once_by_the_fork_server(tmp_path):
    """Workers of both pools are forked from one server that imported the module before any task ran;
    they keep to one Numba thread, report their unshared memory and give the serial results. (In a
    subprocess: the fork server is one per process and keeps the preload it started with.)"""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "main.py"
    script.write_text(PRELOAD_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("NUMBA_NUM_THREADS", None)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[:12] == ["True True 1 True"] * 12
    assert lines[12] == "1"  # one fork server imported it, for both pools
    assert lines[13] == "True"  # the same results as a serial run


SLOW_EXIT_SCRIPT = """
from perfkit.parallel import Task, map_tasks
from tests.perfkit._preload_probe import where_imported

if __name__ == "__main__":
    tasks = [Task(str(i), i) for i in range(4)]
    preload = ["tests.perfkit._preload_probe", "tests.perfkit._slow_exit_preload"]  # the latter: server only
    done = map_tasks(where_imported, tasks, executor="processes", workers=2, preload=preload)
    print(len(done), flush=True)
"""


def test_the_fork_server_does_not_hold_the_output_open_after_the_command_exits(tmp_path):
    """A reader of a command's output (``| tee``, ``$(...)``) gets EOF when the command exits: the fork
    server, which inherited stdout, is stopped at exit rather than left to tear its interpreter down
    (here 30 s; the test gives it 5)."""
    import os
    import select
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "main.py"
    script.write_text(SLOW_EXIT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, env=env, start_new_session=True
    )
    try:
        assert proc.wait(timeout=120) == 0
        out = b""
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], 5.0)
            assert ready, f"stdout still open 5 s after the command exited (read so far: {out!r})"
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        assert out == b"4\n"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()


def test_a_module_in_the_current_folder_never_shadows_a_real_one_in_process_workers(tmp_path):
    """A command run from a project folder holding ``random.py``: the fork server and its workers import
    the standard library's random, never the user's file (which would run the user's code, then fail)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    project = tmp_path / "project"
    project.mkdir()
    (project / "random.py").write_text("raise SystemExit('the user random.py was imported')\n")
    (project / "coverage.py").write_text("raise SystemExit('the user coverage.py was imported')\n")
    script = tmp_path / "main.py"
    script.write_text(PRELOAD_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("NUMBA_NUM_THREADS", None)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300, cwd=project
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "user random.py" not in out.stderr and out.stdout.splitlines()[-1] == "True"
