"""rANS coder: exact round trips for every model shape, quantisation invariants, malformed input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qyn1 import match, rans, reference
from qyn1.errors import CodecError
from qyn1.rans import kernels
from qyn1.rans import model as rmodel


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
    e = rmodel._EMPTY_I32
    pos, *_ = kernels._decode_search_kernel(
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


# ------------------------------------ bucket-table decoders and the fused encoder (naive twins: qyn1.reference)
def _random_model(rng, nsym, scale, shape):
    """A random model of one of the shapes the shipped tables use, with its ext contexts."""
    n_ext = int(rng.integers(1, 5))
    if shape == "rows":  # sparse rows from ext only (the name ranks)
        freq = rans.quantize(rng.integers(0, 50, size=(6, nsym)), scale)
        return rans.Model(freq, scale, ctxmap=rng.integers(0, 6, size=n_ext)), n_ext
    if shape == "ext":  # one row per ext value (the layout streams)
        return rans.Model(rans.quantize(rng.integers(0, 50, size=(n_ext, nsym)), scale), scale), n_ext
    o1 = rng.integers(0, 4, size=nsym).astype(np.int32)
    o2 = rng.integers(0, 3, size=nsym).astype(np.int32)
    o3 = rng.integers(0, 2, size=nsym).astype(np.int32)
    o1[0], o2[0], o3[0] = 3, 2, 1  # every map reaches its maximum
    dmap = np.zeros(nsym, dtype=np.int32)
    dmap[1 % nsym], dmap[2 % nsym] = 1, -1
    full = n_ext * 2 * 3 * 4 * 2  # ext x o3 x o2 x o1 x nesting
    ctxmap = rng.integers(0, 7, size=full)
    freq = rans.quantize(rng.integers(0, 60, size=(7, nsym)) ** 2, scale)  # skewed rows, long tails
    m = rans.Model(freq, scale, o1, "t", o2, dmap=dmap, o3map=o3, ctxmap=ctxmap)
    return m, n_ext


@settings(max_examples=60, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    nsym=st.sampled_from([2, 3, 33, 129, 258, 300, 1500]),
    scale=st.integers(11, 15),
    shape=st.sampled_from(["seq", "rows", "ext"]),
    n=st.integers(0, 3000),
)
def test_bucket_decoders_and_encoder_match_naive_twins(seed, nsym, scale, shape, n):
    """Encoder == the naive Python encoder byte for byte; bucket-table decoders == binary search."""
    rng = np.random.default_rng(seed)
    m, n_ext = _random_model(rng, nsym, scale, shape)
    route = {"seq": rmodel._ROUTE_SEQ, "rows": rmodel._ROUTE_ROWS, "ext": rmodel._ROUTE_ROWS}[shape]
    assert m.route == (rmodel._ROUTE_O0 if m.nctx == 1 and shape == "ext" else route)
    syms = _skewed(rng, n, nsym)
    ext = rng.integers(0, n_ext, size=n)
    enc = rans.encode(m, syms, ext)
    assert enc == reference.encode(m, syms, ext)
    got = rans.decode(m, enc, n, ext)
    assert np.array_equal(got, syms)
    if n:
        assert np.array_equal(reference.decode(m, enc, n, ext), syms)


@settings(max_examples=40, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    nsym=st.sampled_from([2, 33, 258]),
    shape=st.sampled_from(["seq", "rows", "ext"]),
    n=st.integers(0, 400),
)
def test_contexts_match_naive(seed, nsym, shape, n):
    rng = np.random.default_rng(seed)
    m, n_ext = _random_model(rng, nsym, 12, shape)
    syms = _skewed(rng, n, nsym)
    ext = rng.integers(0, n_ext, size=n)
    assert m.contexts(syms, ext).tolist() == reference.contexts(m, syms, ext)
    if shape == "seq":
        assert m.contexts(syms, None).tolist() == reference.contexts(m, syms, None)
    if n:
        with pytest.raises(IndexError):  # a symbol outside the maps (not the last) is reported, not read past
            m.contexts(np.append(nsym + 5, syms), np.append(0, ext))


@pytest.mark.parametrize(
    ("nsym", "scale", "dtype"),
    [
        (2, 10, np.uint8),
        (123, 15, np.uint8),
        (258, 12, np.uint8),
        (292, 12, np.uint16),
        (12002, 15, np.uint16),
    ],
)
def test_bucket_table_gives_the_symbol_of_each_bucket_start(nsym, scale, dtype):
    """btab entry = the symbol whose interval holds the bucket's first slot. A 258-symbol alphabet whose
    symbols past 255 are rare (a byte model's tail) keeps uint8, clamped to 255 (still a lower bound);
    one whose high symbols are common, or a wide one, gets uint16."""
    rng = np.random.default_rng(nsym)
    counts = rng.integers(0, 1000, size=(5, nsym)) * (rng.random((5, nsym)) < 0.3)
    if nsym == 258:
        counts[:, 250:] = 0  # the rare tail
    m = rans.Model(rans.quantize(counts, scale), scale)
    nb = 1 << m.bucket_bits
    starts = np.arange(nb) << (scale - m.bucket_bits)
    ref = np.stack([np.searchsorted(m.cum[r, 1:], starts, side="right") for r in range(m.nctx)]).ravel()
    assert m.btab.dtype == dtype
    assert np.array_equal(m.btab, np.minimum(ref, 255) if dtype == np.uint8 else ref)
    syms = _skewed(rng, 4000, nsym)
    syms[::97] = nsym - 1  # the clamped tail is decoded too
    ext = rng.integers(0, 5, size=len(syms))
    enc = rans.encode(m, syms, ext)
    assert np.array_equal(rans.decode(m, enc, len(syms), ext), syms)


def test_shipped_models_routes_and_table_memory():
    """The structural models decode through the bucket tables; all of them together stay small (the
    tables live in every worker)."""
    from qyn1 import tables
    from qyn1.python import pipeline

    if not tables.has_python():
        pytest.skip("qyn1 was built without its tables")
    models = pipeline._models()
    assert models["kinds"].route == rmodel._ROUTE_SEQ
    assert models["names"].route == rmodel._ROUTE_ROWS
    assert models["morph0"].route == rmodel._ROUTE_SEQ and models["morph0"].btab.dtype == np.uint16
    assert tables.model("bytes_o1").route == rmodel._ROUTE_O1
    total = sum(m.btab.nbytes for m in models.values() if m.route != rmodel._ROUTE_O1)
    assert total <= 8 << 20  # 5.4 MiB with tables v2 (more models, 15-bit text and names tables)


def test_shipped_models_share_the_loaded_tables():
    """A shipped model reads its frequency table and context map where ``tables.arrays`` loaded them, with
    no copy beside them (a copy cost ~10 MiB in every worker: docs/perf/qyn1.md, "Worker memory, round 11")."""
    from qyn1 import tables

    if not tables.has_python():
        pytest.skip("qyn1 was built without its tables")
    a = tables.arrays()
    for name in ("py.kinds", "py.names", "py.text0", "bytes_o1"):
        m = tables.model(name)
        assert m.freq is a[f"{name}.freq"]
        if f"{name}.ctxmap" in a:
            assert m.ctxmap is a[f"{name}.ctxmap"] and m.ctxmap.dtype == np.int32


def test_bucket_decoders_malformed_streams():
    """Cut, extended and bit-flipped streams through the bucket (sequential) and rows decoders: CodecError
    or some output of the right length, never a crash or an out-of-range symbol; bad ext -> CodecError."""
    rng = np.random.default_rng(5)
    for shape in ("seq", "rows"):
        m, n_ext = _random_model(rng, 258, 12, shape)
        syms = _skewed(rng, 6000, 258)
        ext = rng.integers(0, n_ext, size=len(syms))
        enc = rans.encode(m, syms, ext)
        for bad in (enc[:-1], enc + b"\0", enc[:9], enc[:8]):
            with pytest.raises(CodecError):
                rans.decode(m, bad, len(syms), ext)
        for i in range(0, len(enc), max(1, len(enc) // 60)):
            flipped = bytearray(enc)
            flipped[i] ^= 0x5A
            try:
                out = rans.decode(m, bytes(flipped), len(syms), ext)
            except CodecError:
                continue
            assert len(out) == len(syms) and out.min() >= 0 and out.max() < m.nsym
        for bad_ext in (n_ext * 1000, -1):
            e2 = ext.copy()
            e2[len(e2) // 2] = bad_ext
            with pytest.raises(CodecError):
                rans.decode(m, enc, len(syms), e2)
        with pytest.raises(ValueError):
            rans.encode(m, syms, np.full(len(syms), n_ext * 1000))


def test_context_maps_are_validated():
    """The kernels index the maps with symbols unchecked, so a short or negative map is refused."""
    freq = rans.quantize(np.ones((4, 5)), 12)
    with pytest.raises(ValueError):
        rans.Model(freq, 12, o1map=np.arange(4))
    with pytest.raises(ValueError):
        rans.Model(freq, 12, o1map=np.array([0, 1, 2, 3, -1]))
    with pytest.raises(ValueError):
        rans.Model(freq, 12, o1map=np.arange(5) % 4, dmap=np.zeros(3))


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
    coded, flag = match.match_symbols(syms, k, nsym)
    assert (coded.tolist(), flag.tolist()) == reference.match_symbols(syms.tolist(), k, nsym)
    # a random order-1 model through a context map and a row map, as the shipped match models are
    rng = np.random.default_rng(seed)
    n_base, n_rows = 5, 9
    freq = rans.quantize(rng.random((n_rows, nsym + 1)) + 0.01, 12)
    ctxmap = rng.integers(0, n_base, nsym).astype(np.int32)
    rowmap = rng.integers(0, n_rows, n_base * match.MATCH_NFLAG).astype(np.int64)
    # the match symbol never becomes context (the decoder replaces it first); its map entry is padding
    o1map = np.append(np.arange(nsym, dtype=np.int32), 0)
    model = rans.Model(freq, 12, o1map, name="t", ctxmap=ctxmap)
    rows = rowmap[model.contexts(syms, None) * match.MATCH_NFLAG + flag]
    blob = rans.encode_rows_streams([(model, coded, rows)])
    dec = rans.StreamDecoder(blob)
    assert match.decode_match(dec, model, len(syms), rowmap, k).tolist() == syms.tolist()
    dec.finish()
