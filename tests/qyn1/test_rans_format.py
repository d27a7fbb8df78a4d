"""The encoded format does not change by accident: chunk payloads of real stdlib files keep the digests
recorded for the current format (tables v2).

``FILES`` was first recorded (tables v1, commit ceb47f2) before the rANS coder was rewritten for speed
(bucket-table decoders, one encode kernel computing contexts on the fly), which left every digest unchanged;
it was re-recorded for tables v2 (match models, role-wise names, 30k morphemes: branch qyn1-ratio merged
into main), after checking that the merged code gives payloads identical to the branch's. Per file: the
BLAKE2b-64 of the source file and the BLAKE2b-128 of ``codec.encode_chunk`` of its first 128 KiB chunk, on
CPython 3.11.7. The structural (``python``) payloads are decoded once by the encoder before they are
accepted, so a decoder change that broke them would show here as a different codec and digest too. A file
that is missing, or differs from the one recorded (another CPython), is skipped with the reason. A deliberate
format change bumps ``qyn1.tables.TABLES_VERSION`` and re-records this list.
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
    ("__future__.py", "3df448ea4a33cb97", "8af5627be9e0a0cbe207018a2a50a7db"),  # python
    ("asyncio/log.py", "35742d01be18830f", "e770c92d76fb5423e639445acd3d219a"),  # python
    ("concurrent/__init__.py", "e8dc975f33ca72bd", "a84a633092319bc467d2ac0783825764"),  # bytes-o1
    ("ctypes/test/test_funcptr.py", "e3ee7cc5aac3979e", "6fc99b628cd078a1cde5722e7cc35d07"),  # python
    ("curses/ascii.py", "72493ee205b4969f", "9c1c12bd5142f5b9776dae2e5321c66b"),  # python
    ("distutils/command/sdist.py", "74f6e29448e70b4d", "1ec7aec1d30c392ccf496b2d03a438d6"),  # python
    ("distutils/tests/test_dir_util.py", "6c19672505d0d13d", "56f402f0d741253839cac007efbc7a25"),  # python
    ("email/errors.py", "6362c4c80d791d35", "ad87785434b224ee532c65a69d9ee419"),  # python
    ("encodings/cp1255.py", "4ffcb7afde98e856", "f4a2384bd0a2342fbd46b11d95c54b24"),  # python
    ("encodings/hp_roman8.py", "35c823ba3792eabc", "4e055d76a5d8ea870df0a31904b80dad"),  # python
    ("encodings/mac_roman.py", "dd780ed7ddc5dfdc", "26ada937d586b792994919fcf39d98c0"),  # python
    ("genericpath.py", "22f5ebc5efd82992", "c42d6ab255504d171d3d74f2774001f6"),  # python
    ("idlelib/filelist.py", "6a613d7133af0643", "1adc3ef8868183ff22778df0aa00b286"),  # python
    ("idlelib/idle_test/test_iomenu.py", "e9178b5ac4a3af8e", "1fb4d6acd31094a5a775b0dceaba1514"),  # python
    ("idlelib/multicall.py", "e8cf3c311adafcab", "506d08bda8d094c61b7ff17b8ade0e3e"),  # python
    ("importlib/metadata/__init__.py", "24c736f8bdebf407", "e2181d539fbaacd5954b0a81b62bcabb"),  # python
    ("lib2to3/fixes/fix_dict.py", "5ca81696d89e47c1", "f5d6bab4afdd69de8d8e1aba3b8d3a3d"),  # python
    ("lib2to3/fixes/fix_sys_exc.py", "9449a51c69f38e50", "2eee824b09757284f95a6fae27e767d5"),  # python
    ("lib2to3/tests/data/fixers/parrot_example.py", "de1017f7ce8709f8", "e85852d4816fe3b01f287a9edde4c6d1"),  # bytes-o1
    ("multiprocessing/reduction.py", "3bc322f79224f2b4", "12755538e86e9b36c3caab0558869b8a"),  # python
    ("random.py", "4cf733742236aed8", "e70f4e7be5550a1cd48dae2bf63fa95c"),  # python
    ("tabnanny.py", "a995040c8691ad93", "130bde66dee88a21e8f8721f22d31639"),  # python
    ("test/imp_dummy.py", "683776a43fc8c0d7", "3ef3b082d94ade6c4bfaa1b4f83a8b2e"),  # python
    ("test/regrtest.py", "eadee6a59cbf1030", "56264ff272a73cbdf6b442b3c8214eed"),  # python
    ("test/test_array.py", "c0e893912349e0ce", "b287cdad7571f80d9f8e282e437e3827"),  # python
    ("test/test_asyncio/test_windows_events.py", "1570b0792e9a424d", "636586b1d15bc422798e3de21d5235da"),  # python
    ("test/test_clinic.py", "0fd9390be66452f3", "24234f97e9fb1890b717c722bc8c4e60"),  # python
    ("test/test_crashers.py", "1128d6dcde8ebf08", "070484c3b20b83a58673632c242e21bc"),  # python
    ("test/test_email/__main__.py", "7d5afd5f52a79ccc", "737e6ae9c3849395d1a126c7d90a21f4"),  # python
    ("test/test_float.py", "9c8e6249a64d7493", "d64bd3d2f8b67c25d16d8aecb97ac066"),  # python
    ("test/test_generators.py", "160e2e9e779f5356", "60cac23850901c8669b35f9083d43acf"),  # python
    ("test/test_import/data/circular_imports/rebinding.py", "53cf8311aba2e7cc", "caed7aa104dc7e741e519b924f015c70"),  # python
    ("test/test_importlib/extension/test_path_hook.py", "cbcc5027fce6f8f3", "92e6583047df385f979c4694182657d3"),  # python
    ("test/test_importlib/stubs.py", "443f02a0b0edf938", "ca4484ce66242eb98e01c76fedb0ad24"),  # python
    ("test/test_io.py", "367971d87af0eec7", "e364401bb95b62bcd2c6a2b458e56487"),  # python
    ("test/test_long.py", "d38d6c2e68be8f30", "2b063c77766f62cffa8a0ccc9c4d80a9"),  # python
    ("test/test_osx_env.py", "b96f446aba729b10", "86744e8dd22a6c872aaf4d24a2e16198"),  # python
    ("test/test_pyexpat.py", "cb14042e92ee7651", "4d3b6a00b5d6504a68885b82059e000b"),  # python
    ("test/test_source_encoding.py", "0286c81995554ced", "b1c916a5ed8cde6f8415680f427a8549"),  # bytes-o1
    ("test/test_syslog.py", "751209ac394cff12", "448b8cc37497a43c0185a665951440fe"),  # python
    ("test/test_trace.py", "7fdbfa367d7390c4", "3b4ac97518b1dbbb5ea9a104e88e7c75"),  # python
    ("test/test_uu.py", "86d424d6672b115d", "7e8bd9e94d533585616b2d5f0b8e30e9"),  # python
    ("test/testcodec.py", "1d26029e30b7c019", "e97bc5389f4a3eea9e1df6dfb958709f"),  # python
    ("tkinter/font.py", "cb7b92dce77ca3c2", "8fb421676b37fda9089424cf55400893"),  # python
    ("turtledemo/bytedesign.py", "5e61ce06c9b601bb", "b06c965b59247482f867fd437d5b6984"),  # python
    ("unittest/test/test_assertions.py", "3ded993529a8c0ad", "8d1c64e96ddbf04fff4381645073422a"),  # python
    ("test/test_unicode.py", "095d34a2114ff85a", "db4818f06a3f2c7c4abe46ff9cc1fb8a"),  # python
    ("pydoc_data/topics.py", "53c2f422112cd07e", "c19593a5e6aa2c00998263df23f0b528"),  # python
    ("encodings/cp1252.py", "d11601dd77ee8ae3", "5929e96374389bab29081a2408e6e47b"),  # python
    ("test/tokenizedata/badsyntax_3131.py", "9e06c866bb89bd8b", "5fb74a6ed6d879e02f7ff08398d0458b"),  # bytes-o1
    ("lib2to3/tests/data/different_encoding.py", "5f33100721580019", "e520a91f49300a306f34091ae9cda859"),  # python
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
