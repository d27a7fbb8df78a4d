"""The structural Python codec: exact round trips on awkward inputs; byte-level fallback for the rest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qyn1 import codec
from qyn1 import encode as pe

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
    body = pe.encode_text(data)
    if body is not None:
        assert pe.decode_text(body) == data
    payload = codec.encode_chunk(data)
    assert codec.decode_chunk(payload, len(data)) == data


def test_invalid_utf8_takes_byte_path():
    data = "s = 'caf\u00e9'\n".encode("latin-1") * 50
    assert pe.encode_text(data) is None
    payload = codec.encode_chunk(data)
    assert codec.codec_of(payload) in ("bytes-o1", "bytes-o0", "stored")
    assert codec.decode_chunk(payload, len(data)) == data


def test_python_is_chosen_and_beats_bytes_on_real_code():
    import inspect

    data = inspect.getsource(pe).encode()
    payload = codec.encode_chunk(data)
    assert codec.codec_of(payload) == "python"
    assert len(payload) < len(codec._encode_o1(data)) * 0.8
    assert codec.decode_chunk(payload, len(data)) == data


code_alphabet = st.sampled_from([*list("abcXY_019 \t\n\r#'\"\\()[]{}:.,=+-*/@!$"), "é", "中", "'''", '"""'])


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(code_alphabet, max_size=120).map("".join))
def test_round_trip_on_arbitrary_text(text):
    data = text.encode("utf-8")
    body = pe.encode_text(data, verify=False)
    assert body is not None
    assert pe.decode_text(body) == data


def test_split_name_and_mtf_helpers():
    assert pe.split_name("getHTTPResponse_code2") == ["get", "HTTP", "Response", "_", "code", "2"]
    assert "".join(pe.split_name("__init__")) == "__init__"
    ids = np.array([0, 1, 0, 2, 1, 1, 3, 0], dtype=np.int32)
    ranks = pe._mtf_ranks(ids)
    assert ranks.tolist() == [-1, -1, 1, -1, 2, 0, -1, 3]
    assert pe._mtf_ids(ranks).tolist() == ids.tolist()
    r = np.array([-1, 0, 5, 15, 16, 17, 100, 5000, 123456], dtype=np.int64)
    sym, extra, nbits = pe._rank_symbols(r)
    back = pe._symbol_ranks(sym, extra[nbits > 0])
    assert back.tolist() == r.tolist()
    packed = pe._pack_bits(extra[nbits > 0], nbits[nbits > 0])
    assert pe._unpack_bits(packed, pe._extra_nbits(sym)).tolist() == extra[nbits > 0].tolist()
