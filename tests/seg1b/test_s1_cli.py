"""The s1 command: bad input, mask cache, cost history, the run report."""

from __future__ import annotations

import json
import os

import pytest

SMALL = ("--countries", "ne110m", "--resolution-arcsec", "3600", "--executor", "serial")


def _assert_bad_input(run, *fragments):
    assert run.exit_code == 2, run.result.output
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    for f in fragments:
        assert f in lines[0]
    assert not run.tiles_dir.exists()


def test_missing_file(s1, tmp_path):
    _assert_bad_input(s1("--countries", str(tmp_path / "nope.shp"), check=False), "not found")


def test_unknown_key_field(s1):
    _assert_bad_input(s1("--countries", "ne110m", "--key", "NOPE", check=False), "no field 'NOPE'")


def test_unknown_only_key(s1):
    _assert_bad_input(s1(*SMALL, "--only", "XXX", check=False), "XXX")


@pytest.mark.parametrize("res", ["7", "0", "5000"])
def test_resolution_that_does_not_divide_a_degree(s1, res):
    _assert_bad_input(s1("--countries", "ne110m", "--resolution-arcsec", res, check=False), "does not divide")


def test_empty_geometry_set(s1, tmp_path):
    src = tmp_path / "empty.geojson"
    src.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"ADM0_A3": "AAA"}, "geometry": None}],
            }
        )
    )
    _assert_bad_input(s1("--countries", str(src), check=False), "no country geometries")


def test_unwritable_output(s1, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = s1(*SMALL, out="file/sub", check=False)
    assert result.exit_code == 2 and "is not a folder" in result.stderr, result.stderr
    assert blocker.read_text() == "x"


def test_scheduler_needs_dask(s1):
    _assert_bad_input(
        s1("--countries", "ne110m", "--executor", "threads", "--scheduler", "tcp://127.0.0.1:1", check=False),
        "--scheduler tcp://127.0.0.1:1 runs on a Dask cluster; it cannot be used with --executor threads",
    )


def test_vector_file_with_key_invalid_geometry_and_shared_keys(s1, tmp_path):
    bowtie = [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]  # self-intersecting: make_valid repairs it
    features = [
        {
            "type": "Feature",
            "properties": {"code": "BOW"},
            "geometry": {"type": "Polygon", "coordinates": bowtie},
        },
        {
            "type": "Feature",
            "properties": {"code": "TWO"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[10, 10], [13, 10], [13, 12], [10, 12], [10, 10]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"code": "TWO"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-170, -5], [-168, -5], [-168, -3], [-170, -3], [-170, -5]]],
            },
        },
    ]
    src = tmp_path / "c.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    run = s1("--countries", str(src), "--key", "code", "--resolution-arcsec", "3600", "--executor", "serial")
    rep = run.report
    assert rep["results"]["repaired_geometries"] == 1
    # the bowtie's two triangles each hold two 1-degree cell centres; TWO = 3x2 + 2x2 cells, one country
    assert rep["results"]["per_country_tiles"] == {"BOW": 2, "TWO": 10}
    assert rep["results"]["input_geometry_digest"].startswith("blake2b-256:")


def test_antarctica_excluded_unless_asked(s1):
    assert "ATA" not in s1(*SMALL).report["results"]["per_country_tiles"]
    assert "ATA" in s1(*SMALL, "--include-antarctica").report["results"]["per_country_tiles"]


def test_mask_cache_second_run_skips_rasterisation(s1, tmp_path):
    cache = tmp_path / "cache"
    first = s1(*SMALL, "--cache-dir", str(cache))
    second = s1(*SMALL, "--cache-dir", str(cache))
    assert first.report["metrics"]["mask_cache_hit_ratio"] == 0.0
    assert second.report["metrics"]["mask_cache_hit_ratio"] == 1.0
    assert first.receipt == second.receipt
    other_rule = s1(*SMALL, "--cache-dir", str(cache), "--rule", "any")
    assert other_rule.report["metrics"]["mask_cache_hit_ratio"] < 1.0


def test_mask_cache_inside_another_output_is_refused(s1, tmp_path):
    # its .npy files landed in the other index's tiles/ folder: pyarrow could no longer read it as a dataset
    first = s1(*SMALL)
    before = sorted(p.name for p in first.tiles_dir.iterdir())
    second = s1(*SMALL, "--cache-dir", str(first.tiles_dir), check=False)
    assert second.exit_code == 2
    line = second.stderr.strip()
    assert "\n" not in line and "inside" in line and "folder of its own" in line, line
    assert sorted(p.name for p in first.tiles_dir.iterdir()) == before


def test_cost_history_is_written_and_reused(s1, tmp_path):
    hist = tmp_path / "costs.json"
    first = s1(*SMALL, "--cost-history", str(hist))
    data = json.loads(hist.read_text())
    assert len(data["unit_seconds"]) == first.report["metrics"]["units"]
    second = s1(*SMALL, "--cost-history", str(hist))
    assert second.receipt == first.receipt


def test_report_contents(s1):
    run = s1(*SMALL, "--only", "RUS,FJI,USA", "--max-unit-cells", "200")
    rep = run.report
    assert rep["status"] == "ok" and rep["pipeline"] == "seg1b"
    assert rep["config"]["resolution_arcsec"] == 3600 and rep["config"]["only"] == ["RUS", "FJI", "USA"]
    assert set(rep["results"]["per_country_tiles"]) == {"RUS", "FJI", "USA"}
    assert rep["counters"]["tiles"] == sum(rep["results"]["per_country_tiles"].values())
    assert rep["receipts"]["tiles"]["digest"].startswith("blake2b-256/v1:")
    assert sum(item["counters"]["tiles"] for item in rep["items"].values()) == rep["counters"]["tiles"]
    m = rep["metrics"]
    for name in (
        "tiles_per_s",
        "per_worker",
        "worker_idle_s",
        "peak_tiles_per_s",
        "peak_unit_tiles_per_s",
        "units",
    ):
        assert name in m
    assert rep["histograms"]["rows_per_file"]["count"] == rep["counters"]["files"]
    assert os.path.exists(run.out / "events.jsonl")


def test_split_country_with_no_cell_centre_falls_back_to_any(s1, tmp_path):
    # a 0.1-degree-wide sliver between two columns of 1-degree cell centres, cut into several row bands
    sliver = [[[10.6, 0.2], [10.7, 0.2], [10.7, 20.2], [10.6, 20.2], [10.6, 0.2]]]
    feature = {
        "type": "Feature",
        "properties": {"ADM0_A3": "SLV"},
        "geometry": {"type": "Polygon", "coordinates": sliver},
    }
    src = tmp_path / "sliver.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    run = s1(
        "--countries",
        str(src),
        "--resolution-arcsec",
        "3600",
        "--max-unit-cells",
        "1",
        "--executor",
        "serial",
    )
    rep = run.report
    assert len(rep["items"]) > 1
    assert rep["results"]["fallback_to_any"] == ["SLV"]
    assert rep["results"]["per_country_tiles"] == {"SLV": 21}  # rows 69..89, one column
    assert sum(item["counters"]["tiles"] for item in rep["items"].values()) == 21
