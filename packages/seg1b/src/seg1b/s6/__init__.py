"""S6, site jitter: ``kernels`` (Philox draws, interior tiles, the exact point test, ``jitter_country``),
``reference`` (the per-site, per-attempt loop), ``io`` (the GeoParquet sites writer), ``pipeline`` (plan
grouping, units, the run, the report)."""

__all__ = ["S6Params", "run_s6"]


def __getattr__(name: str):
    """``from seg1b.s6 import ...`` for the public names, imported on first use: the stage's kernels are
    imported by top-level modules (``tile_index``) that its pipeline itself imports."""
    if name in __all__:
        from seg1b.s6 import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
