"""The encoder's analysis of a chunk in compiled code: :func:`scan` lexes the text exactly as ``tokens.LEX`` does,
classifies every token (``tokens._classify`` and the fixed kinds), and builds the kinds, the whitespace before
each token, the string kinds, the three text streams (``text._text_symbols``) and every name occurrence with its
first-occurrence id -- one Numba call that releases the GIL, no Python object per token.

``qyn1.python.pipeline.analyze`` builds the chunk's streams from it; ``qyn1.python.reference.analyze`` is the
slow twin (``LEX.findall`` and Python per token) that ``tests/qyn1/test_scan.py`` compares it with.

The lexer works on code points (the text as UTF-32) with a flag byte per code point: ``\\w`` (alphanumeric or
``_``: what ``re`` matches), ``\\d`` (``str.isdecimal``: what ``re``'s ``\\d`` matches) and ``str.isdigit``
(``_classify``'s test). ASCII flags come from a table, the others from ``str`` methods of each distinct
non-ASCII code point of the chunk, so Unicode identifiers and digits lex as ``re`` lexes them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.python.tokens import (
    COMMENT,
    CTX_NUMBER,
    CTX_TEXT0,
    EOF,
    ERR,
    M_END,
    M_ESC,
    NAME,
    NUMBER,
    STRING,
    T_END,
    T_WORD,
    WS,
)

# the kernels read constants of these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.python.tokens"])

F_WORD, F_DECIMAL, F_DIGIT = 1, 2, 4  # flag bits of a code point: re's \w, re's \d (isdecimal), str.isdigit
ERR_SPLIT = 1  # a string token that does not split into prefix and quotes (cannot happen with the lexer)


def _flags_of(ch: str) -> int:
    return (
        (F_WORD if ch.isalnum() or ch == "_" else 0)
        | (F_DECIMAL if ch.isdecimal() else 0)
        | (F_DIGIT if ch.isdigit() else 0)
    )


_ASCII_FLAGS = np.array([_flags_of(chr(c)) for c in range(128)], dtype=np.uint8)


def code_points(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The text's code points (uint32) and the flag byte of each."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    flags = np.empty(len(cp), dtype=np.uint8)
    if _ascii_flags(cp, _ASCII_FLAGS, flags):  # one pass (numpy's masks and gather took 4x as long)
        return cp, flags
    other = cp >= 128  # the kernel set the flags of the others
    uniq, inv = np.unique(cp[other], return_inverse=True)
    flags[other] = np.array([_flags_of(chr(c)) for c in uniq.tolist()], dtype=np.uint8)[inv]
    return cp, flags


@njit(cache=True, nogil=True)
def _ascii_flags(cp, table, out):
    """``out[i] = table[cp[i]]`` for the ASCII code points; False when some code point is not ASCII."""
    ascii_ = True
    for i in range(cp.shape[0]):
        c = cp[i]
        if c < 128:
            out[i] = table[c]
        else:
            ascii_ = False
    return ascii_


# ---------------------------------------------------------------- the fixed kinds as a hash table
@njit(cache=True, nogil=True)
def _span_hash(cp, a, b):
    h = np.uint64(14695981039346656037)
    for i in range(a, b):
        h = (h ^ np.uint64(cp[i])) * np.uint64(1099511628211)
    return h


class SpanTable(NamedTuple):
    """Strings as an open-addressing hash table over their code points: ``pool[off[j]:off[j + 1]]`` is string
    ``j``, ``slots`` holds string indices (-1 empty); a later duplicate replaces an earlier one (as in a dict)."""

    pool: np.ndarray
    off: np.ndarray
    slots: np.ndarray
    max_len: int


def span_table(strs: list[str]) -> SpanTable:
    pool = np.frombuffer("".join(strs).encode("utf-32-le"), dtype=np.uint32).copy()
    off = np.zeros(len(strs) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(t) for t in strs])
    return _span_table(pool, off)


def utf8_span_table(pool: np.ndarray, off: np.ndarray) -> SpanTable:
    """:func:`span_table` of the strings of a UTF-8 byte pool (``tokens._byte_pool``), without making them:
    a string's code points are its bytes that do not continue a sequence (``10xxxxxx``)."""
    starts = np.zeros(len(pool) + 1, dtype=np.int64)
    np.cumsum((pool & 0xC0) != 0x80, out=starts[1:])
    cp = np.frombuffer(pool.tobytes().decode("utf-8").encode("utf-32-le"), dtype=np.uint32).copy()
    return _span_table(cp, starts[off])


def _span_table(pool: np.ndarray, off: np.ndarray) -> SpanTable:
    n = len(off) - 1
    size = 1 << max(4, (4 * n).bit_length())
    return SpanTable(pool, off, _build_slots(pool, off, size), int(np.diff(off).max()) if n else 0)


@njit(cache=True, nogil=True)
def _build_slots(pool, off, size):
    slots = np.full(size, -1, dtype=np.int32)
    mask = size - 1
    for j in range(off.shape[0] - 1):
        s = np.int64(_span_hash(pool, off[j], off[j + 1]) & np.uint64(mask))
        while True:
            k = slots[s]
            if k < 0 or _same(pool, off[j], off[j + 1], pool, off[k], off[k + 1]):
                slots[s] = j
                break
            s = (s + 1) & mask
    return slots


@njit(cache=True, nogil=True)
def _same(cp, a, b, pool, pa, pb):
    if b - a != pb - pa:
        return False
    for i in range(b - a):  # noqa: SIM110 (a loop Numba compiles without a generator)
        if cp[a + i] != pool[pa + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _lookup(cp, a, b, pool, off, slots, max_len):
    """Index of the string ``cp[a:b]`` in a :class:`SpanTable`, or -1."""
    if b - a > max_len:
        return -1
    mask = slots.shape[0] - 1
    s = np.int64(_span_hash(cp, a, b) & np.uint64(mask))
    while slots[s] >= 0:
        j = slots[s]
        if _same(cp, a, b, pool, off[j], off[j + 1]):
            return j
        s = (s + 1) & mask
    return -1


class VocabTables(NamedTuple):
    """A :class:`~qyn1.python.tokens.Vocab` as the kernels read it: the fixed token texts with their kinds, the
    morphemes with their symbol and index within a tier (-1: a direct symbol)."""

    fixed: SpanTable
    fixed_kind: np.ndarray
    fixed_first: np.ndarray  # per ASCII code point: some fixed text starts with it
    morph: SpanTable
    morph_sym: np.ndarray
    morph_tier_index: np.ndarray


def vocab_tables(v) -> VocabTables:
    fixed = list(v.fixed.items())
    fixed_tables = (
        span_table([t for t, _ in fixed]),
        np.array([k for _, k in fixed], dtype=np.int32),
        np.array([any(t[:1] == chr(c) for t, _ in fixed) for c in range(128)], dtype=np.bool_),
    )
    if "morph_sym" not in vars(v):  # every morpheme is coded: the tables straight from the byte pool
        return VocabTables(*fixed_tables, utf8_span_table(*v.morph_pool), *v.morph_symbols())
    # only the morphemes the vocabulary codes: training restricts ``morph_sym`` to those of the other half of
    # the training files (``train.train_tables``), so that a file spells the others as a held-out file would
    morphemes = [m for m in v.morphemes if m in v.morph_sym]
    ms = [v.morph_sym[m] for m in morphemes]
    return VocabTables(
        *fixed_tables,
        span_table(morphemes),
        np.array([s for s, _ in ms], dtype=np.int32),
        np.array([i for _, i in ms], dtype=np.int32),
    )


# ---------------------------------------------------------------- the lexer (tokens.LEX, alternative by alternative)
@njit(cache=True, nogil=True)
def _is_prefix(c):  # [rRbBuUfF]
    return c == 114 or c == 82 or c == 98 or c == 66 or c == 117 or c == 85 or c == 102 or c == 70


@njit(cache=True, nogil=True)
def _is_quote(c):
    return c == 39 or c == 34


@njit(cache=True, nogil=True)
def _quoted_end(cp, s, n):
    """End of the quoted literal whose first quote is at ``s`` (LEX: triple quotes first, then single;
    the first unescaped closing quote(s); a single-quoted literal stops at a newline), or -1."""
    q = cp[s]
    if s + 2 < n and cp[s + 1] == q and cp[s + 2] == q:
        i = s + 3
        while i < n:
            c = cp[i]
            if c == 92:
                if i + 1 >= n:
                    break
                i += 2
            elif c == q and i + 2 < n and cp[i + 1] == q and cp[i + 2] == q:
                return i + 3
            else:
                i += 1
    i = s + 1
    while i < n:
        c = cp[i]
        if c == 10:
            return -1
        if c == q:
            return i + 1
        if c == 92:
            if i + 1 >= n:
                return -1
            i += 2
        else:
            i += 1
    return -1


@njit(cache=True, nogil=True)
def _op_len(cp, p, n):
    """Length of the operator at ``p`` (LEX's ``_OPS``, alternatives in order), 0 if none."""
    c = cp[p]
    c1 = cp[p + 1] if p + 1 < n else 0
    c2 = cp[p + 2] if p + 2 < n else 0
    if (c == 42 and c1 == 42) or (c == 47 and c1 == 47) or (c == 60 and c1 == 60) or (c == 62 and c1 == 62):
        return 3 if c2 == 61 else 2  # ** // << >> with an optional =
    if c == 45 and c1 == 62:  # ->
        return 2
    if c == 46 and c1 == 46 and c2 == 46:  # ...
        return 3
    if c == 33 and c1 == 61:  # !=
        return 2
    # [-+*/%&|^@<>=:]=?
    if c == 45 or c == 43 or c == 42 or c == 47 or c == 37 or c == 38 or c == 124 or c == 94 or c == 64:
        return 2 if c1 == 61 else 1
    if c == 60 or c == 62 or c == 61 or c == 58:
        return 2 if c1 == 61 else 1
    # [()\[\]{},;.~]
    if c == 40 or c == 41 or c == 91 or c == 93 or c == 123 or c == 125 or c == 44 or c == 59 or c == 46:
        return 1
    if c == 126:
        return 1
    return 0


@njit(cache=True, nogil=True)
def _lex(cp, flags):
    """Token start offsets (one more: the end) of LEX.findall over the code points."""
    n = cp.shape[0]
    starts = np.empty(n + 1, dtype=np.int64)
    nt = 0
    p = 0
    while p < n:
        starts[nt] = p
        nt += 1
        c = cp[p]
        # (?:[ \t\f]|\\(?:\r\n|\n|\r))+
        q = p
        while q < n:
            d = cp[q]
            if d == 32 or d == 9 or d == 12:
                q += 1
            elif d == 92 and q + 1 < n and (cp[q + 1] == 10 or cp[q + 1] == 13):
                q += 3 if cp[q + 1] == 13 and q + 2 < n and cp[q + 2] == 10 else 2
            else:
                break
        if q > p:
            p = q
            continue
        # (?![rRbBuUfF]{1,2}['"])[^\W\d]\w*
        string_ahead = _is_prefix(c) and (
            (p + 1 < n and _is_quote(cp[p + 1]))
            or (p + 2 < n and _is_prefix(cp[p + 1]) and _is_quote(cp[p + 2]))
        )
        if not string_ahead and (flags[p] & F_WORD) and not (flags[p] & F_DECIMAL):
            q = p + 1
            while q < n and (flags[q] & F_WORD):
                q += 1
            p = q
            continue
        k = _op_len(cp, p, n)
        if k:
            p += k
            continue
        # \r\n|\n|\r
        if c == 13:
            p += 2 if p + 1 < n and cp[p + 1] == 10 else 1
            continue
        if c == 10:
            p += 1
            continue
        # [rRbBuUfF]{0,2}(?:TDQ|TSQ|DQ|SQ): the quote right after the prefix letters
        s = p
        while s < p + 2 and s < n and _is_prefix(cp[s]):
            s += 1
        if s < n and _is_quote(cp[s]):
            e = _quoted_end(cp, s, n)
            if e >= 0:
                p = e
                continue
        # \.?\d(?:[\w.]|(?<=[eE])[-+])*  ('.' is always an operator above)
        if flags[p] & F_DECIMAL:
            q = p + 1
            while q < n:
                d = cp[q]
                if (
                    (flags[q] & F_WORD)
                    or d == 46
                    or ((d == 45 or d == 43) and (cp[q - 1] == 101 or cp[q - 1] == 69))
                ):
                    q += 1
                else:
                    break
            p = q
            continue
        # #[^\r\n]*
        if c == 35:
            q = p + 1
            while q < n and cp[q] != 10 and cp[q] != 13:
                q += 1
            p = q
            continue
        p += 1  # [\s\S]
    starts[nt] = n
    return starts[: nt + 1]


@njit(cache=True, nogil=True)
def _classify(cp, flags, a, b):
    """``tokens._classify`` of the token [a, b)."""
    c = cp[a]
    if c == 32 or c == 9 or c == 12 or (c == 92 and b - a > 1):
        return WS
    if c == 35:
        return COMMENT
    if b - a >= 2 and _is_quote(cp[b - 1]):
        return STRING
    if (flags[a] & F_DIGIT) or c == 46:
        return NUMBER
    if b - a == 1 and not (flags[a] & F_WORD):
        return ERR
    return NAME


@njit(cache=True, nogil=True)
def _prefix_index(c):  # position in "rRbBuUfF"
    if c == 114:
        return 0
    if c == 82:
        return 1
    if c == 98:
        return 2
    if c == 66:
        return 3
    if c == 117:
        return 4
    if c == 85:
        return 5
    if c == 102:
        return 6
    return 7


@njit(cache=True, nogil=True)
def _split_string(cp, a, b):
    """``tokens._split_string`` of the token [a, b): (string kind, body start, body end), kind -1 if none."""
    i = 0
    while i < 2 and a + i < b and _is_prefix(cp[a + i]):
        i += 1
    if i == 0:
        pre = 0
    elif i == 1:
        pre = 1 + _prefix_index(cp[a])
    else:
        pre = 9 + 8 * _prefix_index(cp[a]) + _prefix_index(cp[a + 1])
    r = a + i
    m = b - r
    for qi in (3, 2, 1, 0):  # STR_QUOTES = ' " ''' """, tried as """ ''' " '
        qc = 34 if qi == 1 or qi == 3 else 39
        ql = 3 if qi >= 2 else 1
        if m < 2 * ql:
            continue
        ok = True
        for j in range(ql):
            if cp[r + j] != qc or cp[b - 1 - j] != qc:
                ok = False
        if ok:
            return pre * 4 + qi, r + ql, b - ql
    return -1, 0, 0


# ---------------------------------------------------------------- streams
@njit(cache=True, nogil=True)
def _ascii_word(c):  # [A-Za-z0-9_]
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95


@njit(cache=True, nogil=True)
def _put_body(cp, a, b, out, no, occ_a, occ_b, occ_ctx, occ_tok, nocc, ctx, tok):
    """Text symbols of the body [a, b) (bytes + 2, an ASCII word not starting with a digit as WORD, END) from
    ``out[no]``; its words as name occurrences from ``nocc``. Returns the new (no, nocc)."""
    j = a
    while j < b:
        c = cp[j]
        if c < 128 and _ascii_word(c):
            k = j + 1
            while k < b and cp[k] < 128 and _ascii_word(cp[k]):
                k += 1
            if 48 <= c <= 57:
                for i in range(j, k):
                    out[no] = cp[i] + 2
                    no += 1
            else:
                out[no] = T_WORD
                no += 1
                occ_a[nocc] = j
                occ_b[nocc] = k
                occ_ctx[nocc] = ctx
                occ_tok[nocc] = tok
                nocc += 1
            j = k
            continue
        if c < 0x80:
            out[no] = c + 2
            no += 1
        elif c < 0x800:
            out[no] = (0xC0 | (c >> 6)) + 2
            out[no + 1] = (0x80 | (c & 0x3F)) + 2
            no += 2
        elif c < 0x10000:
            out[no] = (0xE0 | (c >> 12)) + 2
            out[no + 1] = (0x80 | ((c >> 6) & 0x3F)) + 2
            out[no + 2] = (0x80 | (c & 0x3F)) + 2
            no += 3
        else:
            out[no] = (0xF0 | (c >> 18)) + 2
            out[no + 1] = (0x80 | ((c >> 12) & 0x3F)) + 2
            out[no + 2] = (0x80 | ((c >> 6) & 0x3F)) + 2
            out[no + 3] = (0x80 | (c & 0x3F)) + 2
            no += 4
        j += 1
    out[no] = T_END
    return no + 1, nocc


@njit(cache=True, nogil=True)
def _first_ids(cp, occ_a, occ_b):
    """First-occurrence id of each name occurrence (equal code points, equal id) and the number of names."""
    n = occ_a.shape[0]
    size = 16
    while size < 2 * n:
        size *= 2
    mask = size - 1
    slot_occ = np.full(size, -1, dtype=np.int64)
    slot_id = np.empty(size, dtype=np.int32)
    ids = np.empty(n, dtype=np.int32)
    n_names = 0
    for i in range(n):
        a = occ_a[i]
        b = occ_b[i]
        s = np.int64(_span_hash(cp, a, b) & np.uint64(mask))
        while True:
            j = slot_occ[s]
            if j < 0:
                slot_occ[s] = i
                slot_id[s] = n_names
                ids[i] = n_names
                n_names += 1
                break
            if _same(cp, a, b, cp, occ_a[j], occ_b[j]):
                ids[i] = slot_id[s]
                break
            s = (s + 1) & mask
    return ids, n_names


@njit(cache=True, nogil=True)
def _scan_kernel(cp, flags, pool, off, slots, max_len, kind, first):
    n = cp.shape[0]
    starts = _lex(cp, flags)
    nlex = starts.shape[0] - 1
    # kinds of the tokens that are not whitespace, the whitespace before each (and before EOF)
    kinds = np.empty(nlex + 1, dtype=np.int32)
    tok_a = np.empty(nlex + 1, dtype=np.int64)
    tok_b = np.empty(nlex + 1, dtype=np.int64)
    ws_a = np.empty(nlex + 1, dtype=np.int64)
    wtype = np.zeros(nlex + 1, dtype=np.int32)
    wlen = np.zeros(nlex + 1, dtype=np.int64)
    nt = 0
    wa = -1
    for t in range(nlex):
        a = starts[t]
        b = starts[t + 1]
        c = cp[a]
        j = _lookup(cp, a, b, pool, off, slots, max_len) if c >= 128 or first[c] else -1
        k = kind[j] if j >= 0 else _classify(cp, flags, a, b)
        if k == WS:
            wa = a
            continue
        kinds[nt] = k
        tok_a[nt] = a
        tok_b[nt] = b
        ws_a[nt] = a if wa < 0 else wa
        wa = -1
        nt += 1
    kinds[nt] = EOF
    tok_a[nt] = n
    tok_b[nt] = n
    ws_a[nt] = n if wa < 0 else wa
    nt += 1
    for i in range(nt):
        a = ws_a[i]
        b = tok_a[i]
        if b > a:
            sp = True
            tb = True
            for j in range(a, b):
                sp = sp and cp[j] == 32
                tb = tb and cp[j] == 9
            wtype[i] = 0 if sp else (1 if tb else 2)
            wlen[i] = b - a
    # strings and comments -> text streams; names, numbers and words -> name occurrences in token order
    n_str = 0
    for i in range(nt):
        if kinds[i] == STRING:
            n_str += 1
    strkind = np.empty(n_str, dtype=np.int32)
    str_tok = np.empty(n_str, dtype=np.int64)
    nbytes = n  # UTF-8 length of the text: bounds each text stream (plus one END per body)
    for i in range(n):
        c = cp[i]
        if c >= 0x80:
            nbytes += 1 if c < 0x800 else (2 if c < 0x10000 else 3)
    texts = np.empty((3, nbytes + nt), dtype=np.int32)
    tn = np.zeros(3, dtype=np.int64)
    occ_a = np.empty(n, dtype=np.int64)
    occ_b = np.empty(n, dtype=np.int64)
    occ_ctx = np.empty(n, dtype=np.int32)
    occ_tok = np.empty(n, dtype=np.int64)
    nocc = 0
    js = 0
    err = 0
    for i in range(nt):
        k = kinds[i]
        if k == NAME or k == NUMBER:  # noqa: SIM109 (plain compares compile to two integer tests)
            occ_a[nocc] = tok_a[i]
            occ_b[nocc] = tok_b[i]
            occ_ctx[nocc] = (kinds[i - 1] if i > 0 else EOF) if k == NAME else CTX_NUMBER
            occ_tok[nocc] = i
            nocc += 1
        elif k == STRING:
            sk, ba, bb = _split_string(cp, tok_a[i], tok_b[i])
            if sk < 0:
                err = ERR_SPLIT
                break
            m = 1 if sk % 4 >= 2 else 0
            strkind[js] = sk
            str_tok[js] = i
            js += 1
            no, nocc = _put_body(
                cp, ba, bb, texts[m], tn[m], occ_a, occ_b, occ_ctx, occ_tok, nocc, CTX_TEXT0 + m, i
            )
            tn[m] = no
        elif k == COMMENT:
            no, nocc = _put_body(
                cp,
                tok_a[i] + 1,
                tok_b[i],
                texts[2],
                tn[2],
                occ_a,
                occ_b,
                occ_ctx,
                occ_tok,
                nocc,
                CTX_TEXT0 + 2,
                i,
            )
            tn[2] = no
    ids, n_names = _first_ids(cp, occ_a[:nocc], occ_b[:nocc])
    new_a = np.empty(n_names, dtype=np.int64)
    new_b = np.empty(n_names, dtype=np.int64)
    seen = 0
    for i in range(nocc):
        if ids[i] == seen:
            new_a[seen] = occ_a[i]
            new_b[seen] = occ_b[i]
            seen += 1
    return (
        err,
        kinds[:nt].copy(),
        tok_a[:nt].copy(),
        tok_b[:nt].copy(),
        ws_a[:nt].copy(),
        wtype[:nt].copy(),
        wlen[:nt].copy(),
        strkind,
        str_tok,
        texts[0, : tn[0]].copy(),
        texts[1, : tn[1]].copy(),
        texts[2, : tn[2]].copy(),
        occ_ctx[:nocc].copy(),
        occ_tok[:nocc].copy(),
        ids,
        new_a,
        new_b,
    )


def scan(cp: np.ndarray, flags: np.ndarray, t: VocabTables) -> tuple:
    """Lex and classify the code points ``cp`` (``code_points``) with the vocabulary ``t``: see
    :func:`_scan_kernel`'s return for the arrays."""
    return _scan_kernel(cp, flags, *t.fixed, t.fixed_kind, t.fixed_first)


# ---------------------------------------------------------------- new names as morphemes
@njit(cache=True, nogil=True)
def _upper(c):
    return 65 <= c <= 90


@njit(cache=True, nogil=True)
def _lower(c):
    return 97 <= c <= 122


@njit(cache=True, nogil=True)
def _digit(c):
    return 48 <= c <= 57


@njit(cache=True, nogil=True)
def _part_end(cp, p, b):
    """End of the part of the name ``cp[:b]`` that starts at ``p``: ``tokens._PARTS``, alternatives in order
    (``_+ | [A-Z]+(?=[A-Z][a-z]) | [A-Z]?[a-z]+ | [A-Z]+ | [0-9]+ | [^_A-Za-z0-9]+``)."""
    c = cp[p]
    q = p + 1
    if c == 95:
        while q < b and cp[q] == 95:
            q += 1
        return q
    if _upper(c):
        r = p + 1
        while r < b and _upper(cp[r]):
            r += 1
        if r - p >= 2 and r < b and _lower(cp[r]):  # an acronym before a capitalised word: HTTPServer
            return r - 1
        if q < b and _lower(cp[q]):
            while q < b and _lower(cp[q]):
                q += 1
            return q
        return r
    if _lower(c):
        while q < b and _lower(cp[q]):
            q += 1
        return q
    if _digit(c):
        while q < b and _digit(cp[q]):
            q += 1
        return q
    while q < b and not (cp[q] == 95 or _upper(cp[q]) or _lower(cp[q]) or _digit(cp[q])):
        q += 1
    return q


@njit(cache=True, nogil=True)
def _emit(j, g, msym, mtier, out_grp, out_sym, no, rare_grp, rare_sym, rare_idx, nr):
    """Morpheme ``j`` of the table as a symbol of group ``g`` (and its index in the tier when rare)."""
    out_grp[no] = g
    out_sym[no] = msym[j]
    if mtier[j] >= 0:
        rare_grp[nr] = g
        rare_sym[nr] = msym[j]
        rare_idx[nr] = mtier[j]
        nr += 1
    return no + 1, nr


@njit(cache=True, nogil=True)
def _morph_kernel(cp, new_a, new_b, grp, pool, off, slots, max_len, msym, mtier):
    """Each new name (``cp[new_a[i]:new_b[i]]``, role ``grp[i]``) as morpheme symbols: the whole name when it is
    in the table, else its parts (``_part_end``), an unknown part as ESC to be spelled; END after each.

    Returns, in name order: (group, symbol) of every symbol; (group, symbol, index in tier) of every tier
    escape; (group, start, end) of every part to spell."""
    n = new_a.shape[0]
    total = n
    for i in range(n):
        total += new_b[i] - new_a[i]
    out_grp = np.empty(total, dtype=np.int64)
    out_sym = np.empty(total, dtype=np.int32)
    rare_grp = np.empty(total, dtype=np.int64)
    rare_sym = np.empty(total, dtype=np.int32)
    rare_idx = np.empty(total, dtype=np.int32)
    sp_grp = np.empty(total, dtype=np.int64)
    sp_a = np.empty(total, dtype=np.int64)
    sp_b = np.empty(total, dtype=np.int64)
    no = 0
    nr = 0
    ns = 0
    for i in range(n):
        a = new_a[i]
        b = new_b[i]
        g = grp[i]
        j = _lookup(cp, a, b, pool, off, slots, max_len)
        if j >= 0:
            no, nr = _emit(j, g, msym, mtier, out_grp, out_sym, no, rare_grp, rare_sym, rare_idx, nr)
        else:
            p = a
            while p < b:
                q = _part_end(cp, p, b)
                j = _lookup(cp, p, q, pool, off, slots, max_len)
                if j >= 0:
                    no, nr = _emit(j, g, msym, mtier, out_grp, out_sym, no, rare_grp, rare_sym, rare_idx, nr)
                else:
                    out_grp[no] = g
                    out_sym[no] = M_ESC
                    no += 1
                    sp_grp[ns] = g
                    sp_a[ns] = p
                    sp_b[ns] = q
                    ns += 1
                p = q
        out_grp[no] = g
        out_sym[no] = M_END
        no += 1
    return (
        out_grp[:no].copy(),
        out_sym[:no].copy(),
        rare_grp[:nr].copy(),
        rare_sym[:nr].copy(),
        rare_idx[:nr].copy(),
        sp_grp[:ns].copy(),
        sp_a[:ns].copy(),
        sp_b[:ns].copy(),
    )


def morphemes(cp: np.ndarray, new_a: np.ndarray, new_b: np.ndarray, grp: np.ndarray, t: VocabTables) -> tuple:
    """:func:`_morph_kernel` with the vocabulary ``t``."""
    return _morph_kernel(cp, new_a, new_b, grp, *t.morph, t.morph_sym, t.morph_tier_index)
