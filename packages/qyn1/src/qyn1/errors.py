"""Exceptions raised by qyn1. Every bad-input condition is a :class:`Qyn1Error` (CLI: exit 2)."""

import re

# a lone surrogate U+DC80..U+DCFF as repr() writes it (after an even run of backslashes, so not an escaped
# backslash followed by the letters): the bytes of a name that is not UTF-8 (os.fsdecode's surrogateescape)
_REPR_SURROGATE = re.compile(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])")


def shown(text: str) -> str:
    """``text`` with the undecodable bytes of a file name as ``\\xff``, never ``\\udcff``: both those
    ``repr()`` wrote as escapes and lone surrogates themselves (which stderr would print as ``\\udcff``)."""
    text = _REPR_SURROGATE.sub(r"\1\\x\2", text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to: as Python writes it
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Qyn1Error(Exception):
    """Base class of every clean, user-facing qyn1 error. Its message shows the bytes of a name that is not
    UTF-8 as ``\\xff`` (:func:`shown`), whichever way the message was written."""

    def __str__(self) -> str:
        return shown(super().__str__())


class FormatError(Qyn1Error):
    """The archive is not a well-formed qyn1 container (bad magic, version, lengths, truncation...)."""


class AuthenticationError(Qyn1Error):
    """A header, file table or chunk failed authentication (tampering, wrong key, reordering)."""


class UnsafePathError(Qyn1Error):
    """A path in an archive would escape the output directory (absolute, '..', links)."""


class KeyError_(Qyn1Error):
    """A key file or passphrase problem."""


class CodecError(Qyn1Error):
    """A compressed stream is malformed (only reachable after authentication, i.e. a bug or a forged key)."""


def words(e: OSError) -> str:
    """An OS error in words (``No such file or directory``), not Python's ``[Errno 2] ...: 'x'`` form."""
    return e.strerror or type(e).__name__
