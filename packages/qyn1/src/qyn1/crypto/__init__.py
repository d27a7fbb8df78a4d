"""ChaCha20-Poly1305 (RFC 8439): ``fast`` (libsodium via PyNaCl) and ``reference`` (pure Python).

Both modules offer ``aead_encrypt(key, nonce, plaintext, aad) -> ciphertext || tag`` and
``aead_decrypt(key, nonce, ciphertext_and_tag, aad) -> plaintext`` (raising
:class:`qyn1.errors.AuthenticationError` on a bad tag and ``ValueError`` on bad key/nonce sizes).
"""

from qyn1.crypto import fast, reference
from qyn1.crypto.fast import aead_decrypt, aead_encrypt

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

__all__ = ["KEY_SIZE", "NONCE_SIZE", "TAG_SIZE", "aead_decrypt", "aead_encrypt", "fast", "reference"]
