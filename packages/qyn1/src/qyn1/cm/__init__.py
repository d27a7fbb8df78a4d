"""The context-mixing coder for text and data the structural Python codec does not take.

``encode(data)`` -> chunk body (or None when it does not pay), ``decode(body, n)`` -> the ``n`` bytes.
Modules: ``tables`` (integer tables that are part of the format), ``kernels`` (the Numba model and arithmetic
coder, one kernel for both directions), ``model`` (state, priming, one chunk), ``prime`` (builds the shipped
priming text from training archives).
"""

from qyn1.cm.model import decode, encode

__all__ = ["decode", "encode"]
