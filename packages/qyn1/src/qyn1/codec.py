"""Chunk codecs: what goes inside one encrypted chunk.

Payload = ``u8 codec id`` + codec body. For every chunk the encoder tries, deterministically, the
structural Python codec (text that decodes as UTF-8 and whose lexer round-trips), the strong general-purpose
coders (zstandard level 19 with long-distance matching, brotli quality 11) and the small rANS byte codecs,
keeping the smallest; ``stored`` bounds the worst case at +1 byte. The id in each chunk records the choice
(``qyn1 list --json`` counts them per file).

* 0 ``stored``: the bytes as they are.
* 1 ``bytes-o0``: order-0 rANS, the table (present-symbol bitmap + 12-bit frequencies) sent in the chunk.
* 2 ``bytes-o1``: order-1 rANS with the shipped byte model trained on Python source (no table sent).
* 3 ``python``: the structural encoder (``qyn1.python``) -- token streams with context-conditioned models.
* 4 ``zstd``: a zstandard frame (level 19, long-distance matching, window up to the chunk size).
* 5 ``brotli``: a brotli stream (quality 11, 16 MiB window).
* 6 ``cm``: the context-mixing bit coder (``qyn1.cm``): hashed order-1..6, word and column contexts and a
  match model mixed per bit, started from a model primed with shipped text of the other source kinds
  (JavaScript, C/C++, Rust, JSON, Markdown). Symmetric: decoding costs what encoding does.
* 7 ``xz``: one byte naming a filter chain (``XZ_FILTERS``), then a raw LZMA2 stream (Python's ``lzma``,
  i.e. liblzma: preset 9e, dictionary the chunk's size). Tried only on chunks holding a NUL byte (binaries:
  never text), with the x86 branch-call-jump filter first, which turns relative call/jump targets into
  absolute ones so that repeated calls of one function become repeated bytes (each ``.so`` file of numba
  alone: 8 % smaller than zstd -19 --long, 4 % smaller than brotli-11; of pandas: 13 % smaller than zstd).
  Tried first on such a chunk; the other general coders then only where the zstd-3 probe comes within
  ``XZ_MARGIN`` of the xz size (data that LZ matching might code better), never on ordinary machine code.

On a chunk the structural codec takes, the slow general coders (brotli-11 runs at well under 1 MB/s) are
tried only when a fast probe says they may win: zstd level ``PROBE_LEVEL`` (hundreds of MB/s) coming within
``PROBE_MARGIN`` of the structural size. On ordinary code they never win (the structural codec averages
~6.6x on the held-out stdlib, brotli-11 ~5.3x), but on data written as Python -- tables of codes, unicode
data, long literal lists -- LZ matching wins by far (rich's ``_unicode_data`` chunk: structural 16 KB,
brotli 3 KB), and the probe finds those.

On such a chunk cm runs first, and zstd-19/brotli-11 only where they might still beat it
(:func:`_lz_may_win`): they are skipped when cm is admitted and its body is smaller than a brotli-5 probe's
(~40 MB/s; brotli-11 ~1) divided by ``BROTLI5_GAIN``: the largest gain of the smaller zstd-19/brotli-11 body
over brotli-5 on any Python chunk of the stdlib's training half (1.330), rounded up. What that guarantees: on
a chunk where zstd-19 and brotli-11 gain no more than that over brotli-5 (every training chunk), the skip
changes nothing (cm is smaller than either would be, so the exhaustive rule picks the same payload). What it
does not: a chunk where they gain more could come out larger than brotli-11 would make it, by at most the
factor of that excess. Held out, rich's unicode tables exceed it by up to 9.4 %; cm was 11 % or more smaller
than zstd-19/brotli-11 on every held-out and training chunk the skip fired on, so none lost a byte. A 5 % pad
(1.40) would not cover rich's tables either, and the skip would fire on far fewer chunks (held out: the
stdlib's 67 % of the gated bytes instead of 92 %, numba's 21 % instead of 92 %, pandas' 9 % instead of 83 %;
serial stdlib pack 1.33x slower). ``benchmarks/qyn1_trial_skip.py`` measures the gains, how often the skip
fires and whether any chunk or file lost (docs/perf/qyn1.md).
"""

from __future__ import annotations

import functools
import lzma

import brotli
import numpy as np
import zstandard

from qyn1 import varint
from qyn1.errors import CodecError

# ``qyn1.cm``, ``qyn1.rans`` and ``qyn1.tables`` are imported where they are used: they load numba (~0.3 s),
# which a process that only reads a package's table or hands chunks to process workers (the parent of
# ``qyn1 unpack --workers 2``, ``qyn1 list``) never needs (docs/perf/qyn1.md, "Unpack, round 9").

STORED, BYTES_O0, BYTES_O1, PYTHON, ZSTD, BROTLI, CM, XZ = 0, 1, 2, 3, 4, 5, 6, 7
NAMES = {
    STORED: "stored",
    BYTES_O0: "bytes-o0",
    BYTES_O1: "bytes-o1",
    PYTHON: "python",
    ZSTD: "zstd",
    BROTLI: "brotli",
    CM: "cm",
    XZ: "xz",
}
_O0_SCALE = 12
PROBE_LEVEL = 3
PROBE_MARGIN = 1.35  # zstd-19/brotli-11 are rarely more than ~25 % smaller than zstd-3
ZSTD_LEVEL = 19
BROTLI_QUALITY = 11
BROTLI_LGWIN = 24
# the xz body's first byte -> the filters before LZMA2 and LZMA2's literal/position options; 1 = x86 code
# (no literal context: machine code's previous byte says little about the next one)
XZ_FILTERS = {0: ((), {}), 1: ((lzma.FILTER_X86,), {"lc": 1, "lp": 0, "pb": 0})}
XZ_TRIED = (1,)  # variants the encoder tries (on chunks with a NUL byte); the decoder reads every one above
# on a chunk with a NUL byte, zstd-19, brotli-11 and cm are tried only when the zstd-3 probe comes within
# XZ_MARGIN of xz: on machine code it does not (pandas' .so: 1.39-1.46x xz, brotli-11 and zstd-19 7-15 %
# larger than xz) and brotli-11 / cm are the slow, memory-hungry part of a large binary chunk
XZ_MARGIN = 1.25
# the default presets' rule for the cm coder on a chunk the structural codec also codes: cm takes it only when
# its payload is at most 1/CM_PYTHON_MARGIN of the structural one, since cm decodes at ~0.7-1 MB/s per core
# against ~20 MB/s structural. Most Python chunks cm wins it wins by 1.1-1.45x (pandas' 84 by 1.1-1.3x, numba's
# 13 by 1.12-1.9x, the stdlib's 38 by 1.10-1.44x or, on data written as Python, 2.2-7.3x). A margin of 1.5
# (round 4) made unpack 1.4-5x faster but gave back what cm won on numba and pandas: pandas fell to 0.986x
# `tar | zstd -19 --long`, worse than the peer. 1.1 keeps every chunk cm wins on rich, numba and pandas, and
# only refuses wins too small to pay for the slower decode (docs/perf/qyn1.md, "cm on Python chunks").
# ``python-max`` (``python_cm``) lets cm compete by size alone.
CM_PYTHON_MARGIN = 1.1
# the skip of zstd-19/brotli-11 on a chunk the structural codec takes (_lz_may_win): the largest ratio of the
# brotli-5 body to the smaller zstd-19/brotli-11 body on the 1,073 Python chunks of the stdlib's training half
# (packed 128 KiB blocks and each file alone: 1.330, on the encodings tables), rounded up (module docstring:
# why not padded 5 %); `benchmarks/qyn1_trial_skip.py --train` prints it. (The zstd-3 probe is no such bound:
# its frame header alone is 9x the brotli body of a one-line file.)
BROTLI5_GAIN = 1.34
BROTLI_PROBE_QUALITY = 5


def _encode_zstd(data: bytes) -> bytes:
    window = max(17, min(27, (len(data) - 1).bit_length()))
    params = zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL, source_size=len(data), window_log=window, enable_ldm=True
    )
    return zstandard.ZstdCompressor(compression_params=params).compress(data)


def _decode_zstd(body: bytes, n: int) -> bytes:
    try:
        return zstandard.ZstdDecompressor().decompress(body, max_output_size=n)
    except zstandard.ZstdError as e:
        raise CodecError(f"bad zstd chunk: {e}") from None


def _probe(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=PROBE_LEVEL).compress(data)


def _encode_brotli(data: bytes) -> bytes:
    return brotli.compress(data, quality=BROTLI_QUALITY, lgwin=BROTLI_LGWIN)


def _lz_may_win(data: bytes, cm_len: int) -> bool:
    """False when zstd-19 and brotli-11 are not worth running on ``data``: cm's body (``cm_len`` bytes) is
    smaller than the brotli-5 body / ``BROTLI5_GAIN``, less than their bodies have been on any training chunk
    (module docstring: what this guarantees and what it does not)."""
    return cm_len * BROTLI5_GAIN >= len(_probe_brotli(data))


def _probe_brotli(data: bytes) -> bytes:
    return brotli.compress(data, quality=BROTLI_PROBE_QUALITY, lgwin=BROTLI_LGWIN)


def _decode_brotli(body: bytes, n: int) -> bytes:
    d = brotli.Decompressor()
    try:
        out = d.process(body, output_buffer_limit=n + 1)
    except brotli.error as e:
        raise CodecError(f"bad brotli chunk: {e}") from None
    if len(out) != n or not d.is_finished():
        raise CodecError("brotli chunk does not hold exactly the stated length")
    return out


def _xz_filters(variant: int, n: int, encode: bool) -> list[dict]:
    pre, opts = XZ_FILTERS[variant]
    lz = {"id": lzma.FILTER_LZMA2, "dict_size": max(4096, n), **opts}
    if encode:
        lz["preset"] = 9 | lzma.PRESET_EXTREME
    return [{"id": f} for f in pre] + [lz]


def _encode_xz(data: bytes, variant: int) -> bytes:
    return bytes([variant]) + lzma.compress(
        data, format=lzma.FORMAT_RAW, filters=_xz_filters(variant, len(data), True)
    )


def _decode_xz(body: bytes, n: int) -> bytes:
    if not body or body[0] not in XZ_FILTERS:
        raise CodecError("unknown xz filter chain")
    d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_xz_filters(body[0], n, False))
    try:
        out = d.decompress(body[1:], max_length=n + 1)
    except lzma.LZMAError as e:
        raise CodecError(f"bad xz chunk: {e}") from None
    if len(out) != n or not d.eof or d.unused_data:
        raise CodecError("xz chunk does not hold exactly the stated length")
    return out


def _encode_o0(data: bytes) -> bytes:
    from qyn1 import rans

    a = np.frombuffer(data, dtype=np.uint8)
    counts = np.bincount(a, minlength=256)
    present = np.flatnonzero(counts)
    bitmap = np.zeros(256, dtype=np.uint8)
    bitmap[present] = 1
    freq = rans.quantize(counts[present], _O0_SCALE)
    remap = np.zeros(256, dtype=np.int32)
    remap[present] = np.arange(len(present))
    out = bytearray(np.packbits(bitmap).tobytes())
    for f in freq:
        varint.put(out, int(f) - 1)
    model = rans.Model(freq, _O0_SCALE, name="bytes-o0")
    out += rans.encode(model, remap[a])
    return bytes(out)


def _decode_o0(body: bytes, n: int) -> bytes:
    from qyn1 import rans

    r = varint.Reader(body)
    bitmap = np.unpackbits(np.frombuffer(r.take(32), dtype=np.uint8))
    present = np.flatnonzero(bitmap)
    if len(present) == 0:
        raise CodecError("empty symbol set in bytes-o0 chunk")
    freq = np.array([r.varint(1 << _O0_SCALE) + 1 for _ in present], dtype=np.int64)
    if freq.sum() != 1 << _O0_SCALE:
        raise CodecError("bad bytes-o0 frequency table")
    model = rans.Model(freq, _O0_SCALE, name="bytes-o0")
    syms = rans.decode(model, body[r.pos :], n)
    return present.astype(np.uint8)[syms].tobytes()


def _encode_o1(data: bytes) -> bytes:
    from qyn1 import rans, tables

    return rans.encode(tables.model("bytes_o1"), np.frombuffer(data, dtype=np.uint8))


def _decode_o1(body: bytes, n: int) -> bytes:
    from qyn1 import rans, tables

    return rans.decode(tables.model("bytes_o1"), body, n, dtype=np.uint8).tobytes()


def encode_chunk(data: bytes, *, python: bool = True, general: bool = True, python_cm: bool = False) -> bytes:
    """Encode one chunk with the smallest of the codecs that apply (ties: the lower codec id);
    ``python=False`` skips the structural codec, ``general=False`` zstd, brotli, xz and the cm coder.
    ``python_cm`` tries the cm coder on every chunk the structural codec takes and lets it win by size alone
    (the ``python-max`` preset: smaller packages, but a chunk cm wins decodes ~20x slower than a structural
    one); without it, cm is tried only where the zstd probe says a general coder may win, and on a chunk
    the structural codec takes it must be ``CM_PYTHON_MARGIN`` times smaller than the structural payload.
    On a chunk the structural codec takes, zstd-19 and brotli-11 run only when cm is not admitted or
    :func:`_lz_may_win` says they may beat it (module docstring)."""
    from qyn1 import cm, tables

    data = bytes(data)
    best = bytes([STORED]) + data
    if not data:
        return best
    candidates = []
    if python and tables.has_python():
        from qyn1 import python as pyenc  # local import: heavy module, only for text

        body = pyenc.encode_text(data)
        if body is not None:
            candidates.append(bytes([PYTHON]) + body)
    structural = len(candidates[0]) if candidates else None
    if structural is None or structural > len(data) // 3:  # cheap byte models: as before container v2
        if tables.available():
            candidates.append(bytes([BYTES_O1]) + _encode_o1(data))
        if len(data) > 64:
            candidates.append(bytes([BYTES_O0]) + _encode_o0(data))
    probe = functools.cache(lambda: len(_probe(data)))
    cm_body = functools.cache(lambda: cm.encode(data))
    cm_bound = len(data) + 1 if python_cm or structural is None else structural / CM_PYTHON_MARGIN
    if general and (structural is None or probe() < PROBE_MARGIN * structural):
        lz = True
        binary = b"\0" in data
        if binary:  # binary (machine code, data files): never text, so never Python
            xz = [bytes([XZ]) + _encode_xz(data, v) for v in XZ_TRIED]
            candidates += xz
            lz = probe() < XZ_MARGIN * min(map(len, xz))
        elif structural is not None:  # cm first; the slow LZ coders only where they may still beat it
            body = cm_body()
            lz = body is None or len(body) + 1 > cm_bound or _lz_may_win(data, len(body))
        if lz:
            candidates.append(bytes([ZSTD]) + _encode_zstd(data))
            candidates.append(bytes([BROTLI]) + _encode_brotli(data))
        python_cm = lz or (not binary and structural is not None)
    if general and python_cm:
        body = cm_body()
        if body is not None and len(body) + 1 <= cm_bound:
            candidates.append(bytes([CM]) + body)
    for c in candidates:
        if len(c) < len(best):
            best = c
    return best


def decode_chunk(payload: bytes, n: int, need: int | None = None) -> bytes:
    """Decode a chunk payload to exactly ``n`` bytes; CodecError when malformed. ``need``: only the first
    ``need`` bytes are wanted; the ``cm`` decoder, which is sequential and slow, then stops there (its output
    is that prefix), every other codec returns all ``n``."""
    if not payload:
        raise CodecError("empty chunk payload")
    codec = payload[0]
    body = payload[1:]
    if codec == STORED:
        out = bytes(body)
    elif codec == BYTES_O0:
        out = _decode_o0(body, n)
    elif codec == BYTES_O1:
        out = _decode_o1(body, n)
    elif codec == PYTHON:
        from qyn1 import python as pyenc

        out = pyenc.decode_text(body, n)
    elif codec == ZSTD:
        out = _decode_zstd(body, n)
    elif codec == BROTLI:
        out = _decode_brotli(body, n)
    elif codec == CM:
        from qyn1 import cm

        n = n if need is None else min(need, n)
        out = cm.decode(body, n)
    elif codec == XZ:
        out = _decode_xz(body, n)
    else:
        raise CodecError(f"unknown chunk codec {codec}")
    if len(out) != n:
        raise CodecError("decoded chunk has the wrong length")
    return out


def decode_chunks(items: list[tuple[bytes, int]]) -> list[bytes]:
    """:func:`decode_chunk` of each ``(payload, plaintext length)``, in order, with the same errors (the first
    failing item's): the batch's ``python`` chunks are decoded together, stream by stream in one call
    (``qyn1.python.decode_texts``, 1.1-1.5x faster than one by one: docs/perf/qyn1-decode.md), the others
    one by one."""
    py = [i for i, (payload, _) in enumerate(items) if payload[:1] == bytes([PYTHON])]
    texts: dict[int, bytes | CodecError] = {}
    if py:
        from qyn1 import python as pyenc

        decoded = pyenc.decode_texts([items[i][0][1:] for i in py], [items[i][1] for i in py])
        texts = dict(zip(py, decoded, strict=True))
    out = []
    for i, (payload, n) in enumerate(items):
        data = texts[i] if i in texts else decode_chunk(payload, n)
        if isinstance(data, CodecError):
            raise data
        out.append(data)
    return out


def codec_of(payload: bytes) -> str:
    return NAMES.get(payload[0], "?") if payload else "?"


def split_chunks(data: bytes, chunk_size: int, *, at_lines: bool = True) -> list[bytes]:
    """Split into chunks of at most ``chunk_size`` bytes; with ``at_lines``, cut after a newline where one
    exists in the second half of the window (keeps tokens and UTF-8 sequences whole for the structural
    codec), else at exact multiples of ``chunk_size``."""
    if chunk_size < 1:  # no piece would ever be cut: an endless loop of empty chunks
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    if len(data) <= chunk_size:
        return [data]
    out = []
    pos = 0
    n = len(data)
    while pos < n:
        end = min(pos + chunk_size, n)
        if end < n and at_lines:
            cut = data.rfind(b"\n", pos + chunk_size // 2, end)
            if cut >= 0:
                end = cut + 1
        out.append(data[pos:end])
        pos = end
    return out
