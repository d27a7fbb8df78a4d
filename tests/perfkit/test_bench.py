"""perfkit.bench: interleaved comparison, history records and summary rows."""

import json
import time

from perfkit import bench


def test_compare_interleaves_and_reports_ratio():
    calls = []

    def slow():
        calls.append("A")
        time.sleep(0.004)

    def fast():
        calls.append("B")

    result = bench.compare(slow, fast, warmup=1, repeats=3, name="demo", units=1000)
    assert calls == ["A", "B"] * 4  # warm-up pair, then three interleaved pairs
    data = result.to_dict()
    assert data["reference"]["repeats"] == 3 and len(data["pair_ratios"]) == 3
    assert data["ratio"] > 3 and result.ratio == data["ratio"]
    assert data["warmup_s"]["fast"] is not None
    assert data["fast"]["items_per_s"] > data["reference"]["items_per_s"]
    assert "ratio" in result.line()


def test_record_appends_history_with_host_facts(tmp_path):
    bench.record("seg1b", "s1", {"ratio": 2.0}, results_dir=tmp_path)
    bench.record("seg1b", "s1", {"ratio": 3.0}, results_dir=tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "seg1b.jsonl").read_text().splitlines()]
    assert [x["data"]["ratio"] for x in lines] == [2.0, 3.0]
    assert lines[0]["host"]["cpu_count"] >= 1 and "git_revision" in lines[0]


def test_summary_row_replaces_rows_by_name(tmp_path):
    bench.summary_row("mbp10", "bars", summary_dir=tmp_path, ratio=10)
    bench.summary_row("mbp10", "bars", summary_dir=tmp_path, ratio=12)
    bench.summary_row("mbp10", "day", summary_dir=tmp_path, seconds=1.5)
    doc = json.loads((tmp_path / "mbp10.json").read_text())
    stamps = [{k: r.pop(k) for k in ("timestamp", "git_revision")} for r in doc["rows"]]
    assert doc["rows"] == [{"name": "bars", "ratio": 12}, {"name": "day", "seconds": 1.5}]
    assert all(s["timestamp"].endswith("Z") for s in stamps)  # each row stamped when it was written
