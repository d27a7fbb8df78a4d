"""Reference path: a pure-Python ChaCha20-Poly1305 written straight from RFC 8439.

It exists to cross-check the fast path and to measure it against; it is roughly three orders of magnitude
slower than libsodium. Section numbers refer to RFC 8439.
"""

from __future__ import annotations

import hmac
import struct

from qyn1.errors import AuthenticationError

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
_M32 = 0xFFFFFFFF
_CONSTANTS = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"


def _rotl(v: int, c: int) -> int:
    return ((v << c) & _M32) | (v >> (32 - c))


def quarter_round(a: int, b: int, c: int, d: int) -> tuple[int, int, int, int]:
    """2.1: the ChaCha quarter round on four 32-bit words."""
    a = (a + b) & _M32
    d = _rotl(d ^ a, 16)
    c = (c + d) & _M32
    b = _rotl(b ^ c, 12)
    a = (a + b) & _M32
    d = _rotl(d ^ a, 8)
    c = (c + d) & _M32
    b = _rotl(b ^ c, 7)
    return a, b, c, d


def quarter_round_state(state: list[int], x: int, y: int, z: int, w: int) -> None:
    """2.2: QUARTERROUND(x, y, z, w) applied in place to a 16-word state."""
    state[x], state[y], state[z], state[w] = quarter_round(state[x], state[y], state[z], state[w])


def _initial_state(key: bytes, counter: int, nonce: bytes) -> list[int]:
    return [*_CONSTANTS, *struct.unpack("<8I", key), counter & _M32, *struct.unpack("<3I", nonce)]


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """2.3: one 64-byte keystream block."""
    if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError("ChaCha20 needs a 32-byte key and a 12-byte nonce")
    init = _initial_state(key, counter, nonce)
    x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15 = init
    for _ in range(10):
        # column rounds
        x0, x4, x8, x12 = quarter_round(x0, x4, x8, x12)
        x1, x5, x9, x13 = quarter_round(x1, x5, x9, x13)
        x2, x6, x10, x14 = quarter_round(x2, x6, x10, x14)
        x3, x7, x11, x15 = quarter_round(x3, x7, x11, x15)
        # diagonal rounds
        x0, x5, x10, x15 = quarter_round(x0, x5, x10, x15)
        x1, x6, x11, x12 = quarter_round(x1, x6, x11, x12)
        x2, x7, x8, x13 = quarter_round(x2, x7, x8, x13)
        x3, x4, x9, x14 = quarter_round(x3, x4, x9, x14)
    out = (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)
    return struct.pack("<16I", *((o + i) & _M32 for o, i in zip(out, init, strict=True)))


def chacha20_encrypt(key: bytes, counter: int, nonce: bytes, plaintext: bytes) -> bytes:
    """2.4: XOR the plaintext with the keystream starting at block ``counter``."""
    out = bytearray(len(plaintext))
    for j in range(0, len(plaintext), 64):
        block = chacha20_block(key, counter + j // 64, nonce)
        chunk = plaintext[j : j + 64]
        ks = int.from_bytes(block[: len(chunk)], "little")
        out[j : j + len(chunk)] = (int.from_bytes(chunk, "little") ^ ks).to_bytes(len(chunk), "little")
    return bytes(out)


_P1305 = (1 << 130) - 5


def poly1305_mac(msg: bytes, key: bytes) -> bytes:
    """2.5: the one-time authenticator."""
    if len(key) != 32:
        raise ValueError("Poly1305 needs a 32-byte one-time key")
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i : i + 16]
        n = int.from_bytes(block, "little") | (1 << (8 * len(block)))
        acc = ((acc + n) * r) % _P1305
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def poly1305_key_gen(key: bytes, nonce: bytes) -> bytes:
    """2.6: the one-time Poly1305 key is the first 32 bytes of block 0."""
    return chacha20_block(key, 0, nonce)[:32]


def _pad16(n: int) -> bytes:
    return b"\x00" * (-n % 16)


def _tag(otk: bytes, aad: bytes, ct: bytes) -> bytes:
    mac_data = aad + _pad16(len(aad)) + ct + _pad16(len(ct)) + struct.pack("<QQ", len(aad), len(ct))
    return poly1305_mac(mac_data, otk)


def _check(key: bytes, nonce: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"ChaCha20-Poly1305 key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"ChaCha20-Poly1305 nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")


def aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """2.8: AEAD_CHACHA20_POLY1305 encryption; returns ``ciphertext || tag``."""
    key, nonce, plaintext, aad = bytes(key), bytes(nonce), bytes(plaintext), bytes(aad)
    _check(key, nonce)
    otk = poly1305_key_gen(key, nonce)
    ct = chacha20_encrypt(key, 1, nonce, plaintext)
    return ct + _tag(otk, aad, ct)


def aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """2.8: verify the tag (constant-time compare), then decrypt."""
    key, nonce, ciphertext, aad = bytes(key), bytes(nonce), bytes(ciphertext), bytes(aad)
    _check(key, nonce)
    if len(ciphertext) < TAG_SIZE:
        raise AuthenticationError("ciphertext shorter than the 16-byte tag")
    ct, tag = ciphertext[:-TAG_SIZE], ciphertext[-TAG_SIZE:]
    otk = poly1305_key_gen(key, nonce)
    if not hmac.compare_digest(_tag(otk, aad, ct), tag):
        raise AuthenticationError("authentication tag does not verify")
    return chacha20_encrypt(key, 1, nonce, ct)
