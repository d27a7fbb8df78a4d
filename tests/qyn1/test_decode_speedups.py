"""The fused decoder's detokeniser mode (``assemble.WRITE16``: pieces of up to 16 bytes stored as one block)
against the plain byte-by-byte mode the staged decoder uses: the same length and bytes on texts with pieces
of every length (long names, strings, comments, deep and escaped indentation), and the same refusal when the
buffer is shorter or longer than the text."""

from __future__ import annotations

import numpy as np
import pytest
from qyn1.python import assemble, layout, pipeline

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


def _kind_contexts_reference(kinds: np.ndarray):
    """The decoder's kind contexts as the encoder derives them: ``layout._layout_kernel`` for every token, then
    split into line starts and the other tokens, and each string's previous kind's class."""
    from qyn1.python.tokens import _IS_NL_KIND, _KIND_DMAP, EOF, KIND_CLASS, N_KINDS, STRING

    n = len(kinds)
    ok = n > 0 and kinds[-1] == EOF and bool(((kinds >= 0) & (kinds < N_KINDS)).all())
    ok = ok and not (kinds[:-1] == EOF).any()
    if not ok:
        kinds = kinds[:0]
    line_start, line_kind, ctx_line, ctx_mid = layout._layout_kernel(
        kinds, _KIND_DMAP, _IS_NL_KIND, KIND_CLASS
    )
    prev = np.concatenate([[EOF], kinds[:-1]]).astype(np.int64)
    sctx = KIND_CLASS[prev[kinds == STRING]].astype(np.int64)
    return line_start, line_kind, ctx_line[line_start], ctx_mid[~line_start], sctx, ok


def _random_kinds(rng, n: int, pool: np.ndarray) -> np.ndarray:
    from qyn1.python.tokens import EOF

    return np.append(rng.choice(pool, n - 1), EOF).astype(np.int32)


def test_kind_contexts_is_the_layout_kernel_split():
    from qyn1.python.tokens import _COLON, _IS_NL_KIND, _KIND_DMAP, EOF, KIND_CLASS, N_KINDS, STRING

    rng = np.random.default_rng(13)
    every = np.arange(1, N_KINDS)  # every kind but EOF
    # kinds that make the contexts move: newlines, brackets, ':', strings, comments and names
    busy = np.array(
        [k for k in every if _IS_NL_KIND[k] or _KIND_DMAP[k] or k in (_COLON, STRING, 1, 4)], dtype=np.int64
    )
    cases = [_random_kinds(rng, n, pool) for n in (1, 2, 3, 17, 400, 5000) for pool in (every, busy)]
    first_string = _random_kinds(rng, 50, busy)
    first_string[0] = STRING
    cases.append(first_string)
    bad = [np.zeros(0, np.int32), np.array([STRING], np.int32), np.array([4, EOF, 4, EOF], np.int32)]
    bad += [np.array([4, -1, EOF], np.int32), np.array([4, N_KINDS, EOF], np.int32)]
    for kinds in cases + bad:
        got = layout._kind_contexts(kinds, _KIND_DMAP, _IS_NL_KIND, KIND_CLASS)
        want = _kind_contexts_reference(kinds)
        assert got[5] == want[5]
        for g, w in zip(got[:5], want[:5], strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w)
    assert sum(_kind_contexts_reference(k)[5] for k in cases) == len(cases)
