"""Training of the Python model's tables from a corpus (``python -m qyn1.train``): the frequent names,
the morpheme table, and every stream's counts with sparse contexts and match rows.
"""

from __future__ import annotations

import numpy as np

from qyn1 import rans
from qyn1.match import MATCH_NFLAG, match_symbols
from qyn1.python.pipeline import analyze, model_shapes
from qyn1.python.tokens import (
    _WORD,
    COMMENT,
    LEX,
    MORPH_DIRECT,
    MORPH_TIER,
    N_FREQ_NAMES,
    NAME,
    NUMBER,
    STRING,
    Vocab,
    _classify,
    split_name,
)

# ---------------------------------------------------------------- training
# 30k was the best with the stdlib alone (22k and 38k: less); with the PyPI training files more candidates
# recur (held-out ratio, docs/perf/qyn1.md "Ratio, round 10": 30k 6.936, 40k 6.942, 50k 6.949, 80k 6.955)
N_MORPHEMES = 80000
# Every row's smoothing: a floor per symbol plus this many counts of the stream's overall distribution.
SMOOTH_FLOOR = 0.02
SMOOTH_OVERALL = 0.5


def train_tables(
    datas: list[bytes], n_morphemes: int = N_MORPHEMES, weights: list[float] | None = None
) -> dict[str, np.ndarray]:
    """Build the vocabularies and every stream's table from training files (see ``qyn1.train``). A file
    counts ``weights[i]`` times (default 1) in every count: the frequent names, the morpheme candidates, the
    streams' rows and the sparse thresholds, so a large corpus of other projects can add what the stdlib lacks
    without outvoting it."""
    from collections import Counter

    texts, wts = [], []
    for i, d in enumerate(datas):
        try:
            texts.append(d.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        wts.append(1.0 if weights is None else float(weights[i]))
    # 1. frequent names become kinds
    base = Vocab([f"\0{i}" for i in range(N_FREQ_NAMES)], [])
    name_counts: Counter = Counter()
    for t, w in zip(texts, wts, strict=True):
        for tok in LEX.findall(t):
            if tok not in base.fixed and _classify(tok) == NAME:
                name_counts[tok] += w
    freq_names = [nm for nm, _ in name_counts.most_common(N_FREQ_NAMES)]
    # 2. morpheme table from first occurrences per file (names, numbers, words)
    v0 = Vocab(freq_names, [])
    whole: Counter = Counter()
    parts: Counter = Counter()
    seen_in: list[set[str]] = [set(), set()]  # names and parts of the even / odd training files
    for i, t in enumerate(texts):
        for nm in _first_names(t, v0):
            whole[nm] += wts[i]
            seen_in[i % 2].add(nm)
            for p in split_name(nm):
                parts[p] += wts[i]
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
                coded, flag = match_symbols(
                    np.ascontiguousarray(syms, dtype=np.int32), sh["match"], sh["nsym"]
                )
                counts[name].append((np.stack((ctx, flag, coded)), np.full(len(ctx), wts[i])))
            elif "sparse" in sh:
                counts[name].append((ctx * sh["nsym"] + syms, np.full(len(ctx), wts[i])))
            else:
                np.add.at(counts[name], (ctx, syms), wts[i])
    out: dict[str, np.ndarray] = {}
    for name, sh in shapes.items():
        if "match" in sh:
            c, ctxmap, rowmap = _match_rows(
                sh,
                np.concatenate([t for t, _ in counts[name]], axis=1),
                np.concatenate([w for _, w in counts[name]]),
            )
            out[f"py.{name}.ctxmap"] = ctxmap.astype(np.uint16 if len(c) < 65536 else np.int32)
            out[f"py.{name}.rowmap"] = rowmap.astype(np.uint16 if len(c) < 65536 else np.int32)
            out[f"py.{name}.match"] = np.array(sh["match"])
            if "o3map" in sh:
                out[f"py.{name}.o3map"] = sh["o3map"].astype(np.int32)
        elif "sparse" in sh:
            c, ctxmap = _sparse_rows(
                sh, np.concatenate([p for p, _ in counts[name]]), np.concatenate([w for _, w in counts[name]])
            )
            out[f"py.{name}.ctxmap"] = ctxmap.astype(np.uint16 if len(c) < 65536 else np.int32)
            if "o3map" in sh:
                out[f"py.{name}.o3map"] = sh["o3map"].astype(np.int32)
        else:
            c = counts[name]
        # smoothing: a little of the stream's overall distribution plus a floor
        overall = c.sum(axis=0) + 1
        c = c + SMOOTH_FLOOR + SMOOTH_OVERALL * overall / overall.sum()
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


def _match_rows(sh: dict, triples: np.ndarray, wts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, context map and row map of a match-model stream from (full context, match flag, coded symbol)
    triples, each counting its weight ``wts``. The context map is that of :func:`_sparse_rows` (full contexts seen ``sh["sparse"]`` times keep
    their own base row, the others share their order-2 row); a (base context, flag) pair gets its own row
    when seen as often, else an (order-2 context, flag) row when that was, else the base row. Counts are
    those of the symbols each row actually serves."""
    nsym = sh["nsym"] + 1
    nf = MATCH_NFLAG
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
    u, inv = np.unique(ctx, return_inverse=True)
    ucnt = np.bincount(inv, weights=wts)
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
    k2, i2 = np.unique(inner_base * nf + flag, return_inverse=True)
    c2 = np.bincount(i2, weights=wts)
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
    k3, i3 = np.unique(base[sel] * nf + flag[sel], return_inverse=True)
    c3 = np.bincount(i3, weights=wts[sel])
    k3 = k3[c3 >= thr]
    rowmap[k3] = n_rows + np.arange(len(k3))
    n_rows += len(k3)
    cnt = np.zeros((n_rows, nsym))
    np.add.at(cnt, (rowmap[base * nf + flag], sym), wts)
    return cnt, ctxmap, rowmap


def _sparse_rows(sh: dict, pairs: np.ndarray, wts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    np.add.at(cnt, (inv, sym), wts)
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
