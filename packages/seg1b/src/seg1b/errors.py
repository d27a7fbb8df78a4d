"""The seg1b domain exception: bad input the user can fix (the CLI prints one line, exit code 2)."""

from __future__ import annotations

import numbers
import re


class Seg1bError(Exception):
    """Bad input: a missing file, an unknown key field, an impossible resolution, an unwritable output.

    Library messages name library parameters (``max_attempts``, ``only``); ``params`` lists the ones a
    message names, so the CLI can say ``--max-attempts`` instead (:meth:`for_cli`) without the library
    knowing its flags.
    """

    def __init__(self, message: str, *, params: tuple[str, ...] | str = ()):
        super().__init__(message)
        self.params = (params,) if isinstance(params, str) else tuple(params)

    def for_cli(self, flags: dict[str, str] | None = None) -> str:
        """The message with each named parameter replaced by its command-line flag (its first mention: a
        message names a parameter once, as a word, and may use the same word in prose only after that)."""
        text = str(self)
        for name in self.params:
            flag = (flags or {}).get(name, "--" + name.replace("_", "-"))
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", flag, text, count=1)
        return text


def whole_number(name: str, value) -> int:
    """``value`` as an int, or :class:`Seg1bError` naming the library parameter ``name``.

    A library user's ``7.5``, ``"7"`` or ``True`` is refused: ``int()`` would make seed 7.5 the plan and
    sites of seed 7 without a word. A float with a whole value (``1e6`` sites) is taken.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise Seg1bError(f"{name} must be a whole number, got {value!r}", params=name)
    if not isinstance(value, numbers.Integral) and not float(value).is_integer():
        raise Seg1bError(f"{name} must be a whole number, got {value!r}", params=name)
    return int(value)


def path_text(
    name: str, value, *, optional: bool = False, what: str = "a path (str or pathlib.Path)"
) -> str | None:
    """``value`` (a ``str`` or ``os.PathLike``) as a ``str``, or :class:`Seg1bError` naming ``name``: a
    GeoDataFrame or None given for a path used to end in pandas' 'truth value is ambiguous' or a
    TypeError naming no parameter."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "__fspath__"):
        return str(value.__fspath__())
    frame = hasattr(value, "to_file")  # a GeoDataFrame: the run records a file's path for S6 and map
    hint = " (write the GeoDataFrame to a file first: gdf.to_file('countries.gpkg'))" if frame else ""
    raise Seg1bError(f"{name} must be {what}, got {type(value).__name__}{hint}", params=name)
