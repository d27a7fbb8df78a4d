"""The detokeniser: the chunk's bytes written straight from the decoded streams (token texts,
names, string and comment bodies, whitespace) by one sizing and one writing pass; no Python string per
token.

Three modes of :func:`_assemble_pass`: ``COUNT`` (the length only), ``WRITE`` (byte by byte: the plain
reference, used by the staged decoder) and ``WRITE16`` (the fused decoder's: a piece of at most 16 bytes --
a keyword, a name, a run of spaces -- stored as one 16-byte block, :mod:`qyn1.python.bytecopy`; the same
bytes, ~1.8x faster on real chunks). ``tests/qyn1/test_decode_fused.py`` compares the fused decoder with the
staged one, hence the two write modes, on real and damaged chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.errors import CodecError
from qyn1.python.bytecopy import copy16, fill16
from qyn1.python.tokens import COMMENT, ERR, NAME, NUMBER, STRING, T_END, T_WORD

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(__file__, modules=["qyn1.python.tokens", "qyn1.python.bytecopy"])

COUNT, WRITE, WRITE16 = 0, 1, 2  # _assemble_pass's modes (see the module's docstring)


@njit(cache=True, nogil=True, inline="always")
def _copy(out, o, src, a, b, mode):
    """``src[a:b]`` to ``out[o:]`` (``COUNT``: only counted); the new ``o``. A plain loop, or with
    ``WRITE16`` one 16-byte store when the piece is at most 16 bytes and 16 fit from ``a`` and from ``o``:
    the bytes stored past ``o + b - a`` are overwritten by the next pieces (written in order), and a text
    that ends short of its buffer is refused by the caller. A piece that does not fit ``out`` is not written
    and the new ``o`` is past the end (the chunk is longer than its buffer: the caller refuses it)."""
    fits = o >= 0 and o + 16 <= out.shape[0] and a + 16 <= src.shape[0]
    if mode == WRITE16 and 0 <= a <= b <= a + 16 and fits:
        copy16(out, o, src, a)
        return o + b - a
    if mode != COUNT:
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
    mode,
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
    words from ``word_off[m]``). Writes into ``out`` (``mode`` ``WRITE`` or ``WRITE16``), or only counts
    (``COUNT``); returns the length, or more than ``len(out)`` when writing and the text does not fit ``out``
    (nothing is written past it)."""
    cap = out.shape[0]
    o = 0
    ci = 0
    si = 0
    ei = 0
    ri = n_esc
    tp = text_off[:3].copy()
    wc = word_off[:3].copy()
    write = mode != COUNT
    for i in range(kinds.shape[0]):
        t = wtype[i]
        if t == 2:
            o = _copy(out, o, sbytes, s_start[ei], s_end[ei], mode)
            ei += 1
        elif mode == WRITE16 and 0 <= wlen[i] <= 16 and o >= 0 and o + 16 <= cap:
            fill16(out, o, 32 if t == 0 else 9)  # as _copy: the next pieces overwrite the rest
            o += wlen[i]
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
            o = _copy(out, o, npool, nstart[nm], nend[nm], mode)
        elif k in (STRING, COMMENT):
            sk = 0
            if k == STRING:
                sk = strkind[si]
                si += 1
                m = 1 if qoff[sk + 1] - qoff[sk] == 3 else 0
                o = _copy(out, o, ppool, poff[sk], poff[sk + 1], mode)
                o = _copy(out, o, qpool, qoff[sk], qoff[sk + 1], mode)
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
                    o = _copy(out, o, npool, nstart[nm], nend[nm], mode)
                else:
                    if write:
                        if o >= cap:
                            return cap + 1
                        out[o] = (s - 2) & 0xFF
                    o += 1
            tp[m] = p
            if k == STRING:
                o = _copy(out, o, qpool, qoff[sk], qoff[sk + 1], mode)
        elif k == ERR:
            o = _copy(out, o, sbytes, s_start[ri], s_end[ri], mode)
            ri += 1
        else:
            o = _copy(out, o, kpool, koff[k], koff[k + 1], mode)
    return o


def assemble(args: tuple, limit: int | None) -> bytes:
    """The chunk's bytes from ``args`` (:func:`_assemble_pass`'s arguments after ``mode``), byte by byte:
    written into a buffer of ``limit`` bytes (the chunk's known length) and refused when they do not fill it
    exactly; without ``limit``, sized by a counting pass first."""
    n = limit if limit is not None else _assemble_pass(_NO_BYTES, COUNT, *args)
    out = np.empty(n, dtype=np.uint8)
    if _assemble_pass(out, WRITE, *args) != n:
        raise CodecError("decoded text does not have its chunk's length")
    return out.tobytes()


_NO_BYTES = np.zeros(0, dtype=np.uint8)
