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
    top = json.loads((tmp_path / "profile_top.json").read_text())
    assert len(top) <= 30
    hot = [row for row in top if row["name"] == "busy_hot_function"]
    assert hot and hot[0]["calls"] == 20 and hot[0]["function"].endswith(":busy_hot_function")
    assert {"file", "line", "tottime_s", "cumtime_s"} <= set(hot[0])
