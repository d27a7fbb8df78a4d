"""The rANS coder's Python entry points: :func:`encode_streams` / :class:`StreamDecoder` (several
streams sharing one pair of states, decoded in order), :func:`encode` / :func:`decode` for one stream, and
:func:`encode_rows_streams` for streams whose table rows the caller computed (match models).
"""

from __future__ import annotations

import numpy as np

from qyn1.errors import CodecError
from qyn1.rans.kernels import (
    _RANS_H,
    RANS_L,
    _decode_bucket_kernel,
    _decode_ext_kernel,
    _decode_o1_kernel,
    _decode_rows_kernel,
    _decode_search_kernel,
    _encode_ctx_kernel,
    _encode_rows_kernel,
)
from qyn1.rans.model import _EMPTY_I32, _ROUTE_O1, _ROUTE_SEARCH, Model


def _ext_array(ext, n: int) -> np.ndarray:
    if ext is None:
        return _EMPTY_I32
    e = np.ascontiguousarray(ext, dtype=np.int32)
    if len(e) != n:
        raise CodecError("context stream length mismatch")
    return e


def _check_syms(syms) -> np.ndarray:
    syms = np.ascontiguousarray(syms)
    if syms.dtype.kind not in "iu":
        raise TypeError("symbols must be integers")
    if not syms.dtype.isnative:  # big-endian: the kernels' typing refused it with a long Numba TypingError
        syms = syms.astype(syms.dtype.newbyteorder("="))
    return syms


def encode_streams(streams) -> bytes:
    """Encode several streams into ONE rANS byte stream sharing the coder state (8 bytes of final state in
    all, not per stream). ``streams`` is a sequence of ``(model, symbols, ext-or-None)`` in decoding order;
    the decoder must ask for them in the same order (:class:`StreamDecoder`). Contexts of a later stream
    may depend on earlier ones, since the decoder has those first."""
    streams = [(m, _check_syms(sy), ext) for m, sy, ext in streams]
    total = 0
    for _, sy, _ in streams:
        total += len(sy)
    if total == 0:
        return b""
    pos = 2 * total + 16
    out = np.empty(pos, np.uint8)
    x0 = x1 = RANS_L
    for model, syms, ext in reversed(streams):  # rANS is last-in first-out
        n = len(syms)
        if n:
            args = model._eargs or model.encode_args()
            e = _EMPTY_I32 if ext is None else _ext_array(ext, n)
            pos, x0, x1 = _encode_ctx_kernel(syms, e, *args, out, pos, x0, x1)
            if pos < 0:
                raise ValueError(f"symbol or context out of range for model {model.name!r}")
    return ((x0 << 32) | x1).to_bytes(8, "big") + out[pos:].tobytes()


# decoder kernels by Model.route (the pure order-1 kernel takes no ext and is called apart)
_DECODERS = (None, _decode_rows_kernel, _decode_bucket_kernel, _decode_search_kernel, _decode_ext_kernel)


class StreamDecoder:
    """Decodes the streams of :func:`encode_streams`, in order; :meth:`finish` checks nothing is left."""

    __slots__ = ("buf", "pos", "x0", "x1")

    def __init__(self, data):
        self.buf = buf = np.frombuffer(data, np.uint8)
        if len(buf) == 0:
            self.pos, self.x0, self.x1 = 0, RANS_L, RANS_L
            return
        if len(buf) < 8:
            raise CodecError("rANS stream shorter than its state")
        head = int.from_bytes(data[:8] if type(data) is bytes else buf[:8].tobytes(), "big")
        self.x0 = x0 = head >> 32
        self.x1 = x1 = head & 0xFFFFFFFF
        self.pos = 8
        if not (RANS_L <= x0 < _RANS_H and RANS_L <= x1 < _RANS_H):
            raise CodecError("bad rANS state")

    def decode(self, model: Model, n: int, ext=None, dtype=np.int32) -> np.ndarray:
        out = np.empty(n, dtype)
        if n == 0:
            return out
        buf = self.buf
        if len(buf) == 0:
            raise CodecError("empty rANS stream")
        route = model.route
        if route == _ROUTE_O1 and ext is None:
            args = model._dargs.get(route) or model.decode_args(route)
            r = _decode_o1_kernel(buf, self.pos, self.x0, self.x1, n, *args, out)
        else:
            if route == _ROUTE_O1:  # an order-1 model given external contexts after all
                route = _ROUTE_SEARCH
            args = model._dargs.get(route) or model.decode_args(route)
            e = _EMPTY_I32 if ext is None else _ext_array(ext, n)
            r = _DECODERS[route](buf, self.pos, self.x0, self.x1, n, e, *args, out)
        pos, x0, x1 = r
        if pos < 0:
            raise CodecError(f"malformed rANS stream for model {model.name!r}")
        self.pos = pos
        self.x0 = x0
        self.x1 = x1
        return out

    def finish(self) -> None:
        if self.pos != len(self.buf) or self.x0 != RANS_L or self.x1 != RANS_L:
            raise CodecError("rANS stream has trailing or missing bytes")


def encode(model: Model, syms, ext=None) -> bytes:
    """Encode one symbol array with ``model``; ``ext`` is the optional external context per symbol."""
    return encode_streams([(model, syms, ext)])


def decode(model: Model, data, n: int, ext=None, dtype=np.int32) -> np.ndarray:
    """Decode ``n`` symbols of a single-stream encoding. Raises :class:`CodecError` on malformed input."""
    d = StreamDecoder(data)
    out = d.decode(model, n, ext, dtype)
    d.finish()
    return out


def encode_rows_streams(streams) -> bytes:
    """Like :func:`encode_streams` with the table row of every symbol given: ``(model, symbols, rows)`` in
    decoding order (rows from :meth:`Model.contexts`, or any context scheme the decoder mirrors)."""
    total = sum(len(sy) for _, sy, _ in streams)
    out = np.empty(2 * total + 16, dtype=np.uint8)
    pos = out.shape[0]
    x0 = x1 = RANS_L
    for model, syms, rows in reversed(streams):
        if len(syms) == 0:
            continue
        syms = _check_syms(syms)
        pos, x0, x1 = _encode_rows_kernel(
            syms,
            np.ascontiguousarray(rows, dtype=np.int64),
            model.freq,
            model.cum,
            model.scale_bits,
            out,
            pos,
            x0,
            x1,
        )
        if pos < 0:
            raise ValueError(f"symbol or context out of range for model {model.name!r}")
    if total == 0:
        return b""
    head = int(x0).to_bytes(4, "big") + int(x1).to_bytes(4, "big")
    return head + out[pos:].tobytes()
