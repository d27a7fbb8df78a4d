"""The fused decoder of one structural chunk: the header, every stream, every check between them and the
detokeniser in ONE Numba call (:func:`_decode_chunk_kernel`), the kernels it calls being those of the
stage-by-stage decoder (``pipeline.decode_text_staged``, the reference it is tested against).

Why: a chunk holds 16 streams and six derived passes; called from Python one by one, each kernel call,
each small NumPy step between them and the context look-ups cost ~230 us per chunk (the stdlib's chunks
average ~20 KB, ~1.1 ms of decoding each: a fifth of the time). Here Python parses nothing: it hands over
the body and the tables (one tuple per stream, built once per process) and gets the bytes back.

The tables tuple is only built when every stream's model takes the kernel route the fused decoder calls
for it (see :func:`tables`); otherwise ``decode_text`` keeps to the staged decoder.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from qyn1 import match
from qyn1 import tables as shipped
from qyn1.match import _decode_match_kernel
from qyn1.python import assemble, kernel_cache, layout, names, tokens
from qyn1.python.assemble import _assemble_pass
from qyn1.python.layout import _kind_contexts, _ws_lengths
from qyn1.python.names import (
    _NAMES_ERRORS,
    _decode_names_kernel,
    _name_occurrences,
    _new_names_kernel,
    _spell_items,
)
from qyn1.python.tokens import (
    _IS_NL_KIND,
    _KIND_DMAP,
    _NEXT_CLASS,
    _STR_POOL,
    _STR_QLEN,
    ERR,
    KIND_CLASS,
    MORPH_GROUP,
    MORPH_TIER,
    N_MORPH_GROUPS,
    N_NAME_FLAG,
    NAME_ESC,
    NAME_SUCC1,
    NAME_SUCC_WINDOW,
    RANK_DIRECT,
    vocab,
)
from qyn1.rans import kernels, prefetch
from qyn1.rans.kernels import _RANS_H, RANS_L, _decode_bucket_kernel, _decode_rows_kernel
from qyn1.rans.model import _ROUTE_ROWS, _ROUTE_SEQ

# the fused kernel holds the compiled code of the kernels it calls: its cache entries depend on their files
kernel_cache.depend_on(
    __file__, [m.__file__ for m in (match, names, layout, assemble, tokens, kernels, prefetch)]
)

# error codes of the kernel: 1.. a fixed message, 100 + i the rANS stream STREAMS[i] is malformed,
# 200 + k the new-name error k of names._NAMES_ERRORS
_MESSAGES = {
    1: "truncated or malformed python chunk header",
    2: "rANS stream shorter than its state",
    3: "bad rANS state",
    4: "bad kind stream",
    5: "bad string kind stream",
    6: "text stream does not match its tokens",
    7: "extra-bits stream has the wrong length",
    8: "spell stream does not end with END",
    9: "bad layout stream",
    10: "spell stream exhausted",
    11: "rANS stream has trailing or missing bytes",
    12: "name index outside the new names",
    13: "decoded text does not have its chunk's length",
    14: "empty rANS stream",
}


def message(code: int, streams: tuple[str, ...]) -> str:
    """The CodecError message of a nonzero error code of :func:`_decode_chunk_kernel`."""
    if code >= 200:
        return _NAMES_ERRORS[code - 200]
    if code >= 100:
        return f"malformed rANS stream for model 'py.{streams[code - 100]}'"
    return _MESSAGES[code]


@njit(cache=True, nogil=True)
def _varint(body, pos, limit):
    """The LEB128 varint at ``pos`` as ``varint.get`` reads it (at most 10 bytes, at most ``limit`` < 2**31):
    (value, new position), the position -1 when truncated, too long or above ``limit``."""
    n = body.shape[0]
    v = 0
    shift = 0
    big = False
    while True:
        if pos >= n:
            return 0, -1
        b = np.int64(body[pos])
        pos += 1
        if shift < 35:
            v |= (b & 0x7F) << shift
        elif b & 0x7F:
            big = True
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            return 0, -1
    if big or v > limit:
        return 0, -1
    return v, pos


@njit(cache=True, nogil=True)
def _match(buf, pos, x0, x1, ext, t, out):
    """One match-model stream into ``out`` (``_decode_match_kernel`` with the model's tuple ``t``)."""
    if out.shape[0] == 0:
        return pos, x0, x1
    if buf.shape[0] == 0:
        return -1, x0, x1
    return _decode_match_kernel(buf, pos, x0, x1, out.shape[0], ext, *t, out)


@njit(cache=True, nogil=True)
def _rows(buf, pos, x0, x1, ext, t, out):
    """One stream whose rows come from ``ext`` (``_decode_rows_kernel``)."""
    if out.shape[0] == 0:
        return pos, x0, x1
    if buf.shape[0] == 0:
        return -1, x0, x1
    return _decode_rows_kernel(buf, pos, x0, x1, out.shape[0], ext, *t, out)


@njit(cache=True, nogil=True)
def _decode_chunk_kernel(
    body, limit, t_kinds, t_ws_line, t_ws_mid, t_strkind, t_text, t_names, t_spell, t_morph, t_morphx, t_voc
):
    """Decode the structural chunk ``body``: (bytes, 0), or (empty, error code) -- see :data:`_MESSAGES`.
    ``limit``: the chunk's known length (-1: unknown). The steps and checks are those of
    ``pipeline.decode_text_staged``, in the same order."""
    dmap, is_nl, kind_class, qlen, morph_group, next_class, mpool, moff, kpool, koff = t_voc[:10]
    ppool, poff, qpool, qoff, tier0, n_tiers = t_voc[10:]
    none = np.zeros(0, dtype=np.uint8)
    # header: the sent counts, the rANS blob, the extra bits after it
    counts = np.empty(11, dtype=np.int64)
    pos = 0
    for j in range(11):
        v, pos = _varint(body, pos, 1 << 28)
        if pos < 0:
            return none, 1
        counts[j] = v
    blen, pos = _varint(body, pos, 1 << 30)
    if pos < 0 or pos + blen > body.shape[0]:
        return none, 1
    buf = body[pos : pos + blen]
    extra = body[pos + blen :]
    lo = np.uint64(RANS_L)
    x0 = lo
    x1 = lo
    rp = 0
    if blen > 0:
        if blen < 8:
            return none, 2
        x0 = np.uint64(0)
        x1 = np.uint64(0)
        for j in range(4):
            x0 = (x0 << np.uint64(8)) | np.uint64(buf[j])
            x1 = (x1 << np.uint64(8)) | np.uint64(buf[4 + j])
        if not (lo <= x0 < np.uint64(_RANS_H) and lo <= x1 < np.uint64(_RANS_H)):
            return none, 3
        rp = 8
    empty_ext = np.zeros(0, dtype=np.int64)
    # kinds, then the layout and string-kind streams given the contexts the kinds define
    kinds = np.empty(counts[0], dtype=np.int32)
    rp, x0, x1 = _match(buf, rp, x0, x1, empty_ext, t_kinds, kinds)
    if rp < 0:
        return none, 100
    line_start, line_kind, ctx_line, ctx_mid, str_ctx, ok = _kind_contexts(kinds, dmap, is_nl, kind_class)
    if not ok:
        return none, 4
    ws_line = np.empty(ctx_line.shape[0], dtype=np.int32)
    rp, x0, x1 = _rows(buf, rp, x0, x1, ctx_line, t_ws_line, ws_line)
    if rp < 0:
        return none, 101
    ws_mid = np.empty(ctx_mid.shape[0], dtype=np.int32)
    rp, x0, x1 = _rows(buf, rp, x0, x1, ctx_mid, t_ws_mid, ws_mid)
    if rp < 0:
        return none, 102
    strkind = np.empty(str_ctx.shape[0], dtype=np.int32)
    rp, x0, x1 = _match(buf, rp, x0, x1, str_ctx, t_strkind, strkind)
    if rp < 0:
        return none, 103
    str_mode = np.empty(strkind.shape[0], dtype=np.bool_)
    for j in range(strkind.shape[0]):
        if strkind[j] < 0 or strkind[j] >= qlen.shape[0]:
            return none, 5
        str_mode[j] = qlen[strkind[j]] == 3
    # the three text streams, one after the other in one array
    text_off = np.zeros(4, dtype=np.int64)
    for m in range(3):
        text_off[m + 1] = text_off[m] + counts[1 + m]
    texts = np.empty(text_off[3], dtype=np.int32)
    for m in range(3):
        rp, x0, x1 = _match(buf, rp, x0, x1, empty_ext, t_text[m], texts[text_off[m] : text_off[m + 1]])
        if rp < 0:
            return none, 104 + m
    # every name occurrence, then the names stream
    order, name_mctx, roles, word_off, ok = _name_occurrences(
        kinds, str_mode, texts, text_off, morph_group, next_class
    )
    if not ok:
        return none, 6
    nn = order.shape[0]
    ids = np.empty(nn, dtype=np.int32)
    isnew = np.zeros(nn, dtype=np.uint8)
    bits = np.empty(extra.shape[0] * 8, dtype=np.uint8)
    for j in range(extra.shape[0]):
        for q in range(8):
            bits[j * 8 + q] = (extra[j] >> (7 - q)) & 1
    nbits_used = 0
    if nn > 0:
        if buf.shape[0] == 0:
            return none, 14
        ctxmap, cum, scale_bits = t_names
        rp, x0, x1, nbits_used = _decode_names_kernel(
            buf,
            rp,
            x0,
            x1,
            nn,
            name_mctx,
            roles,
            N_MORPH_GROUPS,
            N_NAME_FLAG,
            ctxmap,
            cum,
            scale_bits,
            bits,
            RANK_DIRECT,
            NAME_SUCC1,
            NAME_ESC,
            NAME_SUCC_WINDOW,
            ids,
            isnew,
        )
        if rp < 0:
            return none, 107
    if extra.shape[0] != (nbits_used + 7) // 8:
        return none, 7
    # spell items: layout literals (token order), error characters, unknown morphemes
    spell = np.empty(counts[4], dtype=np.int32)
    rp, x0, x1 = _match(buf, rp, x0, x1, empty_ext, t_spell, spell)
    if rp < 0:
        return none, 108
    sbytes, s_start, s_end, item_len, ok = _spell_items(spell)
    if not ok:
        return none, 8
    wtype, wlen = _ws_lengths(line_start, line_kind, ws_line, ws_mid, item_len)
    if wtype[0] < 0:
        return none, 9
    n_esc = 0
    for j in range(wtype.shape[0]):
        n_esc += wtype[j] == 2
    n_err = 0
    for j in range(kinds.shape[0]):
        n_err += kinds[j] == ERR
    if s_end.shape[0] < n_esc + n_err:
        return none, 10
    # new names from the morpheme streams (one array, group after group) and the tier indices
    group_len = np.empty(N_MORPH_GROUPS, dtype=np.int64)
    nseq = 0
    for g in range(N_MORPH_GROUPS):
        group_len[g] = counts[5 + g]
        nseq += counts[5 + g]
    seq = np.empty(nseq, dtype=np.int32)
    a = 0
    for g in range(N_MORPH_GROUPS):
        b = a + group_len[g]
        if b > a:
            if buf.shape[0] == 0:
                return none, 14
            rp, x0, x1 = _decode_bucket_kernel(buf, rp, x0, x1, b - a, empty_ext, *t_morph[g], seq[a:b])
            if rp < 0:
                return none, 109 + g
        a = b
    nr = 0
    for j in range(nseq):
        nr += seq[j] >= tier0
    tiers = np.empty(nr, dtype=np.int64)
    tctx = np.empty(nr, dtype=np.int64)
    r = 0
    a = 0
    for g in range(N_MORPH_GROUPS):
        for j in range(a, a + group_len[g]):
            if seq[j] >= tier0:
                tiers[r] = seq[j] - tier0
                tctx[r] = g * n_tiers + tiers[r]
                r += 1
        a += group_len[g]
    local = np.empty(nr, dtype=np.int32)
    rp, x0, x1 = _rows(buf, rp, x0, x1, tctx, t_morphx, local)
    if rp < 0:
        return none, 115
    rare_idx = np.empty(nr, dtype=np.int64)
    for j in range(nr):
        rare_idx[j] = tier0 - 2 + tiers[j] * MORPH_TIER + local[j]
    n_new = 0
    for j in range(nn):
        n_new += isnew[j]
    grp = np.empty(n_new, dtype=np.int32)
    r = 0
    for j in range(nn):
        if isnew[j]:
            grp[r] = roles[j]
            r += 1
    npool, nstart, nend, err = _new_names_kernel(
        seq, group_len, grp, mpool, moff, tier0, rare_idx, sbytes, s_start, s_end, n_esc + n_err
    )
    if err:
        return none, 200 + err
    if rp != buf.shape[0] or x0 != lo or x1 != lo:
        return none, 11
    occ_new = np.empty(nn, dtype=np.int64)
    for j in range(nn):
        if ids[j] < 0 or ids[j] >= nstart.shape[0]:
            return none, 12
        occ_new[order[j]] = ids[j]
    # the bytes: into a buffer of the known length (refused when they do not fill it), else sized first
    names_args = (kpool, koff, npool, nstart, nend, occ_new, word_off)
    text_args = (strkind, ppool, poff, qpool, qoff, texts, text_off, sbytes, s_start, s_end, n_esc)
    n = limit
    if n < 0:
        n = _assemble_pass(none, False, kinds, wtype, wlen, *names_args, *text_args)
    out = np.empty(n, dtype=np.uint8)
    w = _assemble_pass(out, True, kinds, wtype, wlen, *names_args, *text_args)
    if w != n:
        return none, 13
    return out, 0


_TABLES: list = []


def tables() -> tuple | None:
    """The fused decoder's arguments after ``limit`` (built once per process), or None when a stream's model
    does not take the route :func:`_decode_chunk_kernel` decodes it with (then the staged decoder runs)."""
    if not _TABLES:
        _TABLES.append(_build_tables())
    return _TABLES[0]


def _build_tables() -> tuple | None:
    from qyn1.python.pipeline import _match_params  # the pipeline imports this module

    if not shipped.has_python():
        return None
    models = {name: shipped.model(f"py.{name}") for name in _STREAM_ROUTES}
    mparams = _match_params()
    for name, route in _STREAM_ROUTES.items():
        m = models[name]
        if route in ("match", "names"):
            if (name in mparams) != (route == "match") or not len(m.ctxmap):
                return None
        elif m.route != route or name in mparams:
            return None

    def match_args(name):
        m = models[name]
        rowmap, k = mparams[name]
        args = (m.o1n, m.o1map, m.o2n, m.o2map, m.dmap, m.o3n, m.o3map, m.ctxmap)
        return (*args, np.ascontiguousarray(rowmap, dtype=np.int32), m.cum, m.scale_bits, k, m.nsym - 1)

    morph = [models[f"morph{g}"].decode_args(_ROUTE_SEQ) for g in range(N_MORPH_GROUPS)]
    if len({a[9].dtype for a in morph}) > 1:  # one tuple type for the six: widen the bucket tables alike
        morph = [(*a[:9], a[9].astype(np.uint16), *a[10:]) for a in morph]
    names = models["names"]
    v = vocab()
    voc = (
        _KIND_DMAP,
        _IS_NL_KIND,
        KIND_CLASS,
        _STR_QLEN,
        MORPH_GROUP,
        _NEXT_CLASS,
        *v.morph_pool,
        *v.kind_pool,
    )
    voc += (*_STR_POOL, v.morph_tier_sym, v.n_morph_tiers)
    return (
        match_args("kinds"),
        models["ws_line"].decode_args(_ROUTE_ROWS),
        models["ws_mid"].decode_args(_ROUTE_ROWS),
        match_args("strkind"),
        tuple(match_args(f"text{m}") for m in range(3)),
        (names.ctxmap, names.cum, names.scale_bits),
        match_args("spell"),
        tuple(morph),
        models["morphx"].decode_args(_ROUTE_ROWS),
        voc,
    )


# the kernel route each stream's model must take for the fused decoder ("match": a match model, "names":
# the move-to-front names decoder; both need a context map)
_STREAM_ROUTES = {
    "kinds": "match",
    "ws_line": _ROUTE_ROWS,
    "ws_mid": _ROUTE_ROWS,
    "strkind": "match",
    **{f"text{m}": "match" for m in range(3)},
    "names": "names",
    "spell": "match",
    **{f"morph{g}": _ROUTE_SEQ for g in range(N_MORPH_GROUPS)},
    "morphx": _ROUTE_ROWS,
}
