"""The layout streams (``ws_line``, ``ws_mid``): the whitespace before every token. Encoder
(:func:`_ws_symbols`) beside decoder (:func:`_ws_lengths`), the contexts both derive from the kinds
(:func:`_layout_contexts`), and the decoder's check of the kinds stream with every context taken from it
(:func:`_kind_contexts`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.python.tokens import (
    _COLON,
    _IS_NL_KIND,
    _KIND_DMAP,
    COMMENT,
    EOF,
    KIND_CLASS,
    N_KIND_CLASS,
    N_KINDS,
    STRING,
    WS_DELTA,
    WS_LINE_ESC,
    WS_LINE_TABS,
    WS_MID_ESC,
)

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.python.tokens"])


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


def _layout_contexts(kinds: np.ndarray):
    """Per token: line-start flag, line kind (0 blank/EOF, 1 comment, 2 code) and both layout contexts."""
    return _layout_kernel(np.ascontiguousarray(kinds, dtype=np.int32), _KIND_DMAP, _IS_NL_KIND, KIND_CLASS)


@njit(cache=True, nogil=True)
def _layout_kernel(kinds, dmap, is_nl, kind_class):
    """:func:`_layout_contexts` in one pass: the nesting depth before each token, its line start and kind,
    the line context (after ':', inside brackets, line kind, class of the line's first token) and the
    mid-line one (classes of the previous and this kind, inside brackets)."""
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
