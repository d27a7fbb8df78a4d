"""Build the shipped priming text of the context-mixing coder from training archives.

``python -m qyn1.cm.prime CACHE`` reads every ``*.tgz`` / ``*.tar.gz`` under ``CACHE`` (npm packages fetched
with ``npm pack NAME``, PyPI sdists fetched with ``pip download --no-binary :all: --no-deps NAME``; see
docs/qyn1.md for the list), never the held-out corpora (the operating system's headers, the globally installed
npm, the stdlib's held-out half). Python text comes from the stdlib's *training* half (``qyn1.corpus``, as for
the structural tables), every 7th training file under 20 KB in path order up to its budget. Members are classed by extension; within a class a member is a *priming* candidate when the
first byte of BLAKE2b(archive name + member path) is even (odd ones are the tuning set,
:func:`tuning_files`), taken in hash order until the class's byte budget is full. Minified files (lines
longer than 1,000 bytes on average) are left out. The classes are concatenated in ``CLASSES`` order and the
model primed with it is written (text and arrays, ``qyn1.cm.model.save``) to ``qyn1/data/cm-primed-v1.npz.zst``.
Deterministic: same archives and stdlib, same text, same model.
"""

from __future__ import annotations

import argparse
import hashlib
import tarfile
from importlib import resources
from pathlib import Path

from qyn1 import corpus
from qyn1.cm import model
from qyn1.cm.model import PRIMER_FILE

PYTHON_BUDGET = 100_000
# class -> (extensions, byte budget)
CLASSES = {
    "rust": ((".rs",), 40_000),
    "c": ((".c", ".h", ".cc", ".cpp", ".hpp"), 90_000),
    "markdown": ((".md", ".rst"), 50_000),
    "js": ((".js", ".mjs", ".cjs", ".ts", ".mts"), 110_000),
    "json": ((".json",), 40_000),
}
MAX_MEMBER = 64_000
MIN_MEMBER = 200


def _key(archive: str, member: str) -> bytes:
    return hashlib.blake2b(f"{archive}/{member}".encode(), digest_size=8).digest()


def members(cache: Path) -> dict[str, list[tuple[bytes, bytes]]]:
    """Per class: (hash key, content) of every usable text member of every archive under ``cache``."""
    out: dict[str, list[tuple[bytes, bytes]]] = {c: [] for c in CLASSES}
    for arc in sorted(p for p in cache.rglob("*") if p.name.endswith((".tgz", ".tar.gz"))):
        with tarfile.open(arc) as tf:
            for m in tf.getmembers():
                if not m.isfile() or not MIN_MEMBER <= m.size <= MAX_MEMBER:
                    continue
                cls = next((c for c, (ext, _) in CLASSES.items() if m.name.endswith(ext)), None)
                if cls is None or m.name.endswith((".min.js", ".d.ts.map")):
                    continue
                data = tf.extractfile(m).read()
                if b"\0" in data or len(data) > 1000 * (data.count(b"\n") + 1):
                    continue
                out[cls].append((_key(arc.name, m.name), data))
    for v in out.values():
        v.sort()
    return out


def python_text() -> bytes:
    train, _ = corpus.split()
    out = b""
    for p in train[::7]:
        d = p.read_bytes()
        if len(d) < 20_000 and len(out) + len(d) <= PYTHON_BUDGET:
            out += d
    return out


def build(cache: Path) -> bytes:
    by_class = members(cache)
    parts = [python_text()]
    for cls, (_, budget) in CLASSES.items():
        used = 0
        for key, data in by_class[cls]:
            if key[0] % 2 or used + len(data) > budget:
                continue
            parts.append(data)
            used += len(data)
    return b"".join(parts)


def tuning_files(cache: Path) -> dict[str, list[bytes]]:
    """The members that never enter the priming text (odd hash): for tuning the model on training data."""
    return {c: [d for k, d in v if k[0] % 2] for c, v in members(cache).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("cache", type=Path)
    args = ap.parse_args()
    text = build(args.cache)
    packed = model.save(model.prime(text))
    target = Path(str(resources.files("qyn1"))) / "data" / PRIMER_FILE
    target.write_bytes(packed)
    print(f"{target}: {len(text):,} bytes of text, primed model stored in {len(packed):,} bytes")


if __name__ == "__main__":
    main()
