"""The encoded format does not change: chunk payloads of real stdlib files keep the digests recorded before
the rANS coder was rewritten for speed (bucket-table decoders, one encode kernel computing contexts on the
fly).

``FILES`` was recorded with the code of commit ceb47f2 (``qyn1.rans`` as of 9da16b7, binary-search decoder,
``Model.contexts`` + row kernel encoder) on CPython 3.11.7: per file, the BLAKE2b-64 of the source file
and the BLAKE2b-128 of ``codec.encode_chunk`` of its first 128 KiB chunk. The structural (``python``)
payloads are decoded once by the encoder before they are accepted, so a decoder change that broke them
would show here as a different codec and digest too. A file that is missing, or differs from the one
recorded (another CPython), is skipped with the reason.
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
    ("__future__.py", "3df448ea4a33cb97", "df2a6afd732e2986b0420c5ae8c4ff10"),  # python
    ("asyncio/log.py", "35742d01be18830f", "c08b5ef96d72d7e5f9a17ed1db9604c4"),  # python
    ("concurrent/__init__.py", "e8dc975f33ca72bd", "a84a633092319bc467d2ac0783825764"),  # bytes-o1
    ("ctypes/test/test_funcptr.py", "e3ee7cc5aac3979e", "323b22cc68b38fc8730d82809108e2ff"),  # python
    ("curses/ascii.py", "72493ee205b4969f", "8a6c6cbc35a5b7bea8d7215ac5f662d2"),  # python
    ("distutils/command/sdist.py", "74f6e29448e70b4d", "b66f7d2bd2a48a7192f7ef14db672bbe"),  # python
    ("distutils/tests/test_dir_util.py", "6c19672505d0d13d", "1a78677cb645b23bb67cead314b9646d"),  # python
    ("email/errors.py", "6362c4c80d791d35", "e9954dbced83a9357d7e1346dbc1ea80"),  # python
    ("encodings/cp1255.py", "4ffcb7afde98e856", "bba973fb0d918145a50a7e2c198d15eb"),  # python
    ("encodings/hp_roman8.py", "35c823ba3792eabc", "0e6b65e11ab6d1ebc45d7c6e2e8ff631"),  # python
    ("encodings/mac_roman.py", "dd780ed7ddc5dfdc", "91090e28dfc95628d3418eac9276a7db"),  # python
    ("genericpath.py", "22f5ebc5efd82992", "d703b55a1d784025927544e2a60447ae"),  # python
    ("idlelib/filelist.py", "6a613d7133af0643", "bdda09ffaf4ab3e2e973f0e241a2aa97"),  # python
    ("idlelib/idle_test/test_iomenu.py", "e9178b5ac4a3af8e", "b1ec854c5b52c28649fc244ce86fa727"),  # python
    ("idlelib/multicall.py", "e8cf3c311adafcab", "cb05cf820b7235742a9f34e0f8ff3479"),  # python
    ("importlib/metadata/__init__.py", "24c736f8bdebf407", "0e3dcdf254ceda77fc7200f5e9a0fe17"),  # python
    ("lib2to3/fixes/fix_dict.py", "5ca81696d89e47c1", "bc6d250edc9719364b58ee7325b3f0c7"),  # python
    ("lib2to3/fixes/fix_sys_exc.py", "9449a51c69f38e50", "d960793a233caa8b63e8dc63ae5e6e1b"),  # python
    ("lib2to3/tests/data/fixers/parrot_example.py", "de1017f7ce8709f8", "e85852d4816fe3b01f287a9edde4c6d1"),  # bytes-o1
    ("multiprocessing/reduction.py", "3bc322f79224f2b4", "850e9c1db1789d933f0e5311d514985a"),  # python
    ("random.py", "4cf733742236aed8", "add84673ef44975134ff5b1c69881215"),  # python
    ("tabnanny.py", "a995040c8691ad93", "395c9b33119720cf16c16cab0863ba0d"),  # python
    ("test/imp_dummy.py", "683776a43fc8c0d7", "33809e0f5ec5662eec0a6f3219996d10"),  # bytes-o1
    ("test/regrtest.py", "eadee6a59cbf1030", "a4fce5b469b636750d62caf540a8acaf"),  # python
    ("test/test_array.py", "c0e893912349e0ce", "be7b2dcfedbba0ffaefe73077efeac57"),  # python
    ("test/test_asyncio/test_windows_events.py", "1570b0792e9a424d", "62a86f3c4b24eadb23b58c895c38ea5e"),  # python
    ("test/test_clinic.py", "0fd9390be66452f3", "5784ff0c21eafb27ecd5e4a738bac40c"),  # python
    ("test/test_crashers.py", "1128d6dcde8ebf08", "6834695e9aeab027a655774e636e119f"),  # python
    ("test/test_email/__main__.py", "7d5afd5f52a79ccc", "57b16c4636cccaf4a54195e94a5034d4"),  # python
    ("test/test_float.py", "9c8e6249a64d7493", "bd134084f796391dbca11013591807c7"),  # python
    ("test/test_generators.py", "160e2e9e779f5356", "29eaacc303e445a2efe3455332858d70"),  # python
    ("test/test_import/data/circular_imports/rebinding.py", "53cf8311aba2e7cc", "01f4481b66b6cd6a9dd5925915e19349"),  # python
    ("test/test_importlib/extension/test_path_hook.py", "cbcc5027fce6f8f3", "44eb36d4c9c68766c99a2340e24c500b"),  # python
    ("test/test_importlib/stubs.py", "443f02a0b0edf938", "93cbcdb612850115b7473bc2a50ec52e"),  # python
    ("test/test_io.py", "367971d87af0eec7", "5573722b623e9d26b0aceb1ddef4a1fd"),  # python
    ("test/test_long.py", "d38d6c2e68be8f30", "ebc76cde7e3d287915edb0aa01936a08"),  # python
    ("test/test_osx_env.py", "b96f446aba729b10", "5726c6ca88c531781bbf569e15887630"),  # python
    ("test/test_pyexpat.py", "cb14042e92ee7651", "d54617bc30224e8b1a916cc83ea59d99"),  # python
    ("test/test_source_encoding.py", "0286c81995554ced", "b1c916a5ed8cde6f8415680f427a8549"),  # bytes-o1
    ("test/test_syslog.py", "751209ac394cff12", "6372f3e09758d3388dc75c5dc68d2ba9"),  # python
    ("test/test_trace.py", "7fdbfa367d7390c4", "d00e3c42ba39e95c17348dfbbd8c9684"),  # python
    ("test/test_uu.py", "86d424d6672b115d", "855984abc5e398e59f3c66e5c45689f2"),  # python
    ("test/testcodec.py", "1d26029e30b7c019", "14184a9297b83182856211cdbc38246a"),  # python
    ("tkinter/font.py", "cb7b92dce77ca3c2", "63d92fc591d61419519077eefd5358ad"),  # python
    ("turtledemo/bytedesign.py", "5e61ce06c9b601bb", "a0e77a5dfc2d7a3b4200aae086af91cf"),  # python
    ("unittest/test/test_assertions.py", "3ded993529a8c0ad", "dedc07ae93452c7bceac69520cff393f"),  # python
    ("test/test_unicode.py", "095d34a2114ff85a", "8401531249d7c0e93e3f909e821d8634"),  # python
    ("pydoc_data/topics.py", "53c2f422112cd07e", "46a3b2b2936a091f05a90db505e5ed5f"),  # python
    ("encodings/cp1252.py", "d11601dd77ee8ae3", "ad57749dd998142c97a0ddc1596b011e"),  # python
    ("test/tokenizedata/badsyntax_3131.py", "9e06c866bb89bd8b", "5fb74a6ed6d879e02f7ff08398d0458b"),  # bytes-o1
    ("lib2to3/tests/data/different_encoding.py", "5f33100721580019", "f4586cb6c68540269578a3c0bb0cc7ab"),  # python
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
