"""``qyn1 profile`` and ``qyn1 bench``: stage timings under cProfile and a per-file codec comparison."""

from __future__ import annotations

import json
import time
from pathlib import Path

import perfkit
from qyn1 import codec, keys, rans
from qyn1.crypto import fast
from qyn1.errors import Qyn1Error
from qyn1.python import pipeline as pe


def _stages(data: bytes) -> dict[str, float]:
    """Run encoder -> compressor -> encryptor once on ``data``; seconds per stage."""
    v = pe.vocab()
    models = pe._models()
    t0 = time.perf_counter()
    st = pe.analyze(data.decode("utf-8"), v)
    t1 = time.perf_counter()
    # as encode_text codes them: table rows (contexts, match models), then one rANS stream for all
    blob = rans.encode_rows_streams([pe._coded(name, models[name], *st[name]) for name in pe.STREAMS])
    t2 = time.perf_counter()
    fast.aead_encrypt(keys.generate_key(), bytes(12), blob, b"aad")
    t3 = time.perf_counter()
    return {"encoder": t1 - t0, "compressor": t2 - t1, "encryptor": t3 - t2}


def profile_module(path: Path, pstats_path: Path, top_path: Path, repeats: int = 5) -> dict:
    """Time encoder -> compressor -> encryptor on one module ``repeats`` times under cProfile; write the
    ``.pstats`` to ``pstats_path`` and the top functions to ``top_path``; return the report (stage
    seconds and MB/s, the top functions). The caller writes the report and names the final paths."""
    data = Path(path).read_bytes()
    if repeats < 1:
        raise Qyn1Error(f"repeats must be at least 1, got {repeats}")
    _stages(data)  # warm-up: tables, JIT caches
    totals = {"encoder": 0.0, "compressor": 0.0, "encryptor": 0.0}
    with perfkit.profile(pstats_path, top_path=top_path):
        for _ in range(repeats):
            for k, v in _stages(data).items():
                totals[k] += v
    return {
        "module": str(path),
        "bytes": len(data),
        "repeats": repeats,
        "stages_s": {k: v / repeats for k, v in totals.items()},
        "stage_mb_s": {k: len(data) / 1e6 / (v / repeats) for k, v in totals.items() if v > 0},
        "top": json.loads(Path(top_path).read_text()),
    }


# The dictionary peer: zstd level 19 with a dictionary trained on the *training* split only (the files qyn1's
# tables come from), each file compressed on its own; the dictionary is not counted per file (nor are qyn1's
# shipped tables). zstd's trainer (fastCOVER) optimises its k/d parameters when given none, which takes
# minutes; the parameters it chose on this corpus are recorded per dictionary size, and training with them
# gives the same dictionary (checked byte for byte) in a few seconds. Sizes compared: benchmarks/zstd_dict_sizes.py.
ZSTD_DICT_SIZE = 8_388_608
# size -> (k, d): chosen by zstd's optimiser on the training split up to 768 KiB (benchmarks/zstd_dict_sizes.py),
# set by hand above (the optimiser's 1 MiB dictionary came out at 237,604 bytes; a larger k lets the trainer
# fill the size). Held-out per-file ratio at level 19: 32 KiB 5.384, 64 KiB 5.526, 112,640 (zstd's default
# size) 5.632, 256 KiB 5.810, 512 KiB 5.947, 768 KiB 6.032, 1 MiB (k 290) 6.106, 2 MiB (k 290) 6.253,
# 4 MiB (k 1000) 6.435, 8 MiB (k 4000, d 8) 6.562 -- the best; 8 MiB with k 2000/8000/16000 or d 6, 12 MiB,
# 16 MiB and the raw training files as a 17 MB dictionary all did worse (level 19's window is 8 MiB).
ZSTD_DICT_PARAMS: dict[int, tuple[int, int]] = {
    32_768: (50, 6),
    65_536: (146, 6),
    112_640: (98, 6),
    262_144: (146, 6),
    524_288: (194, 6),
    786_432: (290, 8),
    1_048_576: (290, 8),
    2_097_152: (290, 8),
    4_194_304: (1000, 8),
    8_388_608: (4000, 8),
}


def zstd_dictionary(train: list[bytes], size: int = ZSTD_DICT_SIZE, *, optimise: bool = False):
    """A zstd dictionary of ``size`` bytes trained on ``train`` (with the recorded k/d unless ``optimise``)."""
    import zstandard

    k, d = (0, 0) if optimise else ZSTD_DICT_PARAMS.get(size, (0, 0))
    return zstandard.train_dictionary(size, train, k=k, d=d, level=19, threads=1)


def peer_codecs(train: list[bytes] | None = None, dict_size: int = ZSTD_DICT_SIZE) -> dict:
    """The general-purpose per-file peers: name -> (compress, decompress); zstd/brotli when installed.
    With ``train`` (the training files), also zstd-19 with a dictionary trained on them (``zstd-19+dict``)."""
    import lzma
    import zlib

    peers = {
        "zlib-9": (lambda b: zlib.compress(b, 9), zlib.decompress),
        "lzma-9": (lambda b: lzma.compress(b, preset=9), lzma.decompress),
    }
    try:
        import zstandard

        zc, zd = zstandard.ZstdCompressor(level=19), zstandard.ZstdDecompressor()
        peers["zstd-19"] = (zc.compress, zd.decompress)
        if train is not None:
            zdict = zstd_dictionary(train, dict_size)
            zdc = zstandard.ZstdCompressor(level=19, dict_data=zdict)
            zdd = zstandard.ZstdDecompressor(dict_data=zdict)
            peers["zstd-19+dict"] = (zdc.compress, zdd.decompress)
    except ImportError:  # pragma: no cover - dev dependency
        pass
    try:
        import brotli

        peers["brotli-11"] = (lambda b: brotli.compress(b, quality=11), brotli.decompress)
    except ImportError:  # pragma: no cover - dev dependency
        pass
    return peers


def measure_peer(datas: list[bytes], compress, decompress) -> dict:
    """Compress every buffer on its own, then decompress them all: sizes, ratio and MB/s each way."""
    total = sum(map(len, datas))
    t0 = time.perf_counter()
    blobs = [compress(d) for d in datas]
    tc = time.perf_counter() - t0
    t0 = time.perf_counter()
    for b in blobs:
        decompress(b)
    td = time.perf_counter() - t0
    size = sum(map(len, blobs))
    return {
        "bytes_in": total,
        "bytes": size,
        "ratio": total / size,
        "compress_mb_s": total / 1e6 / tc,
        "decompress_mb_s": total / 1e6 / td,
    }


def compare_codecs(datas: list[bytes], train: list[bytes] | None = None) -> dict[str, dict]:
    """qyn1 (encode + encrypt per chunk, as stored in a package) vs general-purpose per-file peers (and the
    zstd dictionary peer trained on ``train`` when given)."""
    total = sum(map(len, datas))
    rows = {"qyn1": _qyn1_row(datas, total)}
    for name, (comp, decomp) in peer_codecs(train).items():
        for sample in WARM_UP:  # a dictionary's tables are built on the first call: per process, not per file
            decomp(comp(sample))
        rows[name] = measure_peer(datas, comp, decomp)
    return rows


#: Compressed once by every codec before its timed pass (`compare_codecs`): the first call pays one-time
#: set-up (qyn1's model tables and kernels, ~1 s; zstd's digested dictionary), which on a few small files
#: was most of the time: `qyn1 bench` of two 15 kB files printed 0.02 MB/s for qyn1 and 0.00 for
#: zstd-19+dict. Python text and JSON, so that the structural coder and the cm coder are both loaded.
WARM_UP = (b"def f(x):\n    return x + 1  # one\n" * 4, b'{"a": [1, 2, 3], "b": "text"}\n' * 4)


def _qyn1_row(datas: list[bytes], total: int) -> dict:
    key = keys.generate_key()
    for sample in WARM_UP:
        codec.decode_chunk(codec.encode_chunk(sample), len(sample))
    t0 = time.perf_counter()
    stored = []
    for d in datas:
        for c in codec.split_chunks(d, 128 * 1024):
            nonce = len(stored).to_bytes(12, "little")
            stored.append((nonce, fast.aead_encrypt(key, nonce, codec.encode_chunk(c), b""), len(c)))
    tc = time.perf_counter() - t0
    t0 = time.perf_counter()
    for nonce, ct, n in stored:
        codec.decode_chunk(fast.aead_decrypt(key, nonce, ct, b""), n)
    td = time.perf_counter() - t0
    size = sum(len(ct) for _, ct, _ in stored)
    return {
        "bytes_in": total,
        "ratio": total / size,
        "compress_mb_s": total / 1e6 / tc,
        "decompress_mb_s": total / 1e6 / td,
    }


__all__ = ["compare_codecs", "profile_module"]
