"""The one exception type the mbp10 CLI turns into `error: ...` and exit code 2."""


class Mbp10Error(Exception):
    """Bad input: not a DBN file, a schema other than MBP-10, a truncated file, missing columns, ..."""
