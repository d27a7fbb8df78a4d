"""What qyn1's process workers load before their first task, imported once by perfkit's fork server.

``pipeline.encode_project`` passes ``preload=("qyn1.preload",)`` to ``perfkit.parallel.map_tasks``
(``extraction.extract``, which only decodes, passes :mod:`qyn1.preload_decode`): the fork server imports
this module, so the model tables (~21 MB), the compiled rANS and encoder kernels (loaded from Numba's cache)
and the numpy/numba runtime sit in the server once, and every worker forked from it shares those pages
instead of loading its own copy. A worker's own memory is then what its files need, and it starts in
milliseconds instead of the seconds a fresh interpreter takes to import numba and load the kernels.

Importing this module does that work (it exists for nothing else): it builds every shipped model and runs the
encoder and decoder once on real source (qyn1's own modules) and on bytes that are not text, which loads the cm
coder's kernel and its primed model (``qyn1.cm.model``, ~12 MB shared by every worker).
"""

from __future__ import annotations

from pathlib import Path

from qyn1 import codec, forkserver, pipeline, tables


def warm_up() -> None:
    """Build every model and the decoding tables, and load every kernel from Numba's cache."""
    if not tables.available():
        return
    tables.load_all()
    samples = [Path(pipeline.__file__).read_bytes(), Path(codec.__file__).read_bytes()]
    samples.append(bytes(range(256)) * 8 + samples[0][:2048])  # not UTF-8: the byte-level codecs
    for data in samples:
        for python in (True, False):
            payload = codec.encode_chunk(data, python=python)
            codec.decode_chunk(payload, len(data))
    for payload in (
        bytes([codec.BYTES_O0]) + codec._encode_o0(samples[-1]),
        bytes([codec.BYTES_O1]) + codec._encode_o1(samples[-1]),
    ):
        codec.decode_chunk(payload, len(samples[-1]))


warm_up()
forkserver.settle()
