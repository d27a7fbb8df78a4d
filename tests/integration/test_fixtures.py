"""fixtures/: every file listed in its README with the right digest, licences beside the data, nothing
unlisted, and each file read by the project code that uses it (the DBN decoder, ChaCha20-Poly1305)."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

DATABENTO = FIXTURES / "mbp10" / "databento"
QYN1 = FIXTURES / "qyn1"
DBN_FILES = sorted(DATABENTO.glob("*.dbn.zst"))
# README table rows: | `path` | bytes | `sha256 prefix` or — | ...
ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<size>[\d,]+|—) \| (?:`(?P<digest>[0-9a-f]{16})`|—) \|", re.M)


def _readme_rows() -> dict[str, tuple[str, str | None]]:
    text = (FIXTURES / "README.md").read_text(encoding="utf-8")
    return {m["path"]: (m["size"], m["digest"]) for m in ROW.finditer(text)}


def test_every_file_is_documented_with_its_digest():
    rows = _readme_rows()
    present = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file()} - {"README.md"}
    assert present, "fixtures/ is empty"
    assert present - set(rows) == set(), "files in fixtures/ without a row in fixtures/README.md"
    assert set(rows) - present == set(), "rows in fixtures/README.md naming files that are not there"
    for rel, (size, digest) in rows.items():
        data = (FIXTURES / rel).read_bytes()
        if size != "—":
            assert len(data) == int(size.replace(",", "")), rel
        if digest is not None:
            assert hashlib.sha256(data).hexdigest()[:16] == digest, rel


def test_licences_sit_beside_the_data():
    assert "Apache License" in (DATABENTO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in (QYN1 / "WYCHEPROOF_LICENSE").read_text(encoding="utf-8")
    assert "IETF Trust" in (QYN1 / "RFC8439_NOTICE").read_text(encoding="utf-8")
    # nothing whose licence forbids redistribution (see ../shared/data/PROVENANCE.md)
    names = {p.name.lower() for p in FIXTURES.rglob("*")}
    for banned in ("es_real", "esh4", "statcast", "retrosheet", "nathan", "trajectorycalculator"):
        assert not any(banned in n for n in names), banned


# -- mbp10: the DBN samples decode with the project's reader and agree with Databento's own ----------------
@pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")  # databento's to_df() under pandas 3
@pytest.mark.parametrize("path", DBN_FILES, ids=lambda p: p.name.split(".dbn")[0])
def test_dbn_sample_decodes(path: Path):
    import databento
    import numpy as np
    from mbp10.dbn import read_dbn
    from mbp10.schema import MBP10_DTYPE, RTYPE_MBP10

    ours = read_dbn(path)
    assert ours.metadata.version == 3 and str(ours.metadata.schema) == "mbp-10"
    assert ours.symbols and 2 <= len(ours.records) <= 4
    assert ours.records.dtype == MBP10_DTYPE and (ours.records["rtype"] == RTYPE_MBP10).all()
    theirs = databento.DBNStore.from_file(path).to_ndarray()
    assert theirs.tobytes() == ours.records.tobytes()
    np.testing.assert_array_equal(ours.records["price"], theirs["price"])


def test_dbn_samples_are_the_five_expected():
    assert [p.name.split("__")[0] for p in DBN_FILES] == [
        "GLBX.MDP3",
        "IFEU.IMPACT",
        "NDEX.IMPACT",
        "XNAS.ITCH",
        "test_data.mbp-10.v3.dbn.zst",
    ]


# -- qyn1: the vectors parse and the project's ChaCha20-Poly1305 passes them ------------------------------
def _hx(s: str) -> bytes:
    return bytes.fromhex(s)


def _load(name: str) -> dict:
    return json.loads((QYN1 / name).read_text(encoding="utf-8"))


def test_rfc8439_vectors():
    from qyn1.crypto import fast, reference

    rfc = _load("rfc8439_vectors.json")
    sizes = {k: len(v) for k, v in rfc.items() if isinstance(v, list)}
    assert sizes == {"quarter_round": 1, "quarter_round_state": 1, "chacha20_block": 6, "chacha20_encrypt": 4,
                     "poly1305": 12, "poly1305_keygen": 4, "aead": 2}  # fmt: skip
    for v in rfc["chacha20_block"]:
        assert reference.chacha20_block(_hx(v["key"]), v["counter"], _hx(v["nonce"])) == _hx(v["keystream"])
    for v in rfc["poly1305"]:
        assert reference.poly1305_mac(_hx(v["msg"]), _hx(v["key"])) == _hx(v["tag"]), v["section"]
    for v in rfc["aead"]:
        key, nonce, aad, pt = _hx(v["key"]), _hx(v["nonce"]), _hx(v["aad"]), _hx(v["plaintext"])
        sealed = _hx(v["ciphertext"]) + _hx(v["tag"])
        for impl in (fast, reference):
            assert impl.aead_encrypt(key, nonce, pt, aad) == sealed, v["section"]
            assert impl.aead_decrypt(key, nonce, sealed, aad) == pt, v["section"]


def _check_wycheproof(doc: dict, seal, open_) -> dict[str, int]:
    from qyn1.errors import AuthenticationError

    counts = {"valid": 0, "invalid": 0}
    for group in doc["testGroups"]:
        for t in group["tests"]:
            key, iv, aad, msg = _hx(t["key"]), _hx(t["iv"]), _hx(t["aad"]), _hx(t["msg"])
            sealed = _hx(t["ct"]) + _hx(t["tag"])
            if t["result"] == "valid":
                assert seal(key, iv, msg, aad) == sealed, t["tcId"]
                assert open_(key, iv, sealed, aad) == msg, t["tcId"]
            else:
                with pytest.raises((AuthenticationError, ValueError)):
                    open_(key, iv, sealed, aad)
            counts[t["result"]] += 1
    assert sum(counts.values()) == doc["numberOfTests"]
    return counts


def test_wycheproof_chacha20_poly1305():
    from qyn1.crypto import fast

    doc = _load("chacha20_poly1305_test.json")
    assert doc["algorithm"] == "CHACHA20-POLY1305"
    counts = _check_wycheproof(doc, fast.aead_encrypt, fast.aead_decrypt)
    assert counts == {"valid": 256, "invalid": 69}


_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k", RFC 8439 2.3


def _hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha 2.2) from qyn1's ChaCha20 block: the block adds the input state
    back after the 20 rounds, so subtracting it gives the permuted state; words 0-3 and 12-15 are the key."""
    from qyn1.crypto import reference

    if len(key) != 32 or len(nonce16) != 16:
        raise ValueError("HChaCha20 needs a 32-byte key and a 16-byte nonce")
    counter = struct.unpack("<I", nonce16[:4])[0]
    block = struct.unpack("<16I", reference.chacha20_block(key, counter, nonce16[4:]))
    state = (*_SIGMA, *struct.unpack("<8I", key), *struct.unpack("<4I", nonce16))
    permuted = [(b - s) & 0xFFFFFFFF for b, s in zip(block, state, strict=True)]
    return struct.pack("<8I", *permuted[0:4], *permuted[12:16])


def _xchacha_seal(key: bytes, nonce: bytes, msg: bytes, aad: bytes) -> bytes:
    from qyn1.crypto import fast

    if len(nonce) != 24:
        raise ValueError("XChaCha20-Poly1305 nonce must be 24 bytes")
    return fast.aead_encrypt(_hchacha20(key, nonce[:16]), bytes(4) + nonce[16:], msg, aad)


def _xchacha_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    from qyn1.crypto import fast

    if len(nonce) != 24:
        raise ValueError("XChaCha20-Poly1305 nonce must be 24 bytes")
    return fast.aead_decrypt(_hchacha20(key, nonce[:16]), bytes(4) + nonce[16:], sealed, aad)


def test_wycheproof_xchacha20_poly1305():
    doc = _load("xchacha20_poly1305_test.json")
    assert doc["algorithm"] == "XCHACHA20-POLY1305"
    counts = _check_wycheproof(doc, _xchacha_seal, _xchacha_open)
    assert counts == {"valid": 246, "invalid": 69}
