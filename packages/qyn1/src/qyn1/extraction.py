"""Unpack and verify: authenticate and decode a package's chunks and write its files, all or nothing.

The way back of :mod:`qyn1.pipeline`: every target path is checked before anything is written
(:func:`_targets`), files are created 0600 inside a folder this run owns, and blocks are decoded in a few
balanced groups per worker (:func:`_groups`), each group opening the archive once. Within a group the
chunks are authenticated and decoded a batch at a time (:class:`_Batches`), the batch's ``python`` chunks in
one stream-major call (``qyn1.python.decode_texts``); reading one file (``qyn1 cat``) keeps the
chunk-by-chunk path of ``container.entry_pieces``.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Mapping
from typing import BinaryIO

from perfkit.parallel import Task, map_tasks

from perfkit import atomic_path
from qyn1 import codec, container, keys
from qyn1.errors import Qyn1Error, UnsafePathError, words
from qyn1.pipeline import DECODE_PRELOAD, PackStats, choose_executor, file_folder_clash, note_worker_memory


def open_package(path: str | os.PathLike | BinaryIO, key_source: keys.KeySource):
    """(file object, container.Reader); the caller closes the file. ``path`` may be an open, seekable
    binary file (standard input spooled to a temporary file), or the package's bytes."""
    keys.check_key_source(key_source)
    if isinstance(path, (bytes, bytearray, memoryview)):  # a package read into memory
        path = io.BytesIO(path)
    if not isinstance(path, (str, os.PathLike)):
        return path, container.Reader(path, key_source)
    try:
        f = open(path, "rb")  # noqa: SIM115 -- returned to the caller
    except OSError as e:
        raise Qyn1Error(f"cannot open {str(path)!r}: {words(e)}") from None
    try:
        return f, container.Reader(f, key_source)
    except BaseException:
        f.close()
        raise


def _targets(entries: list, folder_real: str, reserved: Mapping[str, str]) -> list[str]:
    """The path each file will have in ``folder_real``, after every check that can be made before writing:
    safe paths, no escaping links, no file that is also a folder of another (in any table order), names
    the file system can hold, no top-level name the output folder keeps for itself."""
    targets = []
    real_parents: dict[str, str] = {}
    for e in entries:
        container.check_path(e.path)
        top = e.path.split("/", 1)[0]
        if top in reserved:
            raise Qyn1Error(
                f"the package holds {top!r} at its top level, where the output folder keeps {reserved[top]}"
            )
        targets.append(_safe_target(folder_real, e.path, real_parents))
    clash = file_folder_clash([e.path for e in entries])
    if clash:
        raise Qyn1Error(
            f"the package holds a file {clash[0]!r} and also {clash[1]!r} inside a folder of that name; "
            "it cannot be unpacked"
        )
    try:
        name_max = os.pathconf(folder_real, "PC_NAME_MAX")
        path_max = os.pathconf(folder_real, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    for e, t in zip(entries, targets, strict=True):
        if max(len(p.encode("utf-8")) for p in e.path.split("/")) > name_max:
            raise Qyn1Error(
                f"{e.path!r}: a name in it is longer than this file system allows ({name_max} bytes)"
            )
        if len(os.fsencode(t)) >= path_max:
            raise Qyn1Error(f"{e.path!r}: its path in the output folder would exceed {path_max} bytes")
    return targets


def _safe_target(outdir_real: str, path: str, real_parents: dict[str, str]) -> str:
    target = os.path.join(outdir_real, *path.split("/"))
    parent = os.path.dirname(target)
    # every existing component must resolve inside the output directory (no escaping symlinks); resolved
    # once per folder (``real_parents``), not once per file: the stdlib's 1,790 files live in ~140 folders
    real_parent = real_parents.get(parent)
    if real_parent is None:
        real_parent = real_parents[parent] = os.path.realpath(parent)
    if os.path.commonpath([real_parent, outdir_real]) != outdir_real:
        raise UnsafePathError(f"{path}: a link in the output directory would take it outside")
    if os.path.islink(target) and os.path.isdir(target):
        raise UnsafePathError(f"{path}: the target is a link to a directory")
    return target


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _decode_task(payload):
    """Decode groups of whole blocks from one open archive straight to their targets. Each file is created
    here, mode 0600 (plaintext is never readable by others while it is written; a killed run leaves nothing
    readable) and gets its stored mode only once its digest matched. The targets are in a folder this run
    created (the ``perfkit.job`` staging folder), never in place. A task may run again (its worker died, or
    Dask recomputes a finished task whose worker was lost): what is at a target then is this task's own
    earlier attempt, removed and written anew (or, on a file system where two of the package's paths are one
    file, another task's file: :func:`_check_one_file_each` refuses the unpack once the tasks are done)."""
    archive, key, header_bytes, items = payload
    n = 0
    with open(archive, "rb") as f:
        chunks = _Batches(f, key, header_bytes, [e for e, _ in items])
        for entry, target in items:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
            fd = os.open(target, _CREATE, 0o600)
            with os.fdopen(fd, "wb") as out:
                for data in _pieces(entry, chunks):
                    out.write(data)
                    n += len(data)
                os.fchmod(out.fileno(), entry.mode & 0o777)
    return n


BATCH_CHUNKS = 64  # chunks decoded together (python ones stream-major in one call) ...
BATCH_SOURCE = 1 << 20  # ... holding at most this many bytes of source (more only for one chunk alone)


class _Batches:
    """The chunks that ``entries`` (read in this order) need, each authenticated and decoded once, a batch
    at a time: up to :data:`BATCH_CHUNKS` chunks and :data:`BATCH_SOURCE` bytes of their plaintext are
    decrypted (``container.decrypt_payload``), their ``python`` chunks decoded stream-major in one call
    (``qyn1.python.decode_texts``: docs/perf/qyn1-decode.md), the others one by one. Memory: one batch's
    payloads and plaintext (<= 1 MB, or one larger chunk), and while the python call runs its decoded
    streams (a few times the python chunks' source: ~4 MB more per worker than one chunk at a time). If
    anything in a batch fails, its chunks are decoded again one by one (``container._decrypt_chunk``) so
    that the error raised is exactly the one reading these files chunk by chunk meets first (the same
    message, naming the first file that needs the chunk)."""

    def __init__(self, f, key: bytes, header_bytes: bytes, entries: list):
        self.f, self.key, self.header_bytes = f, key, header_bytes
        self.order: list[tuple] = []  # (the first entry that needs the chunk, chunk index), reading order
        seen = set()
        for e in entries:
            for j in e.chunk_span():
                if (e.block, j) not in seen:
                    seen.add((e.block, j))
                    self.order.append((e, j))
        self.next = 0
        self.ready: dict[tuple[int, int], bytes] = {}

    def get(self, e, j: int) -> bytes:
        """Chunk ``j`` of ``e``'s block, decoded (chunks are asked for in reading order)."""
        key = (e.block, j)
        if key in self.ready:
            return self.ready[key]
        if self.next < len(self.order) and (self.order[self.next][0].block, self.order[self.next][1]) == key:
            self.ready = {}  # the previous batch is no longer needed: free it first
            self.ready = self._decode_next()
            return self.ready[key]
        # Asked again after its batch was freed: a table may list a block's files apart (any order is valid;
        # qyn1's writer keeps them together). Decoded again on its own, by the chunk-by-chunk path.
        return container._decrypt_chunk(self.f, self.key, self.header_bytes, e, j, e.chunks[j][2])

    def _decode_next(self) -> dict[tuple[int, int], bytes]:
        batch: list[tuple] = []
        size = 0
        while self.next < len(self.order) and len(batch) < BATCH_CHUNKS:
            e, j = self.order[self.next]
            plain = e.chunks[j][2]
            if batch and size + plain > BATCH_SOURCE:
                break
            batch.append((e, j))
            size += plain
            self.next += 1
        try:
            return self._decode(batch)
        except Qyn1Error:
            for e, j in batch:
                container._decrypt_chunk(self.f, self.key, self.header_bytes, e, j, e.chunks[j][2])
            raise

    def _decode(self, batch: list[tuple]) -> dict[tuple[int, int], bytes]:
        items = [
            (container.decrypt_payload(self.f, self.key, self.header_bytes, e, j), e.chunks[j][2])
            for e, j in batch
        ]
        return dict(zip([(e.block, j) for e, j in batch], codec.decode_chunks(items), strict=True))


def _pieces(e, chunks: _Batches):
    """The bytes of file ``e`` piece by piece, its digest checked at the end (``container.file_pieces``, the
    chunks coming from ``chunks``)."""
    return container.file_pieces(e, lambda j, _need: chunks.get(e, j))


def _groups(blocks: list[list], n_groups: int) -> list[list[int]]:
    """Indices of ``blocks`` (lists of entries) in ``n_groups`` groups of similar total size (largest first,
    each to the lightest group): few, balanced tasks, so a worker opens the archive once per group."""
    groups: list[list[int]] = [[] for _ in range(max(1, n_groups))]
    load = [0] * len(groups)
    size = [sum(e.size for e in b) for b in blocks]
    for i in sorted(range(len(blocks)), key=lambda i: (-size[i], i)):
        g = min(range(len(groups)), key=lambda j: (load[j], j))
        groups[g].append(i)
        load[g] += max(size[i], 1)
    return [sorted(g) for g in groups if g]


# A package whose decode is estimated (:func:`decode_estimate_s`) under this many CPU-seconds is decoded faster
# in the command's own process than by a fork server and its workers, which cost more to start than loading the
# decoders here (docs/perf/qyn1.md, "Unpack, round 9": a 5.3 MB package, estimate 0.30 s, unpacked in 1.56 s on
# one process and 1.96 s on two; the stdlib package, estimate 2.1 s, verified in 3.42 s on one and 2.50 s on two)
SERIAL_DECODE_S = 1.0
# decode rate per core by codec (round 8, the stdlib package's chunks: cm 2.3 MB/s, structural 48 MB/s; liblzma
# ~60 MB/s); zstd, brotli, the rANS byte codecs and stored chunks at ~200 MB/s or more
_DECODE_BYTES_PER_S = {codec.CM: 2.3e6, codec.PYTHON: 48e6, codec.XZ: 60e6}
_OTHER_BYTES_PER_S = 200e6


def decode_estimate_s(blocks: list) -> float:
    """Estimated seconds one core takes to decode ``blocks`` (``container.Block``), from each chunk's codec
    and plaintext length."""
    return sum(
        plain / _DECODE_BYTES_PER_S.get(c, _OTHER_BYTES_PER_S)
        for b in blocks
        for (_, _, plain), c in zip(b.chunks, b.codecs, strict=True)
    )


def workers_for(archive: str | os.PathLike, key_source: keys.KeySource, workers: int) -> int:
    """The workers worth starting to decode ``archive``: ``workers``, or 1 when its estimated decode is under
    :data:`SERIAL_DECODE_S` (the CLI's default; a ``--workers`` the user gives is kept). Reads the table only."""
    if workers <= 1:
        return workers
    f, r = open_package(archive, key_source)
    with f:
        return 1 if decode_estimate_s(r.blocks) < SERIAL_DECODE_S else workers


def extract(
    archive: str | os.PathLike,
    folder: str | os.PathLike,
    key_source: keys.KeySource,
    *,
    workers: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    paths: list[str] | None = None,
    reserved: Mapping[str, str] | None = None,
) -> PackStats:
    """Decrypt, verify and write every file into ``folder``, a new folder the caller owns and renames into
    place only if this returns (a CLI's ``perfkit.job`` staging folder; :func:`unpack` for library
    callers). Every path is checked before anything is written (:func:`_targets`); a top-level name in
    ``reserved`` (name -> what the folder keeps there: the run report, perfkit's marker) is refused rather
    than overwritten. With a Dask ``scheduler`` the cluster's workers read ``archive`` and write the targets
    themselves (both on a filesystem they all mount), in at most ``8 * workers`` groups of blocks."""
    t0 = time.perf_counter()
    memory: dict[str, int] = {}
    f, r = open_package(archive, key_source)
    if isinstance(paths, str):  # one path, not its characters
        paths = [paths]
    with f:
        entries = r.entries if paths is None else [r.entry(p) for p in paths]
    targets = _targets(entries, os.path.realpath(folder), reserved or {})
    for parent in sorted({os.path.dirname(t) for t in targets}):
        os.makedirs(parent, exist_ok=True)
    # The files themselves are created by the tasks, in parallel: created here first (the placeholders
    # before 2026-12-07) they were a serial step of ~1,800 creates for the stdlib, 0.03-1.0 s on the shared
    # host, and every file was created twice (docs/perf/qyn1.md, "Unpack, round 8").
    by_block: dict[int, list] = {}
    for e, t in zip(entries, targets, strict=True):
        by_block.setdefault(e.block, []).append((e, t))
    blocks = list(by_block.values())
    executor = choose_executor(executor, workers, scheduler)
    n_groups = 1 if executor == "serial" else min(len(blocks), 8 * workers)
    tasks = [
        Task(
            key=f"group-{k}",
            payload=(str(archive), r.key, r.header_bytes, [item for i in g for item in blocks[i]]),
            cost=sum(max(e.size, 1) for i in g for e, _ in blocks[i]),
        )
        for k, g in enumerate(_groups([[e for e, _ in b] for b in blocks], n_groups))
    ]
    res = map_tasks(
        _decode_task,
        tasks,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        preload=DECODE_PRELOAD,
    )
    note_worker_memory(res, memory)
    _check_one_file_each(entries, targets)
    st = PackStats(
        files=len(entries),
        bytes_in=sum(e.size for e in entries),
        bytes_out=sum(e.stored_size for e in entries),
        blocks=len(blocks),
        worker_memory=memory,
        worker_cpu_s=sum(r.extra.get("cpu_s", 0.0) for r in res.values()),
    )
    st.wall_s = time.perf_counter() - t0
    return st


def _check_one_file_each(entries: list, targets: list[str]) -> None:
    """Refuse (``Qyn1Error``) an unpack where two of the package's paths became one file: on a case- or
    normalization-insensitive file system ``A.py`` and ``a.py`` are one file, which one task then wrote over
    the other's. Checked after the tasks wrote everything (one ``lstat`` a file, milliseconds) into the folder
    the caller discards on an error: all or nothing, as when every file was created before any task ran."""
    seen: dict[tuple[int, int], str] = {}
    for e, t in zip(entries, targets, strict=True):
        try:
            st = os.lstat(t)
        except OSError as err:
            raise Qyn1Error(f"{e.path!r} is missing after it was written: {words(err)}") from None
        if st.st_ino == 0:  # a file system without inode numbers: nothing to compare
            continue
        first = seen.setdefault((st.st_dev, st.st_ino), e.path)
        if first != e.path:
            raise Qyn1Error(
                f"the package holds {first!r} and {e.path!r}, which are one file on this file system "
                "(it ignores case or Unicode normalization); it cannot be unpacked here"
            )


def unpack(
    archive: str | os.PathLike, outdir: str | os.PathLike, key_source: keys.KeySource, **kw
) -> PackStats:
    """:func:`extract` into a new folder ``outdir`` (it must not exist), renamed into place only when every
    file authenticated and matched its digest; for library callers (the CLI goes through ``perfkit.job``)."""
    with atomic_path(outdir, kind="dir") as tmp:
        return extract(archive, tmp, key_source, **kw)


def verify(
    archive: str | os.PathLike | BinaryIO,
    key_source: keys.KeySource,
    *,
    workers: int = 1,
    executor: str = "processes",
) -> PackStats:
    """Authenticate and decode every chunk and check every digest, writing nothing.

    With ``workers`` > 1 (and ``archive`` a path) the blocks are checked in balanced groups on process or
    thread workers, as :func:`extract` decodes them (each task opens the archive itself). A failure is
    reported exactly as one pass in table order reports it: when a task fails, the package is checked again
    here, in one pass, and that pass's first error is raised (a failing package costs up to one more pass;
    the message never depends on the worker count or on which task failed first)."""
    t0 = time.perf_counter()
    f, r = open_package(archive, key_source)
    st = PackStats(blocks=len(r.blocks), chunks=sum(len(b.chunks) for b in r.blocks))
    with f:
        executor = choose_executor(executor, workers, None)
        if executor == "serial" or not isinstance(archive, (str, os.PathLike)):
            st.bytes_in = _verify_entries(f, r.key, r.header_bytes, r.entries)
        else:
            by_block: dict[int, list] = {}
            for e in r.entries:
                by_block.setdefault(e.block, []).append(e)
            blocks = list(by_block.values())
            tasks = [
                Task(
                    key=f"group-{k}",
                    payload=(str(archive), r.key, r.header_bytes, [e for i in g for e in blocks[i]]),
                    cost=sum(max(e.size, 1) for i in g for e in blocks[i]),
                )
                for k, g in enumerate(_groups(blocks, min(len(blocks), 8 * workers)))
            ]
            try:
                res = map_tasks(
                    _verify_task, tasks, executor=executor, workers=workers, preload=DECODE_PRELOAD
                )
            except Qyn1Error:
                _verify_entries(f, r.key, r.header_bytes, r.entries)  # raises the one pass's first error
                raise
            st.bytes_in = sum(x.value for x in res.values())
            st.worker_cpu_s = sum(x.extra.get("cpu_s", 0.0) for x in res.values())
        st.files = len(r.entries)
        st.bytes_out = sum(b.stored_size for b in r.blocks)
    st.wall_s = time.perf_counter() - t0
    return st


def _verify_task(payload) -> int:
    """Open the archive and check a group of whole blocks (:func:`_verify_entries`); what a worker does."""
    archive, key, header_bytes, entries = payload
    with open(archive, "rb") as f:
        return _verify_entries(f, key, header_bytes, entries)


def _verify_entries(f, key: bytes, header_bytes: bytes, entries: list) -> int:
    """Authenticate and decode the chunks ``entries`` need and check each file's digest, in their order;
    the plaintext bytes checked."""
    chunks = _Batches(f, key, header_bytes, entries)
    n = 0
    for e in entries:
        for data in _pieces(e, chunks):
            n += len(data)
    return n
