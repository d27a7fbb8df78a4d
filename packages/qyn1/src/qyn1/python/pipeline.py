"""The Python structural codec of one chunk: :func:`analyze` (lexer -> streams), :func:`encode_text`
(every stream coded with its shipped model into one rANS stream, the chunk verified by decoding it) and
:func:`decode_text`; the stream order, each stream's model shape and match orders.
"""

from __future__ import annotations

from itertools import accumulate

import numpy as np

from qyn1 import rans, tables, varint
from qyn1.errors import CodecError
from qyn1.match import MATCH_NFLAG, decode_match, match_symbols
from qyn1.python import decode as fused
from qyn1.python import scan
from qyn1.python.assemble import assemble
from qyn1.python.layout import _kind_contexts, _layout_contexts, _ws_lengths, _ws_symbols
from qyn1.python.names import (
    _NAMES_ERRORS,
    _name_model_ctx,
    _name_occurrences,
    _name_symbols,
    _new_names_kernel,
    _pack_bits,
    _spell_items,
    decode_names,
    spell_stream,
)
from qyn1.python.tokens import (
    _IS_NL_KIND,
    _KIND_DMAP,
    _NEXT_CLASS,
    _STR_POOL,
    _STR_QLEN,
    EOF,
    ERR,
    KIND_CLASS,
    MORPH_GROUP,
    MORPH_TIER,
    N_KIND_CLASS,
    N_KINDS,
    N_MORPH_GROUPS,
    N_NAME_CTX,
    N_NAME_FLAG,
    N_NAME_POS,
    N_NAME_SYMS,
    N_NEXT,
    N_WS_LINE,
    N_WS_LINE_CTX,
    N_WS_MID,
    N_WS_MID_CTX,
    NAME_ESC,
    NAME_SUCC1,
    NAME_SUCC_WINDOW,
    RANK_DIRECT,
    STR_KINDS,
    T_END,
    T_WORD,
    Vocab,
    vocab,
)


def analyze(text: str, v: Vocab):
    """Tokenise and split ``text`` into symbol streams: dict stream -> (symbols, ext contexts). The lexing,
    classification, text streams, name ids and the new names' morphemes in compiled code
    (``qyn1.python.scan``); ``qyn1.python.reference.analyze`` is the slow twin (the same streams)."""
    if v._tables is None:
        v._tables = scan.vocab_tables(v)
    t = v._tables
    cp, flags = scan.code_points(text)
    (err, kinds, tok_a, tok_b, ws_a, wtype, wlen, strkind, str_tok, *text_streams, name_ctx, occ_tok, ids, new_a,
     new_b) = scan.scan(cp, flags, t)  # fmt: skip
    if err:
        raise CodecError("string token does not split")  # cannot happen with LEX
    line_start, line_kind, ctx_line, ctx_mid = _layout_contexts(kinds)
    ws_line, ws_mid, esc = _ws_symbols(line_start, line_kind, wtype, wlen)
    prevk = np.concatenate(([EOF], kinds[:-1]))
    name_mctx = _name_model_ctx(name_ctx, occ_tok, kinds)
    nsym, nflag, nowner, extra, nbits, isnew = _name_symbols(ids, MORPH_GROUP[name_ctx])
    grp = MORPH_GROUP[name_ctx[isnew]]
    m_grp, m_sym, r_grp, r_sym, r_idx, s_grp, s_a, s_b = scan.morphemes(cp, new_a, new_b, grp, t)
    # each group's symbols, tier escapes and spelled parts, in name order
    m_order = np.argsort(m_grp, kind="stable")
    morph = np.split(m_sym[m_order], np.cumsum(np.bincount(m_grp, minlength=N_MORPH_GROUPS))[:-1])
    r_order = np.argsort(r_grp, kind="stable")
    morphx_ctx = (r_grp * v.n_morph_tiers + r_sym - v.morph_tier_sym).astype(np.int32)[r_order]
    # spell items: layout literals (token order), error characters, unknown morphemes (group by group)
    err_tok = np.flatnonzero(kinds == ERR)
    spans = [
        (ws_a[esc], tok_a[esc]),
        (tok_a[err_tok], tok_b[err_tok]),
        (s_a[np.argsort(s_grp, kind="stable")], s_b[np.argsort(s_grp, kind="stable")]),
    ]
    items = [text[i:j].encode("utf-8") for a, b in spans for i, j in zip(a.tolist(), b.tolist(), strict=True)]
    return {
        "kinds": (kinds, None),
        "ws_line": (ws_line, ctx_line[line_start]),
        "ws_mid": (ws_mid, ctx_mid[~line_start]),
        "strkind": (strkind, KIND_CLASS[prevk[str_tok]]),
        "text0": (text_streams[0], None),
        "text1": (text_streams[1], None),
        "text2": (text_streams[2], None),
        "names": (nsym, name_mctx.astype(np.int64)[nowner] * N_NAME_FLAG + nflag),
        **{f"morph{g}": (np.ascontiguousarray(morph[g]), None) for g in range(N_MORPH_GROUPS)},
        "morphx": (np.ascontiguousarray(r_idx[r_order]), morphx_ctx),
        "spell": (spell_stream(items), None),
        "_extra": (extra[nbits > 0], nbits[nbits > 0]),
    }


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
# match models (``match_symbols``): the order k of the repeat the prediction is looked up by, per stream
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
    if verify:  # the decoder is told the length: it writes into a buffer of that size, no sizing pass
        try:
            ok = decode_text(body, len(data)) == data
        except CodecError:
            ok = False
        if not ok:
            return None
    return body


def _coded(name: str, model: rans.Model, syms: np.ndarray, ext) -> tuple[rans.Model, np.ndarray, np.ndarray]:
    """(model, coded symbols, table row of each) of one stream; match-model streams code MATCH where the
    match model's prediction is right (``match_symbols``)."""
    mp = _match_params().get(name)
    if mp is None:
        return model, syms, model.contexts(syms, ext)
    rowmap, k = mp
    coded, flag = match_symbols(np.ascontiguousarray(syms, dtype=np.int32), k, model.nsym - 1)
    return model, coded, rowmap[model.contexts(syms, ext) * MATCH_NFLAG + flag]


_MATCH_PARAMS: dict[str, tuple[np.ndarray, int]] | None = None


def _match_params() -> dict[str, tuple[np.ndarray, int]]:
    """stream -> (row map, match order k) of the streams with a match model (from the shipped tables)."""
    global _MATCH_PARAMS
    if _MATCH_PARAMS is None:
        a = tables.arrays()
        _MATCH_PARAMS = {
            name: (a[f"py.{name}.rowmap"].astype(np.int32, copy=False), int(a[f"py.{name}.match"]))
            for name in STREAMS
            if f"py.{name}.match" in a
        }
    return _MATCH_PARAMS


def decode_text(body: bytes, limit: int | None = None) -> bytes:
    """The chunk ``body`` encodes; ``limit``: its known length (refused when it differs; output buffer
    sized). The fused decoder (``qyn1.python.decode``: one Numba call), or the staged one when the tables do
    not fit it."""
    out = decode_texts([body], [-1 if limit is None else limit])[0]
    if isinstance(out, CodecError):
        raise out
    return out


def decode_texts(bodies: list[bytes], limits: list[int]) -> list[bytes | CodecError]:
    """Decode several chunks at once: per chunk its bytes, or the CodecError :func:`decode_text` raises for it
    (``limits[i]``: its known length, or -1). The fused decoder decodes them **stream-major** in one Numba
    call that releases the GIL: each stream for every chunk before the next stream, so each model's table
    rows stay in the cache across the batch (``qyn1.python.decode``); the staged decoder one by one when the
    tables do not fit it. Memory: the bodies, their output and the decoded streams of the whole batch."""
    t = fused.tables()
    if t is None:
        return [
            _outcome(decode_text_staged, b, None if n < 0 else n) for b, n in zip(bodies, limits, strict=True)
        ]
    starts = np.fromiter(accumulate(map(len, bodies), initial=0), dtype=np.int64, count=len(bodies) + 1)
    data = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    outs, errs = fused._decode_batch_kernel(data, starts, np.array(limits, dtype=np.int64), *t)
    res: list[bytes | CodecError] = []
    for out, err in zip(outs, errs, strict=True):
        if err:
            res.append(CodecError(fused.message(int(err), STREAMS)))
            continue
        b = out.tobytes()
        try:
            if not b.isascii():  # ASCII is UTF-8 (and 15x cheaper to check); the codec carries UTF-8 only
                b.decode("utf-8")
        except UnicodeError:
            res.append(CodecError("malformed python stream: UnicodeDecodeError"))
            continue
        res.append(b)
    return res


def _outcome(fn, *args) -> bytes | CodecError:
    try:
        return fn(*args)
    except CodecError as e:
        return e


def decode_text_staged(body: bytes, limit: int | None = None) -> bytes:
    """:func:`decode_text` stream by stream, each kernel called from Python: the reference the fused decoder
    is tested against (``tests/qyn1/test_decode_fused.py``), and its fallback."""
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
            return decode_match(rd, models[name], n, rowmap, k, ext)
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
    ids, isnew, nbits_used = decode_names(
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
    args = (kinds, wtype, wlen, kpool, koff, npool, nstart, nend, occ_new, word_off, strkind, *_STR_POOL)
    data = assemble((*args, texts, text_off, sbytes, s_start, s_end, n_esc), limit)
    data.decode("utf-8")  # the structural codec carries UTF-8 text only
    return data
