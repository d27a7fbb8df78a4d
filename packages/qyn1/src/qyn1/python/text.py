"""The text streams (``text0/1/2``: bodies of single- and triple-quoted strings and comments) on the
encoder side: UTF-8 bytes with every ASCII word replaced by a WORD marker (the words go to the names
stream). The decoder reads them back in :mod:`qyn1.python.names` (word occurrences) and
:mod:`qyn1.python.assemble` (the bodies' bytes).
"""

from __future__ import annotations

import numpy as np

from qyn1.python.tokens import T_END, T_WORD

_IS_WORD = np.zeros(256, dtype=np.bool_)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789":
    _IS_WORD[_c] = True
_IS_DIGIT = np.zeros(256, dtype=np.bool_)
_IS_DIGIT[48:58] = True
del _c


def _text_symbols(bodies: list[str]) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Text stream of the bodies (bytes + 2, WORD markers, END after each body), the words, the body
    index of each word and its position within the body. A word is a maximal run of ASCII letters,
    digits and '_' that does not start with a digit."""
    if not bodies:
        return np.zeros(0, dtype=np.int32), [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    enc = [b.encode("utf-8") for b in bodies]
    lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
    arr = np.frombuffer(b"".join(enc), dtype=np.uint8)
    n = len(arr)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    isw = _IS_WORD[arr]
    run_start = isw.copy()
    run_start[1:] &= ~isw[:-1]
    body_first = np.zeros(n + 1, dtype=np.bool_)
    body_first[starts] = True
    body_first = body_first[:n]
    run_start |= isw & body_first
    run_id = np.cumsum(run_start) - 1  # run index of each word byte
    word_run = run_start & ~_IS_DIGIT[arr]  # runs starting with a digit stay bytes
    keep_run = np.zeros(int(run_start.sum()), dtype=np.bool_)
    keep_run[run_id[run_start]] = word_run[run_start]
    if len(keep_run):
        in_word = isw & keep_run[np.maximum(run_id, 0)] & (run_id >= 0)
    else:
        in_word = np.zeros(n, dtype=np.bool_)
    wstart = np.flatnonzero(in_word & run_start)
    # word end: next position that is not inside the same run
    run_len = np.bincount(run_id[isw], minlength=len(keep_run))
    wend = wstart + run_len[run_id[wstart]]
    syms = arr.astype(np.int32) + 2
    syms[wstart] = T_WORD
    keep = ~in_word | run_start
    body_of_byte = np.repeat(np.arange(len(bodies)), lens)
    # assemble: kept symbols, then END after each body (np.insert at the kept-prefix counts)
    kept = syms[keep]
    kept_counts = np.bincount(body_of_byte[keep], minlength=len(bodies)) if n else np.zeros(len(bodies), int)
    ins_at = np.cumsum(kept_counts)
    out = np.insert(kept, ins_at, T_END)
    raw = arr.tobytes()
    words = [raw[a:b].decode("ascii") for a, b in zip(wstart.tolist(), wend.tolist(), strict=True)]
    wbody = body_of_byte[wstart]
    wsub = wstart - starts[wbody]
    return out.astype(np.int32), words, wbody, wsub
