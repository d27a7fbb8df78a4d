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
