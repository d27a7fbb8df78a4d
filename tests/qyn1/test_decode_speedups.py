"""The fused decoder's detokeniser mode (``assemble.WRITE16``: pieces of up to 16 bytes stored as one block)
against the plain byte-by-byte mode the staged decoder uses: the same length and bytes on texts with pieces
of every length (long names, strings, comments, deep and escaped indentation), and the same refusal when the
buffer is shorter or longer than the text."""

from __future__ import annotations

import numpy as np
import pytest
from qyn1.python import assemble, pipeline

_LONG = "a_rather_long_identifier_name_of_forty_chars"
_TEXTS = [
    # names, keywords, operators and strings of 1..40 bytes; spaces in runs of 0..40; tabs; a long comment
    "\n".join(
        f"{'    ' * (k % 6)}{_LONG[: 1 + k]} = {'x' * k!r} + {k} * (y{k}  {' ' * k}- z)  # {'c' * (3 * k)}"
        for k in range(40)
    )
    + "\n",
    "class A:\n\tdef f(self):\n\t\treturn '''doc\n" + "é" * 30 + "'''\n" + " " * 70 + "x = 1\n$ ?\n",
    "x=1",
]


def _args(text: bytes, monkeypatch) -> tuple:
    """The detokeniser's arguments for ``text``, as the staged decoder builds them."""
    seen = []

    def spy(args, limit):
        seen.append(args)
        return assemble.assemble(args, limit)

    monkeypatch.setattr(pipeline, "assemble", spy)
    body = pipeline.encode_text(text, verify=False)
    assert pipeline.decode_text_staged(body, len(text)) == text
    return seen[-1]


@pytest.mark.parametrize("i", range(len(_TEXTS)))
def test_write16_is_the_plain_write(i, monkeypatch):
    text = _TEXTS[i].encode()
    args = _args(text, monkeypatch)
    n = len(text)
    for cap in sorted({0, 1, n - 17, n - 16, n - 1, n, n + 1, n + 16, n + 40} - {-17, -16, -1}):
        if cap < 0:
            continue
        plain = np.zeros(cap, dtype=np.uint8)
        fast = np.full(cap, 0xAA, dtype=np.uint8)
        w_plain = assemble._assemble_pass(plain, assemble.WRITE, *args)
        w_fast = assemble._assemble_pass(fast, assemble.WRITE16, *args)
        assert w_fast == w_plain, cap
        if cap == n:
            assert w_fast == n and fast.tobytes() == text
        elif cap < n:
            assert w_fast > cap  # refused: the text does not fit
        else:
            assert w_fast == n and fast[:n].tobytes() == text  # the caller refuses a text short of its buffer
    assert assemble._assemble_pass(np.zeros(0, dtype=np.uint8), assemble.COUNT, *args) == n


def test_count_le_is_the_binary_search():
    """``search.count_le`` over padded rows gives the symbol the reference's binary search finds, for every
    slot of random rows with zero-frequency symbols, single-symbol rows and rows of the shipped names model."""
    from numba import njit
    from qyn1 import tables as shipped
    from qyn1.rans import search

    @njit
    def symbols(cfl, width, rows, slots):
        out = np.empty((rows, slots.shape[0]), dtype=np.int64)
        for r in range(rows):
            for j in range(slots.shape[0]):
                cnt = 0
                for b in range(width // search.LANES):
                    cnt += search.count_le(cfl, r * width + b * search.LANES, slots[j])
                out[r, j] = cnt - 1
        return out

    rng = np.random.default_rng(13)
    scale_bits = 12
    rows = []
    for nsym in (1, 2, 31, 32, 33, 133):
        for _ in range(4):
            freq = rng.integers(0, 3, nsym) * rng.integers(1, 200, nsym)  # zeros among them
            freq[rng.integers(nsym)] += 1
            cum = np.zeros(nsym + 1, dtype=np.int64)
            cum[1:] = np.cumsum(freq)
            cum = cum * (1 << scale_bits) // cum[-1]  # still non-decreasing, ends at 2**scale_bits
            rows.append(cum)
    slots = np.arange(1 << scale_bits, dtype=np.uint64)
    for cum in rows:
        padded = search.padded_rows(cum[None, :].astype(np.uint16), scale_bits)
        got = symbols(padded.ravel(), padded.shape[1], 1, slots)[0]
        want = np.searchsorted(cum, slots.astype(np.int64), side="right") - 1  # the largest s: cum[s] <= slot
        assert (got == want).all()
    names = shipped.model("py.names")
    padded = search.padded_rows(names.cum, names.scale_bits)
    assert padded is not None and padded.shape[1] % search.LANES == 0
    few = np.arange(0, 1 << names.scale_bits, 97, dtype=np.uint64)
    got = symbols(padded.ravel(), padded.shape[1], 64, few)
    for r in range(64):
        want = np.searchsorted(names.cum[r].astype(np.int64), few.astype(np.int64), side="right") - 1
        assert (got[r] == want).all()
    bad = np.array([[0, 5, 3, 1 << scale_bits]], dtype=np.uint16)  # not non-decreasing
    assert search.padded_rows(bad, scale_bits) is None
    assert search.padded_rows(np.array([[0, 7]], dtype=np.uint16), scale_bits) is None  # ends short
