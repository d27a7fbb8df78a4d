"""The slow, obvious twin of the Python structural encoder's analysis: :func:`analyze` lexes with the regular
expression ``tokens.LEX`` and classifies, splits and numbers every token in Python. The fast
``qyn1.python.pipeline.analyze`` (``qyn1.python.scan``: one compiled pass) must give the same streams;
``tests/qyn1/test_scan.py`` compares the two. :func:`name_symbols` is the names stream's move-to-front coder with
its lists as arrays, the twin of ``names._name_symbols`` (stamp bitmaps), compared in the same tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from perfkit import numba_cache
from qyn1.errors import CodecError
from qyn1.python.layout import _layout_contexts, _ws_class, _ws_symbols
from qyn1.python.names import _name_model_ctx, spell_stream
from qyn1.python.text import _text_symbols
from qyn1.python.tokens import (
    _PARTS,
    _WS_LOOKUP,
    COMMENT,
    CTX_NUMBER,
    CTX_TEXT0,
    EOF,
    ERR,
    KIND_CLASS,
    LEX,
    M_END,
    M_ESC,
    MORPH_GROUP,
    N_MORPH_GROUPS,
    N_NAME_FLAG,
    NAME,
    NAME_ESC,
    NAME_SUCC1,
    NAME_SUCC_WINDOW,
    NUMBER,
    RANK_DIRECT,
    STR_KINDS,
    STRING,
    WS,
    Vocab,
    _classify,
    _split_string,
)

# name_symbols compiles in constants of tokens: its Numba cache entry depends on them
numba_cache.depend_on(__file__, modules=["qyn1.python.tokens"])


def analyze(text: str, v: Vocab):
    """Tokenise and split ``text`` into symbol streams: dict stream -> (symbols, ext contexts). The slow twin of
    ``qyn1.python.pipeline.analyze``: ``LEX.findall``, then Python per token (the encoder's code up to
    2026-12-07)."""
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
    nsym, nflag, nowner, extra, nbits, isnew = name_symbols(ids, MORPH_GROUP[name_ctx])
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
        "spell": (spell_stream(spell_items), None),
        "_extra": (extra[nbits > 0], nbits[nbits > 0]),
    }


@njit(cache=True, nogil=True)
def name_symbols(ids, roles):
    """The slow twin of ``names._name_symbols`` (the encoder's code up to 2026-12-07): the same symbols, with
    the move-to-front lists kept as arrays that are scanned for a name and shifted to move it to the front.
    Compiled: in Python it would take seconds on one real chunk."""
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
