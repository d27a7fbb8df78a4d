"""The cm coder's bytes pinned: digests of ``cm.encode`` on fixed inputs (with and without the shipped primer)
and of a model primed on a fixed text, recorded on ba36036 before the coder was made faster. A speed change
must keep every one of them (the format, the shipped primed model and every package made before depend on
it); a change that moves a byte fails here."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from qyn1.cm import model


def _mixed_text() -> bytes:
    """~72 KB (two kernel calls: ``model.SLICE``) of deterministic source-like text: indented lines of words, numbers and punctuation, so the
    word, column and match contexts all see data (and the match model finds long repeats)."""
    rng = np.random.default_rng(2026)
    words = [b"def", b"return", b"self", b"value", b"count", b"index", b"name", b"if", b"for", b"in", b"None",
             b"result", b"data", b"_cache", b"x", b"y", b"0", b"1", b"255", b"0x3F"]  # fmt: skip
    punct = [b" = ", b"(", b")", b", ", b".", b": ", b" + ", b"[", b"]", b" "]
    lines = []
    for _ in range(2400):
        parts = [b"    " * int(rng.integers(0, 4))]
        for _ in range(int(rng.integers(1, 8))):
            parts.append(words[int(rng.integers(len(words)))])
            parts.append(punct[int(rng.integers(len(punct)))])
        lines.append(b"".join(parts).rstrip())
    lines += lines[100:400]  # a long repeat: the match model's long lengths
    return b"\n".join(lines) + b"\n"


INPUTS = {
    "mixed": _mixed_text(),
    "json": b'{"name": "x", "version": "1.2.3", "dependencies": {"a": "^1.0.0", "b": "~2.1"}}\n' * 40,
    "run": b"\0" * 5000 + b"x" + b"\0" * 300,
    "random": np.random.default_rng(13).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
    "one": b"a",
    "empty": b"",
}

# sha256 over (name, primer, body length, body) of every input, and over the primed model's arrays
ENCODED = "2249eb7863db422937967d86c40aa963984321285a8599639f78d7391a09b38c"
PRIMED = "f7e29a6ffa33042a8a6d7302ed7fd594998bbacd39fe3baca1d24b50e16d969b"


@pytest.fixture(scope="module")
def bodies() -> dict[tuple[str, int], bytes | None]:
    return {
        (k, p): model.encode(v, p) for k, v in INPUTS.items() for p in (model.PRIMER_NONE, model.PRIMER_TEXT)
    }


def test_encoded_bytes_are_pinned(bodies):
    h = hashlib.sha256()
    for (name, primer), body in sorted(bodies.items()):
        h.update(b"%s/%d/%d:" % (name.encode(), primer, -1 if body is None else len(body)))
        h.update(body or b"")
    assert h.hexdigest() == ENCODED


def test_pinned_bodies_decode(bodies):
    for (name, _), body in bodies.items():
        if body is not None:
            assert model.decode(body, len(INPUTS[name])) == INPUTS[name]


def test_primed_model_is_pinned():
    """The ``PRIME`` mode (what builds the shipped model): every array after reading a fixed text."""
    h = hashlib.sha256()
    for a in model.prime(INPUTS["mixed"][:20000]).arrays():
        h.update(a.tobytes())
    assert h.hexdigest() == PRIMED
