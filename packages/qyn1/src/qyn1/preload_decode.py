"""What the process workers of a command that only decodes (``qyn1 unpack``, ``qyn1 verify``) load before
their first task, imported once by perfkit's fork server.

The decoding half of :mod:`qyn1.preload`: the model tables, the primed cm model and every decoding kernel (from
Numba's cache) sit in the server once and every worker forked from it shares them, but none of the encoder's
kernels, which a decode never calls (the structural encoder alone takes ~0.15 s of the server's ~1 s start:
docs/perf/qyn1.md, "Unpack, round 9"). Without an encoder there is nothing to encode samples with, so the
samples are chunk payloads written here: small, made by the encoders of container version 4 (tables v3) and checked by
``tests/qyn1/test_pipeline.py`` to decode to their text (a payload that no longer decodes means the format
changed; the test prints fresh ones).
"""

from __future__ import annotations

from qyn1 import codec, forkserver, tables

PYTHON_TEXT = b'''def warm(n: int, name="qyn1") -> list[str]:
    """One small function: names, strings, numbers, a comprehension."""
    return [f"{name}-{i:02d}" for i in range(n) if i % 3 != 1]  # comment
'''
OTHER_TEXT = b'{"name": "qyn1", "codecs": ["stored", "bytes-o0", "bytes-o1", "python", "zstd", "brotli", "cm", "xz"]}\n'
# (plaintext, payload): one chunk of each codec that runs a Numba kernel or a shipped model to decode
SAMPLES = (
    (
        PYTHON_TEXT,
        "03280e1503040404190002004301da565c1d8908f11ac03e9787bb409294d5bbe3156a3d7b0d618930411f5fb8816c32cb2dabee"
        "341a8e689ab46bc87656075b15b05ee53ab71beadd00cf03c5650000",
    ),
    (
        OTHER_TEXT,
        "06010169fad00575a55d5f50f8a15da287234a291ea5e38c8e97f9f5a9d68752ae9b5153b26b5fe0c932ed3441",
    ),
    (
        OTHER_TEXT,
        "0100200000a00cc020000000147ccff8f400000000000000000000000000000000288b03e406bc024f284f4f282828767676c5"
        "012828274f76ed0127274fc501ed01279e014f27270db3ffd3051d93de1ae3193e70ee47ad851202185e80274dd745c1c04f"
        "50a1b3e8d848838ddaecaffac21ee8d053af39cb14f2487399dbb10353acbee008",
    ),
    (
        OTHER_TEXT,
        "0204a06f76010991ca5e2a313b0fb079b9e7e3572eda800c4cc21178feb0e2e8b5c2957f4c2ec146f8551348970847bad889"
        "3b41d52a03c8828412f3f6327510aa293be302b8eaa47274ae715ebc",
    ),
)


def warm_up() -> None:
    """Build every model and load every decoding kernel, by decoding one chunk of each codec that needs one."""
    if not tables.available():
        return
    tables.load_all()
    for text, payload in SAMPLES:
        codec.decode_chunks([(bytes.fromhex(payload), len(text))])


warm_up()
forkserver.settle()
