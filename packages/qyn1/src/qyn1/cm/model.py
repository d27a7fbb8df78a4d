"""The context-mixing coder's state: allocation, priming with shipped text, and one chunk in or out.

A model's state is a handful of arrays (``State``). Coding a chunk starts from a copy of a *primed* state:
the model after it has read a priming text drawn from training corpora only (``qyn1.cm.prime``), so that a
2 KB JSON file already meets the contexts, words and matches of its kind instead of an empty model. The
primed model ships ready-made (``qyn1/data/cm-primed-v<N>.npz.zst``: the text and every array, 1.7 MB), so no
process spends the ~1 s the priming pass takes; it is loaded once per process (the fork server's
``qyn1.preload`` does it for workers) and every chunk copies it (~12 MB, a few milliseconds).

Chunk body: ``u8 primer`` (0 none, 1 the shipped text) then the arithmetic coder's bytes.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
import zstandard

from qyn1.cm import kernels
from qyn1.cm.tables import N_STATES, SQUASH, STATE_P0
from qyn1.errors import CodecError

# bytes per context table (1 MiB) and match table entries: fixed by the kernels
TABLE_BITS = kernels.TABLE_BITS
MATCH_BITS = kernels.MATCH_BITS
LEARNING_RATE = 6
PRIMER_NONE, PRIMER_TEXT = 0, 1
# bytes per kernel call: a 4 MiB chunk takes seconds, and a signal (Ctrl-C) is acted on between calls
SLICE = 1 << 16
PRIMER_FILE = "cm-primed-v1.npz.zst"


@dataclass
class State:
    buf: np.ndarray  # uint8: priming text, then room for the chunk
    start: int  # where the chunk begins in buf
    ht: np.ndarray
    sm: np.ndarray
    o0: np.ndarray
    mm_table: np.ndarray
    mm_sm: np.ndarray
    mix: np.ndarray
    apm1: np.ndarray
    apm2: np.ndarray
    sc: np.ndarray

    def arrays(self) -> tuple:
        return (self.ht, self.sm, self.o0, self.mm_table, self.mm_sm, self.mix, self.apm1, self.apm2, self.sc)


def _apm(n: int) -> np.ndarray:
    j = np.arange(n * 24) % 24
    return (SQUASH[np.clip((j * 2 + 1) * 4096 // 48 - 2048, -2047, 2047) + 2048] * 16).astype(np.uint16)


def fresh(prime_len: int = 0) -> State:
    """A model that has seen nothing (every state 0, StateMaps at their states' counts)."""
    sm = np.zeros((kernels.N_CTX, 256), np.uint32)
    sm[:, :N_STATES] = STATE_P0.astype(np.uint32)
    mix = np.zeros((kernels.N_MIX_SETS, kernels.N_IN), np.int32)
    mix[:, : kernels.N_IN - 1] = 1 << 14  # 0.25 per input at the start
    sc = np.zeros(kernels.N_SCALARS, np.int64)
    sc[kernels.SC_LR] = LEARNING_RATE
    return State(
        buf=np.zeros(prime_len, np.uint8),
        start=prime_len,
        ht=np.zeros((kernels.N_CTX, 1 << TABLE_BITS), np.uint8),
        sm=sm,
        o0=np.full(256, 1 << 31, np.uint32),
        mm_table=np.zeros(1 << MATCH_BITS, np.int32),
        mm_sm=np.full(2 * kernels.MATCH_BUCKETS, 1 << 31, np.uint32),
        mix=mix,
        apm1=_apm(256),
        apm2=_apm(65536),
        sc=sc,
    )


_ARRAYS = ("ht", "sm", "o0", "mm_table", "mm_sm", "mix", "apm1", "apm2", "sc")


def prime(text: bytes) -> State:
    """A fresh model after reading ``text`` (what :func:`primed` loads ready-made)."""
    s = fresh(len(text))
    s.buf[:] = np.frombuffer(text, np.uint8)
    if text:
        ac = kernels.coder_state()
        kernels.code(kernels.PRIME, s.buf, 0, len(text), s.buf[:0], s.buf[:0], *s.arrays(), ac)
    return s


def save(state: State) -> bytes:
    """The shipped form of a primed model: its text and arrays in one zstd-compressed ``.npz``."""
    raw = io.BytesIO()
    np.savez(raw, text=state.buf[: state.start], **dict(zip(_ARRAYS, state.arrays(), strict=True)))
    return zstandard.ZstdCompressor(level=19).compress(raw.getvalue())


def _load(packed: bytes) -> State:
    with np.load(io.BytesIO(zstandard.ZstdDecompressor().decompress(packed)), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    text = arrays.pop("text")
    s = State(text, len(text), **arrays)
    pairs = zip(s.arrays(), fresh().arrays(), strict=True)
    fits = all(a.shape == b.shape and a.dtype == b.dtype for a, b in pairs)
    if not fits or not 0 <= s.sc[kernels.SC_LR] <= 256:  # the learning rate's bound: qyn1.cm.mixer
        raise CodecError(f"the shipped {PRIMER_FILE} does not fit this cm coder (rebuild it: qyn1.cm.prime)")
    return s


def has_primer() -> bool:
    return (resources.files("qyn1") / "data" / PRIMER_FILE).is_file()


@functools.lru_cache(maxsize=2)
def primed(primer: int) -> State:
    """The model a chunk starts from (kept per process; callers copy it): fresh, or the shipped primed
    model (built by ``python -m qyn1.cm.prime``: the same as :func:`prime` of its text, which a test checks)."""
    if primer == PRIMER_NONE:
        return fresh()
    return _load((resources.files("qyn1") / "data" / PRIMER_FILE).read_bytes())


def _copy(base: State, n: int) -> State:
    buf = np.empty(base.start + n, np.uint8)
    buf[: base.start] = base.buf[: base.start]
    return State(buf, base.start, *(a.copy() for a in base.arrays()))


def encode(data: bytes, primer: int = PRIMER_TEXT) -> bytes | None:
    """The chunk body for ``data``; None when it would not be smaller than ``data``."""
    if primer == PRIMER_TEXT and not has_primer():
        primer = PRIMER_NONE
    s = _copy(primed(primer), len(data))
    s.buf[s.start :] = np.frombuffer(data, np.uint8)
    out = np.empty(len(data) + 8, np.uint8)
    ac = kernels.coder_state()
    lo = s.start
    while True:  # slices of SLICE bytes; the last call (possibly empty) flushes the coder
        hi = min(lo + SLICE, len(s.buf))
        ac[kernels.AC_FINAL] = hi == len(s.buf)
        n = kernels.code(kernels.ENCODE, s.buf, lo, hi, s.buf[:0], out, *s.arrays(), ac)
        if n < 0:
            return None
        if hi == len(s.buf):
            return bytes([primer]) + out[:n].tobytes()
        lo = hi


def decode(body: bytes, n: int) -> bytes:
    """Exactly ``n`` bytes from a chunk body (a malformed body decodes to wrong bytes, which the file's
    digest refuses; it never reads out of bounds)."""
    if not body or body[0] not in (PRIMER_NONE, PRIMER_TEXT):
        raise CodecError("bad cm chunk: unknown primer")
    if body[0] == PRIMER_TEXT and not has_primer():
        raise CodecError("cm chunk needs the priming text, which this installation lacks")
    s = _copy(primed(body[0]), n)
    src = np.frombuffer(bytearray(body[1:]), np.uint8)  # writable: one compiled signature for every mode
    ac = kernels.coder_state()
    for lo in range(s.start, len(s.buf), SLICE):
        kernels.code(kernels.DECODE, s.buf, lo, min(lo + SLICE, len(s.buf)), src, s.buf[:0], *s.arrays(), ac)
    return s.buf[s.start :].tobytes()
