"""rANS coder: exact round trips for every model shape, quantisation invariants, malformed input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qyn1 import rans
from qyn1.errors import CodecError


def _skewed(rng, n, nsym):
    p = rng.dirichlet(np.full(nsym, 0.3))
    return rng.choice(nsym, size=n, p=p)


@pytest.mark.parametrize("scale", [10, 12, 15])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 1000, 20001])
def test_order0_round_trip(scale, n):
    rng = np.random.default_rng(n + scale)
    syms = _skewed(rng, n, 40)
    m = rans.Model.from_counts(np.bincount(syms, minlength=40) + 1, scale)
    enc = rans.encode(m, syms)
    assert np.array_equal(rans.decode(m, enc, n), syms)
    if n > 1000:  # close to the empirical entropy
        p = np.bincount(syms, minlength=40) / n
        h = -(p[p > 0] * np.log2(p[p > 0])).sum() * n / 8
        assert len(enc) < h * 1.02 + 16


def test_order1_and_external_contexts():
    rng = np.random.default_rng(7)
    n, nsym = 30000, 17
    syms = _skewed(rng, n, nsym)
    ext = rng.integers(0, 3, size=n)
    o1map = (np.arange(nsym) % 4).astype(np.int32)
    counts = rng.integers(1, 50, size=(3 * 4, nsym))
    m = rans.Model.from_counts(counts, 13, o1map=o1map)
    enc = rans.encode(m, syms, ext)
    assert np.array_equal(rans.decode(m, enc, n, ext), syms)
    assert abs(m.cost_bits(syms, ext) / 8 - len(enc)) < 0.01 * len(enc) + 16
    # external contexts only
    m2 = rans.Model.from_counts(counts[:3], 12)
    enc2 = rans.encode(m2, syms, ext)
    assert np.array_equal(rans.decode(m2, enc2, n, ext), syms)


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.binary(max_size=3000), scale=st.integers(10, 15), o1=st.booleans())
def test_bytes_round_trip(data, scale, o1):
    a = np.frombuffer(data, dtype=np.uint8)
    rng = np.random.default_rng(len(data))
    counts = rng.integers(0, 100, size=(256 if o1 else 1, 256))
    m = rans.Model.from_counts(counts, scale, o1map=np.arange(256) if o1 else None)
    enc = rans.encode(m, a)
    assert rans.decode(m, enc, len(a), dtype=np.uint8).tobytes() == data


@settings(max_examples=100, deadline=None, database=None)
@given(counts=st.lists(st.integers(0, 10**6), min_size=1, max_size=300), scale=st.integers(10, 15))
def test_quantize_invariants(counts, scale):
    q = rans.quantize(np.array(counts), scale)
    assert q.sum() == 1 << scale and q.min() >= 1
    c = np.array(counts, dtype=float)
    if c.sum() > 0 and len(c) > 1:  # order preserved up to the +1 floor
        big, small = int(np.argmax(c)), int(np.argmin(c))
        assert q[big] >= q[small]


def test_malformed_streams_raise_codec_error():
    rng = np.random.default_rng(1)
    syms = _skewed(rng, 5000, 30)
    m = rans.Model.from_counts(np.bincount(syms, minlength=30) + 1, 12)
    enc = rans.encode(m, syms)
    with pytest.raises(CodecError):
        rans.decode(m, enc[:-1], len(syms))
    with pytest.raises(CodecError):
        rans.decode(m, enc + b"\0", len(syms))
    with pytest.raises(CodecError):
        rans.decode(m, enc[:5], len(syms))
    with pytest.raises(CodecError):
        rans.decode(m, b"x", 0)
    for i in range(0, len(enc), max(1, len(enc) // 50)):
        bad = bytearray(enc)
        bad[i] ^= 0x5A
        try:
            out = rans.decode(m, bytes(bad), len(syms))
        except CodecError:
            continue
        assert len(out) == len(syms)  # a flip may still decode to *something*; never crash
    with pytest.raises(ValueError):
        rans.encode(m, np.array([31]))


def test_order2_and_nesting_contexts():
    rng = np.random.default_rng(11)
    nsym = 9
    syms = rng.integers(0, nsym, size=20000)
    dmap = np.zeros(nsym, dtype=np.int32)
    dmap[1], dmap[2] = 1, -1  # symbol 1 opens, 2 closes; the model tracks "inside"
    o2 = (np.arange(nsym) % 3).astype(np.int32)
    counts = rng.integers(1, 40, size=(3 * nsym * 2, nsym))
    m = rans.Model.from_counts(counts, 14, o1map=np.arange(nsym), o2map=o2, dmap=dmap)
    enc = rans.encode(m, syms)
    assert np.array_equal(rans.decode(m, enc, len(syms)), syms)
    assert abs(m.cost_bits(syms) / 8 - len(enc)) < 0.01 * len(enc) + 16


def test_order3_sparse_contexts():
    rng = np.random.default_rng(12)
    nsym = 7
    syms = rng.integers(0, nsym, size=15000)
    o3 = (np.arange(nsym) % 2).astype(np.int32)
    o2 = (np.arange(nsym) % 3).astype(np.int32)
    full = 2 * 3 * nsym  # o3n * o2n * o1n
    ctxmap = rng.integers(0, 5, size=full)  # five shared rows
    counts = rng.integers(1, 60, size=(5, nsym))
    m = rans.Model(rans.quantize(counts, 13), 13, np.arange(nsym), "t", o2, o3map=o3, ctxmap=ctxmap)
    enc = rans.encode(m, syms)
    assert np.array_equal(rans.decode(m, enc, len(syms)), syms)
    assert abs(m.cost_bits(syms) / 8 - len(enc)) < 0.01 * len(enc) + 16
    with pytest.raises(ValueError):
        rans.Model(rans.quantize(counts, 13), 13, np.arange(nsym), "t", o2, o3map=o3, ctxmap=ctxmap + 5)


@pytest.mark.parametrize(
    ("nsym", "scale", "n"), [(256, 12, 40001), (256, 15, 7), (300, 11, 5000), (2, 10, 1)]
)
def test_pure_order1_kernel_matches_generic_decoder(nsym, scale, n):
    """The flat slot->symbol decoder of pure order-1 models gives what the binary-search decoder gives,
    for byte (uint8 table) and wider (uint16 table) alphabets, odd and even lengths."""
    rng = np.random.default_rng(nsym + scale + n)
    syms = _skewed(rng, n, nsym)
    counts = rng.integers(0, 60, size=(nsym, nsym))
    m = rans.Model.from_counts(counts, scale, o1map=np.arange(nsym))
    assert m.pure_order1
    assert m.stab.dtype == (np.uint8 if nsym <= 256 else np.uint16)
    enc = rans.encode(m, syms)
    got = rans.decode(m, enc, n)
    assert np.array_equal(got, syms)
    ref = np.empty(n, dtype=np.int32)
    buf = np.frombuffer(enc, dtype=np.uint8)
    x0, x1 = int.from_bytes(enc[:4], "big"), int.from_bytes(enc[4:8], "big")
    e = rans._EMPTY_I32
    pos, *_ = rans._decode_search_kernel(
        buf, 8, x0, x1, n, e, m.o1n, m.o1map, m.o2n, m.o2map, m.dmap, m.o3n, m.o3map, m.ctxmap,
        m.freq, m.cum, m.scale_bits, ref,
    )  # fmt: skip
    assert pos == len(enc) and np.array_equal(ref, syms)
    # a non-identity order-1 map is not "pure" and takes the generic path
    rolled = (np.arange(nsym) + 1) % nsym
    assert not rans.Model.from_counts(counts, scale, o1map=rolled).pure_order1


def test_pure_order1_malformed_streams():
    rng = np.random.default_rng(3)
    data = _skewed(rng, 20000, 256).astype(np.uint8)
    m = rans.Model.from_counts(rng.integers(0, 40, size=(256, 256)), 12, o1map=np.arange(256))
    enc = rans.encode(m, data)
    for bad in (enc[:-1], enc + b"\0", enc[:9]):
        with pytest.raises(CodecError):
            rans.decode(m, bad, len(data), dtype=np.uint8)
    for i in range(0, len(enc), max(1, len(enc) // 40)):
        flipped = bytearray(enc)
        flipped[i] ^= 0x21
        try:
            out = rans.decode(m, bytes(flipped), len(data), dtype=np.uint8)
        except CodecError:
            continue
        assert len(out) == len(data)


def _naive_match(syms, k, match_sym):
    """The slow obvious twin of ``rans.match_symbols`` (same hash, so the same collisions)."""

    hb = min(rans.MATCH_HASH_BITS, max(10, len(syms).bit_length() + 4))

    def h(end):
        x = 0
        for t in range(k):
            x = (x * 0x9E3779B1 + syms[end - t] + 1) & 0xFFFFFFFF
        return ((x * 0x85EBCA6B) & 0xFFFFFFFF) >> (32 - hb)

    table: dict[int, int] = {}
    pp, ml = -1, 0
    out, flags = [], []
    for i, s in enumerate(syms):
        if pp < 0:
            flags.append(0)
        else:
            flags.append(next(f for f, lim in enumerate((2, 6, 10, 18, 26, 1 << 62), start=1) if ml < lim))
        if pp >= 0 and syms[pp] == s:
            out.append(match_sym)
            pp, ml = pp + 1, ml + 1
        else:
            out.append(s)
            pp, ml = -1, 0
        if i + 1 >= k:
            if pp < 0:
                pp, ml = table.get(h(i), -1), 0
            table[h(i)] = i + 1
    return out, flags


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=30),
    st.lists(st.integers(0, 40), min_size=0, max_size=300),
    st.integers(1, 6),
    st.integers(0, 2**31),
)
def test_match_model_matches_naive_and_decodes(motif, noise, k, seed):
    nsym = 41
    syms = np.array((motif * 5 + noise + motif * 3)[:600], dtype=np.int32)
    coded, flag = rans.match_symbols(syms, k, nsym)
    assert (coded.tolist(), flag.tolist()) == _naive_match(syms.tolist(), k, nsym)
    # a random order-1 model through a context map and a row map, as the shipped match models are
    rng = np.random.default_rng(seed)
    n_base, n_rows = 5, 9
    freq = rans.quantize(rng.random((n_rows, nsym + 1)) + 0.01, 12)
    ctxmap = rng.integers(0, n_base, nsym).astype(np.int32)
    rowmap = rng.integers(0, n_rows, n_base * rans.MATCH_NFLAG).astype(np.int64)
    model = rans.Model(freq, 12, np.arange(nsym, dtype=np.int32), name="t", ctxmap=ctxmap)
    rows = rowmap[model.contexts(syms, None) * rans.MATCH_NFLAG + flag]
    blob = rans.encode_rows_streams([(model, coded, rows)])
    dec = rans.StreamDecoder(blob)
    assert rans.decode_match(dec, model, len(syms), rowmap, k).tolist() == syms.tolist()
    dec.finish()
