"""Training of the Python tables (``qyn1.python.train``) runs on a few small files, with weights: the shipped
tables can be rebuilt (``python -m qyn1.train`` failed for a while because the compiled analysis wanted every
morpheme of the table, and training spells each file with the other half's morphemes only)."""

from __future__ import annotations

import numpy as np
import pytest
from qyn1 import tables

WORDS = [
    "request",
    "header",
    "value",
    "config",
    "path",
    "retry",
    "count",
    "attempt",
    "handler",
    "socket",
    "buffer",
    "stream",
    "token",
]


def _file(i: int) -> bytes:
    """A small module: names that join two words (over 32 distinct names in all, as training needs)."""
    a, b, c = WORDS[i % 13], WORDS[(i * 5 + 1) % 13], WORDS[(i * 7 + 3) % 13]
    return (
        f"import os\nfrom {a}_lib import {b}_tool as {c}_alias\n\nMAX_{a.upper()}_{b.upper()} = {i}\n\n\n"
        f"class {a.title()}{b.title()}Handler:\n"
        f"    def handle_{a}_{c}(self, {b}_{c}):\n"
        f'        """Read the {a} {b}."""\n'
        f"        return {b}_{c}.split()  # every {c}\n\n\n"
        f"def parse_{b}_{a}(raw_{c}, {a}_limit={i}):\n"
        f"    return os.path.join(raw_{c}, str({a}_limit))\n\n\n"
        f"LABELS = {{'{a}': \"{b} {c}\", b'{c}': r'\\d+', 'q{i}z{i}': 0x{i}F, 'x': 1.5e{i}}}\n"
    ).encode()


FILES = [_file(i) for i in range(12)]


@pytest.mark.skipif(not tables.has_python(), reason="qyn1 was built without its tables")
def test_training_runs_with_weights_and_gives_quantised_rows():
    from qyn1.python import train

    out = train.train_tables(FILES, n_morphemes=200, weights=[1.0] * 8 + [0.07] * 4)
    freqs = [k for k in out if k.startswith("py.") and k.endswith(".freq")]
    assert "py.kinds.freq" in freqs and "py.morph2.freq" in freqs
    for k in freqs:
        rows = out[k].astype(np.int64).reshape(-1, out[k].shape[-1])
        assert (rows.sum(axis=1) == 1 << int(out[k.replace(".freq", ".scale")])).all(), k
    morphemes = out["vocab.morphemes"].tobytes().decode("utf-8").split("\0")
    assert "request" in morphemes and "handler" in morphemes  # parts of names in several files
