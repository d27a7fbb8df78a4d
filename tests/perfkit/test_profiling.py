"""perfkit.profile: the pstats file and the top table name the hot function."""

import json

import perfkit


def busy_hot_function(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def test_profile_names_the_hot_function(tmp_path):
    with perfkit.profile(tmp_path / "run.pstats"):
        for _ in range(20):
            busy_hot_function(20_000)
    assert (tmp_path / "run.pstats").stat().st_size > 0
    top = json.loads((tmp_path / "run.top.json").read_text())
    assert len(top) <= 30
    hot = [row for row in top if row["name"] == "busy_hot_function"]
    assert hot and hot[0]["calls"] == 20 and hot[0]["function"].endswith(":busy_hot_function")
    assert {"file", "line", "tottime_s", "cumtime_s"} <= set(hot[0])


def test_top_functions_leave_dispatch_frames_out_unless_asked(tmp_path):
    """By cumulative time, runpy's dispatch frames hold the whole run; they are left out by default."""
    import cProfile
    import pstats
    import runpy

    script = tmp_path / "work.py"
    script.write_text("def crunch():\n    return sum(i * i for i in range(200_000))\n\ncrunch()\n")
    prof = cProfile.Profile()
    prof.runcall(runpy.run_path, str(script))
    stats = pstats.Stats(prof)
    from perfkit.profiling import top_functions

    with_wrappers = top_functions(stats, 5, wrappers=True)
    clean = top_functions(stats, 5)
    assert "runpy" in with_wrappers[0]["file"]
    assert not any("runpy" in r["file"] for r in clean)
    assert any(r["name"] == "crunch" for r in clean)
    own = top_functions(stats, 3, sort="own")
    assert [r["tottime_s"] for r in own] == sorted((r["tottime_s"] for r in own), reverse=True)
