"""The encoded format does not change by accident: chunk payloads of real stdlib files keep the digests
recorded for the current format (tables v3).

``FILES`` was first recorded (tables v1, commit ceb47f2) before the rANS coder was rewritten for speed
(bucket-table decoders, one encode kernel computing contexts on the fly), which left every digest unchanged;
it was re-recorded for tables v2 (match models, role-wise names, 30k morphemes: branch qyn1-ratio merged
into main), after checking that the merged code gives payloads identical to the branch's. Per file: the
BLAKE2b-64 of the source file and the BLAKE2b-128 of ``codec.encode_chunk`` of its first 128 KiB chunk, on
CPython 3.11.7. The structural (``python``) payloads are decoded once by the encoder before they are
accepted, so a decoder change that broke them would show here as a different codec and digest too. A file
that is missing, or differs from the one recorded (another CPython), is skipped with the reason. A deliberate
format change bumps ``qyn1.tables.TABLES_VERSION`` and re-records this list. Container version 2 added the
zstd and brotli candidates: one file whose chunk they now win was re-recorded (marked); the structural payloads
are unchanged. Container version 3 added the ``cm`` coder (``qyn1.cm``): the five chunks it wins were
re-recorded (marked, with the payload they had before); every other payload is unchanged. The cm margin on
structural chunks (``codec.CM_PYTHON_MARGIN``, an encoder choice: the format is unchanged) leaves them to cm:
each wins by more than the margin (one of them, marked, was structural while the margin was 1.5). Tables v3
(trained on the stdlib's training half and PyPI wheels, ``qyn1.train``) re-recorded every structural payload;
no chunk changed codec, the byte-level and cm payloads are unchanged.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

import pytest
from qyn1 import codec, tables

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CHUNK = 128 * 1024

# (path relative to the stdlib, BLAKE2b-64 of the file, BLAKE2b-128 of the first chunk's payload), codec
# fmt: off
FILES = [
    ("__future__.py", "3df448ea4a33cb97", "2f4f33d91981cb53089cbae7fcc6b3f0"),  # python
    ("asyncio/log.py", "35742d01be18830f", "0e09211f12404b55c3b3c5b9049eeb1f"),  # python
    ("concurrent/__init__.py", "e8dc975f33ca72bd", "a84a633092319bc467d2ac0783825764"),  # bytes-o1
    ("ctypes/test/test_funcptr.py", "e3ee7cc5aac3979e", "20d5a19492c67fe908ef8374aded5251"),  # python
    # was python (194d5944..., 666 bytes): a training file, in cm's priming text, which the match model finds
    ("curses/ascii.py", "72493ee205b4969f", "d441239f704987cbeecf9267c10efe23"),  # cm
    ("distutils/command/sdist.py", "74f6e29448e70b4d", "5695ea0213ee99ca7da1a21a6b3040fb"),  # python
    ("distutils/tests/test_dir_util.py", "6c19672505d0d13d", "c3310944159babaf80f6fb2cbc2a49a2"),  # python
    ("email/errors.py", "6362c4c80d791d35", "d83d29a84be9b62b69123906b4454a60"),  # python
    ("encodings/cp1255.py", "4ffcb7afde98e856", "7536b22d932a30ce23b5513bcaeffb02"),  # python
    ("encodings/hp_roman8.py", "35c823ba3792eabc", "723cf0f6dc62a46448081c907d666e1e"),  # python
    ("encodings/mac_roman.py", "dd780ed7ddc5dfdc", "8e2904ed189e9e7c51cc4f45c979e229"),  # python
    ("genericpath.py", "22f5ebc5efd82992", "b00e1a976777c14aea725671132d0022"),  # python
    ("idlelib/filelist.py", "6a613d7133af0643", "9456a10bd69f9f24af5cb0d49913dd83"),  # python
    ("idlelib/idle_test/test_iomenu.py", "e9178b5ac4a3af8e", "e49f5546d2e4db9d99002374a8c769d1"),  # python
    ("idlelib/multicall.py", "e8cf3c311adafcab", "a15a6e44fe374d358a8c85da95dda99b"),  # python
    ("importlib/metadata/__init__.py", "24c736f8bdebf407", "74873c1b99b2cf5dc744d7bc41b02b98"),  # python
    ("lib2to3/fixes/fix_dict.py", "5ca81696d89e47c1", "f7840da03a4577ba7999cb65f6e948e8"),  # python
    ("lib2to3/fixes/fix_sys_exc.py", "9449a51c69f38e50", "faf607e7649b22d35d9b58a9eeb7cf39"),  # python
    # was bytes-o1 (e85852d4...); cm 17 bytes
    ("lib2to3/tests/data/fixers/parrot_example.py", "de1017f7ce8709f8", "222c0a2160e59647dd78d81ccf63aa5a"),  # cm
    ("multiprocessing/reduction.py", "3bc322f79224f2b4", "6db7cd37211b2f30db1dd97c2a418b87"),  # python
    ("random.py", "4cf733742236aed8", "e75589c04da79139b0aec485b4b55590"),  # python
    ("tabnanny.py", "a995040c8691ad93", "aee5b91399d4c90ffff9a1ac363f11b2"),  # python
    ("test/imp_dummy.py", "683776a43fc8c0d7", "52cda5231d396d0244251fae6c3d9d24"),  # python
    ("test/regrtest.py", "eadee6a59cbf1030", "6a4c9d84744a5b6a6f02ea691a282bc6"),  # python
    ("test/test_array.py", "c0e893912349e0ce", "1bb9a1428a76d048c4623d2cc931a87d"),  # python
    ("test/test_asyncio/test_windows_events.py", "1570b0792e9a424d", "78bc051e742148e66f46082d5187f909"),  # python
    ("test/test_clinic.py", "0fd9390be66452f3", "23bc687cd44e582a6465aaaf2d55d3f2"),  # python
    ("test/test_crashers.py", "1128d6dcde8ebf08", "ab985ad326923f0bb54be584e1f71c80"),  # python
    ("test/test_email/__main__.py", "7d5afd5f52a79ccc", "3209dde8ab1fbf847f547eb178b4ca66"),  # python
    ("test/test_float.py", "9c8e6249a64d7493", "ff106c064ab6e9676e49fecce3f34393"),  # python
    ("test/test_generators.py", "160e2e9e779f5356", "e29e5a2cb16254925ce684880cab42db"),  # python
    ("test/test_import/data/circular_imports/rebinding.py", "53cf8311aba2e7cc", "e866279e18125286b010628ce3b5db6c"),  # python
    ("test/test_importlib/extension/test_path_hook.py", "cbcc5027fce6f8f3", "fa89dfa9dcd50fd1520bcff4aa61b3e9"),  # python
    ("test/test_importlib/stubs.py", "443f02a0b0edf938", "bae9386e1c2d555fe7d2c0a042597661"),  # python
    ("test/test_io.py", "367971d87af0eec7", "aa0f7b0a077c5fc850c7d85fed027119"),  # python
    ("test/test_long.py", "d38d6c2e68be8f30", "66ed00efe7871f960335364e8c2830e5"),  # python
    ("test/test_osx_env.py", "b96f446aba729b10", "9fd4fa45b3d87f338d9839f7e46c924c"),  # python
    ("test/test_pyexpat.py", "cb14042e92ee7651", "00e7a725ee643393a6b52abfb9f7e39f"),  # python
    # was bytes-o1 (b1c916a5...), then brotli in container v2 (6703d635...); container v3's cm coder is smaller
    ("test/test_source_encoding.py", "0286c81995554ced", "0e97c6a128c46efd4716d24fea9aa55c"),  # cm
    ("test/test_syslog.py", "751209ac394cff12", "b36569d9c93f286d8c5c3735b8bbcd61"),  # python
    ("test/test_trace.py", "7fdbfa367d7390c4", "d7e46110e96d65e47a04c1b7aaabe640"),  # python
    ("test/test_uu.py", "86d424d6672b115d", "68e3b5b06872e638d2b852dc4722c1d3"),  # python
    ("test/testcodec.py", "1d26029e30b7c019", "29ea66911d17635acaa08fdf4bc13515"),  # python
    ("tkinter/font.py", "cb7b92dce77ca3c2", "ed290b24d79a6c27edd1e7185e550ac5"),  # python
    ("turtledemo/bytedesign.py", "5e61ce06c9b601bb", "9bf50226ef1e12161932d78a2f1076b2"),  # python
    ("unittest/test/test_assertions.py", "3ded993529a8c0ad", "a4dea3ebe738e7397009c77ca4dbd571"),  # python
    ("test/test_unicode.py", "095d34a2114ff85a", "0c5c6cf1ac8b4854e6b73d00d65fbf65"),  # python
    # cm since container v3: 1.24x smaller than the structural payload (e2e79a00..., taken while the cm margin
    # codec.CM_PYTHON_MARGIN was 1.5), more than the 1.1x cm needs on a structural chunk
    ("pydoc_data/topics.py", "53c2f422112cd07e", "97bee5e15d27c3dcb3805b870c0d055f"),  # cm
    ("encodings/cp1252.py", "d11601dd77ee8ae3", "1f58f38178e3c7fc2aaac73dc9282b7a"),  # python
    # was bytes-o1 (5fb74a6e..., 32 bytes); cm 24
    ("test/tokenizedata/badsyntax_3131.py", "9e06c866bb89bd8b", "37d31d114c2e0fe3116f45a48452b6a4"),  # cm
    ("lib2to3/tests/data/different_encoding.py", "5f33100721580019", "a0c86551684de9233025c9beb813b9bd"),  # python
]
# fmt: on


@pytest.mark.skipif(not tables.has_python(), reason="qyn1 was built without its tables")
@pytest.mark.parametrize(("rel", "file_digest", "payload_digest"), FILES, ids=[f[0] for f in FILES])
def test_payload_digest_unchanged(rel, file_digest, payload_digest):
    path = STDLIB / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in this interpreter's stdlib ({STDLIB})")
    data = path.read_bytes()
    if hashlib.blake2b(data, digest_size=8).hexdigest() != file_digest:
        pytest.skip(f"{rel} differs from the file the digest was recorded with (another CPython?)")
    payload = codec.encode_chunk(codec.split_chunks(data, CHUNK)[0])
    assert hashlib.blake2b(payload, digest_size=16).hexdigest() == payload_digest
