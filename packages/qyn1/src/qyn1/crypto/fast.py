"""Fast path: IETF ChaCha20-Poly1305 from libsodium through PyNaCl's low-level bindings (no copies beyond
the one libsodium makes, no base64, no JSON)."""

from __future__ import annotations

from nacl import bindings as _b
from nacl.exceptions import CryptoError as _CryptoError

from qyn1.errors import AuthenticationError

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

_enc = _b.crypto_aead_chacha20poly1305_ietf_encrypt
_dec = _b.crypto_aead_chacha20poly1305_ietf_decrypt


def _check(key: bytes, nonce: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"ChaCha20-Poly1305 key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"ChaCha20-Poly1305 nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")


def aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt and authenticate; returns ``ciphertext || 16-byte tag``."""
    _check(key, nonce)
    return _enc(bytes(plaintext), bytes(aad) if aad else None, bytes(nonce), bytes(key))


def aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """Verify and decrypt ``ciphertext || tag``; raises AuthenticationError when the tag does not verify."""
    _check(key, nonce)
    if len(ciphertext) < TAG_SIZE:
        raise AuthenticationError("ciphertext shorter than the 16-byte tag")
    try:
        return _dec(bytes(ciphertext), bytes(aad) if aad else None, bytes(nonce), bytes(key))
    except _CryptoError:
        raise AuthenticationError("authentication tag does not verify") from None
