"""Choices shared by the command line and the library, defined once (the CLI imports nothing heavier)."""

COMPRESSIONS = ("zstd", "snappy", "lz4", "none")  # Parquet codecs of every output
DEFAULT_COMPRESSION = "lz4"  # S1 and S6: the fastest to write (docs/perf/seg1b.md, "Speed work")
MODES = ("fast", "reference", "legacy")  # legacy: the old name of reference (the slow obvious path)
GEOMETRY_CHOICES = ("none", "polygons")  # tile index: bbox covering only, or + cell polygons as geometry
