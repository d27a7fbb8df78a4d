"""The context-mixing coder's state: allocation, priming with shipped text, and one chunk in or out.

A model's state is a handful of arrays (``State``). Coding a chunk starts from a copy of a *primed* state:
the model after it has read a priming text (``qyn1/data/cm-prime-v<N>.txt.zst``, text drawn from training
corpora only, see ``qyn1.cm.prime``), so that a 2 KB JSON file already meets the contexts, words and
matches of its kind instead of an empty model. The priming pass runs once per process (the fork server's
``qyn1.preload`` does it for workers) and is kept; every chunk copies it (~30 MB, a few milliseconds).

Chunk body: ``u8 primer`` (0 none, 1 the shipped text) then the arithmetic coder's bytes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np

from qyn1.cm import kernels
from qyn1.cm.tables import N_STATES, SQUASH, STATE_P0
from qyn1.errors import CodecError

# bytes per context table: 1 MiB, 65,536 slots (22 bits gave 0.3-1.7 % smaller output at 4x the memory)
TABLE_BITS = 20
MATCH_BITS = 18
LEARNING_RATE = 6
PRIMER_NONE, PRIMER_TEXT = 0, 1
PRIMER_FILE = "cm-prime-v1.txt.zst"


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


def primer_text() -> bytes:
    """The shipped priming text (empty when the package was built without it)."""
    import zstandard

    ref = resources.files("qyn1") / "data" / PRIMER_FILE
    if not ref.is_file():
        return b""
    return zstandard.ZstdDecompressor().decompress(ref.read_bytes())


@functools.lru_cache(maxsize=2)
def primed(primer: int) -> State:
    """The model after reading the priming text (kept per process; callers copy it)."""
    text = primer_text() if primer == PRIMER_TEXT else b""
    s = fresh(len(text))
    s.buf[:] = np.frombuffer(text, np.uint8)
    if text:
        kernels.code(kernels.PRIME, s.buf, 0, len(text), s.buf[:0], s.buf[:0], *s.arrays())
    return s


def _copy(base: State, n: int) -> State:
    buf = np.empty(base.start + n, np.uint8)
    buf[: base.start] = base.buf[: base.start]
    return State(buf, base.start, *(a.copy() for a in base.arrays()))


def encode(data: bytes, primer: int = PRIMER_TEXT) -> bytes | None:
    """The chunk body for ``data``; None when it would not be smaller than ``data``."""
    if primer == PRIMER_TEXT and not primer_text():
        primer = PRIMER_NONE
    s = _copy(primed(primer), len(data))
    s.buf[s.start :] = np.frombuffer(data, np.uint8)
    out = np.empty(len(data) + 8, np.uint8)
    n = kernels.code(kernels.ENCODE, s.buf, s.start, len(s.buf), s.buf[:0], out, *s.arrays())
    if n < 0:
        return None
    return bytes([primer]) + out[:n].tobytes()


def decode(body: bytes, n: int) -> bytes:
    """Exactly ``n`` bytes from a chunk body (a malformed body decodes to wrong bytes, which the file's
    digest refuses; it never reads out of bounds)."""
    if not body or body[0] not in (PRIMER_NONE, PRIMER_TEXT):
        raise CodecError("bad cm chunk: unknown primer")
    if body[0] == PRIMER_TEXT and not primer_text():
        raise CodecError("cm chunk needs the priming text, which this installation lacks")
    s = _copy(primed(body[0]), n)
    src = np.frombuffer(bytearray(body[1:]), np.uint8)  # writable: one compiled signature for every mode
    kernels.code(kernels.DECODE, s.buf, s.start, len(s.buf), src, s.buf[:0], *s.arrays())
    return s.buf[s.start :].tobytes()
