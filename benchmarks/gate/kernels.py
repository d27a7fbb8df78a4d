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
