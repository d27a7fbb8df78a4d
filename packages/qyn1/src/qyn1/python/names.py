"""The names stream and the new-name spelling: every identifier, number and text word in order as
NEW, SUCC1/SUCC2, a move-to-front rank in its role or ESC + a global rank (encoder :func:`_name_symbols`,
decoder :func:`decode_names`), the occurrence order and contexts the decoder derives
(:func:`_name_occurrences`, encoder :func:`_name_model_ctx`), and new names spelled from the morpheme
streams and spelled items (:func:`_new_names_kernel`, :func:`_spell_items`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

from perfkit import numba_cache
from qyn1.errors import CodecError
from qyn1.python.tokens import (
    _NEXT_CLASS,
    COMMENT,
    CTX_NUMBER,
    CTX_TEXT0,
    EOF,
    M_END,
    M_ESC,
    N_MORPH_GROUPS,
    N_NAME_CTX,
    N_NAME_FLAG,
    N_NAME_POS,
    N_NEXT,
    NAME,
    NAME_ESC,
    NAME_SUCC1,
    NAME_SUCC_WINDOW,
    NUMBER,
    RANK_DIRECT,
    STRING,
    T_END,
    T_WORD,
)
from qyn1.rans.coder import StreamDecoder, _ext_array
from qyn1.rans.kernels import RANS_L
from qyn1.rans.model import Model
from qyn1.rans.search import LANES, count_le, padded_rows

# the kernels compile in what they call or read from these modules: their Numba cache entries depend on them
numba_cache.depend_on(
    __file__,
    modules=[
        "qyn1.python.tokens",
        "qyn1.rans.kernels",
        "qyn1.rans.coder",
        "qyn1.rans.model",
        "qyn1.rans.search",
    ],
)


# ---------------------------------------------------------------- numba kernels
@njit(cache=True, nogil=True)
def _name_symbols(ids, roles):
    """Name symbols of local name ids (numbered by first occurrence), each name with its role (``MORPH_GROUP``
    of its context): NEW, SUCC1/SUCC2, the name's move-to-front rank among the names seen *in the same role*
    (bucket + extra bits), or ESC followed by its rank in the move-to-front list of all names. Per symbol:
    the successor flag (context; ``N_NAME_FLAG - 1`` for the symbol after an ESC) and the index of its name.
    The inverse is :func:`qyn1.decode_names`, which must compute the same flags.

    The move-to-front lists are kept as the decoder keeps them: a name's place is the stamp (occurrence
    index) of its last occurrence, live in a bitmap (one for all names, one per role), and its rank is the
    number of live stamps above its own, counted a word at a time (:func:`_live_above`) -- no list is scanned
    or shifted. ``qyn1.python.reference.name_symbols`` is the list version, which gives the same symbols.

    Returns (symbol, flag, owner name, extra value, extra bit count) per symbol and the new-name flags."""
    n = ids.shape[0]
    nw = (n >> 6) + 1
    live = np.zeros(nw, dtype=np.uint64)  # the stamp of every name's last occurrence
    rlive = np.zeros(N_MORPH_GROUPS * nw, dtype=np.uint64)  # per role: of its last occurrence in that role
    stamp = np.full(n + 1, -1, dtype=np.int64)
    rstamp = np.full((N_MORPH_GROUPS, n + 1), -1, dtype=np.int64)  # -1: not seen in that role
    succ1 = np.full(n + 1, -1, dtype=np.int32)
    succ2 = np.full(n + 1, -1, dtype=np.int32)
    sym = np.empty(2 * n, dtype=np.int32)
    flag = np.empty(2 * n, dtype=np.int32)
    owner = np.empty(2 * n, dtype=np.int64)
    extra = np.zeros(2 * n, dtype=np.int64)
    nbits = np.zeros(2 * n, dtype=np.int64)
    isnew = np.zeros(n, dtype=np.bool_)
    one = np.uint64(1)
    size = 0
    p = -1
    k = 0
    for i in range(n):
        v = ids[i]
        r = roles[i]
        top = (i - 1) >> 6  # the highest bitmap word holding a live stamp (stamps are below i)
        c1 = -1
        c2 = -1
        if p >= 0:
            c1 = succ1[p]
            c2 = succ2[p]
        b = 0
        if c1 >= 0:
            jc = _live_above(live, 0, stamp[c1], top, NAME_SUCC_WINDOW)  # c1's rank, up to the window
            b = 4 if jc >= NAME_SUCC_WINDOW else (1 if jc == 0 else (2 if jc < 4 else 3))
        flag[k] = b * 2 + (1 if c2 >= 0 else 0)
        owner[k] = i
        in_role = rstamp[r, v] >= 0
        if v == size:
            size += 1
            isnew[i] = True
            sym[k] = 0
        elif v == c1:
            sym[k] = NAME_SUCC1
        elif v == c2:
            sym[k] = NAME_SUCC1 + 1
        else:
            if in_role:
                rank = _live_above(rlive, r * nw, rstamp[r, v], top, n + 1)
            else:  # not seen in this role: ESC, then the rank among all names
                sym[k] = NAME_ESC
                k += 1
                flag[k] = N_NAME_FLAG - 1
                owner[k] = i
                rank = _live_above(live, 0, stamp[v], top, n + 1)
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
        # move to the front: the name's stamp becomes i, in the list of all names and in its role's
        s = stamp[v]
        if s >= 0:
            live[s >> 6] &= ~(one << np.uint64(s & 63))
        live[i >> 6] |= one << np.uint64(i & 63)
        stamp[v] = i
        s = rstamp[r, v]
        if s >= 0:
            rlive[r * nw + (s >> 6)] &= ~(one << np.uint64(s & 63))
        rlive[r * nw + (i >> 6)] |= one << np.uint64(i & 63)
        rstamp[r, v] = i
        if p >= 0 and c1 != v:
            succ2[p] = c1
            succ1[p] = v
        p = v
    return sym[:k], flag[:k], owner[:k], extra[:k], nbits[:k], isnew


def _pack_bits(vals: np.ndarray, nbits: np.ndarray) -> bytes:
    """Concatenate ``nbits[i]`` low bits of ``vals[i]`` (MSB first) into bytes (the last byte padded with
    zero bits, as ``np.packbits`` pads)."""
    if len(vals) == 0:
        return b""
    out = np.zeros((int(nbits.sum()) + 7) >> 3, dtype=np.uint8)
    _pack_bits_kernel(
        np.ascontiguousarray(vals, dtype=np.int64), np.ascontiguousarray(nbits, dtype=np.int64), out
    )
    return out.tobytes()


@njit(cache=True, nogil=True)
def _pack_bits_kernel(vals, nbits, out):
    pos = 0
    for i in range(vals.shape[0]):
        v = vals[i]
        for k in range(nbits[i] - 1, -1, -1):  # bit k of the value, the most significant first
            if (v >> k) & 1:
                out[pos >> 3] |= np.uint8(0x80 >> (pos & 7))
            pos += 1


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


# ---------------------------------------------------------------- detokenising kernels (decoder)
# The decoder writes the chunk's bytes straight from the decoded streams: token texts, names and morphemes
# live in UTF-8 byte pools (start offsets), so no Python string is made per token.
_NAMES_ERRORS = {
    1: "morpheme stream does not match the new names",
    2: "spell stream exhausted",
    3: "morpheme index outside the table",
    4: "unused spell items",
}


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


def spell_stream(items: list[bytes]) -> np.ndarray:
    """The spell stream of ``items`` (encoder side of :func:`_spell_items`): every byte + 1, each item ended
    by 0 (END)."""
    if not items:
        return np.zeros(0, dtype=np.int32)
    blob = np.frombuffer(b"\0".join(items) + b"\0", dtype=np.uint8).astype(np.int32) + 1
    blob[np.cumsum([len(s) + 1 for s in items]) - 1] = 0
    return blob


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


# ---------------------------------------------------------------- move-to-front names with successors
@njit(cache=True, nogil=True)
def _decode_rank(buf, pos, x, mask, sb, L, m, cfl, ncum, row):
    """One rANS decode step in row ``row`` of the flat padded ``cum`` (``cfl``, rows of ``ncum``, a multiple of
    ``search.LANES``: :func:`qyn1.rans.search.padded_rows`): (symbol, new state, new position; -1 on
    underflow). The symbol is the count of the row's entries at most the slot, minus one, counted by vector
    compares (:mod:`qyn1.rans.search`): a binary search compiled to a branch per step on the data and was
    1.3x slower on this stream, a bucket table one more cold table per symbol (docs/perf/qyn1-decode.md)."""
    slot = x & mask
    base = row * ncum
    cnt = 0
    for b in range(ncum // np.uint64(LANES)):
        cnt += count_le(cfl, base + np.uint64(b * LANES), slot)
    s = np.uint64(cnt - 1)
    lo = np.uint64(cfl[base + s])
    x = (np.uint64(cfl[base + s + np.uint64(1)]) - lo) * (x >> sb) + slot - lo
    while x < L:
        if pos >= m:
            return np.int64(s), x, -1
        x = (x << np.uint64(8)) | np.uint64(buf[pos])
        pos += 1
    return np.int64(s), x, pos


@njit(cache=True, nogil=True, inline="always")
def _popcount64(word):
    """Set bits of a uint64 (LLVM turns this loop into one popcnt)."""
    c = 0
    while word:
        word &= word - np.uint64(1)
        c += 1
    return c


@njit(cache=True, nogil=True)
def _live_above(live, off, stamp, top_word, limit):
    """Live stamps above ``stamp`` in the bitmap words ``live[off : off + top_word + 1]`` (nothing above the
    current stamp is set), counted a word at a time; the count stops once it reaches ``limit``."""
    w = (stamp + 1) >> 6
    if w > top_word:
        return 0
    word = live[off + w] & (np.uint64(0xFFFFFFFFFFFFFFFF) << np.uint64((stamp + 1) & 63))
    cnt = 0
    while True:
        cnt += _popcount64(word)
        if cnt >= limit or w >= top_word:
            return cnt
        w += 1
        word = live[off + w]


@njit(cache=True, nogil=True)
def _live_stamp(live, off, top_word, rank):
    """The live stamp of move-to-front rank ``rank`` (0: the newest) in the bitmap words
    ``live[off : off + top_word + 1]``, searching down a word at a time; -1 when fewer are live."""
    w = top_word
    while w >= 0:
        word = live[off + w]
        c = _popcount64(word)
        if rank < c:
            for _ in range(rank):  # clear the higher live stamps of the word
                word ^= np.uint64(1) << np.uint64(63 - leading_zeros(word))
            return (w << 6) + 63 - np.int64(leading_zeros(word))
        rank -= c
        w -= 1
    return -1


@njit(cache=True, nogil=True)
def _decode_names_kernel(
    buf,
    pos,
    x0_in,
    x1_in,
    n,
    ext,
    roles,
    nroles,
    nflag,
    ctxmap,
    cum,
    scale_bits,
    bits,
    rank_direct,
    succ_sym,
    esc_sym,
    window,
    out,
    isnew,
):
    """Decode ``n`` names straight to local name ids (numbered by first occurrence), for the encoder's
    :func:`_name_symbols`. Symbol 0 is a new name, ``1..rank_direct`` a move-to-front rank among the
    names seen in the same role (``roles[i]``), then four buckets per power of two whose low bits come from
    ``bits`` (one uint8 per bit, MSB first), ``succ_sym``/``succ_sym + 1`` the last/second-to-last distinct
    name that followed the previous name, ``esc_sym``: a rank among all names follows. The context of a
    symbol is ``ctxmap[ext[i] * nflag + flag]``, flag = where the successor's name sits in the first
    ``window`` entries of the move-to-front list (none, 0, 1-3, 4-15, further) x whether a second successor
    exists, or ``nflag - 1`` after an ESC: it depends on the names decoded so far, hence one sequential kernel.
    ``cum``'s rows are padded (:func:`qyn1.rans.search.padded_rows`; see :func:`_decode_rank`).

    Returns (bytes consumed, x0, x1, bits consumed); consumed is -1 on malformed input."""
    m = buf.shape[0]
    x0 = np.uint64(x0_in)
    x1 = np.uint64(x1_in)
    L = np.uint64(RANS_L)
    mask = np.uint64((1 << scale_bits) - 1)
    sb = np.uint64(scale_bits)
    cfl = cum.ravel()
    ncum = np.uint64(cum.shape[1])
    nctx = cum.shape[0]
    nmap = ctxmap.shape[0]
    nbits_total = bits.shape[0]
    # The move-to-front lists are kept as time stamps instead of arrays shifted on every use (a name sat ~200
    # places deep on average, and each use scanned and shifted that far in the list of all names and again in
    # its role's list). Name i of the stream is stamped i; a list is the bitmap of its names' latest stamps
    # ("live"), so a name's place is the number of live stamps above its own and the name of a rank is found
    # by counting live stamps down from the newest, 64 per word (a stream of n names has n / 64 words).
    nw = (n >> 6) + 1
    nf = n + 1
    glive = np.zeros(nw, dtype=np.uint64)  # all names
    rlive = np.zeros(nroles * nw, dtype=np.uint64)  # role r at offset r * nw
    glast = np.empty(nf, dtype=np.int64)  # latest stamp of each name seen
    rlast = np.zeros(nroles * nf, dtype=np.int32)  # latest stamp + 1 of name v in role r (0: never)
    who = np.empty(n, dtype=np.int32)  # the name of each stamp
    rsize = np.zeros(nroles, dtype=np.int64)
    succ1 = np.full(nf, -1, dtype=np.int32)
    succ2 = np.full(nf, -1, dtype=np.int32)
    one = np.uint64(1)
    size = 0
    p = -1
    bp = 0
    t = 0  # symbols decoded (the interleaved state is chosen by symbol, as in the encoder)
    for i in range(n):
        r = roles[i]
        if r < 0 or r >= nroles:
            return -1, x0, x1, bp
        roff = r * nw
        top_word = (i - 1) >> 6  # stamps 0..i-1 so far (-1 before the first)
        c1 = -1
        c2 = -1
        if p >= 0:
            c1 = succ1[p]
            c2 = succ2[p]
        b = 0
        if c1 >= 0:
            j = _live_above(glive, 0, glast[c1], top_word, window)  # c1's place in the list of all names
            b = 4 if j >= window else (1 if j == 0 else (2 if j < 4 else 3))
        flag = b * 2 + (1 if c2 >= 0 else 0)
        v = -1
        in_role = True
        isnew_i = False
        for step in range(2):
            c = np.int64(ext[i]) * nflag + flag
            if c < 0 or c >= nmap:
                return -1, x0, x1, bp
            c = ctxmap[c]
            if c < 0 or c >= nctx:
                return -1, x0, x1, bp
            row = np.uint64(c)
            if t & 1:
                s, x1, pos = _decode_rank(buf, pos, x1, mask, sb, L, m, cfl, ncum, row)
            else:
                s, x0, pos = _decode_rank(buf, pos, x0, mask, sb, L, m, cfl, ncum, row)
            t += 1
            if pos < 0:
                return -1, x0, x1, bp
            if step == 0 and s == 0:
                v = size
                size += 1
                isnew_i = True
                break
            if step == 0 and (s == succ_sym or s == succ_sym + 1):
                v = c1 if s == succ_sym else c2
                if v < 0:
                    return -1, x0, x1, bp
                break
            if step == 0 and s == esc_sym:
                in_role = False
                flag = nflag - 1
                continue
            if s == 0 or s >= succ_sym:
                return -1, x0, x1, bp
            if s <= rank_direct:
                rank = s - 1
            else:
                k = s - 1 - rank_direct
                e = k // 4 + 5
                nb = e - 2
                if bp + nb > nbits_total:
                    return -1, x0, x1, bp
                rank = (1 << e) + ((k & 3) << nb)
                low = 0
                for q in range(nb):
                    low = (low << 1) | bits[bp + q]
                bp += nb
                rank += low
            if in_role:
                if rank >= rsize[r]:
                    return -1, x0, x1, bp
                st = _live_stamp(rlive, roff, top_word, rank)
            else:
                if rank >= size:
                    return -1, x0, x1, bp
                st = _live_stamp(glive, 0, top_word, rank)
            if st < 0:
                return -1, x0, x1, bp
            v = who[st]
            break
        out[i] = v
        who[i] = v
        bit = one << np.uint64(i & 63)
        if isnew_i:
            isnew[i] = 1
        else:
            st = glast[v]
            glive[st >> 6] ^= one << np.uint64(st & 63)
        glive[i >> 6] |= bit
        glast[v] = i
        st = rlast[r * nf + v] - 1
        if st >= 0:
            rlive[roff + (st >> 6)] ^= one << np.uint64(st & 63)
        else:
            rsize[r] += 1
        rlive[roff + (i >> 6)] |= bit
        rlast[r * nf + v] = i + 1
        if p >= 0 and c1 != v:
            succ2[p] = c1
            succ1[p] = v
        p = v
    return pos, x0, x1, bp


def decode_names(
    dec: StreamDecoder,
    model: Model,
    n: int,
    ext,
    roles,
    nroles: int,
    nflag: int,
    bits,
    rank_direct: int,
    succ_sym: int,
    esc_sym: int,
    window: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode ``n`` move-to-front names from ``dec`` (see :func:`_decode_names_kernel`); ``model`` is a
    sparse model (``ctxmap``) over ``ext * nflag + flag``. Returns (ids, new-name flags, bits consumed)."""
    ids = np.empty(n, dtype=np.int32)
    isnew = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return ids, isnew.astype(np.bool_), 0
    if len(dec.buf) == 0:
        raise CodecError("empty rANS stream")
    if not len(model.ctxmap):
        raise ValueError("decode_names needs a model with a context map")
    e = _ext_array(ext, n)
    ro = _ext_array(roles, n)
    bits = np.ascontiguousarray(bits, dtype=np.uint8)
    pos, x0, x1, bp = _decode_names_kernel(
        dec.buf,
        dec.pos,
        dec.x0,
        dec.x1,
        n,
        e,
        ro,
        nroles,
        nflag,
        model.ctxmap,
        padded_rows(model.cum, model.scale_bits),  # a Model's rows always qualify (uint16, 10..15 bits)
        model.scale_bits,
        bits,
        rank_direct,
        succ_sym,
        esc_sym,
        window,
        ids,
        isnew,
    )
    if pos < 0:
        raise CodecError(f"malformed rANS stream for model {model.name!r}")
    dec.pos, dec.x0, dec.x1 = int(pos), int(x0), int(x1)
    return ids, isnew.astype(np.bool_), int(bp)
