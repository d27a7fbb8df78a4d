"""seg1b: the global lon/lat tile index (S1) and site jitter inside tiles (S6)."""

__version__ = "0.1.0"
