"""The encoder's compiled analysis (``qyn1.python.scan`` behind ``pipeline.analyze``) gives exactly the streams of
its slow twin (``qyn1.python.reference.analyze``: ``LEX.findall`` and Python per token): on the lexer's hostile
cases, on random text built from the characters that steer the lexer, and on real source."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qyn1 import corpus
from qyn1.python import pipeline, reference, scan, tokens

HOSTILE = [
    "",
    "\n",
    "x",
    "\r\n\r\r\n\n",
    "   \n\t\n  x = 1   \n",
    "class A:\r\n    pass\r\n",
    "if x:\r    y\r",
    "\tif x:\n\t\ty = 1\n  \t mixed = 2\n\f\x0bz\n",
    "x = \\\n    1 + \\\r\n 2 + \\\r 3\\",
    "x = 'unterminated\ny = \"also\nz = '''never closed\n w = \"\"\"nor this",
    "a = 'ends with escape\\",
    "b = '''esc at end\\",
    "s = r'\\d+' + b\"x\" + f'{a!r:>{w}}' + '''tri\nple''' + \"\"\"doc\"\"\" + Rb'x' + bR\"y\" + rbf'z' + br''",
    "''''x'''' \"\"\"\"\" '' \"\" ''' ''' \"\"\"a\"\"\"\"",
    "'\\'' \"\\\"\" '\\\n' 'cr\rin' '''a\\'''b'''",
    "f'unterminated\nr\"x\nu'\nrb\nbr'q",
    "a = 0x1F + 1_000 + 1.5e-3j + .5 + 1if x else 2 + 1e+5 + 1E-2 + 3.e+ + 0b1.2.3e",
    "x ... .. . !== != ! -> ->= **= ** * //= // <<= <> >>= := == = ~ @= @ ^= |= &= %= -= += *= /=",
    "caf\u00e9 = '\u00fcber' # \u65e5\u672c\u8a9e\n\u00b2 \u2460x \u0663\u0664 \u0663a\u00b2 _\u00b2 x\u0663",
    "emoji = '\U0001f600' + \U0001f600 + \"\U00010348\" # \U0001f600 end",
    "\ufeffimport os\n",
    "$ ? ` ! \\ \x00 \x01\n",
    "a" + " " * 300 + "b\n" + " " * 200 + "c\n" + "\t" * 150 + "d\n" + " " * 41 + "e\n",
    "def f(a, b=2, *args, **kw) -> int:\n    return a  # c\n# tail\r",
    "words in 'strings and_underscores 9digits d9 Mixed99Case' # and comments x_1 1x\n",
    "self os f x name a b path s self.f self.name\n",
    "#\n#\r\n#",
    "'a\\\r\nb' '''\r\n''' \"x\r\"",
]


def _assert_same(text: str) -> None:
    v = tokens.vocab()
    fast = pipeline.analyze(text, v)
    slow = reference.analyze(text, v)
    assert fast.keys() == slow.keys()
    for name in slow:
        for a, b in zip(fast[name], slow[name], strict=True):
            assert (a is None) == (b is None), name
            if a is not None:
                assert a.dtype == b.dtype and a.shape == b.shape, (name, a.dtype, b.dtype, a.shape, b.shape)
                assert np.array_equal(a, b), name


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_gives_the_reference_streams(text):
    _assert_same(text)


def test_lexer_cuts_where_the_regex_cuts():
    """Token by token, not only the streams: the starts of ``LEX.findall``'s tokens."""
    for text in HOSTILE:
        cp, flags = scan.code_points(text)
        starts = scan._lex(cp, flags)
        want = np.cumsum([0] + [len(t) for t in tokens.LEX.findall(text)])
        assert np.array_equal(starts, want), text


# the characters and pieces that steer the lexer: quotes, prefixes, escapes, newline flavours, operator
# characters, digits (ASCII and not), Unicode letters, words
PIECES = [
    *"'\"\\\r\n \t\f#.eE+-*/<>=!:()_0123456789rbufRBUFxz$\x00",
    "\u00b2",
    "\u0663",
    "\u00e9",
    "\U0001f600",
    "'''",
    '"""',
    "self",
    "if",
    "in",
    "def",
    "word",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_random_text_gives_the_reference_streams(pieces):
    _assert_same("".join(pieces))


def test_real_source_gives_the_reference_streams():
    """Every 40th stdlib file (about 45) and one latin-1 file read as text (bytes 0x80-0xFF as characters)."""
    files = corpus.corpus_files()[::40]
    assert len(files) > 20
    for p in files:
        _assert_same(p.read_bytes().decode("utf-8", errors="replace"))
    raw = Path(pipeline.__file__).read_bytes()
    _assert_same(bytes(random.Random(7).sample(range(256), 256)).decode("latin-1") + raw.decode("latin-1"))


def test_vocab_tables_from_the_byte_pool_equal_those_from_the_dict():
    """The shipped morphemes stay one UTF-8 byte pool: ``scan.vocab_tables`` builds the encoder's look-up from it
    without a ``str`` per morpheme or the ``str -> symbol`` dict (~15 MiB in every worker: docs/perf/qyn1.md,
    "Worker memory, round 11"). It must equal the look-up built from the dict (training's restricted
    vocabularies take that path), on the shipped table and on non-ASCII morphemes."""
    from qyn1 import tables

    if not tables.has_python():
        pytest.skip("qyn1 was built without its tables")
    names = tables.vocab("freq_names")
    small = ["caf\u00e9", "x", "\u65e5\u672c", "Name", "\U0001f600s", "_"]
    for morphemes in (tables.vocab("morphemes"), small):
        blob = np.frombuffer("\0".join(morphemes).encode("utf-8"), dtype=np.uint8)
        pooled = tokens.Vocab(names, blob)
        fast = scan.vocab_tables(pooled)
        assert not {"morphemes", "morph_sym"} & set(vars(pooled))  # no str objects were made
        listed = tokens.Vocab(names, morphemes)
        listed.morph_sym = dict(listed.morph_sym)  # as training sets it: the dict path
        slow = scan.vocab_tables(listed)
        for a, b in zip(fast.morph + fast[4:], slow.morph + slow[4:], strict=True):
            assert type(a) is type(b) and np.array_equal(a, b)
        assert np.array_equal(pooled.morph_o1, listed.morph_o1)
        assert all(np.array_equal(x, y) for x, y in zip(pooled.morph_pool, listed.morph_pool, strict=True))
        assert pooled.morphemes == morphemes and pooled.morph_sym == listed.morph_sym


@pytest.mark.parametrize("seed", range(6))
def test_name_symbols_match_the_list_version(seed):
    """``names._name_symbols`` keeps the move-to-front lists as stamp bitmaps; it must give the symbols, flags,
    owners and extra bits of ``reference.name_symbols`` (lists scanned and shifted): on few names (small
    ranks, successors) and on many (ranks past the direct ones, bitmaps of many words), in every role."""
    from qyn1.python.names import _name_symbols

    rng = np.random.default_rng(seed)
    n = [50, 400, 3000, 6000, 9000, 12000][seed]
    distinct = [5, 40, 300, 2500, 800, 6000][seed]
    pool = rng.integers(0, distinct, size=n)
    back = np.arange(n) - (rng.random(n) < 0.3)  # a name again right after itself: successors, rank 0
    pool = pool[np.maximum(back, 0)]
    first: dict[int, int] = {}
    ids = np.array([first.setdefault(int(x), len(first)) for x in pool], dtype=np.int32)
    roles = rng.integers(0, tokens.N_MORPH_GROUPS, size=n).astype(np.int64)
    roles[rng.random(n) < 0.5] = 0
    fast = _name_symbols(ids, roles)
    slow = reference.name_symbols(ids, roles)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
