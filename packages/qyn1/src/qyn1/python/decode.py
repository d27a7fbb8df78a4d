"""The fused decoder of structural chunks: the header, every stream, every check between them and the
detokeniser of a batch of chunks in ONE Numba call (:func:`_decode_batch_kernel`), the kernels it calls
being those of the stage-by-stage decoder (``pipeline.decode_text_staged``, the reference it is tested
against), the detokeniser writing with 16-byte stores (``assemble.WRITE16``; the staged one byte by byte).

Why one call: a chunk holds 16 streams and six derived passes; called from Python one by one, each kernel
call, each small NumPy step between them and the context look-ups cost ~230 us per chunk (the stdlib's
chunks average ~20 KB, ~1.1 ms of decoding each: a fifth of the time). Here Python parses nothing: it hands
over the bodies and the tables (one tuple per stream, built once per process) and gets the bytes back.

Why a batch, stream-major: the rANS decoders are bound by the latency of loads into ~12.5 MB of tables,
and one chunk's 16 streams evict each other's rows from L2 in turn. Decoding each stream for every chunk
of a batch before the next stream keeps one model's hot rows cached across the chunks
(docs/perf/qyn1-decode.md). A single chunk is a batch of one (``decode_text``).

The tables tuple is only built when every stream's model takes the kernel route the fused decoder calls
for it (see :func:`tables`); otherwise ``decode_text`` keeps to the staged decoder.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1 import match
from qyn1 import tables as shipped
from qyn1.match import _decode_match_kernel
from qyn1.python import assemble, bytecopy, layout, names, tokens
from qyn1.python.assemble import COUNT, WRITE16, _assemble_pass
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
from qyn1.rans import kernels, prefetch, search
from qyn1.rans.kernels import _RANS_H, RANS_L, _decode_bucket_kernel, _decode_rows_kernel
from qyn1.rans.model import _ROUTE_ROWS, _ROUTE_SEQ

# the fused kernel holds the compiled code of the kernels it calls: its cache entries depend on their files
numba_cache.depend_on(
    __file__,
    [m.__file__ for m in (match, names, layout, assemble, bytecopy, tokens, kernels, prefetch, search)],
    modules=["qyn1.rans.coder", "qyn1.rans.model"],
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
    """The CodecError message of a nonzero error code of :func:`_decode_batch_kernel`."""
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
def _decode_batch_kernel(
    data,
    starts,
    limits,
    t_kinds,
    t_ws_line,
    t_ws_mid,
    t_strkind,
    t_text,
    t_names,
    t_spell,
    t_morph,
    t_morphx,
    t_voc,
):
    """Decode the structural chunks ``data[starts[c] : starts[c + 1]]``: (list of bytes arrays, error codes),
    chunk ``c``'s array empty when its code is nonzero (see :data:`_MESSAGES`). ``limits[c]``: its known
    length (-1: unknown). The steps and checks are those of ``pipeline.decode_text_staged``, in the same
    order for each chunk, but **stream-major**: each stream is decoded for every chunk of the batch before
    the next stream, so that one model's table rows stay in the cache across the chunks (the chunks are
    independent; within a chunk the streams share one rANS state, carried in ``rp``/``x0``/``x1``)."""
    dmap, is_nl, kind_class, qlen, morph_group, next_class, mpool, moff, kpool, koff = t_voc[:10]
    ppool, poff, qpool, qoff, tier0, n_tiers = t_voc[10:]
    nc = limits.shape[0]
    none = np.zeros(0, dtype=np.uint8)
    i32 = np.zeros(0, dtype=np.int32)
    i64 = np.zeros(0, dtype=np.int64)
    b1 = np.zeros(0, dtype=np.bool_)
    empty_ext = i64
    lo = np.uint64(RANS_L)
    err = np.zeros(nc, dtype=np.int64)
    counts = np.zeros((nc, 11), dtype=np.int64)
    bs = starts[
        :-1
    ].copy()  # chunk c's rANS blob is data[bs[c] : be[c]], its extra bits data[be[c] : starts[c + 1]]
    be = starts[:-1].copy()
    rp = np.zeros(nc, dtype=np.int64)
    x0 = np.full(nc, lo, dtype=np.uint64)
    x1 = np.full(nc, lo, dtype=np.uint64)
    # header: the sent counts, the rANS blob, the extra bits after it
    for c in range(nc):
        body = data[starts[c] : starts[c + 1]]
        pos = 0
        for j in range(11):
            v, pos = _varint(body, pos, 1 << 28)
            if pos < 0:
                break
            counts[c, j] = v
        if pos < 0:
            err[c] = 1
            continue
        blen, pos = _varint(body, pos, 1 << 30)
        if pos < 0 or pos + blen > body.shape[0]:
            err[c] = 1
            continue
        buf = body[pos : pos + blen]
        bs[c] = starts[c] + pos
        be[c] = starts[c] + pos + blen
        if blen > 0:
            if blen < 8:
                err[c] = 2
                continue
            a = np.uint64(0)
            b = np.uint64(0)
            for j in range(4):
                a = (a << np.uint64(8)) | np.uint64(buf[j])
                b = (b << np.uint64(8)) | np.uint64(buf[4 + j])
            if not (lo <= a < np.uint64(_RANS_H) and lo <= b < np.uint64(_RANS_H)):
                err[c] = 3
                continue
            x0[c] = a
            x1[c] = b
            rp[c] = 8
    # kinds, then the contexts they define for the layout and string-kind streams
    kinds_l = [i32 for _ in range(nc)]
    line_start_l = [b1 for _ in range(nc)]
    line_kind_l = [i32 for _ in range(nc)]
    ctx_line_l = [i64 for _ in range(nc)]
    ctx_mid_l = [i64 for _ in range(nc)]
    str_ctx_l = [i64 for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        kinds = np.empty(counts[c, 0], dtype=np.int32)
        rp[c], x0[c], x1[c] = _match(data[bs[c] : be[c]], rp[c], x0[c], x1[c], empty_ext, t_kinds, kinds)
        if rp[c] < 0:
            err[c] = 100
            continue
        line_start, line_kind, ctx_line, ctx_mid, str_ctx, ok = _kind_contexts(kinds, dmap, is_nl, kind_class)
        if not ok:
            err[c] = 4
            continue
        kinds_l[c] = kinds
        line_start_l[c] = line_start
        line_kind_l[c] = line_kind
        ctx_line_l[c] = ctx_line
        ctx_mid_l[c] = ctx_mid
        str_ctx_l[c] = str_ctx
    ws_line_l = [i32 for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        ws_line = np.empty(ctx_line_l[c].shape[0], dtype=np.int32)
        rp[c], x0[c], x1[c] = _rows(
            data[bs[c] : be[c]], rp[c], x0[c], x1[c], ctx_line_l[c], t_ws_line, ws_line
        )
        if rp[c] < 0:
            err[c] = 101
        ws_line_l[c] = ws_line
    ws_mid_l = [i32 for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        ws_mid = np.empty(ctx_mid_l[c].shape[0], dtype=np.int32)
        rp[c], x0[c], x1[c] = _rows(data[bs[c] : be[c]], rp[c], x0[c], x1[c], ctx_mid_l[c], t_ws_mid, ws_mid)
        if rp[c] < 0:
            err[c] = 102
        ws_mid_l[c] = ws_mid
    strkind_l = [i32 for _ in range(nc)]
    str_mode_l = [b1 for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        strkind = np.empty(str_ctx_l[c].shape[0], dtype=np.int32)
        rp[c], x0[c], x1[c] = _match(
            data[bs[c] : be[c]], rp[c], x0[c], x1[c], str_ctx_l[c], t_strkind, strkind
        )
        if rp[c] < 0:
            err[c] = 103
            continue
        str_mode = np.empty(strkind.shape[0], dtype=np.bool_)
        for j in range(strkind.shape[0]):
            if strkind[j] < 0 or strkind[j] >= qlen.shape[0]:
                err[c] = 5
                break
            str_mode[j] = qlen[strkind[j]] == 3
        strkind_l[c] = strkind
        str_mode_l[c] = str_mode
    # the three text streams, one after the other in one array per chunk
    texts_l = [i32 for _ in range(nc)]
    text_off_l = [i64 for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        text_off = np.zeros(4, dtype=np.int64)
        for m in range(3):
            text_off[m + 1] = text_off[m] + counts[c, 1 + m]
        texts_l[c] = np.empty(text_off[3], dtype=np.int32)
        text_off_l[c] = text_off
    for m in range(3):
        for c in range(nc):
            if err[c]:
                continue
            t = texts_l[c][text_off_l[c][m] : text_off_l[c][m + 1]]
            rp[c], x0[c], x1[c] = _match(data[bs[c] : be[c]], rp[c], x0[c], x1[c], empty_ext, t_text[m], t)
            if rp[c] < 0:
                err[c] = 104 + m
    # every name occurrence, then the names stream
    order_l = [i64 for _ in range(nc)]
    roles_l = [i32 for _ in range(nc)]
    word_off_l = [i64 for _ in range(nc)]
    ids_l = [i32 for _ in range(nc)]
    isnew_l = [none for _ in range(nc)]
    ctxmap, cum, scale_bits = t_names
    for c in range(nc):
        if err[c]:
            continue
        order, name_mctx, roles, word_off, ok = _name_occurrences(
            kinds_l[c], str_mode_l[c], texts_l[c], text_off_l[c], morph_group, next_class
        )
        if not ok:
            err[c] = 6
            continue
        extra = data[be[c] : starts[c + 1]]
        nn = order.shape[0]
        ids = np.empty(nn, dtype=np.int32)
        isnew = np.zeros(nn, dtype=np.uint8)
        bits = np.empty(extra.shape[0] * 8, dtype=np.uint8)
        for j in range(extra.shape[0]):
            for q in range(8):
                bits[j * 8 + q] = (extra[j] >> (7 - q)) & 1
        nbits_used = 0
        if nn > 0:
            if data[bs[c] : be[c]].shape[0] == 0:
                err[c] = 14
                continue
            rp[c], x0[c], x1[c], nbits_used = _decode_names_kernel(
                data[bs[c] : be[c]],
                rp[c],
                x0[c],
                x1[c],
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
            if rp[c] < 0:
                err[c] = 107
                continue
        if extra.shape[0] != (nbits_used + 7) // 8:
            err[c] = 7
            continue
        order_l[c] = order
        roles_l[c] = roles
        word_off_l[c] = word_off
        ids_l[c] = ids
        isnew_l[c] = isnew
    # spell items: layout literals (token order), error characters, unknown morphemes
    sbytes_l = [none for _ in range(nc)]
    s_start_l = [i64 for _ in range(nc)]
    s_end_l = [i64 for _ in range(nc)]
    wtype_l = [i32 for _ in range(nc)]
    wlen_l = [i64 for _ in range(nc)]
    n_esc = np.zeros(nc, dtype=np.int64)
    n_err = np.zeros(nc, dtype=np.int64)
    for c in range(nc):
        if err[c]:
            continue
        spell = np.empty(counts[c, 4], dtype=np.int32)
        rp[c], x0[c], x1[c] = _match(data[bs[c] : be[c]], rp[c], x0[c], x1[c], empty_ext, t_spell, spell)
        if rp[c] < 0:
            err[c] = 108
            continue
        sbytes, s_start, s_end, item_len, ok = _spell_items(spell)
        if not ok:
            err[c] = 8
            continue
        wtype, wlen = _ws_lengths(line_start_l[c], line_kind_l[c], ws_line_l[c], ws_mid_l[c], item_len)
        if wtype[0] < 0:
            err[c] = 9
            continue
        for j in range(wtype.shape[0]):
            n_esc[c] += wtype[j] == 2
        kinds = kinds_l[c]
        for j in range(kinds.shape[0]):
            n_err[c] += kinds[j] == ERR
        if s_end.shape[0] < n_esc[c] + n_err[c]:
            err[c] = 10
            continue
        sbytes_l[c] = sbytes
        s_start_l[c] = s_start
        s_end_l[c] = s_end
        wtype_l[c] = wtype
        wlen_l[c] = wlen
    # new names from the morpheme streams (one array per chunk, group after group), then the tier indices
    seq_l = [i32 for _ in range(nc)]
    for c in range(nc):
        if not err[c]:
            seq_l[c] = np.empty(counts[c, 5 : 5 + N_MORPH_GROUPS].sum(), dtype=np.int32)
    for g in range(N_MORPH_GROUPS):
        for c in range(nc):
            if err[c]:
                continue
            a = counts[c, 5 : 5 + g].sum()
            b = a + counts[c, 5 + g]
            if b > a:
                if data[bs[c] : be[c]].shape[0] == 0:
                    err[c] = 14
                    continue
                rp[c], x0[c], x1[c] = _decode_bucket_kernel(
                    data[bs[c] : be[c]], rp[c], x0[c], x1[c], b - a, empty_ext, *t_morph[g], seq_l[c][a:b]
                )
                if rp[c] < 0:
                    err[c] = 109 + g
    rare_l = [i64 for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        seq = seq_l[c]
        nr = 0
        for j in range(seq.shape[0]):
            nr += seq[j] >= tier0
        tiers = np.empty(nr, dtype=np.int64)
        tctx = np.empty(nr, dtype=np.int64)
        r = 0
        a = 0
        for g in range(N_MORPH_GROUPS):
            for j in range(a, a + counts[c, 5 + g]):
                if seq[j] >= tier0:
                    tiers[r] = seq[j] - tier0
                    tctx[r] = g * n_tiers + tiers[r]
                    r += 1
            a += counts[c, 5 + g]
        local = np.empty(nr, dtype=np.int32)
        rp[c], x0[c], x1[c] = _rows(data[bs[c] : be[c]], rp[c], x0[c], x1[c], tctx, t_morphx, local)
        if rp[c] < 0:
            err[c] = 115
            continue
        rare_idx = np.empty(nr, dtype=np.int64)
        for j in range(nr):
            rare_idx[j] = tier0 - 2 + tiers[j] * MORPH_TIER + local[j]
        rare_l[c] = rare_idx
    # the names spelled, the last checks, and the bytes: into a buffer of the known length (refused when they
    # do not fill it), else sized first
    outs = [none for _ in range(nc)]
    for c in range(nc):
        if err[c]:
            continue
        isnew = isnew_l[c]
        roles = roles_l[c]
        ids = ids_l[c]
        order = order_l[c]
        nn = order.shape[0]
        n_new = 0
        for j in range(nn):
            n_new += isnew[j]
        grp = np.empty(n_new, dtype=np.int32)
        r = 0
        for j in range(nn):
            if isnew[j]:
                grp[r] = roles[j]
                r += 1
        sbytes, s_start, s_end = sbytes_l[c], s_start_l[c], s_end_l[c]
        npool, nstart, nend, e = _new_names_kernel(
            seq_l[c],
            counts[c, 5 : 5 + N_MORPH_GROUPS],
            grp,
            mpool,
            moff,
            tier0,
            rare_l[c],
            sbytes,
            s_start,
            s_end,
            n_esc[c] + n_err[c],
        )
        if e:
            err[c] = 200 + e
            continue
        if rp[c] != data[bs[c] : be[c]].shape[0] or x0[c] != lo or x1[c] != lo:
            err[c] = 11
            continue
        occ_new = np.empty(nn, dtype=np.int64)
        for j in range(nn):
            if ids[j] < 0 or ids[j] >= nstart.shape[0]:
                err[c] = 12
                break
            occ_new[order[j]] = ids[j]
        if err[c]:
            continue
        kinds = kinds_l[c]
        names_args = (kpool, koff, npool, nstart, nend, occ_new, word_off_l[c])
        text_args = (
            strkind_l[c],
            ppool,
            poff,
            qpool,
            qoff,
            texts_l[c],
            text_off_l[c],
            sbytes,
            s_start,
            s_end,
            n_esc[c],
        )
        n = limits[c]
        if n < 0:
            n = _assemble_pass(none, COUNT, kinds, wtype_l[c], wlen_l[c], *names_args, *text_args)
        out = np.empty(n, dtype=np.uint8)
        w = _assemble_pass(out, WRITE16, kinds, wtype_l[c], wlen_l[c], *names_args, *text_args)
        if w != n:
            err[c] = 13
            continue
        outs[c] = out
    return outs, err


_TABLES: list = []


def tables() -> tuple | None:
    """The fused decoder's arguments after ``limit`` (built once per process), or None when a stream's model
    does not take the route :func:`_decode_batch_kernel` decodes it with (then the staged decoder runs)."""
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
    names_cum = search.padded_rows(names.cum, names.scale_bits)  # names._decode_rank's layout
    if names_cum is None:
        return None
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
        (names.ctxmap, names_cum, names.scale_bits),
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
