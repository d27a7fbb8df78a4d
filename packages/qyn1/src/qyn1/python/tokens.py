"""The Python lexer and the token vocabulary the structural codec's streams are defined over: the
lexer pattern, the fixed kinds (keywords, operators, newline flavours, frequent names), string prefixes and
quotes, the symbol constants of every stream, context classes, and the trained :class:`Vocab` (frequent names,
morpheme table) with the UTF-8 byte pools the decoder writes from.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from qyn1 import tables

# ---------------------------------------------------------------- lexer
_SQ = r"'[^\n'\\]*(?:\\[\s\S][^\n'\\]*)*'"
_DQ = r'"[^\n"\\]*(?:\\[\s\S][^\n"\\]*)*"'
_TSQ = r"'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"
_TDQ = r'"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'
_OPS = r"\*\*=?|//=?|<<=?|>>=?|->|\.\.\.|!=|[-+*/%&|^@<>=:]=?|[()\[\]{},;.~]"
# Alternatives ordered by frequency; the last one takes any single character, so the token texts always
# concatenate back to the input.
LEX = re.compile(
    r"(?:[ \t\f]|\\(?:\r\n|\n|\r))+"
    r"|(?![rRbBuUfF]{1,2}['\"])[^\W\d]\w*"
    rf"|{_OPS}"
    r"|\r\n|\n|\r"
    rf"|[rRbBuUfF]{{0,2}}(?:{_TDQ}|{_TSQ}|{_DQ}|{_SQ})"
    r"|\.?\d(?:[\w.]|(?<=[eE])[-+])*"
    r"|#[^\r\n]*"
    r"|[\s\S]"
)
_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)")
_PARTS = re.compile(r"_+|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^_A-Za-z0-9]+")

# ---------------------------------------------------------------- kinds (part of the format: never reorder)
KEYWORDS = [
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
]
OPERATORS = [
    "!=",
    "%",
    "%=",
    "&",
    "&=",
    "(",
    ")",
    "*",
    "**",
    "**=",
    "*=",
    "+",
    "+=",
    ",",
    "-",
    "-=",
    "->",
    ".",
    "...",
    "/",
    "//",
    "//=",
    "/=",
    ":",
    ":=",
    ";",
    "<",
    "<<",
    "<<=",
    "<=",
    "=",
    "==",
    ">",
    ">=",
    ">>",
    ">>=",
    "@",
    "@=",
    "[",
    "]",
    "^",
    "^=",
    "{",
    "|",
    "|=",
    "}",
    "~",
]
NEWLINES = ("\n", "\r\n", "\r")
EOF, NAME, NUMBER, STRING, COMMENT, ERR = range(6)
WS = -2  # lexer-internal: whitespace never becomes a kind
_N_SPECIAL = 6
N_FREQ_NAMES = 32
NL_KINDS = (_N_SPECIAL, _N_SPECIAL + 1, _N_SPECIAL + 2)
_FIXED = [*NEWLINES, *KEYWORDS, *OPERATORS]
FIRST_FREQ = _N_SPECIAL + len(_FIXED)
N_KINDS = FIRST_FREQ + N_FREQ_NAMES

STR_PREFIXES = ["", *"rRbBuUfF", *(a + b for a in "rRbBuUfF" for b in "rRbBuUfF")]
STR_QUOTES = ["'", '"', "'''", '"""']
STR_KINDS = [(p, q) for p in STR_PREFIXES for q in STR_QUOTES]
_STR_KIND_ID = {pq: i for i, pq in enumerate(STR_KINDS)}

# name contexts: the previous kind for code names, then these
CTX_NUMBER, CTX_TEXT0, CTX_TEXT1, CTX_TEXT2 = N_KINDS, N_KINDS + 1, N_KINDS + 2, N_KINDS + 3
N_NAME_CTX = N_KINDS + 4
N_NEXT = 8  # class of the token after a code name: other ( . = , )] : newline
N_NAME_POS = 12  # log2 buckets of the position in the chunk's name sequence


def _morph_groups() -> np.ndarray:
    """Which morpheme stream spells a new name, by its context: code names (other), numbers, text words,
    attributes (after '.'), definitions (after def/class), imports (after import/from/as)."""
    g = np.zeros(N_NAME_CTX, dtype=np.int64)
    g[CTX_NUMBER] = 1
    g[CTX_TEXT0 : CTX_TEXT2 + 1] = 2
    for tok, grp in ((".", 3), ("def", 4), ("class", 4), ("import", 5), ("from", 5), ("as", 5)):
        g[_N_SPECIAL + _FIXED.index(tok)] = grp
    return g


MORPH_GROUP = _morph_groups()
N_MORPH_GROUPS = int(MORPH_GROUP.max()) + 1
# name symbols: 0 NEW, 1..32 rank 0..31, then four buckets per power of two (+ raw extra bits), then SUCC1 /
# SUCC2: the name equals the last / the one before last distinct name that followed the previous name (code
# is full of pairs: ``self.x``, ``os.path``, ``isinstance(x, T)``, words of a repeated phrase)
RANK_DIRECT = 32
N_RANK_SYMS = 1 + RANK_DIRECT + 4 * 24
NAME_SUCC1 = N_RANK_SYMS
# ranks count within the names of the same role (MORPH_GROUP: code, number, text word, attribute, definition,
# import); a name not yet seen in its role is ESC + its rank among all names (attributes and words come from
# different populations: a rank among attributes is much smaller than among all names)
NAME_ESC = N_RANK_SYMS + 2
N_NAME_SYMS = N_RANK_SYMS + 3
# context flag the decoder derives from the names so far: where SUCC1's name sits in the move-to-front list
# (no successor, rank 0, 1-3, 4-15, further) x whether a SUCC2 exists; 10: the global rank after an ESC
N_NAME_FLAG = 11
NAME_SUCC_WINDOW = 16
# text symbols: 0 END, 1 WORD, 2.. byte + 2 ; spell symbols: 0 END, 1.. byte + 1
T_END, T_WORD = 0, 1
# morpheme symbols: 0 END, 1 ESC, 2.. table index + 2 for the MORPH_DIRECT most frequent morphemes, then one
# escape per tier of MORPH_TIER further morphemes, the index within the tier going to ``morphx`` (a 30k-entry
# alphabet in one 15-bit table would reserve a slot per entry and cost the frequent ones ~0.6 bit each)
M_END, M_ESC = 0, 1
MORPH_DIRECT = 4096
MORPH_TIER = 4096
M_RARE_CLASS = 8  # order-1 class of a tier escape
# whitespace: mid-line 0..31 spaces, 32 ESC; line start: 0..80 spaces delta -40..40, 81..161 tabs, 162 ESC
WS_MID_ESC = 32
N_WS_MID = 33
WS_DELTA = 40
WS_LINE_TABS = 2 * WS_DELTA + 1
WS_LINE_ESC = 2 * WS_LINE_TABS
N_WS_LINE = WS_LINE_ESC + 1


def _kind_class_table() -> np.ndarray:
    """A coarse class per kind for context modelling (layout, string kinds, order-2 structure)."""
    cls = np.zeros(N_KINDS, dtype=np.int32)
    named = {
        "(": 1,
        "[": 2,
        "{": 3,
        ")": 4,
        "]": 5,
        "}": 6,
        ",": 7,
        ":": 8,
        ".": 9,
        "=": 10,
        ";": 11,
        "->": 12,
        "*": 13,
        "**": 14,
        "@": 15,
        "-": 16,
        "+": 16,
        "~": 17,
        "...": 18,
        ":=": 19,
        "def": 20,
        "class": 20,
        "return": 21,
        "import": 22,
        "from": 22,
        "if": 23,
        "elif": 23,
        "while": 23,
        "for": 24,
        "in": 25,
        "not": 26,
        "lambda": 27,
        "is": 28,
        "and": 28,
        "or": 28,
        "else": 29,
        "try": 29,
        "finally": 29,
        "except": 30,
        "with": 30,
        "as": 30,
        "None": 31,
        "True": 31,
        "False": 31,
    }
    for i, t in enumerate(_FIXED):
        k = _N_SPECIAL + i
        if t in named:
            cls[k] = named[t]
        elif t in NEWLINES:
            cls[k] = 32
        elif t in KEYWORDS:
            cls[k] = 33
        elif t.endswith("=") and t not in ("==", "!=", "<=", ">="):
            cls[k] = 34  # augmented assignment
        elif t in ("==", "!=", "<", ">", "<=", ">="):
            cls[k] = 35
        else:
            cls[k] = 36  # other binary operators
    cls[EOF], cls[NAME], cls[NUMBER], cls[STRING], cls[COMMENT], cls[ERR] = 0, 37, 38, 39, 40, 41
    cls[FIRST_FREQ:] = 42
    return cls


KIND_CLASS = _kind_class_table()
N_KIND_CLASS = int(KIND_CLASS.max()) + 1


class Vocab:
    """The trained vocabularies: frequent names (kinds) and the morpheme table.

    The morphemes are kept as one UTF-8 byte pool with offsets (:attr:`morph_pool`: what the decoder writes
    from, and what ``scan.vocab_tables`` builds the encoder's compiled look-up from). The list of ``str`` and
    the ``str -> (symbol, index in tier)`` dict (:attr:`morphemes`, :attr:`morph_sym`: training and the slow
    reference analysis) are built on first use: for 80,000 morphemes they take ~15 MiB of Python objects in
    every process that has them, and a pack's or unpack's workers never need them (docs/perf/qyn1.md,
    "Worker memory, round 11"). ``morphemes`` is a list, or the shipped NUL-separated UTF-8 blob.
    """

    def __init__(self, freq_names: list[str], morphemes: list[str] | np.ndarray):
        if len(freq_names) != N_FREQ_NAMES:
            raise ValueError("need exactly N_FREQ_NAMES frequent names")
        self.freq_names = freq_names
        if isinstance(morphemes, np.ndarray):
            self._blob = morphemes
            self.morph_pool = _blob_pool(morphemes)
            first = _pool_strs(*self.morph_pool, MORPH_DIRECT)
        else:
            self.morphemes = morphemes
            self.morph_pool = _byte_pool(morphemes)
            first = morphemes[:MORPH_DIRECT]
        self.n_morphemes = len(self.morph_pool[1]) - 1
        self.fixed = {t: _N_SPECIAL + i for i, t in enumerate(_FIXED)}
        for j, nm in enumerate(freq_names):
            self.fixed[nm] = FIRST_FREQ + j
        self.kind_text = [""] * N_KINDS
        for t, k in self.fixed.items():
            self.kind_text[k] = t
        n_direct = min(self.n_morphemes, MORPH_DIRECT)
        self.n_morph_tiers = -(-(self.n_morphemes - n_direct) // MORPH_TIER)
        self.morph_tier_sym = 2 + n_direct  # symbol of tier 0
        self.n_morph_syms = self.morph_tier_sym + self.n_morph_tiers
        # order-1 class of the previous morpheme symbol
        o1 = np.full(self.n_morph_syms, M_RARE_CLASS, dtype=np.int32)
        o1[M_END] = 0
        o1[M_ESC] = 1
        for i, m in enumerate(first):
            o1[i + 2] = _morph_class(m)
        self.morph_o1 = o1
        # UTF-8 byte pool of the kinds' texts, which the decoder writes from
        self.kind_pool = _byte_pool(self.kind_text)
        # the tables above as the encoder's compiled analysis reads them (``scan.vocab_tables``), built on first use
        self._tables = None

    @functools.cached_property
    def morphemes(self) -> list[str]:
        blob = self._blob.tobytes().decode("utf-8")
        return blob.split("\0") if blob else []

    @functools.cached_property
    def morph_sym(self) -> dict[str, tuple[int, int]]:
        """morpheme -> (symbol, index within its tier or -1); training replaces it by a restricted copy."""
        sym, idx = self.morph_symbols()
        return dict(zip(self.morphemes, zip(sym.tolist(), idx.tolist(), strict=True), strict=True))

    def morph_symbols(self) -> tuple[np.ndarray, np.ndarray]:
        """Per morpheme (table order): its symbol, and its index within its tier (-1: a direct symbol)."""
        i = np.arange(self.n_morphemes, dtype=np.int32)
        n_direct = self.morph_tier_sym - 2
        rare = i >= MORPH_DIRECT
        sym = np.where(rare, self.morph_tier_sym + (i - n_direct) // MORPH_TIER, i + 2).astype(np.int32)
        idx = np.where(rare, (i - n_direct) % MORPH_TIER, -1).astype(np.int32)
        return sym, idx


def _morph_class(m: str) -> int:
    if m.startswith("_"):
        return 2
    if m.isdigit():
        return 3
    if m.isupper():
        return 4
    if m[:1].isupper():
        return 5
    if m.islower():
        return 6
    return 7


_VOCAB: Vocab | None = None


def vocab() -> Vocab:
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = Vocab(tables.vocab("freq_names"), tables.vocab_blob("morphemes"))
    return _VOCAB


# ---------------------------------------------------------------- analysis (encoder side)
def _classify(t: str) -> int:
    c = t[0]
    if c in " \t\f" or (c == "\\" and len(t) > 1):
        return WS
    if c == "#":
        return COMMENT
    if len(t) >= 2 and t[-1] in "'\"":
        return STRING
    if c.isdigit() or c == ".":
        return NUMBER
    if len(t) == 1 and not (c == "_" or c.isalnum()):
        return ERR
    return NAME


def _split_string(t: str) -> tuple[int, str] | None:
    i = 0
    while i < 2 and i < len(t) and t[i] in "rRbBuUfF":
        i += 1
    rest = t[i:]
    for q in ('"""', "'''", '"', "'"):
        if rest.startswith(q) and rest.endswith(q) and len(rest) >= 2 * len(q):
            return _STR_KIND_ID[(t[:i], q)], rest[len(q) : len(rest) - len(q)]
    return None


def split_name(name: str) -> list[str]:
    """snake_case/camelCase parts; the parts concatenate back to the name."""
    return _PARTS.findall(name)


_WS_LOOKUP: dict[str, int] = {}
for _n in range(1, 129):
    _WS_LOOKUP[" " * _n] = WS
    _WS_LOOKUP["\t" * _n] = WS
del _n


_OPEN_KINDS = [_N_SPECIAL + _FIXED.index(b) for b in "([{"]
_CLOSE_KINDS = [_N_SPECIAL + _FIXED.index(b) for b in ")]}"]
_COLON = _N_SPECIAL + _FIXED.index(":")
N_WS_LINE_CTX = 12 * N_KIND_CLASS
_KIND_DMAP = np.zeros(N_KINDS, dtype=np.int32)  # bracket nesting: the kinds model knows "inside brackets"
_KIND_DMAP[_OPEN_KINDS] = 1
_KIND_DMAP[_CLOSE_KINDS] = -1
_IS_NL_KIND = np.zeros(N_KINDS, dtype=np.bool_)
_IS_NL_KIND[list(NL_KINDS)] = True
N_WS_MID_CTX = N_KIND_CLASS * N_KIND_CLASS * 2


def _next_class_table() -> np.ndarray:
    t = np.zeros(N_KINDS, dtype=np.int64)
    for tok, c in (("(", 1), (".", 2), ("=", 3), (",", 4), (")", 5), ("]", 5), (":", 6)):
        t[_N_SPECIAL + _FIXED.index(tok)] = c
    t[list(NL_KINDS)] = 7
    return t


_NEXT_CLASS = _next_class_table()


def _byte_pool(strs) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``strs`` one after the other, and their start offsets (one more: the end)."""
    enc = [s.encode("utf-8") for s in strs]
    off = np.zeros(len(enc) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(e) for e in enc])
    return np.frombuffer(b"".join(enc), dtype=np.uint8).copy(), off


def _blob_pool(blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_byte_pool` of the strings of a NUL-separated UTF-8 blob (uint8), without making them."""
    if not len(blob):
        return np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    nul = np.flatnonzero(blob == 0)
    off = np.empty(len(nul) + 2, dtype=np.int64)
    off[0] = 0
    off[1:-1] = nul - np.arange(len(nul))
    off[-1] = len(blob) - len(nul)
    return blob[blob != 0], off


def _pool_strs(pool: np.ndarray, off: np.ndarray, n: int) -> list[str]:
    """The first ``n`` strings of a byte pool."""
    n = min(n, len(off) - 1)
    return [pool[off[j] : off[j + 1]].tobytes().decode("utf-8") for j in range(n)]


_STR_POOL = (*_byte_pool(p for p, _ in STR_KINDS), *_byte_pool(q for _, q in STR_KINDS))
_STR_QLEN = np.array([len(q) for _, q in STR_KINDS], dtype=np.int64)
