"""Structural encoder for Python source: a lossless lexer, homogeneous streams, context-conditioned rANS.

Why a regex lexer rather than ``ast``/``tokenize``: ``ast`` drops comments and layout, and ``tokenize`` is
slow (pure Python), rejects some files and needs exact position bookkeeping to be lossless. The lexer here
uses ``tokenize``'s token classes (names, numbers, strings with prefixes, comments, operators, newlines)
in one compiled pattern whose alternatives cover every character, so the token texts concatenate back to
the input by construction -- any text "parses", deliberately invalid files included. Each chunk is still
decoded once by the encoder and compared with its input before the structural form is accepted; a file
that is not UTF-8 (or fails that check) takes the byte-level path.

Streams (each rANS-coded with a shipped table; see ``qyn1.tables`` and docs/qyn1.md for the contexts):

* ``kinds``: one symbol per token (keywords, operators, newline flavours and the 32 most frequent names
  are their own kinds; NAME, NUMBER, STRING, COMMENT, ERR, EOF otherwise), order-3 context (previous kind,
  classes of the two before it, inside brackets) and a match model (``rans.match_symbols``).
* ``ws_mid``/``ws_line``: the whitespace before every token. Mid-line: a space count given (class of
  previous kind, class of next kind, inside brackets). Line start: the indentation change against the
  previous code line given (previous line ended with ':', inside brackets, blank/comment/code line, class of
  the line's first token).
* ``strkind``: prefix and quote of each string given the previous kind's class, with a match model.
* ``text0/1/2``: bodies of single-quoted strings, triple-quoted strings and comments: UTF-8 bytes with an
  order-3 model and a match model, where every ASCII word is replaced by a WORD marker and coded as a name.
* ``names``: every identifier, number and text word, in order: NEW, SUCC1/SUCC2 (the name that followed the
  previous name before), a move-to-front rank among the names seen in the same role, or ESC + the rank among
  all names (``_name_symbols``; decoded by ``rans.decode_names``). NEW names are spelled in ``morph0..5`` (one
  stream per role) through the *morpheme table*: the whole name if it is in the table, else its
  snake_case/camelCase parts, the 4,096 most frequent entries by symbol, the rest by tier (``morphx`` holds
  the index in the tier), unknown parts spelled byte by byte (``spell``, order 3 + match model).
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit

from qyn1 import rans, tables, varint
from qyn1.errors import CodecError

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
    """The trained vocabularies: frequent names (kinds) and the morpheme table."""

    def __init__(self, freq_names: list[str], morphemes: list[str]):
        if len(freq_names) != N_FREQ_NAMES:
            raise ValueError("need exactly N_FREQ_NAMES frequent names")
        self.freq_names = freq_names
        self.morphemes = morphemes
        self.fixed = {t: _N_SPECIAL + i for i, t in enumerate(_FIXED)}
        for j, nm in enumerate(freq_names):
            self.fixed[nm] = FIRST_FREQ + j
        self.kind_text = [""] * N_KINDS
        for t, k in self.fixed.items():
            self.kind_text[k] = t
        n_direct = min(len(morphemes), MORPH_DIRECT)
        self.n_morph_tiers = -(-(len(morphemes) - n_direct) // MORPH_TIER)
        self.morph_tier_sym = 2 + n_direct  # symbol of tier 0
        # morpheme -> (symbol, index within its tier or -1)
        self.morph_sym = {
            m: (i + 2, -1)
            if i < MORPH_DIRECT
            else (self.morph_tier_sym + (i - n_direct) // MORPH_TIER, (i - n_direct) % MORPH_TIER)
            for i, m in enumerate(morphemes)
        }
        self.n_morph_syms = self.morph_tier_sym + self.n_morph_tiers
        # order-1 class of the previous morpheme symbol
        o1 = np.full(self.n_morph_syms, M_RARE_CLASS, dtype=np.int32)
        o1[M_END] = 0
        o1[M_ESC] = 1
        for i, m in enumerate(morphemes[:n_direct]):
            o1[i + 2] = _morph_class(m)
        self.morph_o1 = o1
        # UTF-8 byte pools the decoder writes from
        self.kind_pool = _byte_pool(self.kind_text)
        self.morph_pool = _byte_pool(morphemes)


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
        _VOCAB = Vocab(tables.vocab("freq_names"), tables.vocab("morphemes"))
    return _VOCAB


# ---------------------------------------------------------------- numba kernels
@njit(cache=True, nogil=True)
def _name_symbols(ids, roles):
    """Name symbols of local name ids (numbered by first occurrence), each name with its role (``MORPH_GROUP``
    of its context): NEW, SUCC1/SUCC2, the name's move-to-front rank among the names seen *in the same role*
    (bucket + extra bits), or ESC followed by its rank in the move-to-front list of all names. Per symbol:
    the successor flag (context; ``N_NAME_FLAG - 1`` for the symbol after an ESC) and the index of its name.
    The inverse is :func:`qyn1.rans.decode_names`, which must compute the same flags.

    Returns (symbol, flag, owner name, extra value, extra bit count) per symbol and the new-name flags."""
    n = ids.shape[0]
    order = np.empty(n + 1, dtype=np.int32)
    rorder = np.empty((N_MORPH_GROUPS, n + 1), dtype=np.int32)
    rsize = np.zeros(N_MORPH_GROUPS, dtype=np.int64)
    in_role = np.zeros((N_MORPH_GROUPS, n + 1), dtype=np.bool_)  # no scan of a role list for a name not in it
    succ1 = np.full(n + 1, -1, dtype=np.int32)
    succ2 = np.full(n + 1, -1, dtype=np.int32)
    sym = np.empty(2 * n, dtype=np.int32)
    flag = np.empty(2 * n, dtype=np.int32)
    owner = np.empty(2 * n, dtype=np.int64)
    extra = np.zeros(2 * n, dtype=np.int64)
    nbits = np.zeros(2 * n, dtype=np.int64)
    isnew = np.zeros(n, dtype=np.bool_)
    size = 0
    p = -1
    k = 0
    for i in range(n):
        v = ids[i]
        r = roles[i]
        c1 = -1
        c2 = -1
        if p >= 0:
            c1 = succ1[p]
            c2 = succ2[p]
        b = 0
        if c1 >= 0:
            b = 4
            for j in range(min(size, NAME_SUCC_WINDOW)):
                if order[j] == c1:
                    b = 1 if j == 0 else (2 if j < 4 else 3)
                    break
        flag[k] = b * 2 + (1 if c2 >= 0 else 0)
        owner[k] = i
        # role list position (rsize[r] when absent)
        jr = rsize[r]
        if in_role[r, v]:
            jr = 0
            while rorder[r, jr] != v:
                jr += 1
        if v == size:
            j = size
            size += 1
            isnew[i] = True
            sym[k] = 0
        else:
            j = 0
            while order[j] != v:
                j += 1
            if v == c1:
                sym[k] = NAME_SUCC1
            elif v == c2:
                sym[k] = NAME_SUCC1 + 1
            else:
                rank = jr
                if jr == rsize[r]:  # not seen in this role: ESC, then the rank among all names
                    sym[k] = NAME_ESC
                    k += 1
                    flag[k] = N_NAME_FLAG - 1
                    owner[k] = i
                    rank = j
                if rank < RANK_DIRECT:
                    sym[k] = 1 + rank
                else:
                    e = 5
                    while (rank >> (e + 1)) > 0:
                        e += 1
                    sym[k] = 1 + RANK_DIRECT + (e - 5) * 4 + ((rank >> (e - 2)) & 3)
                    nbits[k] = e - 2
                    extra[k] = rank & ((1 << (e - 2)) - 1)
        k += 1
        while j > 0:
            order[j] = order[j - 1]
            j -= 1
        order[0] = v
        if jr == rsize[r]:
            rsize[r] += 1
            in_role[r, v] = True
        while jr > 0:
            rorder[r, jr] = rorder[r, jr - 1]
            jr -= 1
        rorder[r, 0] = v
        if p >= 0 and c1 != v:
            succ2[p] = c1
            succ1[p] = v
        p = v
    return sym[:k], flag[:k], owner[:k], extra[:k], nbits[:k], isnew


def _pack_bits(vals: np.ndarray, nbits: np.ndarray) -> bytes:
    """Concatenate ``nbits[i]`` low bits of ``vals[i]`` (MSB first) into bytes."""
    if len(vals) == 0:
        return b""
    total = int(nbits.sum())
    bits = np.zeros(total, dtype=np.uint8)
    starts = np.concatenate(([0], np.cumsum(nbits)[:-1]))
    for k in range(int(nbits.max())):
        sel = nbits > k
        # bit k counted from the most significant of each value
        shift = nbits[sel] - 1 - k
        bits[starts[sel] + k] = (vals[sel] >> shift) & 1
    return np.packbits(bits).tobytes()


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


def _ws_class(w: str) -> tuple[int, int]:
    """(type, length): type 0 all spaces (or empty), 1 all tabs, 2 anything else."""
    if w == " " * len(w):
        return 0, len(w)
    if w == "\t" * len(w):
        return 1, len(w)
    return 2, len(w)


@njit(cache=True, nogil=True)
def _ws_symbols(line_start, line_kind, wtype, wlen):
    """Whitespace symbols for both layout streams; ``esc[i]`` marks tokens whose whitespace is spelled."""
    n = line_start.shape[0]
    line = np.empty(n, dtype=np.int32)
    mid = np.empty(n, dtype=np.int32)
    esc = np.zeros(n, dtype=np.bool_)
    nl = 0
    nm = 0
    indent = 0
    for i in range(n):
        t = wtype[i]
        ln = wlen[i]
        if line_start[i]:
            base = 0 if line_kind[i] == 0 else indent
            d = ln - base
            if t == 0 and -WS_DELTA <= d <= WS_DELTA:
                line[nl] = WS_DELTA + d
            elif t == 1 and -WS_DELTA <= d <= WS_DELTA:
                line[nl] = WS_LINE_TABS + WS_DELTA + d
            else:
                line[nl] = WS_LINE_ESC
                esc[i] = True
            if line_kind[i] == 2:
                indent = ln
            nl += 1
        else:
            if t == 0 and ln < WS_MID_ESC:
                mid[nm] = ln
            else:
                mid[nm] = WS_MID_ESC
                esc[i] = True
            nm += 1
    return line[:nl], mid[:nm], esc


@njit(cache=True, nogil=True)
def _ws_lengths(line_start, line_kind, line_syms, mid_syms, esc_len):
    """Inverse of :func:`_ws_symbols`: (type, length) per token; -1 type on invalid input.

    ``esc_len`` holds the lengths of the spelled whitespace items, in token order."""
    n = line_start.shape[0]
    wtype = np.zeros(n, dtype=np.int32)
    wlen = np.zeros(n, dtype=np.int64)
    nl = 0
    nm = 0
    ne = 0
    indent = 0
    for i in range(n):
        if line_start[i]:
            s = line_syms[nl]
            nl += 1
            base = 0 if line_kind[i] == 0 else indent
            if s < WS_LINE_TABS:
                wtype[i] = 0
                wlen[i] = base + s - WS_DELTA
            elif s < WS_LINE_ESC:
                wtype[i] = 1
                wlen[i] = base + s - WS_LINE_TABS - WS_DELTA
            else:
                if ne >= esc_len.shape[0]:
                    wtype[0] = -1
                    return wtype, wlen
                wtype[i] = 2
                wlen[i] = esc_len[ne]
                ne += 1
            if wlen[i] < 0:
                wtype[0] = -1
                return wtype, wlen
            if line_kind[i] == 2:
                indent = wlen[i]
        else:
            s = mid_syms[nm]
            nm += 1
            if s < WS_MID_ESC:
                wtype[i] = 0
                wlen[i] = s
            else:
                if ne >= esc_len.shape[0]:
                    wtype[0] = -1
                    return wtype, wlen
                wtype[i] = 2
                wlen[i] = esc_len[ne]
                ne += 1
    return wtype, wlen


_IS_WORD = np.zeros(256, dtype=np.bool_)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789":
    _IS_WORD[_c] = True
_IS_DIGIT = np.zeros(256, dtype=np.bool_)
_IS_DIGIT[48:58] = True
del _c


def _text_symbols(bodies: list[str]) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Text stream of the bodies (bytes + 2, WORD markers, END after each body), the words, the body
    index of each word and its position within the body. A word is a maximal run of ASCII letters,
    digits and '_' that does not start with a digit."""
    if not bodies:
        return np.zeros(0, dtype=np.int32), [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    enc = [b.encode("utf-8") for b in bodies]
    lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
    arr = np.frombuffer(b"".join(enc), dtype=np.uint8)
    n = len(arr)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    isw = _IS_WORD[arr]
    run_start = isw.copy()
    run_start[1:] &= ~isw[:-1]
    body_first = np.zeros(n + 1, dtype=np.bool_)
    body_first[starts] = True
    body_first = body_first[:n]
    run_start |= isw & body_first
    run_id = np.cumsum(run_start) - 1  # run index of each word byte
    word_run = run_start & ~_IS_DIGIT[arr]  # runs starting with a digit stay bytes
    keep_run = np.zeros(int(run_start.sum()), dtype=np.bool_)
    keep_run[run_id[run_start]] = word_run[run_start]
    if len(keep_run):
        in_word = isw & keep_run[np.maximum(run_id, 0)] & (run_id >= 0)
    else:
        in_word = np.zeros(n, dtype=np.bool_)
    wstart = np.flatnonzero(in_word & run_start)
    # word end: next position that is not inside the same run
    run_len = np.bincount(run_id[isw], minlength=len(keep_run))
    wend = wstart + run_len[run_id[wstart]]
    syms = arr.astype(np.int32) + 2
    syms[wstart] = T_WORD
    keep = ~in_word | run_start
    body_of_byte = np.repeat(np.arange(len(bodies)), lens)
    # assemble: kept symbols, then END after each body (np.insert at the kept-prefix counts)
    kept = syms[keep]
    kept_counts = np.bincount(body_of_byte[keep], minlength=len(bodies)) if n else np.zeros(len(bodies), int)
    ins_at = np.cumsum(kept_counts)
    out = np.insert(kept, ins_at, T_END)
    raw = arr.tobytes()
    words = [raw[a:b].decode("ascii") for a, b in zip(wstart.tolist(), wend.tolist(), strict=True)]
    wbody = body_of_byte[wstart]
    wsub = wstart - starts[wbody]
    return out.astype(np.int32), words, wbody, wsub


def analyze(text: str, v: Vocab):
    """Tokenise and split ``text`` into symbol streams: dict stream -> (symbols, ext contexts)."""
    toks = LEX.findall(text)
    fixed = v.fixed
    wsl = _WS_LOOKUP
    kind_all = [fixed.get(t) or wsl.get(t, -1) for t in toks]
    ka = np.array(kind_all, dtype=np.int32)
    miss = np.flatnonzero(ka == -1)
    if len(miss):
        ka[miss] = [_classify(toks[i]) for i in miss.tolist()]
    is_ws = ka == WS
    tok_pos = np.flatnonzero(~is_ws)
    kinds = np.concatenate((ka[tok_pos], [EOF])).astype(np.int32)
    ntok = len(kinds)
    pos = np.concatenate((tok_pos, [len(toks)]))
    has_ws = np.zeros(ntok, dtype=np.bool_)
    has_ws[pos > 0] = is_ws[pos[pos > 0] - 1]
    ws_idx = np.flatnonzero(has_ws)
    ws_strs = [toks[i] for i in (pos[ws_idx] - 1).tolist()]
    cls = {w: _ws_class(w) for w in set(ws_strs)}
    wtype = np.zeros(ntok, dtype=np.int32)
    wlen = np.zeros(ntok, dtype=np.int64)
    if ws_strs:
        tl = [cls[w] for w in ws_strs]
        wtype[ws_idx] = [t for t, _ in tl]
        wlen[ws_idx] = [ln for _, ln in tl]
    line_start, line_kind, ctx_line, ctx_mid = _layout_contexts(kinds)
    ws_line, ws_mid, esc = _ws_symbols(line_start, line_kind, wtype, wlen)
    ws_of = dict(zip(ws_idx.tolist(), ws_strs, strict=True))
    spell_items = [ws_of.get(i, "").encode("utf-8") for i in np.flatnonzero(esc).tolist()]
    texts = [toks[i] for i in tok_pos.tolist()]
    texts.append("")
    prevk = np.concatenate(([EOF], kinds[:-1]))
    # code names and numbers
    is_name = kinds == NAME
    name_tok = np.flatnonzero(is_name | (kinds == NUMBER))
    code_names = [texts[i] for i in name_tok.tolist()]
    code_ctx = np.where(is_name[name_tok], prevk[name_tok], CTX_NUMBER).astype(np.int32)
    # strings and comments
    str_tok = np.flatnonzero(kinds == STRING)
    strkind = np.zeros(len(str_tok), dtype=np.int32)
    str_mode = np.zeros(len(str_tok), dtype=np.int32)
    bodies: list[list[str]] = [[], [], []]
    for j, i in enumerate(str_tok.tolist()):
        sp = _split_string(texts[i])
        if sp is None:
            raise CodecError("string token does not split")  # cannot happen with LEX
        strkind[j] = sp[0]
        mode = 1 if len(STR_KINDS[sp[0]][1]) == 3 else 0
        str_mode[j] = mode
        bodies[mode].append(sp[1])
    com_tok = np.flatnonzero(kinds == COMMENT)
    bodies[2] = [texts[i][1:] for i in com_tok.tolist()]
    body_tok = [str_tok[str_mode == 0], str_tok[str_mode == 1], com_tok]
    text_streams = []
    occ_tok = [name_tok]
    occ_sub = [np.zeros(len(name_tok), dtype=np.int64)]
    occ_ctx = [code_ctx]
    names = list(code_names)
    for m in range(3):
        syms, words, wbody, wsub = _text_symbols(bodies[m])
        text_streams.append(syms)
        occ_tok.append(body_tok[m][wbody])
        occ_sub.append(wsub + 1)
        occ_ctx.append(np.full(len(words), CTX_TEXT0 + m, dtype=np.int32))
        names.extend(words)
    order = np.lexsort((np.concatenate(occ_sub), np.concatenate(occ_tok)))
    name_ctx = np.concatenate(occ_ctx)[order]
    name_mctx = _name_model_ctx(name_ctx, np.concatenate(occ_tok)[order], kinds)
    names = [names[i] for i in order.tolist()]
    # move-to-front over first-occurrence ids
    local: dict[str, int] = {}
    ids = np.fromiter((local.setdefault(nm, len(local)) for nm in names), dtype=np.int32, count=len(names))
    nsym, nflag, nowner, extra, nbits, isnew = _name_symbols(ids, MORPH_GROUP[name_ctx])
    new_pos = np.flatnonzero(isnew)
    new_names = list(local)  # dicts keep first-occurrence order
    morph: list[list[int]] = [[] for _ in range(N_MORPH_GROUPS)]
    morph_spell: list[list[bytes]] = [[] for _ in range(N_MORPH_GROUPS)]  # consumed group by group
    morph_rare: list[list[tuple[int, int]]] = [[] for _ in range(N_MORPH_GROUPS)]  # (tier, index in tier)
    msym = v.morph_sym
    tier0 = v.morph_tier_sym
    for nm, g in zip(new_names, MORPH_GROUP[name_ctx[new_pos]].tolist(), strict=True):
        out = morph[g]
        ms = msym.get(nm)
        if ms is not None:
            out.append(ms[0])
            if ms[1] >= 0:
                morph_rare[g].append((ms[0] - tier0, ms[1]))
        else:
            for part in _PARTS.findall(nm):
                ms = msym.get(part)
                if ms is None:
                    out.append(M_ESC)
                    morph_spell[g].append(part.encode("utf-8"))
                else:
                    out.append(ms[0])
                    if ms[1] >= 0:
                        morph_rare[g].append((ms[0] - tier0, ms[1]))
        out.append(M_END)
    # morphx context: the name's role x the tier
    rare = [(g * v.n_morph_tiers + t, i) for g in range(N_MORPH_GROUPS) for t, i in morph_rare[g]]
    rare_arr = np.array(rare, dtype=np.int32).reshape(len(rare), 2)
    spell_items.extend(texts[i].encode("utf-8") for i in np.flatnonzero(kinds == ERR).tolist())
    for g in range(N_MORPH_GROUPS):
        spell_items.extend(morph_spell[g])
    if spell_items:
        blob = np.frombuffer(b"\0".join(spell_items) + b"\0", dtype=np.uint8).astype(np.int32) + 1
        ends = np.cumsum([len(s) + 1 for s in spell_items]) - 1
        blob[ends] = 0
    else:
        blob = np.zeros(0, dtype=np.int32)
    return {
        "kinds": (kinds, None),
        "ws_line": (ws_line, ctx_line[line_start]),
        "ws_mid": (ws_mid, ctx_mid[~line_start]),
        "strkind": (strkind, KIND_CLASS[prevk[str_tok]]),
        "text0": (text_streams[0], None),
        "text1": (text_streams[1], None),
        "text2": (text_streams[2], None),
        "names": (nsym, name_mctx.astype(np.int64)[nowner] * N_NAME_FLAG + nflag),
        **{f"morph{g}": (np.array(morph[g], dtype=np.int32), None) for g in range(N_MORPH_GROUPS)},
        "morphx": (np.ascontiguousarray(rare_arr[:, 1]), np.ascontiguousarray(rare_arr[:, 0])),
        "spell": (blob, None),
        "_extra": (extra[nbits > 0], nbits[nbits > 0]),
    }


def _layout_contexts(kinds: np.ndarray):
    """Per token: line-start flag, line kind (0 blank/EOF, 1 comment, 2 code) and both layout contexts."""
    return _layout_kernel(np.ascontiguousarray(kinds, dtype=np.int32), _KIND_DMAP, _IS_NL_KIND, KIND_CLASS)


@njit(cache=True, nogil=True)
def _layout_kernel(kinds, dmap, is_nl, kind_class):
    n = kinds.shape[0]
    line_start = np.empty(n, dtype=np.bool_)
    line_kind = np.empty(n, dtype=np.int32)
    ctx_line = np.empty(n, dtype=np.int64)
    ctx_mid = np.empty(n, dtype=np.int64)
    depth = 0
    prev = EOF
    prev2 = EOF
    for i in range(n):
        k = kinds[i]
        in_br = 1 if depth > 0 else 0
        line_start[i] = i == 0 or is_nl[prev]
        lk = 0 if is_nl[k] or k == EOF else (1 if k == COMMENT else 2)
        line_kind[i] = lk
        after_colon = 1 if prev2 == _COLON else 0
        # the class of the line's first token says much about its indentation (else/elif/except/return...)
        ctx_line[i] = ((after_colon * 2 + in_br) * 3 + lk) * N_KIND_CLASS + kind_class[k]
        ctx_mid[i] = (kind_class[prev] * N_KIND_CLASS + kind_class[k]) * 2 + in_br
        depth += dmap[k]
        prev2 = prev
        prev = k
    return line_start, line_kind, ctx_line, ctx_mid


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


def _name_model_ctx(name_ctx: np.ndarray, occ_tok: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Model context of each name: its context (previous kind or text mode) x class of the next token."""
    nxt = np.zeros(len(name_ctx), dtype=np.int64)
    code = name_ctx < CTX_TEXT0
    if code.any():
        nxt[code] = _NEXT_CLASS[kinds[np.minimum(occ_tok[code] + 1, len(kinds) - 1)]]
    inner = name_ctx.astype(np.int64) * N_NEXT + nxt
    # outermost: how far into the chunk (log2 of the name's index) -- early names are more often new
    pos = np.minimum(np.log2(np.arange(len(name_ctx)) + 1).astype(np.int64), N_NAME_POS - 1)
    return (pos * (N_NAME_CTX * N_NEXT) + inner).astype(np.int32)


# symbol counts the decoder knows before it reaches the stream (not sent)
DERIVED_COUNTS = frozenset({"ws_line", "ws_mid", "strkind", "names", "morphx"})
STREAMS = (
    "kinds",
    "ws_line",
    "ws_mid",
    "strkind",
    "text0",
    "text1",
    "text2",
    "names",
    "spell",
    "morph0",
    "morph1",
    "morph2",
    "morph3",
    "morph4",
    "morph5",
    "morphx",
)  # the decoding order; all share one rANS state


# ---------------------------------------------------------------- models
# A sparse context gets its own row after this many training occurrences (order-3 kinds, (position, previous
# kind, next class, successor flag) names, order-3 text). Measured on the held-out files: 30 -> 6.444,
# 50 -> 6.453, 80 -> 6.458, 130 -> 6.458, 200 -> 6.448 (a context seen a few dozen times often comes from one
# training file and does not carry over), and fewer rows (models 30 -> 19 MB in memory).
KINDS_MIN_COUNT = 130
NAMES_MIN_COUNT = 130
TEXT_MIN_COUNT = 130
# match models (``rans.match_symbols``): the order k of the repeat the prediction is looked up by, per stream
KINDS_MATCH_ORDER = 5
TEXT0_MATCH_ORDER = 4
TEXT_MATCH_ORDER = 6
SPELL_MATCH_ORDER = 3
STRKIND_MATCH_ORDER = 3


def model_shapes(v: Vocab) -> dict[str, dict]:
    """How each stream's model is shaped: alphabet size, scale, context maps / number of ext contexts."""
    kind_o1 = np.arange(N_KINDS, dtype=np.int32)
    text_o1 = np.arange(258, dtype=np.int32)
    spell_o1 = np.arange(257, dtype=np.int32)
    return {
        "kinds": dict(
            nsym=N_KINDS,
            scale=15,
            o1map=kind_o1,
            o2map=KIND_CLASS.copy(),
            o3map=KIND_CLASS.copy(),
            dmap=_KIND_DMAP,
            sparse=KINDS_MIN_COUNT,
            match=KINDS_MATCH_ORDER,
            next_=1,
        ),
        "ws_line": dict(nsym=N_WS_LINE, scale=15, next_=N_WS_LINE_CTX, search=True),
        "ws_mid": dict(nsym=N_WS_MID, scale=15, next_=N_WS_MID_CTX),
        "strkind": dict(
            nsym=len(STR_KINDS),
            scale=15,
            next_=N_KIND_CLASS,
            sparse=KINDS_MIN_COUNT,
            match=STRKIND_MATCH_ORDER,
        ),
        **{
            f"text{m}": dict(  # bodies of single-quoted strings (m = 0), triple-quoted strings (1), comments (2)
                nsym=258,
                scale=15,
                o1map=text_o1,
                o2map=_TEXT_O2,
                o3map=_TEXT_O2,
                sparse=TEXT_MIN_COUNT,
                match=TEXT0_MATCH_ORDER if m == 0 else TEXT_MATCH_ORDER,
                next_=1,
            )
            for m in range(3)
        },
        "names": dict(
            nsym=N_NAME_SYMS,
            scale=15,
            next_=N_NAME_POS * N_NAME_CTX * N_NEXT * N_NAME_FLAG,
            sparse=NAMES_MIN_COUNT,
            sparse_inner=N_NAME_CTX * N_NEXT * N_NAME_FLAG,
        ),
        **{
            f"morph{g}": dict(nsym=v.n_morph_syms, scale=15, o1map=v.morph_o1, next_=1, search=True)
            for g in range(N_MORPH_GROUPS)
        },
        "morphx": dict(
            nsym=MORPH_TIER, scale=15, next_=N_MORPH_GROUPS * max(v.n_morph_tiers, 1), search=True
        ),
        "spell": dict(
            nsym=257,
            scale=15,
            o1map=spell_o1,
            o2map=_SPELL_O2,
            o3map=_SPELL_O2,
            sparse=TEXT_MIN_COUNT,
            match=SPELL_MATCH_ORDER,
            next_=1,
        ),
    }


def _spell_o2() -> np.ndarray:
    """Class of the byte two back in the spell stream: start, lower, upper, digit/_, other."""
    cls = np.full(257, 4, dtype=np.int32)
    cls[0] = 0
    for c in range(256):
        ch = chr(c)
        if "a" <= ch <= "z":
            cls[c + 1] = 1
        elif "A" <= ch <= "Z":
            cls[c + 1] = 2
        elif "0" <= ch <= "9" or ch == "_":
            cls[c + 1] = 3
    return cls


_SPELL_O2 = _spell_o2()


def _text_o2() -> np.ndarray:
    """Class of the text symbol two back: END/start, WORD, space, newline, digits and a few punctuation
    groups."""
    cls = np.full(258, 15, dtype=np.int32)
    cls[T_END], cls[T_WORD] = 0, 1
    groups = [" ", "\n\r", ".", ",", ":;", "([{", ")]}", "'\"`", "#", "-", "=", "0123456789", "*", "/\\"]
    for g, chars in enumerate(groups, start=2):
        for ch in chars:
            cls[ord(ch) + 2] = g
    return cls


_TEXT_O2 = _text_o2()


def _models() -> dict[str, rans.Model]:
    return {name: tables.model(f"py.{name}") for name in STREAMS}


# ---------------------------------------------------------------- chunk codec
def encode_text(data: bytes, *, verify: bool = True) -> bytes | None:
    """Structural encoding of one chunk, or None when it is not UTF-8 text (or does not round-trip)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    v = vocab()
    models = _models()
    st = analyze(text, v)
    out = bytearray()
    for name in STREAMS:
        if name not in DERIVED_COUNTS:
            varint.put(out, len(st[name][0]))
    blob = rans.encode_rows_streams([_coded(name, models[name], *st[name]) for name in STREAMS])
    varint.put(out, len(blob))
    out += blob
    extra, nbits = st["_extra"]
    out += _pack_bits(extra, nbits)
    body = bytes(out)
    if verify:
        try:
            ok = decode_text(body) == data
        except CodecError:
            ok = False
        if not ok:
            return None
    return body


def _coded(name: str, model: rans.Model, syms: np.ndarray, ext) -> tuple[rans.Model, np.ndarray, np.ndarray]:
    """(model, coded symbols, table row of each) of one stream; match-model streams code MATCH where the
    match model's prediction is right (``rans.match_symbols``)."""
    mp = _match_params().get(name)
    if mp is None:
        return model, syms, model.contexts(syms, ext)
    rowmap, k = mp
    coded, flag = rans.match_symbols(np.ascontiguousarray(syms, dtype=np.int32), k, model.nsym - 1)
    return model, coded, rowmap[model.contexts(syms, ext) * rans.MATCH_NFLAG + flag]


_MATCH_PARAMS: dict[str, tuple[np.ndarray, int]] | None = None


def _match_params() -> dict[str, tuple[np.ndarray, int]]:
    """stream -> (row map, match order k) of the streams with a match model (from the shipped tables)."""
    global _MATCH_PARAMS
    if _MATCH_PARAMS is None:
        a = tables.arrays()
        _MATCH_PARAMS = {
            name: (a[f"py.{name}.rowmap"].astype(np.int32), int(a[f"py.{name}.match"]))
            for name in STREAMS
            if f"py.{name}.match" in a
        }
    return _MATCH_PARAMS


def decode_text(body: bytes, limit: int | None = None) -> bytes:
    """The chunk ``body`` encodes; ``limit``: its known length (refused when longer; output buffer sized)."""
    try:
        return _decode_text(body, limit)
    except CodecError:
        raise
    except (IndexError, ValueError, KeyError, UnicodeError, OverflowError) as e:
        raise CodecError(f"malformed python stream: {type(e).__name__}") from None


def _decode_text(body: bytes, limit: int | None) -> bytes:
    v = vocab()
    models = _models()
    r = varint.Reader(body)
    counts = {name: r.varint(1 << 28) for name in STREAMS if name not in DERIVED_COUNTS}
    rd = rans.StreamDecoder(r.take(r.varint(1 << 30)))
    extra_blob = body[r.pos :]

    mparams = _match_params()

    def dec(name, ext=None, expect=None):
        n = counts.get(name, expect)
        if n is None or (expect is not None and n != expect):
            raise CodecError(f"{name} stream length mismatch")
        if name in mparams:
            rowmap, k = mparams[name]
            return rans.decode_match(rd, models[name], n, rowmap, k, ext)
        return rd.decode(models[name], n, ext)

    kinds = dec("kinds")
    line_start, line_kind, ctx_line, ctx_mid, str_ctx, ok = _kind_contexts(
        kinds, _KIND_DMAP, _IS_NL_KIND, KIND_CLASS
    )
    if not ok:
        raise CodecError("bad kind stream")
    ws_line = dec("ws_line", ctx_line, len(ctx_line))
    ws_mid = dec("ws_mid", ctx_mid, len(ctx_mid))
    strkind = dec("strkind", str_ctx, len(str_ctx))
    if len(strkind) and strkind.max() >= len(STR_KINDS):
        raise CodecError("bad string kind stream")
    texts = [dec(f"text{m}") for m in range(3)]
    text_off = np.cumsum([0] + [len(t) for t in texts])
    texts = np.concatenate(texts)
    # every name occurrence (code names, numbers, words of the texts) in coding order
    order, name_mctx, roles, word_off, ok = _name_occurrences(
        kinds, _STR_QLEN[strkind] == 3, texts, text_off, MORPH_GROUP, _NEXT_CLASS
    )
    if not ok:
        raise CodecError("text stream does not match its tokens")
    ids, isnew, nbits_used = rans.decode_names(
        rd,
        models["names"],
        len(order),
        name_mctx,
        roles,
        N_MORPH_GROUPS,
        N_NAME_FLAG,
        np.unpackbits(np.frombuffer(extra_blob, dtype=np.uint8)),
        RANK_DIRECT,
        NAME_SUCC1,
        NAME_ESC,
        NAME_SUCC_WINDOW,
    )
    if len(extra_blob) != (nbits_used + 7) // 8:
        raise CodecError("extra-bits stream has the wrong length")
    # spell items: layout literals (token order), error characters, unknown morphemes
    sbytes, s_start, s_end, item_len, ok = _spell_items(dec("spell"))
    if not ok:
        raise CodecError("spell stream does not end with END")
    wtype, wlen = _ws_lengths(line_start, line_kind, ws_line, ws_mid, item_len)
    if wtype[0] < 0:
        raise CodecError("bad layout stream")
    n_esc = int((wtype == 2).sum())
    n_err = int((kinds == ERR).sum())
    if len(s_end) < n_esc + n_err:
        raise CodecError("spell stream exhausted")
    # new names from the morpheme streams
    tier0 = v.morph_tier_sym
    seqs = [dec(f"morph{g}") for g in range(N_MORPH_GROUPS)]
    seq = np.concatenate(seqs)
    rare = seq >= tier0
    tgroup = np.repeat(np.arange(N_MORPH_GROUPS), [len(q) for q in seqs])[rare]
    tiers = (seq[rare] - tier0).astype(np.int32)
    local = dec("morphx", tgroup * v.n_morph_tiers + tiers, len(tiers))
    rare_idx = tier0 - 2 + tiers.astype(np.int64) * MORPH_TIER + local
    group_len = np.array([len(q) for q in seqs], dtype=np.int64)
    mpool, moff = v.morph_pool
    npool, nstart, nend, err = _new_names_kernel(
        seq, group_len, roles[isnew], mpool, moff, tier0, rare_idx, sbytes, s_start, s_end, n_esc + n_err
    )
    if err:
        raise CodecError(_NAMES_ERRORS[err])
    rd.finish()
    if len(ids) and (ids.min() < 0 or ids.max() >= len(nstart)):
        raise CodecError("name index outside the new names")
    occ_new = np.empty(len(ids), dtype=np.int64)
    occ_new[order] = ids  # per occurrence (code names, words of text0, text1, text2): its new-name index
    kpool, koff = v.kind_pool
    out, n_out = _assemble_kernel(
        kinds,
        wtype,
        wlen,
        kpool,
        koff,
        npool,
        nstart,
        nend,
        occ_new,
        word_off,
        strkind,
        *_STR_POOL,
        texts,
        text_off,
        sbytes,
        s_start,
        s_end,
        n_esc,
        -1 if limit is None else limit,
    )
    if n_out < 0:
        raise CodecError("decoded text does not have its chunk's length")
    data = out.tobytes()
    data.decode("utf-8")  # the structural codec carries UTF-8 text only
    return data


# ---------------------------------------------------------------- detokenising kernels (decoder)
# The decoder writes the chunk's bytes straight from the decoded streams: token texts, names and morphemes
# live in UTF-8 byte pools (start offsets), so no Python string is made per token.
_NAMES_ERRORS = {
    1: "morpheme stream does not match the new names",
    2: "spell stream exhausted",
    3: "morpheme index outside the table",
    4: "unused spell items",
}


def _byte_pool(strs) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``strs`` one after the other, and their start offsets (one more: the end)."""
    enc = [s.encode("utf-8") for s in strs]
    off = np.zeros(len(enc) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(e) for e in enc])
    return np.frombuffer(b"".join(enc), dtype=np.uint8).copy(), off


_STR_POOL = (*_byte_pool(p for p, _ in STR_KINDS), *_byte_pool(q for _, q in STR_KINDS))
_STR_QLEN = np.array([len(q) for _, q in STR_KINDS], dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def _copy(out, o, src, a, b, write):
    """``src[a:b]`` to ``out[o:]`` when ``write`` (else only counted); the new ``o``. A plain loop: the pieces
    are a few bytes long."""
    if write:
        for j in range(a, b):
            out[o] = src[j]
            o += 1
        return o
    return o + b - a


@njit(cache=True, nogil=True)
def _new_names_kernel(seq, group_len, grp, mpool, moff, tier0, rare_idx, sbytes, s_start, s_end, spell_i0):
    """Spell the new names from the morpheme streams (``seq``: the groups' streams one after the other).

    Returns (pool, start, end, error): the names' UTF-8 bytes in new-name order (``grp`` is each new name's
    group), error 0 or a key of ``_NAMES_ERRORS``."""
    n_new = grp.shape[0]
    ng = group_len.shape[0]
    n_morph = moff.shape[0] - 1
    n_items = s_start.shape[0]
    none = np.zeros(0, dtype=np.int64)
    gbase = np.zeros(ng + 1, dtype=np.int64)
    for i in range(n_new):
        gbase[grp[i] + 1] += 1
    for g in range(ng):
        gbase[g + 1] += gbase[g]
    # pass 1: check every stream against its names, size the pool
    total = 0
    ri = 0
    si = spell_i0
    j = 0
    for g in range(ng):
        ends = 0
        for _ in range(group_len[g]):
            s = seq[j]
            j += 1
            if s == M_END:
                ends += 1
            elif s == M_ESC:
                if si >= n_items:
                    return mpool[:0], none, none, 2
                total += s_end[si] - s_start[si]
                si += 1
            elif s < tier0:
                total += moff[s - 1] - moff[s - 2]
            else:
                m = rare_idx[ri]
                ri += 1
                if m < 0 or m >= n_morph:
                    return mpool[:0], none, none, 3
                total += moff[m + 1] - moff[m]
        if ends != gbase[g + 1] - gbase[g] or (group_len[g] > 0 and seq[j - 1] != M_END):
            return mpool[:0], none, none, 1
    if si != n_items:
        return mpool[:0], none, none, 4
    # pass 2: write them, group by group
    pool = np.empty(total, dtype=np.uint8)
    gstart = np.empty(n_new, dtype=np.int64)
    gend = np.empty(n_new, dtype=np.int64)
    o = 0
    ri = 0
    si = spell_i0
    j = 0
    for g in range(ng):
        k = gbase[g]
        a = o
        for _ in range(group_len[g]):
            s = seq[j]
            j += 1
            if s == M_END:
                gstart[k] = a
                gend[k] = o
                k += 1
                a = o
                continue
            if s == M_ESC:
                p, q = s_start[si], s_end[si]
                si += 1
                src = sbytes
            elif s < tier0:
                p, q = moff[s - 2], moff[s - 1]
                src = mpool
            else:
                p, q = moff[rare_idx[ri]], moff[rare_idx[ri] + 1]
                ri += 1
                src = mpool
            pool[o : o + q - p] = src[p:q]
            o += q - p
    # back to new-name order: the i-th new name is the next one of its group
    start = np.empty(n_new, dtype=np.int64)
    end = np.empty(n_new, dtype=np.int64)
    for i in range(n_new):
        g = grp[i]
        k = gbase[g]
        gbase[g] += 1
        start[i] = gstart[k]
        end[i] = gend[k]
    return pool, start, end, 0


@njit(cache=True, nogil=True)
def _assemble_pass(
    out,
    write,
    kinds,
    wtype,
    wlen,
    kpool,
    koff,
    npool,
    nstart,
    nend,
    occ_new,
    word_off,
    strkind,
    ppool,
    poff,
    qpool,
    qoff,
    texts,
    text_off,
    sbytes,
    s_start,
    s_end,
    n_esc,
):
    """The chunk's bytes, token by token: its whitespace (spaces, tabs or a spelled item), then its text
    (a fixed kind's text, a name, prefix + quote + text body + quote, '#' + comment body, a spelled error
    character). Names are ``occ_new`` (new-name index per occurrence: code names, then each text stream's
    words from ``word_off[m]``). Writes into ``out`` when ``write``, else only counts; returns the length."""
    o = 0
    ci = 0
    si = 0
    ei = 0
    ri = n_esc
    tp = text_off[:3].copy()
    wc = word_off[:3].copy()
    for i in range(kinds.shape[0]):
        t = wtype[i]
        if t == 2:
            o = _copy(out, o, sbytes, s_start[ei], s_end[ei], write)
            ei += 1
        elif write:
            ch = 32 if t == 0 else 9
            for _ in range(wlen[i]):
                out[o] = ch
                o += 1
        else:
            o += wlen[i]
        k = kinds[i]
        if k in (NAME, NUMBER):
            nm = occ_new[ci]
            ci += 1
            o = _copy(out, o, npool, nstart[nm], nend[nm], write)
        elif k in (STRING, COMMENT):
            sk = 0
            if k == STRING:
                sk = strkind[si]
                si += 1
                m = 1 if qoff[sk + 1] - qoff[sk] == 3 else 0
                o = _copy(out, o, ppool, poff[sk], poff[sk + 1], write)
                o = _copy(out, o, qpool, qoff[sk], qoff[sk + 1], write)
            else:
                m = 2
                if write:
                    out[o] = 35  # '#'
                o += 1
            p = tp[m]
            while True:
                s = texts[p]
                p += 1
                if s == T_END:
                    break
                if s == T_WORD:
                    nm = occ_new[wc[m]]
                    wc[m] += 1
                    o = _copy(out, o, npool, nstart[nm], nend[nm], write)
                else:
                    if write:
                        out[o] = (s - 2) & 0xFF
                    o += 1
            tp[m] = p
            if k == STRING:
                o = _copy(out, o, qpool, qoff[sk], qoff[sk + 1], write)
        elif k == ERR:
            o = _copy(out, o, sbytes, s_start[ri], s_end[ri], write)
            ri += 1
        else:
            o = _copy(out, o, kpool, koff[k], koff[k + 1], write)
    return o


@njit(cache=True, nogil=True)
def _assemble_kernel(
    kinds,
    wtype,
    wlen,
    kpool,
    koff,
    npool,
    nstart,
    nend,
    occ_new,
    word_off,
    strkind,
    ppool,
    poff,
    qpool,
    qoff,
    texts,
    text_off,
    sbytes,
    s_start,
    s_end,
    n_esc,
    limit,
):
    """Size the output (:func:`_assemble_pass` counting), then write it; (bytes, length), length -1 and
    nothing written when it is not ``limit`` (the chunk's known length; -1: unknown)."""
    args = (kinds, wtype, wlen, kpool, koff, npool, nstart, nend, occ_new, word_off, strkind, ppool, poff)
    more = (qpool, qoff, texts, text_off, sbytes, s_start, s_end, n_esc)
    n = _assemble_pass(kpool[:0], False, *args, *more)
    if limit >= 0 and n != limit:
        return kpool[:0], -1
    out = np.empty(n, dtype=np.uint8)
    _assemble_pass(out, True, *args, *more)
    return out, n


@njit(cache=True, nogil=True)
def _kind_contexts(kinds, dmap, is_nl, kind_class):
    """Decoder side of the kinds stream: checks it (one EOF, last; known kinds), then the layout streams'
    contexts as those streams need them (:func:`_layout_contexts`, line starts / the other tokens) and each
    string's context (class of the kind before it). ``ok`` False on a bad stream."""
    n = kinds.shape[0]
    ok = n > 0 and kinds[n - 1] == EOF
    for i in range(n):
        k = kinds[i]
        if k < 0 or k >= N_KINDS or (k == EOF and i < n - 1):
            ok = False
    if not ok:
        kinds = kinds[:0]
    line_start, line_kind, ctx_line, ctx_mid = _layout_kernel(kinds, dmap, is_nl, kind_class)
    n = kinds.shape[0]
    n_line = 0
    n_str = 0
    for i in range(n):
        n_line += line_start[i]
        n_str += kinds[i] == STRING
    cl = np.empty(n_line, dtype=np.int64)
    cm = np.empty(n - n_line, dtype=np.int64)
    sctx = np.empty(n_str, dtype=np.int64)
    a = 0
    b = 0
    c = 0
    for i in range(n):
        if line_start[i]:
            cl[a] = ctx_line[i]
            a += 1
        else:
            cm[b] = ctx_mid[i]
            b += 1
        if kinds[i] == STRING:
            sctx[c] = kind_class[kinds[i - 1]] if i > 0 else kind_class[EOF]
            c += 1
    return line_start, line_kind, cl, cm, sctx, ok


@njit(cache=True, nogil=True, inline="always")
def _name_pos(j):
    """Outermost name context (as ``_name_model_ctx``): log2 of the name's index, capped -- early names are
    more often new."""
    pos = 0
    while pos < N_NAME_POS - 1 and (j + 1) >> (pos + 1) > 0:
        pos += 1
    return pos * (N_NAME_CTX * N_NEXT)


@njit(cache=True, nogil=True)
def _name_occurrences(kinds, str_mode, texts, text_off, morph_group, next_class):
    """Every name occurrence in the order the names stream codes them: code names and numbers at their
    token, text words inside their string or comment body. Returns (order: occurrence index per coded name
    -- code names 0.., then the words of text0, text1, text2 --, model context as ``_name_model_ctx``,
    role, first occurrence index of each text stream's words, ok: the text streams match their tokens)."""
    n = kinds.shape[0]
    nw = np.zeros(3, dtype=np.int64)
    nb = np.zeros(3, dtype=np.int64)
    ok = True
    for m in range(3):
        for p in range(text_off[m], text_off[m + 1]):
            nw[m] += texts[p] == T_WORD
            nb[m] += texts[p] == T_END
        if text_off[m + 1] > text_off[m] and texts[text_off[m + 1] - 1] != T_END:
            ok = False
    nn = 0
    ntok = np.zeros(3, dtype=np.int64)
    si = 0
    for i in range(n):
        k = kinds[i]
        if k in (NAME, NUMBER):
            nn += 1
        elif k == STRING:
            ntok[1 if str_mode[si] else 0] += 1
            si += 1
        elif k == COMMENT:
            ntok[2] += 1
    word_off = np.empty(3, dtype=np.int64)
    word_off[0] = nn
    word_off[1] = nn + nw[0]
    word_off[2] = nn + nw[0] + nw[1]
    total = nn + nw[0] + nw[1] + nw[2]
    if not ok or nb[0] != ntok[0] or nb[1] != ntok[1] or nb[2] != ntok[2]:
        total = 0
        ok = False
    order = np.empty(total, dtype=np.int64)
    mctx = np.empty(total, dtype=np.int32)
    role = np.empty(total, dtype=np.int32)
    if not ok:
        return order, mctx, role, word_off, ok
    wc = word_off.copy()
    tp = text_off[:3].copy()
    j = 0
    ci = 0
    si = 0
    prev = EOF
    for i in range(n):
        k = kinds[i]
        if k in (NAME, NUMBER):
            c = prev if k == NAME else CTX_NUMBER
            order[j] = ci
            ci += 1
            mctx[j] = _name_pos(j) + c * N_NEXT + next_class[kinds[min(i + 1, n - 1)]]
            role[j] = morph_group[c]
            j += 1
        elif k in (STRING, COMMENT):
            m = 2
            if k == STRING:
                m = 1 if str_mode[si] else 0
                si += 1
            c = CTX_TEXT0 + m
            p = tp[m]
            while texts[p] != T_END:
                if texts[p] == T_WORD:
                    order[j] = wc[m]
                    wc[m] += 1
                    mctx[j] = _name_pos(j) + c * N_NEXT
                    role[j] = morph_group[c]
                    j += 1
                p += 1
            tp[m] = p + 1
        prev = k
    return order, mctx, role, word_off, ok


@njit(cache=True, nogil=True)
def _spell_items(spell):
    """The spell stream's items (layout literals, error characters, unknown morphemes; each ends with END):
    (bytes, start, end, length in characters -- an escaped indentation counts characters --, ok)."""
    n = spell.shape[0]
    sbytes = np.empty(n, dtype=np.uint8)
    n_items = 0
    for p in range(n):
        sbytes[p] = (spell[p] - 1) & 0xFF
        n_items += spell[p] == 0
    ok = n == 0 or spell[n - 1] == 0
    start = np.empty(n_items, dtype=np.int64)
    end = np.empty(n_items, dtype=np.int64)
    chars = np.empty(n_items, dtype=np.int64)
    a = 0
    c = 0
    it = 0
    for p in range(n):
        if spell[p] == 0:
            start[it] = a
            end[it] = p
            chars[it] = c
            it += 1
            a = p + 1
            c = 0
        elif (sbytes[p] & 0xC0) != 0x80:  # a UTF-8 lead byte
            c += 1
    return sbytes, start, end, chars, ok


# ---------------------------------------------------------------- training
N_MORPHEMES = 30000


def train_tables(datas: list[bytes], n_morphemes: int = N_MORPHEMES) -> dict[str, np.ndarray]:
    """Build the vocabularies and every stream's table from training files (see ``qyn1.train``)."""
    from collections import Counter

    texts = []
    for d in datas:
        try:
            texts.append(d.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    # 1. frequent names become kinds
    base = Vocab([f"\0{i}" for i in range(N_FREQ_NAMES)], [])
    name_counts: Counter = Counter()
    for t in texts:
        for tok in LEX.findall(t):
            if tok not in base.fixed and _classify(tok) == NAME:
                name_counts[tok] += 1
    freq_names = [nm for nm, _ in name_counts.most_common(N_FREQ_NAMES)]
    # 2. morpheme table from first occurrences per file (names, numbers, words)
    v0 = Vocab(freq_names, [])
    whole: Counter = Counter()
    parts: Counter = Counter()
    seen_in: list[set[str]] = [set(), set()]  # names and parts of the even / odd training files
    for i, t in enumerate(texts):
        for nm in _first_names(t, v0):
            whole[nm] += 1
            seen_in[i % 2].add(nm)
            for p in split_name(nm):
                parts[p] += 1
                seen_in[i % 2].add(p)
    cand = Counter()
    for p, c in parts.items():
        cand[p] += c
    for nm, c in whole.items():
        if len(split_name(nm)) > 1 and c >= 3:
            cand[nm] += c * (len(split_name(nm)) - 1)  # saving of coding it as one symbol
    morphemes = [m for m, _ in cand.most_common(n_morphemes)]
    v = Vocab(freq_names, morphemes)
    # The streams are counted as a held-out file would see them: a training file's new names are spelled with
    # the table restricted to the morphemes the *other* half of the training files has. Every morpheme of a
    # training file is in a table built from those files, so ESC and the spelled bytes would otherwise get
    # far too little weight (the held-out files have unknown parts in most new names).
    fold_vocab = []
    for f in range(2):
        vf = Vocab(freq_names, morphemes)
        vf.morph_sym = {m: x for m, x in v.morph_sym.items() if m in seen_in[1 - f]}
        fold_vocab.append(vf)
    # 3. count every stream with its contexts
    shapes = model_shapes(v)
    counts = {}
    for name, sh in shapes.items():
        o1n = int(sh.get("o1map", np.zeros(1, dtype=np.int32)).max()) + 1
        o2n = int(sh.get("o2map", np.zeros(1, dtype=np.int32)).max()) + 1
        o3n = int(sh.get("o3map", np.zeros(1, dtype=np.int32)).max()) + 1
        dn = 2 if "dmap" in sh else 1
        if "sparse" in sh:
            counts[name] = []  # (full context, symbol) pairs, counted below
        else:
            counts[name] = np.zeros((sh["next_"] * o3n * o2n * o1n * dn, sh["nsym"]), dtype=np.float64)
    for i, t in enumerate(texts):
        st = analyze(t, fold_vocab[i % 2])
        for name, sh in shapes.items():
            syms, ext = st[name]
            if len(syms) == 0:
                continue
            ctx = _contexts(sh, syms, ext)
            if "match" in sh:
                coded, flag = rans.match_symbols(
                    np.ascontiguousarray(syms, dtype=np.int32), sh["match"], sh["nsym"]
                )
                counts[name].append(np.stack((ctx, flag, coded)))
            elif "sparse" in sh:
                counts[name].append(ctx * sh["nsym"] + syms)
            else:
                np.add.at(counts[name], (ctx, syms), 1)
    out: dict[str, np.ndarray] = {}
    for name, sh in shapes.items():
        if "match" in sh:
            c, ctxmap, rowmap = _match_rows(sh, np.concatenate(counts[name], axis=1))
            out[f"py.{name}.ctxmap"] = ctxmap.astype(np.uint16 if len(c) < 65536 else np.int32)
            out[f"py.{name}.rowmap"] = rowmap.astype(np.uint16 if len(c) < 65536 else np.int32)
            out[f"py.{name}.match"] = np.array(sh["match"])
            if "o3map" in sh:
                out[f"py.{name}.o3map"] = sh["o3map"].astype(np.int32)
        elif "sparse" in sh:
            c, ctxmap = _sparse_rows(sh, np.concatenate(counts[name]))
            out[f"py.{name}.ctxmap"] = ctxmap.astype(np.uint16 if len(c) < 65536 else np.int32)
            if "o3map" in sh:
                out[f"py.{name}.o3map"] = sh["o3map"].astype(np.int32)
        else:
            c = counts[name]
        # smoothing: a little of the stream's overall distribution plus a floor
        overall = c.sum(axis=0) + 1
        c = c + 0.02 + 0.5 * overall / overall.sum()
        if name == "morphx":  # the last tier is shorter: its unused entries get only the 1-slot floor
            for t in range(len(c)):
                tier = t % max(v.n_morph_tiers, 1)
                c[t, max(0, len(morphemes) - MORPH_DIRECT - tier * MORPH_TIER) :] = 0
        out[f"py.{name}.freq"] = rans.quantize(c, sh["scale"]).astype(np.uint16)
        out[f"py.{name}.scale"] = np.array(sh["scale"])
        if sh.get("search"):
            # an identity context map: the decoder takes the binary-search path instead of building a slot
            # table (8 bytes per slot: 2.4 MB for each morpheme stream), symbols of these streams are few
            out[f"py.{name}.ctxmap"] = np.arange(len(c), dtype=np.int32)
        if "o1map" in sh:
            out[f"py.{name}.o1map"] = sh["o1map"].astype(np.int32)
        if "o2map" in sh:
            out[f"py.{name}.o2map"] = sh["o2map"].astype(np.int32)
        if "dmap" in sh:
            out[f"py.{name}.dmap"] = sh["dmap"].astype(np.int32)
    out["vocab.freq_names"] = np.frombuffer("\0".join(freq_names).encode("utf-8"), dtype=np.uint8)
    out["vocab.morphemes"] = np.frombuffer("\0".join(morphemes).encode("utf-8"), dtype=np.uint8)
    return out


def _match_rows(sh: dict, triples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, context map and row map of a match-model stream from (full context, match flag, coded symbol)
    triples. The context map is that of :func:`_sparse_rows` (full contexts seen ``sh["sparse"]`` times keep
    their own base row, the others share their order-2 row); a (base context, flag) pair gets its own row
    when seen as often, else an (order-2 context, flag) row when that was, else the base row. Counts are
    those of the symbols each row actually serves."""
    nsym = sh["nsym"] + 1
    nf = rans.MATCH_NFLAG
    thr = sh["sparse"]
    ctx, flag, sym = triples[0], triples[1], triples[2]
    if "o1map" in sh:
        o1n = int(sh["o1map"].max()) + 1
        o2n = int(sh["o2map"].max()) + 1
        o3n = int(sh["o3map"].max()) + 1
        inner = o2n * o1n * (2 if "dmap" in sh else 1)
        full = o3n * inner
    else:  # contexts from ext only: every context seen is a base row
        inner = full = sh["next_"]
    u, inv, ucnt = np.unique(ctx, return_inverse=True, return_counts=True)
    ub, binv = np.unique(u % inner, return_inverse=True)
    keep = (ucnt >= thr) & (inner < full)
    n_base = 1 + len(ub) + int(keep.sum())
    base_of_u = np.where(keep, 1 + len(ub) + np.cumsum(keep) - 1, 1 + binv)
    ctxmap = np.zeros(full, dtype=np.int64)  # base row 0: the default (no data: smoothing only)
    ctxmap.reshape(full // inner, inner)[:, ub] = 1 + np.arange(len(ub))
    ctxmap[u[keep]] = base_of_u[keep]
    base = base_of_u[inv]
    inner_base = (1 + binv)[inv]
    rowmap = np.repeat(np.arange(n_base, dtype=np.int64), nf)
    n_rows = n_base
    k2, c2 = np.unique(inner_base * nf + flag, return_counts=True)
    k2 = k2[c2 >= thr]
    rowmap_inner = rowmap.copy()
    rowmap_inner[k2] = n_rows + np.arange(len(k2))
    n_rows += len(k2)
    # kept base contexts fall back to their order-2 (context, flag) row
    kb = 1 + len(ub) + np.arange(int(keep.sum()))
    kb_inner = 1 + binv[keep]
    for f in range(nf):
        alt = rowmap_inner[kb_inner * nf + f]
        rowmap_inner[kb * nf + f] = np.where(alt >= n_base, alt, kb)
    rowmap = rowmap_inner
    sel = base > len(ub)
    k3, c3 = np.unique(base[sel] * nf + flag[sel], return_counts=True)
    k3 = k3[c3 >= thr]
    rowmap[k3] = n_rows + np.arange(len(k3))
    n_rows += len(k3)
    cnt = np.zeros((n_rows, nsym))
    np.add.at(cnt, (rowmap[base * nf + flag], sym), 1)
    return cnt, ctxmap, rowmap


def _sparse_rows(sh: dict, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and context map of a sparse model: full contexts seen ``sh["sparse"]`` times get their own row;
    the others share the row of their context without the outermost (order-3) part, or a default row."""
    nsym = sh["nsym"]
    if "sparse_inner" in sh:  # contexts from ext only: outermost part of ext dropped for the backoff
        inner = sh["sparse_inner"]
        full = sh["next_"]
    else:
        o1n = int(sh["o1map"].max()) + 1
        o2n = int(sh["o2map"].max()) + 1
        o3n = int(sh["o3map"].max()) + 1
        inner = o2n * o1n * (2 if "dmap" in sh else 1)
        full = o3n * inner
    ctx, sym = pairs // nsym, pairs % nsym
    u, inv = np.unique(ctx, return_inverse=True)
    cnt = np.zeros((len(u), nsym))
    np.add.at(cnt, (inv, sym), 1)
    ub, binv = np.unique(u % inner, return_inverse=True)
    bcnt = np.zeros((len(ub), nsym))
    np.add.at(bcnt, binv, cnt)
    keep = cnt.sum(axis=1) >= sh["sparse"]
    rows = np.concatenate((np.zeros((1, nsym)), bcnt, cnt[keep]))
    ctxmap = np.zeros(full, dtype=np.int64)  # row 0: the default (no data: smoothing only)
    view = ctxmap.reshape(full // inner, inner)
    view[:, ub] = 1 + np.arange(len(ub))
    ctxmap[u[keep]] = 1 + len(ub) + np.arange(int(keep.sum()))
    return rows, ctxmap


def _contexts(sh: dict, syms: np.ndarray, ext) -> np.ndarray:
    o1 = sh.get("o1map")
    o2 = sh.get("o2map")
    o3 = sh.get("o3map")
    o1n = int(o1.max()) + 1 if o1 is not None else 1
    o2n = int(o2.max()) + 1 if o2 is not None else 1
    o3n = int(o3.max()) + 1 if o3 is not None else 1
    n = len(syms)
    ctx = np.zeros(n, dtype=np.int64) if ext is None else np.asarray(ext, dtype=np.int64) * o3n
    if o3 is not None:
        p3 = np.zeros(n, dtype=np.int64)
        p3[3:] = syms[:-3]
        ctx += o3[p3]
    ctx *= o2n
    if o2 is not None:
        p2 = np.zeros(n, dtype=np.int64)
        p2[2:] = syms[:-2]
        ctx += o2[p2]
    ctx *= o1n
    if o1 is not None:
        p1 = np.zeros(n, dtype=np.int64)
        p1[1:] = syms[:-1]
        ctx += o1[p1]
    dmap = sh.get("dmap")
    if dmap is not None:
        d = np.cumsum(dmap[np.asarray(syms, dtype=np.int64)])
        ctx = ctx * 2 + (np.concatenate(([0], d[:-1])) > 0)
    return ctx


def _first_names(text: str, v: Vocab) -> list[str]:
    toks = LEX.findall(text)
    seen = set()
    out = []
    for tok in toks:
        if tok in v.fixed:
            continue
        k = _classify(tok)
        cands = []
        if k in (NAME, NUMBER):
            cands = [tok]
        elif k in (STRING, COMMENT):
            cands = _WORD.findall(tok)
        for c in cands:
            if c not in seen:
                seen.add(c)
                out.append(c)
    return out
