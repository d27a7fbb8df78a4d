"""Static-model rANS entropy coder (Numba).

* 32-bit state ``x`` kept in ``[2**23, 2**31)``, byte-wise renormalisation (ryg_rans "byte" variant);
* two interleaved states (symbol ``i`` uses state ``i & 1``) so the two dependency chains overlap;
* frequencies quantised to ``2**scale_bits`` (12..15 bits) with every symbol at least 1;
* context models: a stream is coded with one table per context, the context of symbol ``i`` being
  ``ext[i] * o1n + o1map[previous symbol]`` (``ext`` comes from streams the decoder already has, ``o1map``
  gives an order-1 model on the stream itself; either may be trivial);
* tables are built once (trained tables ship as package data) and cached as :class:`Model` objects, never
  rebuilt per chunk.
* encoding computes every symbol's row on the fly in one kernel (``kernels._encode_ctx_kernel``); decoding
  looks the symbol up in a per-row bucket table (top bits of the slot -> first candidate symbol, then a
  short step through ``cum``: ``kernels._decode_bucket_kernel``, or ``kernels._decode_rows_kernel`` for rows from
  ``ext`` only), pure order-1 models in a flat slot->symbol table (``kernels._decode_o1_kernel``), order-0
  models in a packed one (``kernels._decode_ext_kernel``).

Wire format of one coded stream: ``u32 n_symbols`` is kept by the caller; the payload is the rANS byte
stream (8 bytes of final state followed by renormalisation bytes in decoding order).

Modules: ``kernels`` (the Numba kernels), ``model`` (:class:`Model`, :func:`quantize`), ``coder`` (streams in,
bytes out and back). The models built on the coder live beside it: ``qyn1.match`` (order-k match model) and
the Python language model in ``qyn1.python``.
"""

from qyn1.rans.coder import StreamDecoder, decode, encode, encode_rows_streams, encode_streams
from qyn1.rans.kernels import MAX_SCALE, MIN_SCALE, RANS_L
from qyn1.rans.model import Model, quantize

__all__ = [
    "MAX_SCALE",
    "MIN_SCALE",
    "RANS_L",
    "Model",
    "StreamDecoder",
    "decode",
    "encode",
    "encode_rows_streams",
    "encode_streams",
    "quantize",
]
