"""Site plans for S6: ``seg1b sites`` generates one; :func:`read_plan` reads and checks one.

A plan is a Parquet file ``site_id int64, country_iso string, tile_id int64``, sorted by ``site_id``. A
generated plan is also GeoParquet 1.1: each site's tile centre as its point ``geometry`` and a ``bbox``
covering (read_plan needs only the three plan columns; the receipt hashes only them).

The generated plan is realistic in the ways that matter for S6's speed: the allocation across countries is
heavy-tailed (Zipf over a seeded ranking, with a few named countries pinned at the top -- the US, the small
dense NLD and QAT among them -- and island states present), and within a country the sites go to tiles drawn
by weight (the tile's ``area_m2``), so dense small countries get many sites per tile. Per-country counts may
instead come from a CSV (``country_iso,count``). Every draw comes from ``perfkit.rng_for(seed, ...)`` keyed by
the country, so a plan depends only on the seed, the counts and the tile index.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from perfkit.determinism import TableDigester
from perfkit.limits import check_memory

from perfkit import rng_for
from seg1b._background import background, preload
from seg1b.errors import Seg1bError, path_text, whole_number
from seg1b.geoparquet import point_schema, with_points
from seg1b.tile_index import column_numpy

# every column required (no nulls), as in the tile index and the S6 sites
PLAN_SCHEMA = pa.schema(
    [
        pa.field(n, t, nullable=False)
        for n, t in (("site_id", pa.int64()), ("country_iso", pa.string()), ("tile_id", pa.int64()))
    ]
)
PLAN_COLUMNS = tuple(PLAN_SCHEMA.names)

# Pinned at the top of the ranking (when present): very many sites, two of them small and dense.
HEAVY = ("USA", "NLD", "QAT", "IND", "CHN", "BRA", "DEU", "GBR", "JPN", "RUS")
ZIPF_EXPONENT = 1.0


@dataclass
class Plan:
    """A site plan in memory: codes index ``countries`` (sorted distinct keys)."""

    site_id: np.ndarray  # int64
    code: np.ndarray  # int32 index into countries
    tile_id: np.ndarray  # int64
    countries: list[str]
    ascending: bool = False  # site_id strictly ascending (checked when read)

    def __len__(self) -> int:
        return int(self.site_id.size)


# ---------------------------------------------------------------------------------------------------------------
# reading


def read_plan(path: str | os.PathLike) -> Plan:
    """Read a plan and check it: required columns and types, no nulls, no duplicate ``site_id``."""
    path = Path(path)
    if not path.exists():
        raise Seg1bError(f"site plan not found: {path}")
    if not (path.is_file() or path.is_dir()):
        raise Seg1bError(f"site plan {path} is not a regular file")
    try:
        schema = pq.read_schema(path) if path.is_file() else pq.ParquetDataset(path).schema
    except Exception as exc:
        raise Seg1bError(f"cannot read site plan {path}: {' '.join(str(exc).split())}") from None
    missing = [c for c in PLAN_COLUMNS if c not in schema.names]
    pandas_index = [  # a frame's index written as metadata only (a RangeIndex): df.set_index("site_id")
        i.get("name") if isinstance(i, dict) else i
        for i in (schema.pandas_metadata or {}).get("index_columns", [])
    ]
    if set(missing) & set(pandas_index):
        raise Seg1bError(
            f"site plan {path} has {', '.join(sorted(set(missing) & set(pandas_index)))} as the pandas index of the "
            "frame that wrote it, not as a column: write it with df.reset_index().to_parquet(...)"
        )
    if missing:
        raise Seg1bError(
            f"site plan {path} lacks column(s) {', '.join(missing)} (expected {', '.join(PLAN_COLUMNS)})"
        )
    for name in ("site_id", "tile_id"):
        if not pa.types.is_integer(schema.field(name).type):
            raise Seg1bError(
                f"site plan {path}: column {name} must be integer, not {schema.field(name).type}"
            )
    ctype = schema.field("country_iso").type
    value_type = ctype.value_type if pa.types.is_dictionary(ctype) else ctype
    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        raise Seg1bError(f"site plan {path}: column country_iso must be a string, not {ctype}")
    try:
        site_id, tile_id, code, keys = _read_plan_columns(path)
    except Seg1bError:
        raise
    except Exception as exc:
        raise Seg1bError(f"cannot read site plan {path}: {' '.join(str(exc).split())}") from None
    # canonical codes: the index into the sorted distinct keys
    countries = sorted(keys)
    remap = np.empty(len(keys), dtype=np.int32)
    remap[[keys[k] for k in countries]] = np.arange(len(countries), dtype=np.int32)
    if not np.array_equal(remap, np.arange(len(keys))):
        code = remap[code]
    ascending = check_unique_site_ids(site_id, path)
    used = np.flatnonzero(np.bincount(code, minlength=len(countries)))
    if used.size != len(countries):  # keys of the dictionary no site uses
        code = np.searchsorted(used, code).astype(np.int32)
        countries = [countries[i] for i in used]
    return Plan(site_id=site_id, code=code, tile_id=tile_id, countries=countries, ascending=ascending)


def _read_plan_columns(path: Path):
    """(site_id int64, tile_id int64, code int32, {key: code}) of a plan, the codes in order of first sight.

    A file is read a row group per call (each a fraction of a second, so Ctrl-C stays prompt) straight into
    the output arrays: each group's Arrow buffers are freed before the next is read, so the reader reuses
    the same memory instead of faulting in a second copy of the plan (~0.8 s per 10 M sites).
    """
    if path.is_file():
        pf = pq.ParquetFile(path, read_dictionary=["country_iso"])
        n = pf.metadata.num_rows
        pieces = (pf.read_row_group(i, columns=list(PLAN_COLUMNS)) for i in range(pf.num_row_groups))
    else:
        table = pq.read_table(path, columns=list(PLAN_COLUMNS), read_dictionary=["country_iso"])
        n, pieces = table.num_rows, iter([table])
    site_id = np.empty(n, dtype=np.int64)
    tile_id = np.empty(n, dtype=np.int64)
    code = np.empty(n, dtype=np.int32)
    keys: dict[str, int] = {}
    at = 0
    for piece in pieces:
        for name in PLAN_COLUMNS:
            if piece.column(name).null_count:
                raise Seg1bError(
                    f"site plan {path}: column {name} has {piece.column(name).null_count} null value(s)"
                )
        m = piece.num_rows
        site_id[at : at + m] = column_numpy(piece.column("site_id"))
        tile_id[at : at + m] = column_numpy(piece.column("tile_id"))
        cc = piece.column("country_iso")
        if not pa.types.is_dictionary(cc.type):
            cc = pc.dictionary_encode(cc)
        for chunk in cc.chunks if isinstance(cc, pa.ChunkedArray) else [cc]:
            local = [keys.setdefault(str(v), len(keys)) for v in chunk.dictionary.to_pylist()]
            code[at : at + len(chunk)] = np.array(local, dtype=np.int32)[column_numpy(chunk.indices)]
            at += len(chunk)
    return site_id, tile_id, code, keys


def check_unique_site_ids(site_id: np.ndarray, where) -> bool:
    """Raise on a duplicate ``site_id``; return whether the ids are strictly ascending."""
    if site_id.size < 2:
        return True
    if (site_id[1:] > site_id[:-1]).all():
        return True
    s = np.sort(site_id)
    dup = np.flatnonzero(s[1:] == s[:-1])
    if dup.size:
        raise Seg1bError(f"site plan {where}: duplicate site_id {int(s[dup[0]])} ({dup.size} duplicate(s))")
    return False


# ---------------------------------------------------------------------------------------------------------------
# generating


def read_counts(path: str | os.PathLike) -> dict[str, int]:
    """Per-country counts from a CSV with columns ``country_iso,count`` (header required; UTF-8, with or
    without a byte-order mark)."""
    path = Path(path)
    if path.is_dir():
        raise Seg1bError(f"counts file {path} is a folder; give a CSV file")
    if not path.exists():
        raise Seg1bError(f"counts file not found: {path}")
    if not path.is_file():
        raise Seg1bError(f"counts file {path} is not a regular file")
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark, which would be part of the first name
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return _parse_counts(csv.DictReader(fh), path)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Seg1bError(f"counts file {path} is not a UTF-8 CSV: {' '.join(str(exc).split())}") from None


def _parse_counts(reader: csv.DictReader, path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    fields = [f.strip() for f in (reader.fieldnames or [])]
    if "country_iso" not in fields or "count" not in fields:
        raise Seg1bError(f"counts file {path} needs a header with columns country_iso,count")
    for lineno, row in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        key, raw = row.get("country_iso", ""), row.get("count", "")
        try:
            n = int(raw)
        except ValueError:
            raise Seg1bError(f"counts file {path}, line {lineno}: count {raw!r} is not an integer") from None
        if n < 0 or not key:
            raise Seg1bError(f"counts file {path}, line {lineno}: need a country and a count >= 0")
        if key in out:
            raise Seg1bError(f"counts file {path}, line {lineno}: country {key} appears twice")
        out[key] = n
    return out


def allocate(countries: list[str], total: int, seed: int) -> dict[str, int]:
    """Heavy-tailed per-country counts summing to ``total``: Zipf weights over a ranking that puts the
    ``HEAVY`` countries first (in that order) and the rest in a seeded random order; every country gets at
    least one site when ``total`` allows it (largest remainders for the rest)."""
    countries = sorted(countries)
    if total < 0:
        raise Seg1bError(f"count must be >= 0, got {total}")
    heavy = [c for c in HEAVY if c in countries]
    rest = [c for c in countries if c not in heavy]
    perm = rng_for(seed, "sites", "ranking").permutation(len(rest))
    ranked = heavy + [rest[i] for i in perm]
    n = len(ranked)
    if n == 0:
        return {}
    base = 1 if total >= n else 0
    remaining = total - base * n
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** ZIPF_EXPONENT
    share = w / w.sum() * remaining
    counts = np.floor(share).astype(np.int64)
    short = remaining - int(counts.sum())
    if short:
        order = np.lexsort((np.arange(n), -(share - counts)))  # largest remainder, then rank
        counts[order[:short]] += 1
    return {c: int(base + k) for c, k in zip(ranked, counts.tolist(), strict=True)}


def _country_tiles(tile_index, country: str) -> tuple[np.ndarray, np.ndarray]:
    """(tile_id, area_m2) of one country, in file-name then file order (deterministic; no sort needed)."""
    ids, areas = [], []
    for f in tile_index.files[country]:
        # ParquetFile.read, not pq.read_table: the dataset layer behind read_table imports pandas (seconds, and
        # a Ctrl-C inside that import surfaces as an arbitrary error instead of KeyboardInterrupt)
        if f.ids is not None:  # a multi-country file
            t = pq.ParquetFile(f.path).read(columns=["tile_id", "country_iso", "area_m2"])
            t = t.filter(pc.equal(pc.cast(t.column("country_iso"), pa.string()), country))
        else:
            t = pq.ParquetFile(f.path).read(columns=["tile_id", "area_m2"])
        ids.append(column_numpy(t.column("tile_id").cast(pa.int64()), np.int64))
        areas.append(column_numpy(t.column("area_m2").cast(pa.float64()), np.float64))
    return np.concatenate(ids), np.concatenate(areas)


# Memory of a plan being generated, per site (measured: 2.5 GB at 100 M sites; docs/seg1b.md "Running
# safely"): the tile of every site in country order (8 B), the site-id permutation (8 B) and its inverse
# (8 B), plus the chunk being written; and per tile of the largest country, while its tiles are drawn: ids,
# areas, their cumulative sum, per-tile hits and their ends (5 x 8 B) and the Arrow columns read (16 B).
BYTES_PER_SITE = 32
BYTES_PER_TILE = 56
DRAW_CHUNK = 1 << 21  # sites drawn per numpy call: each call a fraction of a second, so Ctrl-C stays prompt
SCATTER_CHUNK = 1 << 19  # random writes into the inverse permutation: slow per element (cache misses)
WRITE_ROWS = 1 << 20  # rows per written batch = the plan's row-group size


def check_plan_size(total: int, what: str, largest_country_tiles: int = 0) -> None:
    """Refuse (``InputError`` with the estimate) a plan whose arrays cannot fit in memory, before allocating."""
    check_memory(total * BYTES_PER_SITE + largest_country_tiles * BYTES_PER_TILE, what)


def _draw_tiles(ids: np.ndarray, area: np.ndarray, rng: np.random.Generator, out: np.ndarray) -> None:
    """Fill ``out`` with tiles drawn with probability proportional to ``area``, in tile (file) order.

    The same as ``ids[np.sort(pick)]`` over one ``rng.random(out.size)`` call, computed in chunks (the
    draws continue the same stream; per-tile counts replace the sort): no numpy call over the whole
    country, so a signal is handled within a chunk's time.
    """
    n = out.size
    cdf = np.cumsum(area)
    hits = np.zeros(ids.size, dtype=np.int64)
    for start in range(0, n, DRAW_CHUNK):
        draws = rng.random(min(DRAW_CHUNK, n - start)) * cdf[-1]
        pick = np.minimum(np.searchsorted(cdf, draws, side="right"), ids.size - 1)
        hits += np.bincount(pick, minlength=ids.size)
    ends = np.cumsum(hits)  # site p of the country is on the first tile whose end is beyond p
    for start in range(0, n, DRAW_CHUNK):
        stop = min(start + DRAW_CHUNK, n)
        out[start:stop] = ids[np.searchsorted(ends, np.arange(start, stop), side="right")]


def plan_counts(
    tiles_dir: str | os.PathLike, count: int | None, seed: int, counts_file: str | os.PathLike | None = None
):
    """The tile index and the per-country site counts of a plan (checked; memory checked)."""
    from seg1b.tile_index import open_tile_index

    if (count is None) == (counts_file is None):
        raise Seg1bError("give exactly one of count or counts_file", params=("count", "counts_file"))
    seed = whole_number("seed", seed)
    count = None if count is None else whole_number("count", count)
    if not 0 <= seed < 1 << 128:  # the same range as S6's Philox key
        raise Seg1bError(f"seed must be in [0, 2**128), got {seed}", params="seed")
    if count is not None:
        if count < 0:
            raise Seg1bError(f"count must be >= 0, got {count}", params="count")
        check_plan_size(count, f"a plan of {count:,} sites")
    counts_in = read_counts(counts_file) if counts_file is not None else None
    if counts_in is not None:
        check_plan_size(
            sum(counts_in.values()), f"counts file {counts_file}: {sum(counts_in.values()):,} sites"
        )
    index = open_tile_index(tiles_dir)
    if counts_in is not None:
        unknown = sorted(set(counts_in) - set(index.countries))
        if unknown:
            raise Seg1bError(
                f"counts file names countries with no tiles in {tiles_dir}: {', '.join(unknown)}"
            )
        counts = counts_in
    else:
        counts = allocate(index.countries, int(count), seed)
    counts = {k: counts[k] for k in sorted(counts) if counts[k] > 0}
    total = sum(counts.values())
    check_plan_size(total, f"{total:,} sites", max((index.tile_count(k) for k in counts), default=0))
    return index, counts


def generate_plan(
    tiles_dir: str | os.PathLike,
    count: int | None,
    seed: int,
    out: str | os.PathLike,
    counts_file: str | os.PathLike | None = None,
) -> dict:
    """Write a plan to ``out`` (Parquet, sorted by site_id); returns a summary dict.

    ``out`` is written directly: commands pass the private staging path of a ``perfkit.job``
    (:func:`run_sites`), which renames it into place only when the whole run succeeded.
    """
    index, counts = plan_counts(tiles_dir, count, seed, counts_file)
    keys = list(counts)
    total = int(sum(counts.values()))
    # every site's tile, countries in key order, tiles in file order within a country
    tiles = np.empty(total, dtype=np.int64)
    starts = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([counts[k] for k in keys], out=starts[1:])
    for code, key in enumerate(keys):
        ids, area = _country_tiles(index, key)
        _draw_tiles(ids, area, rng_for(seed, "sites", "tiles", key), tiles[starts[code] : starts[code + 1]])
    # site ids: a seeded permutation, so countries interleave in site_id order as real plans do; row i of the
    # grouped arrays becomes site site_of_row[i], so site s is row_of_site[s] (the inverse permutation)
    # (the one numpy call that cannot be chunked without changing the plan: ~1.3 s per 10 M sites)
    site_of_row = background(rng_for(seed, "sites", "ids").permutation, total).result()
    row_of_site = np.empty(total, dtype=np.int64)
    for a in range(0, total, DRAW_CHUNK):  # its pages touched in order first: random first touches are slow
        row_of_site[a : a + DRAW_CHUNK] = 0
    for a in range(0, total, SCATTER_CHUNK):
        b = min(a + SCATTER_CHUNK, total)
        row_of_site[site_of_row[a:b]] = np.arange(a, b, dtype=np.int64)
    del site_of_row
    names = pa.array(keys, type=pa.string())
    schema = point_schema(PLAN_SCHEMA)
    digester = TableDigester(PLAN_SCHEMA)
    grid = index.grid
    try:
        # lz4 and no dictionary attempts on the id and geometry columns: the fastest to write and for s6 to
        # read; site_id is 0, 1, 2, ...: delta encoding stores it in a few bits
        with pq.ParquetWriter(
            str(out), schema, compression="lz4", use_dictionary=["country_iso"],
            column_encoding={"site_id": "DELTA_BINARY_PACKED"},
        ) as writer:  # fmt: skip
            for a in range(0, max(total, 1), WRITE_ROWS):
                rows = row_of_site[a : a + WRITE_ROWS]
                code = (np.searchsorted(starts, rows, side="right") - 1).astype(np.int32)
                batch = pa.table(
                    {
                        "site_id": pa.array(np.arange(a, a + rows.size, dtype=np.int64)),
                        "country_iso": pa.DictionaryArray.from_arrays(pa.array(code), names).cast(
                            pa.string()
                        ),
                        "tile_id": pa.array(tiles[rows]),
                    },
                    schema=PLAN_SCHEMA,
                )
                digester.update(batch)
                row, col = np.divmod(tiles[rows], grid.ncols)  # the point: the tile's centre
                geo = with_points(batch, grid.lon_centers[col], grid.lat_centers[row], schema)
                writer.write_table(geo, row_group_size=WRITE_ROWS)
    except OSError as exc:
        raise Seg1bError(f"cannot write site plan {out}: {exc.strerror or exc}") from None
    return {
        "sites": total,
        "countries": len(keys),
        "counts": counts,
        "out": str(out),
        "receipt": digester.hexdigest(),
    }


def run_sites(
    tiles_dir: str | os.PathLike,
    count: int | None,
    seed: int,
    out: str | os.PathLike,
    counts_file: str | os.PathLike | None = None,
    *,
    force: bool = False,
    report_dir: str | os.PathLike | None = None,
    profile: str | os.PathLike | None = None,
) -> dict:
    """:func:`generate_plan` as one ``perfkit.job``: ``out`` claimed and checked against the tile index and
    the counts file before any work, written privately, renamed into place at the end.

    A plan is one file, so the run keeps a report (per-country planned sites, the plan's receipt) only in
    ``report_dir``; bad input leaves nothing anywhere.
    """
    from perfkit.job import job

    tiles_dir, out = path_text("tiles_dir", tiles_dir), path_text("out", out)
    counts_file = path_text("counts_file", counts_file, optional=True)
    seed = whole_number("seed", seed)  # before claiming anything: bad input leaves nothing
    count = None if count is None else whole_number("count", count)
    if count is not None and count >= 0:  # a size that cannot fit is bad input too
        check_plan_size(count, f"a plan of {count:,} sites")
    config = {
        "tiles": str(tiles_dir),
        "count": count,
        "counts_file": counts_file and str(counts_file),
        "seed": seed,
        "out": str(out),
    }
    with job(
        "seg1b",
        "sites",
        config=config,
        inputs=[tiles_dir, counts_file],
        files=[out],
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=(Seg1bError,),
    ) as j:
        preload("pandas")  # pyarrow imports it on first use: never in the main thread (see _background)
        staged = j.path(out)
        with j.run.stage("generate"):
            summary = generate_plan(tiles_dir, count, seed, staged, counts_file=counts_file)
        j.run.receipt("plan", summary.pop("receipt"))  # the plan columns, hashed as written
        j.run.count("sites", summary["sites"])
        j.run.result("planned_sites_per_country", summary["counts"])
    summary["out"] = str(out)
    summary["report"] = j.report_path and str(j.report_path)
    return summary
