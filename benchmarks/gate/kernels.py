"""Kernel-level gate workloads: a pipeline's hot kernel on a fixed in-memory input, nothing else.

The command workloads (workloads.json) count a whole pipeline command, where a kernel can be a small share
(mbp10's bar5s kernel is ~6% of `mbp10 bars` on a 30,000-record day: decoding and writing dominate), so a
kernel slowdown would hide in them. Each function here builds its input (not counted) and returns the work
`perfkit gate` counts.
"""

from __future__ import annotations

import datetime as dt


def mbp10_bar5s():
    """bar5s of a 100,000-record synthetic day, in memory: the bar5s kernel and the Arrow table it fills."""
    from mbp10.bars import compute_bars
    from mbp10.synth import synth_day

    records = synth_day(dt.date(2024, 1, 2), 100_000, seed=1)
    return lambda: compute_bars(records)


def qyn1_encode_encrypt():
    """qyn1's per-chunk work on one fixed Python file (textwrap.py of this interpreter): the smallest codec
    of encode_chunk, then ChaCha20-Poly1305 with a fixed key and nonce. (The `qyn1 pack` command counts
    differed by 46% between two runs of one snapshot, so qyn1 is gated at this level.)"""
    import sysconfig
    from pathlib import Path

    from qyn1.codec import encode_chunk
    from qyn1.crypto.fast import aead_encrypt

    data = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_bytes()
    key, nonce = bytes(range(32)), bytes(12)
    return lambda: aead_encrypt(key, nonce, encode_chunk(data))
