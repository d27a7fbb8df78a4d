"""Receipts: legacy == fast, and independent of workers, executors and codecs."""

from __future__ import annotations

import pytest
from perfkit.determinism import digest_parquet

# an antimeridian country (Fiji, Russia), a tiny island that needs the `any` fallback at 1 degree (Jamaica),
# a key that is not ne110m's iso_a3 (France: -99 there, FRA from the name), and plain ones
SAMPLE = "FJI,RUS,JAM,FRA,CHL"
BASE = ("--countries", "ne110m", "--only", SAMPLE, "--resolution-arcsec", "3600", "--max-unit-cells", "300")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from click.testing import CliRunner
    from seg1b.cli import main

    out = tmp_path_factory.mktemp("legacy")
    result = CliRunner().invoke(
        main, ["s1", "-q", *BASE, "--mode", "legacy", "--executor", "serial", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    import json

    report = json.loads((out / "run_report.json").read_text())
    return report["receipts"]["tiles"]["digest"], digest_parquet(out / "tiles"), report


def test_legacy_sample_covers_bands_and_fallback(reference):
    _, _, report = reference
    assert report["results"]["fallback_to_any"] == ["JAM"]
    assert sum(1 for k in report["items"] if k.startswith("RUS-")) > 1  # Russia was cut into row bands


def test_fast_equals_legacy(s1, reference):
    run = s1(*BASE, "--executor", "serial")
    assert run.receipt == reference[0]
    assert digest_parquet(run.tiles_dir) == reference[1]
    assert run.report["results"]["per_country_tiles"] == reference[2]["results"]["per_country_tiles"]


@pytest.mark.parametrize("workers", [1, 2, pytest.param(4, marks=pytest.mark.slow)])
def test_workers(s1, reference, workers):
    assert s1(*BASE, "--executor", "processes", "--workers", str(workers)).receipt == reference[0]


def test_threads(s1, reference):
    assert s1(*BASE, "--executor", "threads", "--workers", "2").receipt == reference[0]


def test_dask_cluster_by_scheduler_address(s1, reference):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run = s1(*BASE, "--executor", "dask", "--scheduler", cluster.scheduler_address, "--workers", "2")
    assert run.receipt == reference[0]


@pytest.mark.parametrize("codec", ["snappy", "lz4", "none"])
def test_codecs_and_row_groups(s1, reference, codec):
    run = s1(*BASE, "--executor", "serial", "--compression", codec, "--row-group-size", "97")
    assert run.receipt == reference[0]
    assert digest_parquet(run.tiles_dir) == reference[1]
