"""``seg1b map``: a PNG quick-look of a result (tiles per country, or site density) and, optionally, the
country-id raster of the grid as a Cloud-Optimised GeoTIFF.

The picture is matplotlib (through geopandas' plotting for the choropleth): countries coloured by their tile
count on a log scale, or a log-scaled 2-D histogram of site positions, always with a colour bar and the country
outlines; ``only`` zooms to the named countries. The GeoTIFF is written with rasterio's ``COG`` driver (tiled,
overviews, DEFLATE), one uint16 band: 0 = no country, ``i + 1`` = the i-th country key in sorted order (the
keys are in the band's ``country_keys`` tag, which QGIS and ``gdalinfo`` show).
Everything is read from the outputs themselves: the tile index footers, the sites' lon/lat columns.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from seg1b.countries import as_keys, load_countries
from seg1b.errors import Seg1bError, path_text

DENSITY_BINS_ACROSS = 720  # site density: 0.5 degree bins over the world, as many across a zoomed extent
COG_BYTES_PER_CELL = 2  # uint16 country ids
FIGSIZE = (12, 6.2)


def tiles_per_country(index) -> dict[str, int]:
    """Tile count of every country of an open tile index (footer row counts: nothing else is read)."""
    return {c: index.tile_count(c) for c in index.countries}


def site_positions(
    sites_dir: str | os.PathLike, only: tuple[str, ...] | None
) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of every site of an S6 output (optionally only the named countries)."""
    root = Path(sites_dir)
    base = root / "sites" if (root / "sites").is_dir() else root
    paths = sorted(base.glob("part-*.parquet")) if base.is_dir() else []
    if not paths:
        raise Seg1bError(f"no S6 sites in {root} (expected {root}/sites/part-*.parquet from `seg1b s6`)")
    lons, lats = [], []
    for p in paths:
        try:
            t = pq.ParquetFile(p).read(columns=["lon", "lat", "country_iso"])
        except Exception as exc:
            raise Seg1bError(f"cannot read sites file {p}: {' '.join(str(exc).split())}") from None
        if only:
            import pyarrow as pa
            import pyarrow.compute as pc

            t = t.filter(pc.is_in(pc.cast(t.column("country_iso"), pa.string()), pa.array(list(only))))
        lons.append(t.column("lon").to_numpy())
        lats.append(t.column("lat").to_numpy())
    return np.concatenate(lons), np.concatenate(lats)


def _frame(countries, values: dict[str, float] | None = None):
    import geopandas as gpd

    keys = list(countries.geometries)
    data = {"key": keys}
    if values is not None:
        data["value"] = [values.get(k, np.nan) for k in keys]
    return gpd.GeoDataFrame(data, geometry=list(countries.geometries.values()), crs="OGC:CRS84")


def view_extent(geometries) -> tuple[float, float, float, float, bool]:
    """(west, south, east, north, wrapped) to zoom to ``geometries``. A set across the antimeridian (Fiji,
    Russia, or Alaska's Aleutians) spans the whole world's width in -180..180; when moving its parts that
    lie west of 0 by +360 makes the extent at most half as wide, it is drawn that way (east > 180,
    ``wrapped``)."""
    import shapely

    parts = shapely.get_parts(np.asarray(geometries, dtype=object))
    b = shapely.bounds(parts)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    west = b[:, 2] <= 0  # parts wholly in the western hemisphere
    if west.any() and not west.all():
        sx0 = min(b[~west, 0].min(), b[west, 0].min() + 360)
        sx1 = max(b[~west, 2].max(), b[west, 2].max() + 360)
        if sx1 - sx0 <= (x1 - x0) / 2:
            return float(sx0), float(y0), float(sx1), float(y1), True
    return float(x0), float(y0), float(x1), float(y1), False


def _east_of_180(frame):
    """``frame`` moved 360 degrees east (drawn beside itself when the view crosses the antimeridian)."""
    return frame.set_geometry(frame.geometry.translate(xoff=360))


def render_png(
    path: str | os.PathLike,
    countries,
    *,
    tiles: dict[str, int] | None = None,
    sites: tuple[np.ndarray, np.ndarray] | None = None,
    only: tuple[str, ...] | None = None,
    title: str = "",
) -> dict:
    """Draw tiles per country (``tiles``) or site density (``sites``) with outlines and a colour bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    frame = _frame(countries, tiles)
    shown = frame[frame["key"].isin(only)] if only else frame
    if only:
        x0, y0, x1, y1, wrapped = view_extent(shown.geometry.values)
    else:
        (x0, y0, x1, y1), wrapped = (-180.0, -90.0, 180.0, 90.0), False
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=100)
    if sites is not None:
        lon, lat = sites
        if wrapped:
            lon = np.where(lon < x0, lon + 360, lon)
        step = max(x1 - x0, y1 - y0) / DENSITY_BINS_ACROSS
        nx = max(8, int(np.ceil((x1 - x0) / step)))
        ny = max(8, int(np.ceil((y1 - y0) / step)))
        hist, _, _ = np.histogram2d(lon, lat, bins=(nx, ny), range=((x0, x1), (y0, y1)))
        hist = np.ma.masked_equal(hist.T, 0)
        vmax = max(float(hist.max()) if hist.count() else 1.0, 1.0)
        im = ax.imshow(
            hist,
            origin="lower",
            extent=(x0, x1, y0, y1),
            cmap="magma_r",
            norm=LogNorm(1, vmax),
            aspect="auto",
        )
        fig.colorbar(im, ax=ax, shrink=0.8, label=f"sites per {step:.3g}° x {step:.3g}° bin")
        what = {"sites": int(lon.size), "bins": [nx, ny]}
    else:
        valued = shown[shown["value"] > 0]
        norm = LogNorm(max(1.0, float(valued["value"].min())), max(1.0, float(valued["value"].max())))
        style = {"column": "value", "ax": ax, "cmap": "viridis", "norm": norm}
        valued.plot(**style, legend=True, legend_kwds={"label": "tiles per country", "shrink": 0.8})
        if wrapped:
            _east_of_180(valued).plot(**style)
        what = {"countries": len(valued), "tiles": int(valued["value"].sum())}
    frame.boundary.plot(ax=ax, color="0.35", linewidth=0.3, zorder=3)  # every outline, above the colours
    if wrapped:
        _east_of_180(frame).boundary.plot(ax=ax, color="0.35", linewidth=0.3, zorder=3)
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x - 360 if x > 180 else x:g}")  # longitudes as such
    if only:
        pad = max(x1 - x0, y1 - y0) * 0.05 + 0.1
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
    else:
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return what


def country_raster(index, only: tuple[str, ...] | None) -> tuple[np.ndarray, list[str]]:
    """uint16 (nrows, ncols) grid: 0 outside every country, ``i + 1`` for the i-th key (sorted)."""
    from perfkit.limits import check_memory

    grid = index.grid
    check_memory(grid.ncells * COG_BYTES_PER_CELL, f"a {grid.nrows:,} x {grid.ncols:,} country raster")
    keys = [c for c in index.countries if not only or c in only]
    if len(keys) >= 1 << 16:
        raise Seg1bError(f"{len(keys)} countries do not fit a uint16 raster")
    raster = np.zeros(grid.ncells, dtype=np.uint16)
    for code, key in enumerate(keys, start=1):
        for f in index.files[key]:
            ids = f.ids if f.ids is not None else pq.ParquetFile(f.path).read(columns=["tile_id"]).column(0)
            raster[np.asarray(ids, dtype=np.int64)] = code  # a --rule any border cell: the last key wins
    return raster.reshape(grid.nrows, grid.ncols), keys


def write_cog(path: str | os.PathLike, raster: np.ndarray, keys: list[str], grid) -> None:
    """The raster as a Cloud-Optimised GeoTIFF (rasterio COG driver: tiled, overviews, DEFLATE)."""
    import rasterio
    import rasterio.shutil
    from rasterio.io import MemoryFile

    profile = {
        "driver": "GTiff",
        "height": raster.shape[0],
        "width": raster.shape[1],
        "count": 1,
        "dtype": "uint16",
        "crs": "OGC:CRS84",
        "transform": grid.transform,
        "nodata": 0,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(raster, 1)
            dst.update_tags(1, country_keys=json.dumps(keys), meaning="0 = no country, i = country_keys[i-1]")
        with mem.open() as src:
            rasterio.shutil.copy(
                src, str(path), driver="COG", compress="DEFLATE", overview_resampling="mode", blocksize=512
            )


def run_map(
    tiles: str,
    out: str,
    *,
    sites: str | None = None,
    only=None,
    cog: str | None = None,
    countries: str | None = None,
    key: str | None = None,
    layer: str | None = None,
    force: bool = False,
    report_dir: str | None = None,
    profile: str | None = None,
) -> dict:
    """Render the quick-look PNG (and the COG) as one ``perfkit.job``: both outputs claimed up front."""
    from perfkit.job import job

    from seg1b.s1.io import read_manifest
    from seg1b.tile_index import open_tile_index

    tiles, out = path_text("tiles", tiles), path_text("out", out)
    sites, cog, countries = (
        path_text(n, v, optional=True) for n, v in (("sites", sites), ("cog", cog), ("countries", countries))
    )
    key, layer = (
        path_text(n, v, optional=True, what="a name (str)") for n, v in (("key", key), ("layer", layer))
    )
    only = as_keys(only)
    if not str(out).lower().endswith(".png"):
        raise Seg1bError(f"out must name a .png file, got {out}", params="out")
    if cog is not None and not str(cog).lower().endswith((".tif", ".tiff")):
        raise Seg1bError(f"cog must name a .tif file, got {cog}", params="cog")
    built = read_manifest(tiles) or {}
    source = countries or built.get("countries", "ne10m")
    key = key if countries else built.get("key")
    layer = layer if countries or layer is not None else built.get("layer")
    config = {
        "tiles": str(tiles),
        "sites": sites,
        "only": only and list(only),
        "countries": source,
        "cog": cog,
    }
    with job(
        "seg1b",
        "map",
        config=config,
        inputs=[p for p in (tiles, sites) if p],
        files=[p for p in (out, cog) if p],
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=(Seg1bError,),
    ) as j:
        index = open_tile_index(tiles)
        polygons = load_countries(source, key, include_antarctica=True, layer=layer)
        if only:
            unknown = sorted(set(only) - set(index.countries))
            if unknown:
                raise Seg1bError(
                    f"only names countries with no tiles in {tiles}: {', '.join(unknown)}", params="only"
                )
        drawn = only or index.countries
        no_outline = [k for k in drawn if k not in polygons.geometries]
        if no_outline:  # they were left out of the picture without a word
            hint = (
                f" (the tile index was built from {built['countries']})"
                if built.get("countries") != source
                else ""
            )
            raise Seg1bError(
                f"countries {source} lack keys of the tile index {tiles}: {', '.join(no_outline[:10])}"
                + (" ..." if len(no_outline) > 10 else "")
                + hint,
                params="countries",
            )
        res = index.grid.resolution_arcsec
        if sites:
            what = render_png(
                j.path(out), polygons, sites=site_positions(sites, only), only=only,
                title=f"seg1b S6: site density ({Path(sites).name})",
            )  # fmt: skip
        else:
            what = render_png(
                j.path(out), polygons, tiles=tiles_per_country(index), only=only,
                title=f"seg1b S1: tiles per country ({res}\" cells, {source})",
            )  # fmt: skip
        if cog:
            raster, keys = country_raster(index, only)
            write_cog(j.path(cog), raster, keys, index.grid)
            what["cog_countries"] = len(keys)
        for name, value in what.items():
            j.run.result(name, value)
    return {"out": str(out), "cog": cog, **what}
