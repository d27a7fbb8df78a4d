"""The package's domain exception: bad input that the command line reports in one line (exit 2)."""

import numbers

import numpy as np


class BattedBallError(ValueError):
    """Invalid input: a negative speed, an angle out of range, an unknown mode, a malformed roster."""


def whole_number(name: str, value, minimum: int = 0) -> int:
    """``value`` as an int of at least ``minimum``, or :class:`BattedBallError` naming ``name``.

    A library user's ``1.5``, ``"1"`` or ``True`` is refused: the random streams take ``int(seed)``, so a
    seed of 1.5 would silently play season 1. A float with a whole value (``1e3``) is taken.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, np.floating)):
        raise BattedBallError(f"{name} must be a whole number, got {value!r}")
    if not isinstance(value, numbers.Integral) and not float(value).is_integer():
        raise BattedBallError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise BattedBallError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)
