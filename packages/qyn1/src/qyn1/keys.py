"""Keys: a 32-byte key file (``qyn1 keygen``) or a passphrase through Argon2id, and the per-package subkey.

* key file: 32 random bytes (raw), or the same as 64 hex digits; written with mode 0600.
* passphrase: ``master = Argon2id(passphrase, salt, opslimit, memlimit)`` (PyNaCl ``pwhash.argon2id``);
  the parameters travel in the (authenticated) container header.
* subkey: ``BLAKE2b-256(key=master, salt=package salt, person="qyn1-subkey-v1")`` -- every package gets a
  fresh random 16-byte salt, so chunk nonces (a counter) are never reused under one key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import secrets
from dataclasses import dataclass

from nacl import pwhash

from qyn1.errors import KeyError_, words

KEY_SIZE = 32
SALT_SIZE = 16
KDF_KEYFILE = 1
KDF_ARGON2ID = 2
# Argon2id "interactive" limits by default: ~64 MiB, well under a second.
DEFAULT_OPSLIMIT = pwhash.argon2id.OPSLIMIT_INTERACTIVE
DEFAULT_MEMLIMIT = pwhash.argon2id.MEMLIMIT_INTERACTIVE
# Bounds on what a package header may ask for, checked before any Argon2id work: the header is
# authenticated only by the key the KDF produces, so a tampered header could otherwise make `list` or
# `verify` spin for hours (opslimit 2^32-1) or allocate terabytes. libsodium's "sensitive" level
# (4 passes, 1 GiB) is the most any qyn1 writes or accepts.
MAX_OPSLIMIT = pwhash.argon2id.OPSLIMIT_SENSITIVE
MAX_MEMLIMIT = pwhash.argon2id.MEMLIMIT_SENSITIVE


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def write_key(path: str | os.PathLike) -> None:
    """Write a fresh random key into ``path`` with mode 0600 and flush it to disk.

    ``path`` is new or empty: a private file the caller renames into place (``qyn1 keygen`` writes to its
    ``perfkit.job`` staging file, so an existing key is replaced only with ``--force``, atomically). A file
    that holds anything is refused (``KeyError_``), never truncated: over an existing key, every package
    made with it would become unreadable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    if os.fstat(fd).st_size:
        os.close(fd)
        raise KeyError_(
            f"{os.fspath(path)!r} already holds data (a key?): a new key is written only to a new or empty file"
        )
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(generate_key())
        f.flush()
        os.fsync(f.fileno())


#: More than any key file holds (32 raw bytes, 64 hex digits or base64, with whitespace): a key file is read
#: up to this many bytes, so a wrong path (a large file, /dev/zero) is refused at once, never read whole.
KEY_FILE_MAX = 4096


def read_key_file(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(KEY_FILE_MAX + 1)
    except OSError as e:
        raise KeyError_(f"cannot read key file {str(path)!r}: {words(e)}") from None
    if len(data) == KEY_SIZE:
        return data
    key = key_from_text(data) if len(data) <= KEY_FILE_MAX else None
    if key is None:
        raise KeyError_(f"key file {str(path)!r} is not a 32-byte key (raw, 64 hex digits or base64)")
    return key


def key_from_text(text: bytes | str) -> bytes | None:
    """A 32-byte key written as 64 hex digits or as base64 (44 characters, padding optional); None if
    ``text`` is neither."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError:
            return None
    text = text.strip()
    if len(text) == 2 * KEY_SIZE:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == KEY_SIZE else None


@dataclass(frozen=True)
class KeySource:
    """Where the master key comes from: exactly one of ``key`` (key file bytes) or ``passphrase``."""

    key: bytes | None = None
    passphrase: bytes | None = None
    opslimit: int = DEFAULT_OPSLIMIT
    memlimit: int = DEFAULT_MEMLIMIT

    def __post_init__(self):
        if (self.key is None) == (self.passphrase is None):
            raise KeyError_("give exactly one of a key file or a passphrase")
        for name in ("key", "passphrase"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bytes):  # a str key is not its 32 bytes
                raise TypeError(
                    f"KeySource {name} must be bytes, not {type(value).__name__} (hex or base64 text: "
                    "keys.key_from_text; a passphrase as text: KeySource.from_passphrase)"
                )
        if self.key is not None and len(self.key) != KEY_SIZE:
            raise KeyError_("a key must be 32 bytes")
        # Checked here: out of range, a pack failed with struct.error or "a damaged or foreign package"
        if self.passphrase is not None:
            for name, value, low, high in (
                ("opslimit", self.opslimit, pwhash.argon2id.OPSLIMIT_MIN, MAX_OPSLIMIT),
                ("memlimit", self.memlimit, pwhash.argon2id.MEMLIMIT_MIN, MAX_MEMLIMIT),
            ):
                if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                    raise KeyError_(f"Argon2id {name} {value!r}: qyn1 accepts whole numbers {low}-{high}")

    @property
    def kdf(self) -> int:
        return KDF_KEYFILE if self.key is not None else KDF_ARGON2ID

    @classmethod
    def from_file(cls, path) -> KeySource:
        return cls(key=read_key_file(path))

    @classmethod
    def from_passphrase(cls, passphrase: str | bytes, **kw) -> KeySource:
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        if not passphrase:
            raise KeyError_("empty passphrase")
        return cls(passphrase=passphrase, **kw)

    def master(self, kdf: int, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        """The master key for a package whose header says ``kdf``/``opslimit``/``memlimit``."""
        if kdf != self.kdf:
            want = "a key file" if kdf == KDF_KEYFILE else "a passphrase"
            raise KeyError_(f"this package was made with {want}")
        if self.key is not None:
            return self.key
        check_kdf_limits(opslimit, memlimit)
        return _argon2id(self.passphrase, salt, opslimit, memlimit)


@functools.lru_cache(maxsize=4)
def _argon2id(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """Argon2id once per passphrase, salt and limits in a process: a command may open one package twice (unpack
    and verify read the table to choose their workers, then again to decode)."""
    return pwhash.argon2id.kdf(KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit)


def check_key_source(key_source) -> None:
    """A library caller's ``key_source`` is a :class:`KeySource` (not the key's bytes or a key file's path)."""
    if not isinstance(key_source, KeySource):
        raise TypeError(
            f"key_source must be a qyn1.keys.KeySource (KeySource(key=...), KeySource.from_file(path), "
            f"KeySource.from_passphrase(...)), not {type(key_source).__name__}"
        )


def check_kdf_limits(opslimit: int, memlimit: int) -> None:
    """Refuse Argon2id parameters outside what qyn1 writes, before any key derivation is attempted."""
    if not pwhash.argon2id.OPSLIMIT_MIN <= opslimit <= MAX_OPSLIMIT:
        raise KeyError_(
            f"the package header asks for Argon2id opslimit {opslimit} (qyn1 accepts "
            f"{pwhash.argon2id.OPSLIMIT_MIN}-{MAX_OPSLIMIT}): a damaged or foreign package"
        )
    if not pwhash.argon2id.MEMLIMIT_MIN <= memlimit <= MAX_MEMLIMIT:
        raise KeyError_(
            f"the package header asks for Argon2id memlimit {memlimit} bytes (qyn1 accepts "
            f"{pwhash.argon2id.MEMLIMIT_MIN}-{MAX_MEMLIMIT}): a damaged or foreign package"
        )


def derive_subkey(master: bytes, salt: bytes) -> bytes:
    """The per-package key: BLAKE2b-256 keyed with the master key, salted with the package salt."""
    return hashlib.blake2b(
        b"qyn1 package key", digest_size=32, key=master, salt=salt, person=b"qyn1-subkey-v1"
    ).digest()
