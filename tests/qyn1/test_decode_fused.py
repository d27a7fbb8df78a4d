"""The fused structural decoder (``qyn1.python.decode``, one Numba call per chunk) against the staged one
(``pipeline.decode_text_staged``, each kernel called from Python): the same bytes on real chunks, and on
damaged ones the same outcome -- the same bytes, or both refuse with CodecError."""

from __future__ import annotations

import inspect
import random

import pytest
from qyn1.errors import CodecError
from qyn1.python import decode, layout, names, pipeline, tokens

from perfkit import numba_cache


def _sources() -> list[bytes]:
    """Real Python of several shapes: the qyn1 modules themselves (names, strings, comments, docstrings,
    numbers, brackets), cut to at most 20 KB, and two awkward small texts."""
    out = [inspect.getsource(m).encode()[:20_000] for m in (names, layout, tokens, pipeline)]
    out.append("x = 'caf\u00e9'  # \u65e5\u672c\n\tif a:\n\t\tb = c\\\n  + 0x1F\n$ ?\n".encode())
    out.append(b"")
    return out


def _outcome(fn, body, limit):
    try:
        return fn(body, limit)
    except CodecError:
        return CodecError


def test_fused_tables_are_in_use():
    assert decode.tables() is not None  # else decode_text silently falls back to the staged decoder


@pytest.mark.parametrize("i", range(6))
def test_fused_equals_staged_on_real_chunks(i):
    data = _sources()[i]
    body = pipeline.encode_text(data, verify=False)
    assert body is not None
    assert pipeline.decode_text(body, len(data)) == data
    assert pipeline.decode_text(body) == data
    assert pipeline.decode_text_staged(body, len(data)) == data
    for wrong in (len(data) + 1, max(len(data) - 1, 0) if data else 1):
        with pytest.raises(CodecError):
            pipeline.decode_text(body, wrong)


def test_fused_equals_staged_on_damaged_chunks():
    """Bit flips, byte changes and truncations all over the body (header counts, the rANS state and bytes,
    the extra bits): the fused decoder agrees with the staged one case by case."""
    rng = random.Random(13)
    srcs = _sources()[:4]
    bodies = [pipeline.encode_text(d, verify=False) for d in srcs]
    seen = {"same bytes": 0, "both refused": 0}
    for k in range(240):
        data = srcs[k % 4]
        body = bytearray(bodies[k % 4])
        op = k % 3
        if op == 0:
            j = rng.randrange(len(body))
            body[j] ^= 1 << rng.randrange(8)
        elif op == 1:
            body[rng.randrange(min(len(body), 24))] = rng.randrange(256)  # the header's counts and lengths
        else:
            body = body[: rng.randrange(len(body))]
        body = bytes(body)
        limit = len(data) if k % 2 else None
        fused = _outcome(pipeline.decode_text, body, limit)
        staged = _outcome(pipeline.decode_text_staged, body, limit)
        assert fused == staged, (k, op)
        seen["both refused" if fused is CodecError else "same bytes"] += 1
    assert seen["both refused"] > 180


def test_fused_cache_entries_depend_on_the_kernels_it_calls(tmp_path):
    """The fused kernel holds the compiled code of other modules' kernels: its Numba cache stamp covers
    their files, so an edit there recompiles it instead of serving the old code from NUMBA_CACHE_DIR."""
    locator = decode._decode_batch_kernel._cache._impl.locator
    assert type(locator).__name__.startswith("DependentSources")
    src, dep = tmp_path / "a.py", tmp_path / "b.py"
    src.write_text("x = 1\n")
    dep.write_text("y = 1\n")
    cls = numba_cache._locator(type(locator).__mro__[1], str(src), [str(src), str(dep)])
    loc = cls(decode._decode_batch_kernel.py_func, str(src))  # (from_function would make a cache folder)
    before = loc.get_source_stamp()
    dep.write_text("y = 22\n")  # (another size: the stamp is hashed again when size or mtime changed)
    assert loc.get_source_stamp() != before
