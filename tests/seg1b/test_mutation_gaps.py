"""Cases the rest of the suite let through: each test here fails on a bug that survived every other seg1b
test in a mutation probe (session 2026-12-07/08, /work/brief/report-tests.md), and passes on the real code."""

from __future__ import annotations

import numpy as np
from seg1b.philox import numpy_block, seed_key


def test_every_bit_of_a_128_bit_seed_is_part_of_the_key():
    """The seed is documented as an integer in [0, 2**128): its low and high 64-bit words are the Philox key.
    Seeds that differ only above bit 32 of either word are different streams."""
    assert seed_key(2**32 + 5) == (2**32 + 5, 0)
    assert seed_key((7 << 64) | (1 << 63) | 3) == ((1 << 63) | 3, 7)
    assert not np.array_equal(numpy_block(5, 0, 0), numpy_block(2**32 + 5, 0, 0))


def test_a_points_bbox_covering_is_the_point_itself():
    """GeoParquet 1.1 "covering": each row's bbox must contain its geometry; for a point xmin = xmax = lon and
    ymin = ymax = lat. A bbox filter (`--bbox`, geopandas `bbox=`) prunes row groups by these columns, so a
    wrong bbox silently drops sites."""
    import pyarrow as pa
    from seg1b.geoparquet import point_schema, with_points

    lon, lat = np.array([-179.5, 12.25, 100.0]), np.array([-45.0, 60.5, 1.0])
    attrs = pa.table({"site_id": pa.array([1, 2, 3], pa.int64())})
    for encoding in ("WKB", "point"):
        out = with_points(attrs, lon, lat, point_schema(attrs.schema, encoding))
        bbox = out.column("bbox").combine_chunks()
        assert bbox.field("xmin").to_pylist() == bbox.field("xmax").to_pylist() == lon.tolist(), encoding
        assert bbox.field("ymin").to_pylist() == bbox.field("ymax").to_pylist() == lat.tolist(), encoding


def test_polygon_metadata_says_counterclockwise_and_the_rings_are():
    """The `geo` key of a tile index with polygons declares `orientation: counterclockwise` (GeoParquet 1.1), and
    each cell's WKB ring winds that way (positive shoelace area)."""
    import json

    import shapely
    from seg1b.geoparquet import box_wkb, tile_schema
    from seg1b.s1.kernels import TILE_SCHEMA

    meta = json.loads(tile_schema(TILE_SCHEMA, "polygons").metadata[b"geo"])
    assert meta["columns"]["geometry"]["orientation"] == "counterclockwise"
    (ring,) = shapely.from_wkb(
        box_wkb(np.array([10.0]), np.array([-5.0]), np.array([10.5]), np.array([-4.5])).to_numpy(
            zero_copy_only=False
        )
    )
    x, y = np.asarray(ring.exterior.coords).T
    assert 0.5 * np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) == 0.25


def test_a_tile_right_after_a_run_is_not_in_it():
    """S6 checks a site's tile against its country's tile-id intervals [start, stop): the stop itself (the first
    tile after the run, another country's) is outside."""
    from seg1b.s6.kernels import sorted_in_intervals

    starts, stops = np.array([10, 20], np.int64), np.array([15, 25], np.int64)
    sub = np.array([9, 10, 14, 15, 19, 20, 24, 25], np.int64)
    found = np.zeros(sub.size, dtype=bool)
    sorted_in_intervals(starts, stops, sub, found)
    assert found.tolist() == [False, True, True, False, False, True, True, False]


def test_plan_counts_give_every_country_a_site_when_there_are_just_enough():
    """`seg1b sites`: every country gets at least one site when the total allows it -- also when the total is
    exactly the number of countries."""
    from seg1b.sites import allocate

    assert allocate(["AAA", "BBB", "CCC"], 3, seed=1) == {"AAA": 1, "BBB": 1, "CCC": 1}


def test_plan_tiles_are_drawn_in_proportion_to_their_area():
    """Sites land on a country's tiles with probability proportional to `area_m2` (docs/seg1b.md): with areas 1
    and 3, 40,000 draws put ~25 % on the first tile (a uniform draw would put 50 %; the seeded stream is fixed)."""
    from perfkit.parallel import rng_for
    from seg1b.sites import _draw_tiles

    out = np.empty(40_000, dtype=np.int64)
    _draw_tiles(np.array([7, 8], np.int64), np.array([1.0, 3.0]), rng_for(5, "test"), out)
    assert 0.24 < np.mean(out == 7) < 0.26
    assert (np.diff(out) >= 0).all()  # in tile (file) order


def test_a_resumed_index_drops_band_files_the_new_plan_does_not_write(tmp_path):
    """`--resume` adopts a killed run's folder; when the countries changed meanwhile the plan's bands differ,
    and a file of an old band left in `tiles/` would add its tiles to the index a second time."""
    from perfkit.parallel import Task
    from seg1b.s1.pipeline import drop_strays

    tiles = tmp_path / "tiles"
    tiles.mkdir()
    for name in (
        "part-RUS-0000.parquet",
        "part-RUS-0001.parquet",
        "part-RUS-0002.parquet",
        "part-FJI-0000.parquet",
    ):
        (tiles / name).write_bytes(b"old")
    plan = [Task("RUS-0000", files=("tiles/part-RUS-0000.parquet",)), Task("RUS-0001", files=("tiles/part-RUS-0001.parquet",)),
            Task("FJI-0000", files=("tiles/part-FJI-0000.parquet",))]  # fmt: skip
    drop_strays(tiles, plan)
    assert sorted(p.name for p in tiles.iterdir()) == [
        "part-FJI-0000.parquet",
        "part-RUS-0000.parquet",
        "part-RUS-0001.parquet",
    ]


def test_the_compression_asked_for_is_the_one_written(tmp_path):
    """`--compression` is honoured by S1 and S6: receipts do not depend on the codec (so the receipt tests cannot
    see it), the files' column chunks must."""
    import pyarrow.parquet as pq
    from seg1b.s1.pipeline import S1Params, run_s1
    from seg1b.s6.pipeline import S6Params, run_s6
    from seg1b.sites import generate_plan

    def codecs(folder):
        out = set()
        for f in sorted(folder.glob("*.parquet")):
            md = pq.ParquetFile(f).metadata
            out |= {
                md.row_group(g).column(c).compression
                for g in range(md.num_row_groups)
                for c in range(md.num_columns)
            }
        return out

    run_s1(S1Params(out=str(tmp_path / "s1"), countries="ne110m", resolution_arcsec=3600, only=("FJI", "JAM"),
                    compression="snappy", executor="serial", workers=1, quiet=True))  # fmt: skip
    assert codecs(tmp_path / "s1" / "tiles") == {"SNAPPY"}
    generate_plan(tmp_path / "s1", 200, 3, tmp_path / "plan.parquet")
    run_s6(S6Params(tiles=str(tmp_path / "s1"), sites=str(tmp_path / "plan.parquet"), seed=1, out=str(tmp_path / "s6"),
                    countries="ne110m", compression="none", workers=1, quiet=True))  # fmt: skip
    assert codecs(tmp_path / "s6" / "sites") == {"UNCOMPRESSED"}


def test_every_s1_and_s6_option_reaches_its_parameters():
    """`S1Params.from_cli`/`S6Params.from_cli` keep only options named like a parameter field, so an option whose
    name drifted from its field (`--max-attempt` for `max_attempts`) would be dropped without a word."""
    from seg1b.cli import main
    from seg1b.s1.pipeline import S1Params
    from seg1b.s6.pipeline import S6Params

    for command, params in (("s1", S1Params), ("s6", S6Params)):
        names = [p.name for p in main.commands[command].params]
        assert [n for n in names if n not in params.__dataclass_fields__] == [], command


def test_sites_seed_decides_the_plan(tmp_path):
    """`seg1b sites --seed` reaches the draw: the same seed gives the same plan, another seed another one (a seed
    ignored was caught only incidentally in the mutation probe, by a refusal test)."""
    import pyarrow.parquet as pq
    from seg1b.s1.pipeline import S1Params, run_s1
    from seg1b.sites import generate_plan

    run_s1(S1Params(out=str(tmp_path / "s1"), countries="ne110m", resolution_arcsec=3600, only=("FRA", "CHL"),
                    executor="serial", workers=1, quiet=True))  # fmt: skip
    plans = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_plan(tmp_path / "s1", 500, seed, tmp_path / f"{name}.parquet")
        plans[name] = pq.read_table(tmp_path / f"{name}.parquet")
    assert plans["a"].equals(plans["b"])
    assert not plans["a"].equals(plans["c"])
    assert plans["a"].column("tile_id").to_pylist() != plans["c"].column("tile_id").to_pylist()
