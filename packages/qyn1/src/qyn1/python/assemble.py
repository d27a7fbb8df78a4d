"""The detokeniser: the chunk's bytes written straight from the decoded streams (token texts,
names, string and comment bodies, whitespace) by one sizing and one writing pass; no Python string per
token.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.errors import CodecError
from qyn1.python.tokens import COMMENT, ERR, NAME, NUMBER, STRING, T_END, T_WORD

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.python.tokens"])


@njit(cache=True, nogil=True, inline="always")
def _copy(out, o, src, a, b, write):
    """``src[a:b]`` to ``out[o:]`` when ``write`` (else only counted); the new ``o``. A plain loop: the pieces
    are a few bytes long. A piece that does not fit ``out`` is not written and the new ``o`` is past the end
    (the chunk is longer than its buffer: the caller refuses it)."""
    if write:
        if o + b - a > out.shape[0]:
            return out.shape[0] + 1
        for j in range(a, b):
            out[o] = src[j]
            o += 1
        return o
    return o + b - a


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
    words from ``word_off[m]``). Writes into ``out`` when ``write``, else only counts; returns the length,
    or more than ``len(out)`` when writing and the text does not fit ``out`` (nothing is written past it)."""
    cap = out.shape[0]
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
            if o + wlen[i] > cap:
                return cap + 1
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
                    if o >= cap:
                        return cap + 1
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
                        if o >= cap:
                            return cap + 1
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


def assemble(args: tuple, limit: int | None) -> bytes:
    """The chunk's bytes from ``args`` (:func:`_assemble_pass`'s arguments after ``write``): written into a
    buffer of ``limit`` bytes (the chunk's known length) and refused when they do not fill it exactly; without
    ``limit``, sized by a counting pass first."""
    n = limit if limit is not None else _assemble_pass(_NO_BYTES, False, *args)
    out = np.empty(n, dtype=np.uint8)
    if _assemble_pass(out, True, *args) != n:
        raise CodecError("decoded text does not have its chunk's length")
    return out.tobytes()


_NO_BYTES = np.zeros(0, dtype=np.uint8)
