"""S1, the global tile index: ``kernels`` (geometry -> cells -> columns), ``reference`` (the slow obvious
path), ``io`` (Parquet writer, manifest, receipts, mask cache), ``pipeline`` (units, the run, the report)."""

__all__ = ["S1Params", "run_s1"]


def __getattr__(name: str):
    """``from seg1b.s1 import ...`` for the public names, imported on first use: the stage's kernels are
    imported by top-level modules (``tile_index``) that its pipeline itself imports."""
    if name in __all__:
        from seg1b.s1 import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
