"""Exceptions raised by qyn1. Every bad-input condition is a :class:`Qyn1Error` (CLI: exit 2)."""


class Qyn1Error(Exception):
    """Base class of every clean, user-facing qyn1 error."""


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
