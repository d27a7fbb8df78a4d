"""The structural Python codec: exact round trips on awkward inputs; byte-level fallback for the rest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qyn1 import codec, rans
from qyn1.python import names, pipeline, tokens

CASES = [
    b"",
    b"\n",
    b"x",
    b"x = 1",
    b"   \n\t\n  x = 1   \n",
    b"def f(a, b=2, *args, **kw) -> int:\n    return a  # c\n",
    b"class A:\r\n    pass\r\n",
    b"if x:\r    y\r",
    b"s = r'\\d+' + b\"x\" + f'{a!r:>{w}}' + '''tri\nple''' + \"\"\"doc\"\"\"\n",
    b"x = 'unterminated\ny = \"also\n",
    b"def f(:\n  return )\n",
    b"a = 0x1F + 1_000 + 1.5e-3j + .5 + 1if x else 2\n",
    "caf\u00e9 = '\u00fcber' # \u65e5\u672c\u8a9e\n".encode(),
    b"\xef\xbb\xbfimport os\n",
    b"x = \\\n    1\n",
    b"\tif x:\n\t\ty = 1\n  \t mixed = 2\n",
    b"@decorator\nasync def f():\n    await g()\n    yield from h\n",
    b"$ ? ` !\n",
    b"\x00\x01binary\x02\n",
    b"x" * 5000 + b"\n",
    b"a" + b" " * 300 + b"b\n" + b" " * 200 + b"c\n",
]


@pytest.mark.parametrize("data", CASES)
def test_structural_round_trip(data):
    body = pipeline.encode_text(data)
    if body is not None:
        assert pipeline.decode_text(body) == data
    payload = codec.encode_chunk(data)
    assert codec.decode_chunk(payload, len(data)) == data


def test_invalid_utf8_takes_byte_path():
    data = "s = 'caf\u00e9'\n".encode("latin-1") * 50
    assert pipeline.encode_text(data) is None
    payload = codec.encode_chunk(data)
    assert codec.codec_of(payload) in ("bytes-o1", "bytes-o0", "zstd", "brotli", "cm", "stored")
    assert codec.decode_chunk(payload, len(data)) == data


def test_python_is_chosen_and_beats_bytes_on_real_code():
    import inspect

    data = inspect.getsource(pipeline).encode()
    payload = codec.encode_chunk(data)
    assert codec.codec_of(payload) == "python"
    assert len(payload) < len(codec._encode_o1(data)) * 0.8
    assert codec.decode_chunk(payload, len(data)) == data


code_alphabet = st.sampled_from([*list("abcXY_019 \t\n\r#'\"\\()[]{}:.,=+-*/@!$"), "é", "中", "'''", '"""'])


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(code_alphabet, max_size=120).map("".join))
def test_round_trip_on_arbitrary_text(text):
    data = text.encode("utf-8")
    body = pipeline.encode_text(data, verify=False)
    assert body is not None
    assert pipeline.decode_text(body) == data


def test_split_name():
    assert tokens.split_name("getHTTPResponse_code2") == ["get", "HTTP", "Response", "_", "code", "2"]
    assert "".join(tokens.split_name("__init__")) == "__init__"


def _naive_name_symbols(ids, roles):
    """The slow obvious twin of ``names._name_symbols``: Python lists as the move-to-front caches."""
    order: list[int] = []
    by_role: dict[int, list[int]] = {}
    succ1: dict[int, int] = {}
    succ2: dict[int, int] = {}
    out, isnew = [], []
    prev = None

    def rank_sym(j):
        if j < tokens.RANK_DIRECT:
            return 1 + j, 0, 0
        e = j.bit_length() - 1
        return 1 + tokens.RANK_DIRECT + (e - 5) * 4 + ((j >> (e - 2)) & 3), j & ((1 << (e - 2)) - 1), e - 2

    for i, (v, r) in enumerate(zip(ids, roles, strict=True)):
        c1 = succ1.get(prev, -1) if prev is not None else -1
        c2 = succ2.get(prev, -1) if prev is not None else -1
        b = 0
        if c1 >= 0:
            top = order[: tokens.NAME_SUCC_WINDOW]
            b = 4 if c1 not in top else (1 if top.index(c1) == 0 else 2 if top.index(c1) < 4 else 3)
        flag = b * 2 + (c2 >= 0)
        rl = by_role.setdefault(r, [])
        isnew.append(v not in order)
        if v not in order:
            out.append((0, flag, i, 0, 0))
        elif v == c1:
            out.append((tokens.NAME_SUCC1, flag, i, 0, 0))
        elif v == c2:
            out.append((tokens.NAME_SUCC1 + 1, flag, i, 0, 0))
        elif v in rl:
            sym, extra, nb = rank_sym(rl.index(v))
            out.append((sym, flag, i, extra, nb))
        else:
            out.append((tokens.NAME_ESC, flag, i, 0, 0))
            sym, extra, nb = rank_sym(order.index(v))
            out.append((sym, tokens.N_NAME_FLAG - 1, i, extra, nb))
        for lst in (order, rl):
            if v in lst:
                lst.remove(v)
            lst.insert(0, v)
        if prev is not None and c1 != v:
            succ2[prev], succ1[prev] = c1, v
        prev = v
    return out, isnew


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 5)), min_size=0, max_size=400),
    st.integers(0, 2**31),
)
def test_name_symbols_match_naive_and_decode(raw, seed):
    # ids numbered by first occurrence, as the encoder makes them; a role per occurrence
    local: dict[int, int] = {}
    ids = np.array([local.setdefault(x, len(local)) for x, _ in raw], dtype=np.int32)
    roles = np.array([r for _, r in raw], dtype=np.int64)
    sym, flag, owner, extra, nbits, isnew = names._name_symbols(ids, roles)
    got = list(zip(sym.tolist(), flag.tolist(), owner.tolist(), extra.tolist(), nbits.tolist(), strict=True))
    assert (got, isnew.tolist()) == _naive_name_symbols(ids.tolist(), roles.tolist())
    # through rANS with a random sparse model over ext * N_NAME_FLAG + flag, back to the same ids
    rng = np.random.default_rng(seed)
    n_ext = 3
    ext = rng.integers(0, n_ext, len(ids))
    freq = rans.quantize(rng.random((4, tokens.N_NAME_SYMS)) + 0.01, 12)
    ctxmap = rng.integers(0, 4, n_ext * tokens.N_NAME_FLAG).astype(np.int32)
    model = rans.Model(freq, 12, name="t", ctxmap=ctxmap)
    blob = rans.encode_streams([(model, sym, ext[owner] * tokens.N_NAME_FLAG + flag)])
    bits = names._pack_bits(extra[nbits > 0], nbits[nbits > 0])
    dec = rans.StreamDecoder(blob)
    back, new, used = names.decode_names(
        dec,
        model,
        len(ids),
        ext,
        roles,
        tokens.N_MORPH_GROUPS,
        tokens.N_NAME_FLAG,
        np.unpackbits(np.frombuffer(bits, dtype=np.uint8)),
        tokens.RANK_DIRECT,
        tokens.NAME_SUCC1,
        tokens.NAME_ESC,
        tokens.NAME_SUCC_WINDOW,
    )
    dec.finish()
    assert back.tolist() == ids.tolist()
    assert new.tolist() == isnew.tolist()
    assert used == int(nbits.sum())
