"""The package's domain exception: bad input that the command line reports in one line (exit 2)."""


class BattedBallError(ValueError):
    """Invalid input: a negative speed, an angle out of range, an unknown mode, a malformed roster."""
