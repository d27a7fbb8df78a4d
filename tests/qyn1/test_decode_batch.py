"""The stream-major batch decoder (``qyn1.python.decode_texts``) against one chunk at a time: a batch mixing
real chunks with damaged ones gives, chunk by chunk, what ``decode_text`` gives alone -- the same bytes or
the same CodecError message -- so a bad chunk neither spoils nor is hidden by its neighbours.
(``test_decode_fused`` holds ``decode_text`` to the staged reference.)"""

from __future__ import annotations

import random

from qyn1.errors import CodecError
from qyn1.python import decode_text, decode_texts, pipeline

from .test_decode_fused import _sources


def _alone(body: bytes, limit: int) -> bytes | str:
    try:
        return decode_text(body, None if limit < 0 else limit)
    except CodecError as e:
        return str(e)


def test_batch_equals_one_at_a_time_on_real_and_damaged_chunks():
    rng = random.Random(31)
    srcs = _sources()
    bodies = [pipeline.encode_text(d, verify=False) for d in srcs]
    batch, limits = [], []
    for k in range(90):
        i = k % len(srcs)
        body = bytearray(bodies[i])
        op = k % 5
        if op == 1 and body:
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        elif op == 2 and body:
            body[rng.randrange(min(len(body), 24))] = rng.randrange(256)  # header counts and lengths
        elif op == 3:
            body = body[: rng.randrange(len(body) + 1)]
        limit = (len(srcs[i]) + (k % 7 == 0)) if k % 3 else -1  # known, wrong by one, unknown
        batch.append(bytes(body))
        limits.append(limit)
    got = decode_texts(batch, limits)
    assert len(got) == len(batch)
    outcomes = {"bytes": 0, "refused": 0}
    for k, (body, limit, g) in enumerate(zip(batch, limits, got, strict=True)):
        alone = _alone(body, limit)
        assert (str(g) if isinstance(g, CodecError) else g) == alone, k
        outcomes["refused" if isinstance(g, CodecError) else "bytes"] += 1
        if k % 5 == 0 and not isinstance(g, CodecError):
            assert g == srcs[k % len(srcs)]
    assert outcomes["bytes"] > 20 and outcomes["refused"] > 20
    assert decode_texts([], []) == []
