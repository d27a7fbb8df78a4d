"""Structure-aware fuzzing of qyn1 packages: mutations inside one section at a time, each case classified by
the deepest reader stage it reached.

Random bytes stop at the first length check, and flips of a ciphertext stop at authentication: neither
exercises the table parser or the chunk decoders. Here the fuzzer holds the key, so it can mutate the
*plaintext* of the file table or of a chunk payload and re-encrypt it: the reader authenticates it and must
then reject it by parsing alone. Sections: ``header`` and ``trailer`` (bytes of the package), ``ciphertext``
(a chunk's bytes), ``table`` (the plaintext file table, re-encrypted) and ``payload`` (a chunk's plaintext
payload -- codec id and body -- re-encrypted with the table updated to its new length).

Stages, in reading order: ``header`` (refused by the header, trailer or package-length checks), ``kdf`` (the key source or
its parameters refused), ``table-auth`` (the table failed authentication), ``table-parse:<check>`` (the
parser refused it at that check), ``chunk-auth`` (a chunk failed authentication), ``codec`` (a chunk's
codec refused its body), ``digest`` (decoded, but the file digest differs), ``ok`` (read in full: the
mutation was neutral, e.g. a mode bit in the re-encrypted table), ``unchanged`` (the mutations cancelled
out: the valid package).
Anything but a :class:`qyn1.errors.Qyn1Error` is a failure of the reader.
"""

from __future__ import annotations

import io
import random
import re
from collections import Counter

from qyn1 import container, keys
from qyn1.errors import AuthenticationError, CodecError, FormatError, KeyError_, Qyn1Error

KEY = bytes(range(32))
SALT = bytes(range(100, 116))
FILES = {
    "m.py": b"def f(x):\n    return x + 1  # one\n" * 30,
    "n.py": b"import os\nprint(os.sep)\n",
    "z.bin": bytes(range(200)) * 2,
    "e.txt": b"",
    "doc/readme.md": b"# title\n\nsome words, some words\n" * 5,
}
SECTIONS = ("header", "trailer", "ciphertext", "table", "payload")

# the parser's checks, in the order it makes them (see container._decode_table)
TABLE_CHECKS = [
    ("truncated", "truncated"),
    ("block-count", "implausible block count"),
    ("chunk-count", "implausible chunk count"),
    ("chunk-length", "bad chunk length"),
    ("codec-id", "unknown codec"),
    ("tiling", "do not tile"),
    ("file-count", "implausible file count"),
    ("utf8", "not UTF-8"),
    ("duplicate", "duplicate path"),
    ("block-ref", "names block"),
    ("trailing", "trailing bytes"),
    ("block-sum", "do not add up"),
]


def _source() -> tuple[list[list[tuple[str, int, int, bytes]]], list[list[tuple[bytes, int]]]]:
    """The blocks of a valid package (solid, as ``qyn1 pack`` plans them): files and payloads per block."""
    from qyn1 import pipeline

    specs = [pipeline.FileSpec(p, p, len(d), 0o644) for p, d in sorted(FILES.items())]
    files, payloads = [], []
    for b in pipeline.plan_blocks(specs, 256):
        eb = pipeline.encode_block([FILES[s.arcpath] for s in b.files], b.python, 256)
        files.append([(s.arcpath, 0o644, n, d) for s, (n, d) in zip(b.files, eb.files, strict=True)])
        payloads.append(eb.chunks)
    return files, payloads


def build(files, payloads, table_hook=None) -> bytes:
    """A package from blocks; ``table_hook(raw) -> raw`` mutates the plaintext table before encryption."""
    f = io.BytesIO()
    w = container.Writer(f, keys.KeySource(key=KEY), 256, salt=SALT)
    for fs, ps in zip(files, payloads, strict=True):
        w.add_block(fs, ps)
    if table_hook is None:
        w.close()
        return f.getvalue()
    real = container._encode_table
    container._encode_table = lambda blocks, entries: table_hook(real(blocks, entries))
    try:
        w.close()
    finally:
        container._encode_table = real
    return f.getvalue()


def mutate(raw: bytes, rng: random.Random, lo: int = 0, hi: int | None = None) -> bytes:
    """One to three flips, inserts, deletes or duplications inside ``raw[lo:hi]``."""
    b = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        end = len(b) if hi is None else min(hi, len(b))
        if end <= lo:
            break
        pos = rng.randrange(lo, end)
        kind = rng.choice(("flip", "flip", "insert", "delete", "dup", "set"))
        if kind == "flip":
            b[pos] ^= 1 << rng.randrange(8)
        elif kind == "set":
            b[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif kind == "insert":
            b[pos:pos] = bytes([rng.randrange(256)])
        elif kind == "delete":
            del b[pos : pos + rng.randint(1, 4)]
        else:
            b[pos:pos] = b[pos : pos + rng.randint(1, 8)]
    return bytes(b)


def read_stage(blob: bytes) -> str:
    """Read the whole package; the stage it stopped at (raises anything that is not a clean Qyn1Error)."""
    try:
        r = container.Reader(io.BytesIO(blob), keys.KeySource(key=KEY))
    except FormatError as e:
        msg = str(e)
        if msg.startswith("file table"):
            return "table-parse:" + next((k for k, m in TABLE_CHECKS if m in msg), "other")
        if "chunks do not tile" in msg:
            return "table-parse:tiling"
        return "header"
    except KeyError_:
        return "kdf"
    except AuthenticationError:
        return "table-auth"
    try:
        for e in r.entries:
            r.read(e)
    except AuthenticationError as e:
        return "digest" if "digest" in str(e) else "chunk-auth"
    except CodecError:
        return "codec"
    except FormatError:
        return "chunk-auth"  # a chunk shorter than the table says
    except Qyn1Error:
        return "other"
    return "ok"


def run_cases(n_per_section: int, seed: int = 0) -> dict[str, Counter]:
    """``n_per_section`` mutated packages per section; {section: Counter(stage)}."""
    rng = random.Random(seed)
    files, payloads = _source()
    valid = build(files, payloads)
    r = container.Reader(io.BytesIO(valid), keys.KeySource(key=KEY))
    first_chunk = container.HEADER_SIZE
    table_offset = r.blocks[-1].chunks[-1][0] + r.blocks[-1].chunks[-1][1]
    out = {s: Counter() for s in SECTIONS}
    for section in SECTIONS:
        for _ in range(n_per_section):
            if section == "header":
                blob = mutate(valid, rng, 0, container.HEADER_SIZE)
            elif section == "trailer":
                blob = mutate(valid, rng, len(valid) - container.TRAILER_SIZE)
            elif section == "ciphertext":
                blob = mutate(valid, rng, first_chunk, table_offset)
            elif section == "table":
                blob = build(files, payloads, table_hook=lambda raw: mutate(raw, rng))
            else:
                b = rng.randrange(len(payloads))
                while not payloads[b]:
                    b = rng.randrange(len(payloads))
                j = rng.randrange(len(payloads[b]))
                changed = [list(ps) for ps in payloads]
                payload, plain = changed[b][j]
                # the writer records the (mutated) first byte as the chunk's codec id in the table
                changed[b][j] = (mutate(payload, rng) or b"\x00", plain)
                blob = build(files, changed)
            out[section]["unchanged" if blob == valid else read_stage(blob)] += 1
    return out


def stage_table(results: dict[str, Counter]) -> str:
    """One row per stage, one column per section: how many cases stopped there."""
    stages = sorted({s for c in results.values() for s in c}, key=_stage_order)
    lines = [f"{'stage reached':<24}" + "".join(f" {s:>10}" for s in results)]
    for stage in stages:
        lines.append(f"{stage:<24}" + "".join(f" {results[sec].get(stage, 0):>10}" for sec in results))
    return "\n".join(lines)


def _stage_order(stage: str) -> tuple:
    base = ["header", "kdf", "table-auth", "table-parse", "chunk-auth", "codec", "digest", "ok", "unchanged"]
    head = re.split(":", stage)[0]
    sub = stage.split(":", 1)[1] if ":" in stage else ""
    checks = [k for k, _ in TABLE_CHECKS]
    return (base.index(head) if head in base else 99, checks.index(sub) if sub in checks else -1)
