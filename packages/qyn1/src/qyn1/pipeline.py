"""Orchestration: collect sources -> encode (workers) -> encrypt + write the container; and back.

Workers receive paths (never ASTs, never big pickles) and return encoded chunk payloads; the parent
encrypts and writes them in sorted path order, so the package is identical for any worker count (given
the same salt). Work is submitted in batches of at most ``BATCH_BYTES`` of source, which bounds the
memory held by results in flight; within a batch ``perfkit.parallel.map_tasks`` schedules heaviest first.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from perfkit.parallel import Task, map_tasks

from perfkit import atomic_path
from qyn1 import codec, container, keys
from qyn1.errors import Qyn1Error, UnsafePathError

BATCH_BYTES = 64 << 20
STREAM_BYTES = 32 << 20  # files above this are streamed chunk by chunk in the parent (bounded memory)
WORKER_PRELOAD = ("qyn1.preload",)  # process workers fork from a server that loaded tables and kernels once


@dataclass(frozen=True)
class FileSpec:
    arcpath: str
    source: str
    size: int
    mode: int


@dataclass
class EncodedFile:
    size: int
    mode: int
    digest: bytes
    chunks: list[tuple[bytes, int]]
    codecs: dict[str, int] = field(default_factory=dict)
    encode_s: float = 0.0


def collect_sources(sources, exclude: tuple[str, ...] = ()) -> list[FileSpec]:
    """Regular files under each source (a directory contributes paths that start with its own name, a
    file its base name), sorted by archive path; ``exclude`` globs match any path component or the whole
    archive path.

    A source named on the command line may be a link to a file or folder (it is followed); inside folders
    links, named pipes, sockets and devices are skipped, never followed or read. Refused (``Qyn1Error``):
    a source that does not exist, is a dangling or looping link or a special file; a folder that cannot be
    listed; a name that is not UTF-8 or that a package cannot store portably (a backslash, ``c:``...); two
    sources giving the same package path; and nothing at all to pack.
    """
    specs: dict[str, FileSpec] = {}

    def excluded(arc: str) -> bool:
        return any(
            fnmatch.fnmatch(arc, g) or any(fnmatch.fnmatch(p, g) for p in arc.split("/")) for g in exclude
        )

    def add(arc: str, p: Path, st: os.stat_result) -> None:
        try:
            arc.encode("utf-8")
        except UnicodeEncodeError:
            raise Qyn1Error(f"cannot pack {os.fsdecode(p)!r}: its name is not valid UTF-8") from None
        if excluded(arc):
            return
        try:
            container.check_path(arc)
        except UnsafePathError:
            raise Qyn1Error(
                f"cannot pack {str(p)!r}: a package cannot store the name {arc!r} portably "
                "(backslashes, drive letters like 'c:', NUL or over-long paths)"
            ) from None
        if arc in specs:
            raise Qyn1Error(f"two sources map to the same package path {arc!r}")
        specs[arc] = FileSpec(arc, str(p), st.st_size, stat.S_IMODE(st.st_mode))

    def unreadable(err: OSError) -> None:
        raise Qyn1Error(f"cannot list folder {err.filename!r}: {err.strerror}")

    for src in sources:
        src = Path(src)
        if not src.exists() and not src.is_symlink():
            raise Qyn1Error(f"no such file or directory: {str(src)!r}")
        try:
            st = src.stat()  # a source named on the command line: its link is followed
        except OSError as e:
            raise Qyn1Error(f"cannot pack {str(src)!r}: a link that leads nowhere ({e.strerror})") from None
        name = src.resolve().name if src.name in ("", ".", "..") else src.name
        if not name:
            raise Qyn1Error(f"cannot pack {str(src)!r}: give a folder below the root")
        if stat.S_ISDIR(st.st_mode):
            for dirpath, dirnames, filenames in os.walk(src, onerror=unreadable):
                dirnames.sort()
                rel = Path(dirpath).relative_to(src)
                for fn in sorted(filenames):
                    path = Path(dirpath, fn)
                    lst = path.lstat()
                    if stat.S_ISREG(lst.st_mode):  # links and special files inside folders: skipped
                        add("/".join((name, *rel.parts, fn)), path, lst)
        elif stat.S_ISREG(st.st_mode):
            add(name, src, st)
        else:
            raise Qyn1Error(
                f"cannot pack {str(src)!r}: not a regular file or folder (a pipe, socket or device)"
            )
    if not specs:
        why = " (or every file is excluded)" if exclude else ""
        raise Qyn1Error(
            f"nothing to pack: no regular files in {', '.join(repr(str(s)) for s in sources)}{why}; "
            "links, pipes and devices inside folders are skipped"
        )
    return [specs[k] for k in sorted(specs)]


def read_pieces(path: str, chunk_size: int, at_lines: bool) -> Iterator[bytes]:
    """Stream a file as the same chunks :func:`qyn1.codec.split_chunks` would cut, holding at most
    ``2 * chunk_size`` bytes at a time."""
    with open(path, "rb") as f:
        buf = b""
        eof = False
        while True:
            while not eof and len(buf) < 2 * chunk_size:
                more = f.read(chunk_size)
                if not more:
                    eof = True
                buf += more
            if not buf:
                return
            if eof and len(buf) <= chunk_size:
                yield buf
                return
            head = codec.split_chunks(buf[: chunk_size + 1], chunk_size, at_lines=at_lines)[0]
            yield head
            buf = buf[len(head) :]


def encode_bytes(
    data: bytes, chunk_size: int, *, python: bool | None = None, arcpath: str = ""
) -> EncodedFile:
    """Encode one file's bytes into chunk payloads (no encryption)."""
    t0 = time.perf_counter()
    if python is None:
        python = is_python_candidate(arcpath, data)
    chunks = []
    codecs: dict[str, int] = {}
    for piece in codec.split_chunks(data, chunk_size, at_lines=python):
        payload = codec.encode_chunk(piece, python=python)
        name = codec.codec_of(payload)
        codecs[name] = codecs.get(name, 0) + 1
        chunks.append((payload, len(piece)))
    return EncodedFile(len(data), 0o644, container.digest(data), chunks, codecs, time.perf_counter() - t0)


_TEXT_SUFFIXES = (".py", ".pyi", ".pyw")


def is_python_candidate(arcpath: str, data: bytes) -> bool:
    """Python source by name, or any file starting with a python shebang; binary files never."""
    if b"\0" in data[:8192]:
        return False
    return arcpath.endswith(_TEXT_SUFFIXES) or (data.startswith(b"#!") and b"python" in data[:128])


def _encode_task(payload) -> EncodedFile:
    source, arcpath, chunk_size, mode = payload
    try:
        data = Path(source).read_bytes()
    except OSError as e:
        raise Qyn1Error(f"cannot read {source!r}: {e.strerror}") from None
    ef = encode_bytes(data, chunk_size, arcpath=arcpath)
    ef.mode = mode
    return ef


def _note_worker_memory(results, into: dict[str, int] | None) -> None:
    """Keep the largest of each memory figure the workers reported (``peak_rss_bytes``,
    ``peak_unique_bytes``, ``peak_pss_bytes``; serial and thread runs report none)."""
    if into is None:
        return
    for r in results.values():
        for k, v in r.extra.items():
            into[k] = max(into.get(k, 0), int(v))


def encode_project(
    specs: list[FileSpec],
    *,
    chunk_size: int,
    workers: int = 1,
    executor: str = "processes",
    on_file: Callable[[FileSpec, EncodedFile], None] | None = None,
    worker_memory: dict[str, int] | None = None,
) -> Iterator[tuple[FileSpec, EncodedFile]]:
    """Encode every file through ``perfkit.parallel.map_tasks``; yields ``(spec, encoded)`` in ``specs``
    order, batch by batch. The result does not depend on ``workers`` or ``executor``. Process workers
    fork from a server that preloaded :mod:`qyn1.preload`; their largest memory figures are kept in
    ``worker_memory`` (see :func:`_note_worker_memory`)."""
    if workers <= 1:
        executor = "serial"
    batch: list[FileSpec] = []
    size = 0

    def run(batch):
        tasks = [
            Task(key=s.arcpath, payload=(s.source, s.arcpath, chunk_size, s.mode), cost=max(s.size, 1))
            for s in batch
        ]
        res = map_tasks(_encode_task, tasks, executor=executor, workers=workers, preload=WORKER_PRELOAD)
        _note_worker_memory(res, worker_memory)
        for s in batch:
            ef = res[s.arcpath].value
            if on_file is not None:
                on_file(s, ef)
            yield s, ef

    for s in specs:
        if s.size > STREAM_BYTES:
            if batch:
                yield from run(batch)
                batch, size = [], 0
            yield s, None  # the caller streams it
            continue
        batch.append(s)
        size += s.size
        if size >= BATCH_BYTES:
            yield from run(batch)
            batch, size = [], 0
    if batch:
        yield from run(batch)


@dataclass
class PackStats:
    files: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    chunks: int = 0
    codecs: dict[str, int] = field(default_factory=dict)
    encode_cpu_s: float = 0.0
    wall_s: float = 0.0
    # largest per-worker figures reported by process workers (perfkit: peak_rss/unique/pss_bytes)
    worker_memory: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.bytes_in / self.bytes_out if self.bytes_out else float("inf")


def warm_up(executor: str, workers: int) -> None:
    """Load the model tables and the compiled kernels where the work will run, before it is timed.

    Process workers fork from a server that imports :mod:`qyn1.preload` (tables built, kernels loaded
    from Numba's cache, or compiled on the first run after an install); one task through a one-worker
    pool waits until that server is ready. Serial and thread runs load them in this process. A Dask
    cluster's workers load them on first use.
    """
    if executor == "processes" and workers > 1:
        map_tasks(
            _ready,
            [Task(key="warm-up", payload=None)],
            executor="processes",
            workers=1,
            preload=WORKER_PRELOAD,
        )
    elif executor in ("serial", "threads") or workers <= 1:
        import qyn1.preload  # noqa: F401 -- importing it does the work


def _ready(_payload) -> bool:
    return True


def write_package(
    specs: list[FileSpec],
    path: str | os.PathLike,
    key_source: keys.KeySource,
    *,
    chunk_size: int,
    workers: int = 1,
    executor: str = "processes",
    salt: bytes | None = None,
    on_file: Callable[[FileSpec, EncodedFile], None] | None = None,
) -> PackStats:
    """Write a package to ``path`` as it goes (the caller makes that atomic: a CLI writes to its
    ``perfkit.job`` staging file, :func:`pack` to a temporary it renames). ``salt`` is for reproducible
    tests only."""
    t0 = time.perf_counter()
    st = PackStats()
    with open(path, "wb") as f:
        w = container.Writer(f, key_source, chunk_size, salt=salt)
        for spec, ef in encode_project(
            specs,
            chunk_size=chunk_size,
            workers=workers,
            executor=executor,
            on_file=on_file,
            worker_memory=st.worker_memory,
        ):
            if ef is None:  # a large file: streamed chunk by chunk, never whole in memory
                ef = _stream_file(w, spec, chunk_size)
                if on_file is not None:
                    on_file(spec, ef)
            else:
                w.add_file(spec.arcpath, ef.mode, ef.size, ef.digest, ef.chunks)
            st.files += 1
            st.bytes_in += ef.size
            st.chunks += len(ef.chunks)
            st.encode_cpu_s += ef.encode_s
            for k, v in ef.codecs.items():
                st.codecs[k] = st.codecs.get(k, 0) + v
        w.close()
        st.bytes_out = w.offset
    st.wall_s = time.perf_counter() - t0
    return st


def pack(specs: list[FileSpec], out: str | os.PathLike, key_source: keys.KeySource, **kw) -> PackStats:
    """:func:`write_package` to ``out`` atomically (a private temporary renamed into place on success),
    for library callers; the CLI goes through ``perfkit.job`` instead."""
    with atomic_path(out) as tmp:
        return write_package(specs, tmp, key_source, **kw)


def _stream_file(w: container.Writer, spec: FileSpec, chunk_size: int) -> EncodedFile:
    t0 = time.perf_counter()
    with open(spec.source, "rb") as f:
        python = is_python_candidate(spec.arcpath, f.read(8192))
    codecs: dict[str, int] = {}
    stored = []

    def enc(piece: bytes) -> bytes:
        payload = codec.encode_chunk(piece, python=python)
        name = codec.codec_of(payload)
        codecs[name] = codecs.get(name, 0) + 1
        stored.append(len(payload))
        return payload

    try:
        e = w.add_file_stream(spec.arcpath, spec.mode, read_pieces(spec.source, chunk_size, python), enc)
    except OSError as exc:
        raise Qyn1Error(f"cannot read {spec.source!r}: {exc.strerror}") from None
    # the chunk payloads were written already; report sizes only
    return EncodedFile(
        e.size, spec.mode, e.digest, [(b"", n) for n in stored], codecs, time.perf_counter() - t0
    )


def open_package(path: str | os.PathLike, key_source: keys.KeySource):
    """(file object, container.Reader); the caller closes the file."""
    try:
        f = open(path, "rb")  # noqa: SIM115 -- returned to the caller
    except OSError as e:
        raise Qyn1Error(f"cannot open {str(path)!r}: {e.strerror}") from None
    try:
        return f, container.Reader(f, key_source)
    except BaseException:
        f.close()
        raise


def _safe_target(outdir_real: str, path: str) -> str:
    container.check_path(path)
    target = os.path.join(outdir_real, *path.split("/"))
    parent = os.path.dirname(target)
    # every existing component must resolve inside the output directory (no escaping symlinks)
    real_parent = os.path.realpath(parent)
    if os.path.commonpath([real_parent, outdir_real]) != outdir_real:
        raise UnsafePathError(f"{path}: a link in the output directory would take it outside")
    if os.path.islink(target) and os.path.isdir(target):
        raise UnsafePathError(f"{path}: the target is a link to a directory")
    return target


def _decode_task(payload):
    """Decode a group of files from one open archive straight to their targets (mode set before closing).
    The targets are in a folder this run created (the ``perfkit.job`` staging folder), never in place."""
    archive, key, header_bytes, items = payload
    n = 0
    with open(archive, "rb") as f:
        for entry, target in items:
            with open(target, "xb") as out:
                for data in container.decrypt_entry_chunks(f, key, header_bytes, entry):
                    out.write(data)
                    n += len(data)
                os.fchmod(out.fileno(), entry.mode & 0o777)
    return n


def _groups(entries: list, n_groups: int) -> list[list[int]]:
    """Indices of ``entries`` in ``n_groups`` groups of similar total size (largest first, each to the
    lightest group): fewer, balanced tasks so a worker opens the archive once per group, not per file."""
    groups: list[list[int]] = [[] for _ in range(max(1, n_groups))]
    load = [0] * len(groups)
    for i in sorted(range(len(entries)), key=lambda i: (-entries[i].size, entries[i].path)):
        g = min(range(len(groups)), key=lambda j: (load[j], j))
        groups[g].append(i)
        load[g] += max(entries[i].size, 1)
    return [g for g in groups if g]


def extract(
    archive: str | os.PathLike,
    folder: str | os.PathLike,
    key_source: keys.KeySource,
    *,
    workers: int = 1,
    executor: str = "processes",
    paths: list[str] | None = None,
    reserved: Mapping[str, str] | None = None,
) -> PackStats:
    """Decrypt, verify and write every file into ``folder``, a new folder the caller owns and renames into
    place only if this returns (a CLI's ``perfkit.job`` staging folder; :func:`unpack` for library
    callers). Every path is checked before anything is written; a top-level name in ``reserved`` (name ->
    what the folder keeps there: the run report, perfkit's marker) is refused rather than overwritten."""
    reserved = reserved or {}
    t0 = time.perf_counter()
    memory: dict[str, int] = {}
    f, r = open_package(archive, key_source)
    with f:
        entries = r.entries if paths is None else [r.entry(p) for p in paths]
    folder_real = os.path.realpath(folder)
    targets = [_safe_target(folder_real, e.path) for e in entries]  # all checked before anything is written
    for e in entries:
        top = e.path.split("/", 1)[0]
        if top in reserved:
            raise Qyn1Error(
                f"the package holds {top!r} at its top level, where the output folder keeps {reserved[top]}"
            )
    made: set[str] = set()
    for e, target in zip(entries, targets, strict=True):
        parent = os.path.dirname(target)
        if parent not in made:
            try:
                os.makedirs(parent, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise Qyn1Error(f"{e.path}: a part of its folder is a file in the package") from None
            made.add(parent)
    n_groups = 1 if workers <= 1 else min(len(entries), 8 * workers)
    tasks = [
        Task(
            key=f"group-{k}",
            payload=(str(archive), r.key, r.header_bytes, [(entries[i], targets[i]) for i in g]),
            cost=sum(max(entries[i].size, 1) for i in g),
        )
        for k, g in enumerate(_groups(entries, n_groups))
    ]
    res = map_tasks(
        _decode_task,
        tasks,
        executor="serial" if workers <= 1 else executor,
        workers=workers,
        preload=WORKER_PRELOAD,
    )
    _note_worker_memory(res, memory)
    st = PackStats(
        files=len(entries),
        bytes_in=sum(e.size for e in entries),
        bytes_out=sum(e.stored_size for e in entries),
        worker_memory=memory,
    )
    st.wall_s = time.perf_counter() - t0
    return st


def unpack(
    archive: str | os.PathLike, outdir: str | os.PathLike, key_source: keys.KeySource, **kw
) -> PackStats:
    """:func:`extract` into a new folder ``outdir`` (it must not exist), renamed into place only when every
    file authenticated and matched its digest; for library callers (the CLI goes through ``perfkit.job``)."""
    with atomic_path(outdir, kind="dir") as tmp:
        return extract(archive, tmp, key_source, **kw)


def verify(archive: str | os.PathLike, key_source: keys.KeySource) -> PackStats:
    """Authenticate and decode every chunk and check every digest, writing nothing."""
    t0 = time.perf_counter()
    f, r = open_package(archive, key_source)
    st = PackStats()
    with f:
        for e in r.entries:
            for data in r.iter_chunks(e):
                st.bytes_in += len(data)
            st.files += 1
            st.chunks += len(e.chunks)
            st.bytes_out += e.stored_size
    st.wall_s = time.perf_counter() - t0
    return st
