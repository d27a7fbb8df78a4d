"""The seg1b domain exception: bad input the user can fix (the CLI prints one line, exit code 2)."""


class Seg1bError(Exception):
    """Bad input: a missing file, an unknown key field, an impossible resolution, an unwritable output."""
