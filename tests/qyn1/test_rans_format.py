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
format change bumps ``qyn1.tables.TABLES_VERSION`` and re-records this list. Container version 2 added the
zstd and brotli candidates: one file whose chunk they now win was re-recorded (marked); the structural payloads
are unchanged. Container version 3 added the ``cm`` coder (``qyn1.cm``): the five chunks it wins were
re-recorded (marked, with the payload they had before); every other payload is unchanged. The cm margin on
structural chunks (``codec.CM_PYTHON_MARGIN``, an encoder choice: the format is unchanged) leaves them to cm:
each wins by more than the margin (one of them, marked, was structural while the margin was 1.5).
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
    ("__future__.py", "3df448ea4a33cb97", "c56d09c808f8d8ccc9033ac41260941b"),  # python
    ("asyncio/log.py", "35742d01be18830f", "8312967a254b232dfa83552098388729"),  # python
    ("concurrent/__init__.py", "e8dc975f33ca72bd", "a84a633092319bc467d2ac0783825764"),  # bytes-o1
    ("ctypes/test/test_funcptr.py", "e3ee7cc5aac3979e", "cfbdadd72e99107b66998dbf949eabb5"),  # python
    # was python (194d5944..., 666 bytes): a training file, in cm's priming text, which the match model finds
    ("curses/ascii.py", "72493ee205b4969f", "d441239f704987cbeecf9267c10efe23"),  # cm
    ("distutils/command/sdist.py", "74f6e29448e70b4d", "ae6a34526b5d41d7f3628081aa31625a"),  # python
    ("distutils/tests/test_dir_util.py", "6c19672505d0d13d", "4425e0b45e796e8944bf0ecd665973a8"),  # python
    ("email/errors.py", "6362c4c80d791d35", "5284c65574009b0ff80f0b9bc4f69a5d"),  # python
    ("encodings/cp1255.py", "4ffcb7afde98e856", "b6e4fc868af7245e5ee2ebbad71226ea"),  # python
    ("encodings/hp_roman8.py", "35c823ba3792eabc", "90f4c87d51ed58366b7554feafbe8b08"),  # python
    ("encodings/mac_roman.py", "dd780ed7ddc5dfdc", "8f6c8cc3c8a925214b19ec841b7380fb"),  # python
    ("genericpath.py", "22f5ebc5efd82992", "c65db6d4afa66db1c22099ebe79c9ad3"),  # python
    ("idlelib/filelist.py", "6a613d7133af0643", "fb0503cd6c753a98317b31089ac55bb0"),  # python
    ("idlelib/idle_test/test_iomenu.py", "e9178b5ac4a3af8e", "1f25b1d79da8556ca1fe9950dbaddd30"),  # python
    ("idlelib/multicall.py", "e8cf3c311adafcab", "5c6b67adacaefd523092bf9f05e18f66"),  # python
    ("importlib/metadata/__init__.py", "24c736f8bdebf407", "a08dd368909de9c25a6aaab891607db2"),  # python
    ("lib2to3/fixes/fix_dict.py", "5ca81696d89e47c1", "3512872ca8cbfad98722b6747cf4c292"),  # python
    ("lib2to3/fixes/fix_sys_exc.py", "9449a51c69f38e50", "4b79569a31ce6d1891c9fe93c54392b2"),  # python
    # was bytes-o1 (e85852d4...); cm 17 bytes
    ("lib2to3/tests/data/fixers/parrot_example.py", "de1017f7ce8709f8", "222c0a2160e59647dd78d81ccf63aa5a"),  # cm
    ("multiprocessing/reduction.py", "3bc322f79224f2b4", "1a1a7e5a510de423efcb5bdbd9b3ff6e"),  # python
    ("random.py", "4cf733742236aed8", "fe3b04bd51ebc4c3a640c28b8922a240"),  # python
    ("tabnanny.py", "a995040c8691ad93", "dd4682dececf20d24bca8816cf99ce49"),  # python
    ("test/imp_dummy.py", "683776a43fc8c0d7", "d077a85ce913c846adacfd136bed1179"),  # python
    ("test/regrtest.py", "eadee6a59cbf1030", "535190e3c3d6142bc0eae2ac8e4d0250"),  # python
    ("test/test_array.py", "c0e893912349e0ce", "06e1582c96ff162af49c834b982a26c1"),  # python
    ("test/test_asyncio/test_windows_events.py", "1570b0792e9a424d", "77d35560eb0ac01e13f48cae4909d379"),  # python
    ("test/test_clinic.py", "0fd9390be66452f3", "da61658a385badb27c35c304e1026066"),  # python
    ("test/test_crashers.py", "1128d6dcde8ebf08", "927170160742ad5e3bcc90b972d24a37"),  # python
    ("test/test_email/__main__.py", "7d5afd5f52a79ccc", "18313aec7bac07d88700879cb385c7bd"),  # python
    ("test/test_float.py", "9c8e6249a64d7493", "69d281527fc6d6c8f67955bf126b63e7"),  # python
    ("test/test_generators.py", "160e2e9e779f5356", "18c8b5f97e48cdcbdbb07e464d351297"),  # python
    ("test/test_import/data/circular_imports/rebinding.py", "53cf8311aba2e7cc", "4f80ba7b4ce3077b07a89507d9c5fadb"),  # python
    ("test/test_importlib/extension/test_path_hook.py", "cbcc5027fce6f8f3", "30fe9016a44da9494004c5d45e309f84"),  # python
    ("test/test_importlib/stubs.py", "443f02a0b0edf938", "8b4bd22c6fc6cbf0193bf879a953c05f"),  # python
    ("test/test_io.py", "367971d87af0eec7", "a3b299763765617871d07c85deb8d108"),  # python
    ("test/test_long.py", "d38d6c2e68be8f30", "a86110b0e2ddc1194c0f5a00ce00a0b9"),  # python
    ("test/test_osx_env.py", "b96f446aba729b10", "5548fb1cf5011a5078181965cb1a5e99"),  # python
    ("test/test_pyexpat.py", "cb14042e92ee7651", "f427272baff9cb9ac8f879bf43b4a707"),  # python
    # was bytes-o1 (b1c916a5...), then brotli in container v2 (6703d635...); container v3's cm coder is smaller
    ("test/test_source_encoding.py", "0286c81995554ced", "0e97c6a128c46efd4716d24fea9aa55c"),  # cm
    ("test/test_syslog.py", "751209ac394cff12", "c6d1e2f4226cb191d146fb1159faa109"),  # python
    ("test/test_trace.py", "7fdbfa367d7390c4", "b4087347d9bd614d32ab069d1d715de5"),  # python
    ("test/test_uu.py", "86d424d6672b115d", "08837af9bb8e23769be84504debc9b6b"),  # python
    ("test/testcodec.py", "1d26029e30b7c019", "8af0191352a82d0c7639263dad58bebd"),  # python
    ("tkinter/font.py", "cb7b92dce77ca3c2", "2b120d0d4d5c88c1697e883063bb861f"),  # python
    ("turtledemo/bytedesign.py", "5e61ce06c9b601bb", "f2964e1a67d7e3d67d639acf4ab66444"),  # python
    ("unittest/test/test_assertions.py", "3ded993529a8c0ad", "79f31cf4ed3266a58a6ec3b0a243fc90"),  # python
    ("test/test_unicode.py", "095d34a2114ff85a", "ee20b2ac6448184dafd3834e0b849012"),  # python
    # cm since container v3: 1.24x smaller than the structural payload (e2e79a00..., taken while the cm margin
    # codec.CM_PYTHON_MARGIN was 1.5), more than the 1.1x cm needs on a structural chunk
    ("pydoc_data/topics.py", "53c2f422112cd07e", "97bee5e15d27c3dcb3805b870c0d055f"),  # cm
    ("encodings/cp1252.py", "d11601dd77ee8ae3", "96c43aa6b3b3540b8cae1eb490344856"),  # python
    # was bytes-o1 (5fb74a6e..., 32 bytes); cm 24
    ("test/tokenizedata/badsyntax_3131.py", "9e06c866bb89bd8b", "37d31d114c2e0fe3116f45a48452b6a4"),  # cm
    ("lib2to3/tests/data/different_encoding.py", "5f33100721580019", "8e339a262df9b4b40811aeae421e070b"),  # python
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
