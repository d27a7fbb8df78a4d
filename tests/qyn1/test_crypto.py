"""ChaCha20-Poly1305: RFC 8439 vectors and Project Wycheproof on both paths; fast == reference."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qyn1.crypto import fast, reference
from qyn1.errors import AuthenticationError

PATHS = {"fast": fast, "reference": reference}


def _hx(s: str) -> bytes:
    return bytes.fromhex(s)


@pytest.fixture(scope="module")
def rfc(fixtures):
    return json.loads((fixtures / "qyn1" / "rfc8439_vectors.json").read_text())


@pytest.fixture(scope="module")
def wycheproof(fixtures):
    return json.loads((fixtures / "qyn1" / "chacha20_poly1305_test.json").read_text())


def test_rfc8439_primitives(rfc):
    for v in rfc["quarter_round"]:
        out = reference.quarter_round(*(int(x, 16) for x in v["in"]))
        assert out == tuple(int(x, 16) for x in v["out"])
    for v in rfc["quarter_round_state"]:
        state = [int(x, 16) for x in v["state_in"]]
        reference.quarter_round_state(state, *v["indices"])
        assert state == [int(x, 16) for x in v["state_out"]]
    for v in rfc["chacha20_block"]:
        assert reference.chacha20_block(_hx(v["key"]), v["counter"], _hx(v["nonce"])) == _hx(v["keystream"])
    for v in rfc["chacha20_encrypt"]:
        ct = reference.chacha20_encrypt(_hx(v["key"]), v["counter"], _hx(v["nonce"]), _hx(v["plaintext"]))
        assert ct == _hx(v["ciphertext"])
    for v in rfc["poly1305"]:
        assert reference.poly1305_mac(_hx(v["msg"]), _hx(v["key"])) == _hx(v["tag"]), v["section"]
    for v in rfc["poly1305_keygen"]:
        assert reference.poly1305_key_gen(_hx(v["key"]), _hx(v["nonce"])) == _hx(v["otk"])
    assert len(rfc["poly1305"]) >= 10 and len(rfc["chacha20_block"]) >= 5


@pytest.mark.parametrize("path", PATHS)
def test_rfc8439_aead(rfc, path):
    impl = PATHS[path]
    for v in rfc["aead"]:
        key, nonce, aad, pt = _hx(v["key"]), _hx(v["nonce"]), _hx(v["aad"]), _hx(v["plaintext"])
        sealed = _hx(v["ciphertext"]) + _hx(v["tag"])
        assert impl.aead_encrypt(key, nonce, pt, aad) == sealed
        assert impl.aead_decrypt(key, nonce, sealed, aad) == pt


@pytest.mark.parametrize("path", PATHS)
def test_wycheproof(wycheproof, path):
    impl = PATHS[path]
    counts = {"valid": 0, "invalid": 0}
    for group in wycheproof["testGroups"]:
        for t in group["tests"]:
            key, iv, aad, msg = _hx(t["key"]), _hx(t["iv"]), _hx(t["aad"]), _hx(t["msg"])
            sealed = _hx(t["ct"]) + _hx(t["tag"])
            if t["result"] == "valid":
                assert impl.aead_encrypt(key, iv, msg, aad) == sealed, t["tcId"]
                assert impl.aead_decrypt(key, iv, sealed, aad) == msg, t["tcId"]
            else:
                with pytest.raises((AuthenticationError, ValueError)):
                    impl.aead_decrypt(key, iv, sealed, aad)
            counts[t["result"]] += 1
    assert counts["valid"] > 250 and counts["invalid"] > 30
    assert sum(counts.values()) == wycheproof["numberOfTests"]


@settings(max_examples=60, deadline=None, database=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    pt=st.binary(max_size=300),
    aad=st.binary(max_size=40),
)
def test_fast_matches_reference(key, nonce, pt, aad):
    sealed = fast.aead_encrypt(key, nonce, pt, aad)
    assert sealed == reference.aead_encrypt(key, nonce, pt, aad)
    assert reference.aead_decrypt(key, nonce, sealed, aad) == pt
    assert fast.aead_decrypt(key, nonce, sealed, aad) == pt


@pytest.mark.parametrize("path", PATHS)
def test_tamper_and_sizes(path):
    impl = PATHS[path]
    key, nonce = bytes(range(32)), bytes(12)
    sealed = impl.aead_encrypt(key, nonce, b"attack at dawn", b"hdr")
    for i in range(len(sealed)):
        bad = bytearray(sealed)
        bad[i] ^= 0x01
        with pytest.raises(AuthenticationError):
            impl.aead_decrypt(key, nonce, bytes(bad), b"hdr")
    with pytest.raises(AuthenticationError):
        impl.aead_decrypt(key, nonce, sealed, b"hdx")
    with pytest.raises(AuthenticationError):
        impl.aead_decrypt(key, nonce, sealed[:15], b"hdr")
    with pytest.raises(ValueError):
        impl.aead_encrypt(key[:31], nonce, b"", b"")
    with pytest.raises(ValueError):
        impl.aead_decrypt(key, nonce + b"\0", sealed, b"hdr")
