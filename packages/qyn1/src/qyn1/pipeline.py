"""Orchestration: collect sources -> plan blocks -> encode (workers) -> encrypt + write the container;
and back.

Files are planned into blocks (:func:`plan_blocks`): a large file is a block of its own; small files
are concatenated into solid groups (Python files in path order up to one chunk, other files by extension
then path up to ``GROUP_BYTES``, machine code up to ``MACHINE_CHUNK``) so that they share compression
context the way ``tar | zstd`` does, while reading one file still decodes only the chunk(s) that hold it.
Workers receive paths (never ASTs, never big pickles) and return encoded chunk payloads; the parent
encrypts and writes them in plan order, so the package is identical for any worker count (given the same
salt). Work is submitted in batches of at most ``BATCH_BYTES`` of source, which bounds the memory held by
results in flight; within a batch ``perfkit.parallel.map_tasks`` schedules heaviest first.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from perfkit.parallel import Task, map_tasks

from perfkit import atomic_path
from qyn1 import codec, container, keys
from qyn1.errors import Qyn1Error, UnsafePathError, words

BATCH_BYTES = 64 << 20
GROUP_BYTES = 1 << 20  # a solid group of small non-Python text files: one zstd/brotli/cm chunk
GENERAL_CHUNK = 4 << 20  # chunk size of non-Python blocks (the general coders' window)
# group and chunk size of machine code, one xz window (pandas' .so: 4.21 MB in 4 MiB windows, 4.08 in 8)
MACHINE_CHUNK = 8 << 20
STREAM_BYTES = 32 << 20  # files above this are streamed chunk by chunk in the parent (bounded memory)
WORKER_PRELOAD = ("qyn1.preload",)  # process workers fork from a server that loaded tables and kernels once
DECODE_PRELOAD = ("qyn1.preload_decode",)  # the same for unpack and verify: the decoders only


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


SKIPPED_KINDS = ("symlink", "fifo", "socket", "device", "empty folder")


def collect_sources(sources, exclude: tuple[str, ...] = ()) -> list[FileSpec]:
    """The files :func:`scan_sources` finds (what it skipped not wanted)."""
    return scan_sources(sources, exclude)[0]


def _skipped_kind(mode: int) -> str:
    """What a non-regular entry inside a source folder is, in the words of the pack summary."""
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def scan_sources(sources, exclude: tuple[str, ...] = ()) -> tuple[list[FileSpec], dict[str, int]]:
    """Regular files under each source, sorted by archive path, and how many entries of each of
    :data:`SKIPPED_KINDS` were left out (a package stores regular files only, so an unpack cannot bring
    them back; ``pack`` says so in its summary and run report). Excluded entries are not counted.
    An empty folder is one with no entries at all (a folder whose entries are all skipped or excluded is
    not recreated either; its entries are counted). Archive paths are relative to each source
    given (like ``tar -C DIR .``): a folder ``src`` contributes ``a.py``, ``pkg/b.py``, ...; a file its base
    name. ``exclude`` globs match any path component or the whole archive path.

    A source named on the command line may be a link to a file or folder (it is followed); inside folders
    links, named pipes, sockets and devices are skipped, never followed or read. Refused (``Qyn1Error``),
    so that everything packed can also be unpacked: a source that does not exist, is a dangling or looping
    link or a special file; a folder that cannot be listed; a name that is not UTF-8 or that a package
    cannot store portably (a backslash, ``c:``...); overlapping sources (:func:`overlapping`); two sources
    giving the same package path, or a file in one source where another has a folder of that name; and
    nothing at all to pack.
    """
    if isinstance(sources, (str, os.PathLike)):  # one source, not its characters ('s', 'r', 'c')
        sources = [sources]
    if isinstance(exclude, str):  # one pattern: its characters excluded nothing ('_', 'p', ...), silently
        exclude = (exclude,)
    specs: dict[str, FileSpec] = {}
    skipped = dict.fromkeys(SKIPPED_KINDS, 0)

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
            raise Qyn1Error(
                f"two sources give the same package path {arc!r} ({specs[arc].source!r} and {str(p)!r})"
            )
        specs[arc] = FileSpec(arc, str(p), st.st_size, stat.S_IMODE(st.st_mode))

    def unreadable(err: OSError) -> None:
        raise Qyn1Error(f"cannot list folder {err.filename!r}: {words(err)}")

    for src in sources:
        src = Path(src)
        if str(src) == "-":
            raise Qyn1Error("pack reads files and folders, not standard input ('-'); give a path")
        if not src.exists() and not src.is_symlink():
            raise Qyn1Error(f"no such file or folder: {str(src)!r}")
    overlap = overlapping(sources)
    if overlap:
        inner, outer = overlap
        if str(inner) == str(outer):
            how = f"{str(inner)!r} is given twice"
        elif os.path.realpath(inner) == os.path.realpath(outer):
            how = f"{str(inner)!r} and {str(outer)!r} are the same folder"
        else:
            how = f"{str(inner)!r} is inside {str(outer)!r}"
        raise Qyn1Error(f"sources overlap: {how} (files would be stored twice); give one of them")
    for src in sources:
        src = Path(src)
        try:
            st = src.stat()  # a source named on the command line: its link is followed
        except OSError as e:
            raise Qyn1Error(f"cannot pack {str(src)!r}: a link that leads nowhere ({words(e)})") from None
        if stat.S_ISDIR(st.st_mode):
            for dirpath, dirnames, filenames in os.walk(src, onerror=unreadable):
                dirnames.sort()
                rel = Path(dirpath).relative_to(src)
                if rel.parts and not dirnames and not filenames and not excluded("/".join(rel.parts)):
                    skipped["empty folder"] += 1
                # os.walk lists a link to a folder among the folders and does not enter it: a link
                for fn in sorted(
                    filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
                ):
                    path = Path(dirpath, fn)
                    arc = "/".join((*rel.parts, fn))
                    lst = path.lstat()
                    if stat.S_ISREG(lst.st_mode):
                        add(arc, path, lst)
                    elif not excluded(arc):  # links and special files inside folders: never followed or read
                        skipped[_skipped_kind(lst.st_mode)] += 1
        elif stat.S_ISREG(st.st_mode):
            name = src.resolve().name if src.name in ("", ".", "..") else src.name
            add(name, src, st)
        else:
            raise Qyn1Error(
                f"cannot pack {str(src)!r}: not a regular file or folder (a pipe, socket or device)"
            )
    if not specs:
        why = " (or every file is excluded)" if exclude else ""
        raise Qyn1Error(
            f"nothing to pack: no regular files in {', '.join(repr(str(s)) for s in sources)}{why}"
            f"{skipped_words(skipped)}; links, pipes and devices inside folders are skipped"
        )
    clash = file_folder_clash(specs)
    if clash:
        f, inside = clash
        raise Qyn1Error(
            f"cannot pack both the file {specs[f].source!r} and {specs[inside].source!r}: in the package "
            f"{f!r} would be a file and a folder (unpack could not recreate both)"
        )
    return [specs[k] for k in sorted(specs)], skipped


def overlapping(sources) -> tuple[Path, Path] | None:
    """``(inner, outer)`` when a source is a folder source or lies inside one (links on the way followed,
    as a source's own link is), else None: ``pack src src/qyn1`` would store each file of src/qyn1 twice,
    as ``qyn1/x.py`` and as ``x.py``; refused rather than stored twice (what tar does) or silently once."""
    real = [(Path(s), Path(os.path.realpath(s))) for s in sources]
    folders = [(s, r) for s, r in real if r.is_dir()]
    for s, r in real:
        for outer, folder in folders:
            if outer is not s and (r == folder or folder in r.parents):
                return s, outer
    return None


def skipped_words(skipped: dict[str, int]) -> str:
    """`` (skipped: 2 symlinks, 1 fifo)`` from :func:`scan_sources`' counts, or nothing when nothing was
    skipped: a package holds regular files only, so what was left out does not come back on unpack."""
    parts = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in skipped.items() if n]
    return f" (skipped: {', '.join(parts)})" if parts else ""


def file_folder_clash(paths) -> tuple[str, str] | None:
    """``(file, path inside it)`` when some archive path is also a folder of another path, else None."""
    folders: dict[str, str] = {}
    for p in paths:
        parts = p.split("/")
        for i in range(1, len(parts)):
            folders.setdefault("/".join(parts[:i]), p)
    for p in paths:
        if p in folders:
            return p, folders[p]
    return None


@dataclass(frozen=True)
class BlockSpec:
    """Files stored one after the other in one block; ``python`` and ``machine`` (machine code by name)
    pick the chunking (:func:`chunk_size_for`) and the codecs tried."""

    files: tuple[FileSpec, ...]
    python: bool
    machine: bool = False

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


_PY_SUFFIXES = (".py", ".pyi", ".pyw")
_MACHINE_CODE = re.compile(r"\.(so|pyd|dll|dylib|o|a|lib|node|exe)(\.[0-9]+)*$")


def chunk_size_for(python: bool, chunk_size: int, machine: bool = False) -> int:
    """Python text is cut at ``chunk_size`` (the structural models' unit); machine code at
    ``MACHINE_CHUNK`` (one xz window over related binaries); anything else at ``GENERAL_CHUNK`` or more,
    so zstd and brotli see long windows."""
    if python:
        return chunk_size
    return max(chunk_size, MACHINE_CHUNK if machine else GENERAL_CHUNK)


def is_machine_code(arcpath: str) -> bool:
    """Compiled code by name (``.so``, ``.so.1.2``, ``.pyd``, ``.dll``, ``.dylib``, ``.o``, ``.a``, ...)."""
    return _MACHINE_CODE.search(arcpath.rsplit("/", 1)[-1]) is not None


def plan_blocks(specs: list[FileSpec], chunk_size: int) -> list[BlockSpec]:
    """Blocks in the order they are written: Python files (by name) in path order, files smaller than a
    chunk grouped while the group stays within one chunk; then every other file ordered by extension and
    path (similar files side by side), grouped up to ``GROUP_BYTES``, or up to ``MACHINE_CHUNK`` for
    machine code (:func:`is_machine_code`: the shared objects of one package share much of their code and
    tables, and one xz window over all of them finds it: numba's 14 ``.so`` files, 4.2 MB, take 18 % less
    in one xz stream than one by one; pandas' 18.7 MB of ``.so`` 3 % less in 8 MiB windows than in 4 MiB
    ones; reading one file then decodes up to 8 MiB of xz, ~0.2 s). A larger
    file is a block alone (its codecs decided from its content). Deterministic: depends on names and sizes
    only."""

    def ext(s: FileSpec) -> str:
        name = s.arcpath.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[-1] if "." in name[1:] else ""

    py = [s for s in specs if s.arcpath.endswith(_PY_SUFFIXES)]
    rest = [s for s in specs if not s.arcpath.endswith(_PY_SUFFIXES)]
    text = sorted((s for s in rest if not is_machine_code(s.arcpath)), key=lambda s: (ext(s), s.arcpath))
    code = sorted((s for s in rest if is_machine_code(s.arcpath)), key=lambda s: (ext(s), s.arcpath))
    blocks: list[BlockSpec] = []
    for files, python, limit in (
        (py, True, chunk_size),
        (text, False, GROUP_BYTES),
        (code, False, MACHINE_CHUNK),
    ):
        machine = files is code
        group: list[FileSpec] = []
        size = 0
        for s in files:
            if s.size >= limit:
                blocks.append(BlockSpec((s,), python, machine))
                continue
            if group and size + s.size > limit:
                blocks.append(BlockSpec(tuple(group), python, machine))
                group, size = [], 0
            group.append(s)
            size += s.size
        if group:
            blocks.append(BlockSpec(tuple(group), python, machine))
    return blocks


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


def _encode_chunks(
    runs: list[bytes], chunk_size: int, python: bool, python_cm: bool = False
) -> tuple[list[tuple[bytes, int]], dict]:
    """Each run (a block's data, or its :func:`text_runs`) cut into chunks and encoded, in order."""
    chunks = []
    codecs: dict[str, int] = {}
    for data in runs:
        for piece in codec.split_chunks(data, chunk_size, at_lines=python) if data else ():  # empty: no chunk
            payload = codec.encode_chunk(piece, python=python, python_cm=python_cm)
            name = codec.codec_of(payload)
            codecs[name] = codecs.get(name, 0) + 1
            chunks.append((payload, len(piece)))
    return chunks, codecs


def text_runs(datas: list[bytes]) -> list[bytes]:
    """A Python block's files (their contents in block order) as runs to chunk apart: all of them in one run
    when they are UTF-8, else every file that is not UTF-8 a run of its own between the runs of its UTF-8
    neighbours. The structural codec takes UTF-8 text only, so one such file (the stdlib's latin-1 and KOI8-R
    test modules) used to take it away from a whole 128 KiB group: on the stdlib 3 chunks, 58.6 KB in cm,
    0.73 CPU-s to encode, against 55.9 KB (mostly structural) and 0.07 s in runs (docs/perf/qyn1.md). The
    container records each chunk's length, so a block's chunks need not follow ``split_chunks`` of the whole."""
    data = b"".join(datas)
    if _is_utf8(data):
        return [data]
    runs: list[bytes] = []
    run: list[bytes] = []
    for d in datas:
        if _is_utf8(d):
            run.append(d)
            continue
        if run:
            runs.append(b"".join(run))
            run = []
        runs.append(d)
    if run:
        runs.append(b"".join(run))
    return runs


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def encode_bytes(
    data: bytes, chunk_size: int, *, python: bool | None = None, arcpath: str = "", python_cm: bool = False
) -> EncodedFile:
    """Encode one file's bytes on their own, as a block of its own (no encryption): the chunking and
    codecs ``qyn1 pack`` uses for a file too large to share a block."""
    t0 = time.perf_counter()
    if python is None:
        python = is_python_candidate(arcpath, data)
    size = chunk_size_for(python, chunk_size, is_machine_code(arcpath))
    chunks, codecs = _encode_chunks([data], size, python, python_cm)
    return EncodedFile(len(data), 0o644, container.digest(data), chunks, codecs, time.perf_counter() - t0)


def is_python_candidate(arcpath: str, data: bytes) -> bool:
    """Python source by name, or any file starting with a python shebang; binary files never."""
    if b"\0" in data[:8192]:
        return False
    return arcpath.endswith(_PY_SUFFIXES) or (data.startswith(b"#!") and b"python" in data[:128])


@dataclass
class EncodedBlock:
    files: list[tuple[int, bytes]]  # (size, digest) per file, in block order
    chunks: list[tuple[bytes, int]]
    codecs: dict[str, int] = field(default_factory=dict)
    encode_s: float = 0.0


def _read(source: str) -> bytes:
    try:
        return Path(source).read_bytes()
    except OSError as e:
        raise Qyn1Error(f"cannot read {source!r}: {words(e)}") from None


def _encode_task(payload) -> EncodedBlock:
    sources, python, chunk_size, python_cm, machine = payload
    return encode_block([_read(src) for src in sources], python, chunk_size, python_cm, machine)


def encode_block(
    datas: list[bytes], python: bool, chunk_size: int, python_cm: bool = False, machine: bool = False
) -> EncodedBlock:
    """Encode the files of one block (their contents in block order, concatenated): what a worker does."""
    t0 = time.perf_counter()
    data = b"".join(datas)
    if len(datas) == 1 and not python:  # a file alone: a python shebang makes it Python after all
        python = is_python_candidate("", data)
    runs = text_runs(datas) if python else [data]
    chunks, codecs = _encode_chunks(runs, chunk_size_for(python, chunk_size, machine), python, python_cm)
    files = [(len(d), container.digest(d)) for d in datas]
    return EncodedBlock(files, chunks, codecs, time.perf_counter() - t0)


def note_worker_memory(results, into: dict[str, int] | None) -> None:
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
    scheduler: str | None = None,
    worker_memory: dict[str, int] | None = None,
    python_cm: bool = False,
) -> Iterator[tuple[BlockSpec, EncodedBlock | None]]:
    """Plan the blocks and encode each through ``perfkit.parallel.map_tasks``; yields ``(block, encoded)``
    in plan order, batch by batch (``encoded`` is None for a file above ``STREAM_BYTES``: the caller streams
    it). The result does not depend on ``workers``, ``executor`` or ``scheduler`` (a Dask scheduler's address:
    the blocks are encoded on that cluster, whose workers read the sources by path). Process workers fork from
    a server that preloaded :mod:`qyn1.preload`; their largest memory figures are kept in ``worker_memory``."""
    executor = choose_executor(executor, workers, scheduler)
    batch: list[BlockSpec] = []
    size = 0

    def run(batch):
        tasks = [
            Task(
                key=_block_key(b),
                payload=([f.source for f in b.files], b.python, chunk_size, python_cm, b.machine),
                cost=max(b.size, 1),
            )
            for b in batch
        ]
        res = map_tasks(
            _encode_task,
            tasks,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            preload=WORKER_PRELOAD,
        )
        note_worker_memory(res, worker_memory)
        for b in batch:
            yield b, res[_block_key(b)].value

    for b in plan_blocks(specs, chunk_size):
        if b.size > STREAM_BYTES and len(b.files) == 1:
            if batch:
                yield from run(batch)
                batch, size = [], 0
            yield b, None
            continue
        batch.append(b)
        size += b.size
        if size >= BATCH_BYTES:
            yield from run(batch)
            batch, size = [], 0
    if batch:
        yield from run(batch)


def _block_key(b: BlockSpec) -> str:
    """A block's task key, named after its first file (unique: a file is in one block), so that a run
    report's retried items (``metrics.retried_items``) say which files were encoded again."""
    return b.files[0].arcpath + (f" (+{len(b.files) - 1} files)" if len(b.files) > 1 else "")


def choose_executor(executor: str, workers: int, scheduler: str | None) -> str:
    """One worker runs in this process (``serial``), unless the work goes to a Dask cluster's scheduler."""
    return executor if scheduler is not None or workers > 1 else "serial"


@dataclass
class PackStats:
    files: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    chunks: int = 0
    blocks: int = 0
    codecs: dict[str, int] = field(default_factory=dict)
    encode_cpu_s: float = 0.0
    wall_s: float = 0.0
    # largest per-worker figures reported by process workers (perfkit: peak_rss/unique/pss_bytes)
    worker_memory: dict[str, int] = field(default_factory=dict)
    # CPU seconds the process workers spent in the tasks (unpack only; 0 for serial and thread runs): with
    # wall_s it tells a run slowed by other processes on the cores from one with more work
    worker_cpu_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.bytes_in / self.bytes_out if self.bytes_out else float("inf")

    def add_codecs(self, codecs: dict[str, int]) -> None:
        for k, v in codecs.items():
            self.codecs[k] = self.codecs.get(k, 0) + v


def warm_up(executor: str, workers: int, preload: tuple[str, ...] = WORKER_PRELOAD) -> None:
    """Load the model tables and the compiled kernels where the work will run, before it is timed.

    Process workers fork from a server that imports ``preload`` (:data:`WORKER_PRELOAD` to pack,
    :data:`DECODE_PRELOAD` to unpack or verify: tables built, kernels loaded from Numba's cache, or compiled
    on the first run after an install); one task through a one-worker pool waits until that server is ready.
    Serial and thread runs import ``preload`` in this process. A Dask cluster's workers load them on first use.
    """
    if executor == "processes" and workers > 1:
        map_tasks(
            _ready,
            [Task(key="warm-up", payload=None)],
            executor="processes",
            workers=1,
            preload=preload,
        )
    elif executor in ("serial", "threads") or workers <= 1:
        import importlib

        for module in preload:
            importlib.import_module(module)  # importing it does the work


def _ready(_payload) -> bool:
    return True


# called per file as it is written: (spec, size, digest, stored bytes (its share of the block), encode s)
OnFile = Callable[[FileSpec, int, bytes, int, float], None]


def write_package(
    specs: list[FileSpec],
    path: str | os.PathLike | BinaryIO,
    key_source: keys.KeySource,
    *,
    chunk_size: int,
    workers: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    salt: bytes | None = None,
    on_file: OnFile | None = None,
    python_cm: bool = False,
) -> PackStats:
    """Write a package to ``path`` (or an open binary file: ``pack -o -`` gives stdout) as it goes; the
    caller makes a path atomic (a CLI writes to its ``perfkit.job`` staging file, :func:`pack` to a
    temporary it renames). ``scheduler``: encode on that Dask cluster (see :func:`encode_project`); the
    package is written here either way. ``salt`` is for reproducible tests only."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        # 0 or below cut no chunk at all: split_chunks looped for ever, filling memory with empty chunks
        raise Qyn1Error(f"chunk_size must be a whole number of bytes, at least 1 (not {chunk_size!r})")
    keys.check_key_source(key_source)
    bad = next((s for s in specs if not isinstance(s, FileSpec)), None)
    if bad is not None:  # pack(["src"], ...): the paths, not what collect_sources found in them
        raise TypeError(
            f"specs must be the FileSpec list of collect_sources(paths), not a list holding {type(bad).__name__} {bad!r}"
        )
    run = functools.partial(
        _write_to,
        specs=specs,
        key_source=key_source,
        chunk_size=chunk_size,
        salt=salt,
        on_file=on_file,
        python_cm=python_cm,
        parallel={"workers": workers, "executor": executor, "scheduler": scheduler},
    )
    if not isinstance(path, (str, os.PathLike)):
        return run(path)
    with open(path, "wb") as f:
        return run(f)


def _write_to(f, *, specs, key_source, chunk_size, salt, on_file, python_cm, parallel) -> PackStats:
    t0 = time.perf_counter()
    st = PackStats()
    w = container.Writer(f, key_source, chunk_size, salt=salt)
    blocks = encode_project(
        specs, chunk_size=chunk_size, worker_memory=st.worker_memory, python_cm=python_cm, **parallel
    )
    for b, eb in blocks:
        if eb is None:  # a large file: streamed chunk by chunk, never whole in memory
            eb = _stream_file(w, b.files[0], chunk_size, python_cm)
            entries = w.entries[-1:]
        else:
            files = [
                (spec.arcpath, spec.mode, size, dig)
                for spec, (size, dig) in zip(b.files, eb.files, strict=True)
            ]
            entries = w.add_block(files, eb.chunks)
        st.blocks += 1
        st.chunks += len(entries[0].chunks)
        st.encode_cpu_s += eb.encode_s
        st.add_codecs(eb.codecs)
        total = max(sum(e.size for e in entries), 1)
        for spec, e in zip(b.files, entries, strict=True):
            st.files += 1
            st.bytes_in += e.size
            if on_file is not None:
                on_file(spec, e.size, e.digest, e.stored_size, eb.encode_s * max(e.size, 1) / total)
    w.close()
    st.bytes_out = w.offset
    st.wall_s = time.perf_counter() - t0
    return st


def pack(specs: list[FileSpec], out: str | os.PathLike, key_source: keys.KeySource, **kw) -> PackStats:
    """:func:`write_package` to ``out`` atomically (a private temporary renamed into place on success),
    for library callers; the CLI goes through ``perfkit.job`` instead. ``out`` may not be one of the files
    packed (it would replace that input with the package)."""
    _check_output(specs, out)
    with atomic_path(out) as tmp:
        return write_package(specs, tmp, key_source, **kw)


def _check_output(specs: list[FileSpec], out: str | os.PathLike) -> None:
    """Refuse (``Qyn1Error``) an output that is a folder or one of the files to pack, by identity (links
    and other spellings of the same path included): one ``stat`` a file, nothing when ``out`` is new."""
    try:
        st = os.stat(out)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise Qyn1Error(f"output {os.fspath(out)!r} is a folder; give a file name")
    for spec in specs:
        try:
            src = os.stat(spec.source)
        except OSError:
            continue  # refused when it is read
        if (src.st_dev, src.st_ino) == (st.st_dev, st.st_ino):
            raise Qyn1Error(
                f"output {os.fspath(out)!r} is the source file {spec.source!r}: the package would replace it"
            )


def _stream_file(w: container.Writer, spec: FileSpec, chunk_size: int, python_cm: bool) -> EncodedBlock:
    t0 = time.perf_counter()
    try:
        with open(spec.source, "rb") as f:
            python = is_python_candidate(spec.arcpath, f.read(8192))
    except OSError as exc:
        raise Qyn1Error(f"cannot read {spec.source!r}: {words(exc)}") from None
    codecs: dict[str, int] = {}

    def enc(piece: bytes) -> bytes:
        payload = codec.encode_chunk(piece, python=python, python_cm=python_cm)
        name = codec.codec_of(payload)
        codecs[name] = codecs.get(name, 0) + 1
        return payload

    size = chunk_size_for(python, chunk_size, is_machine_code(spec.arcpath))
    try:
        e = w.add_file_stream(spec.arcpath, spec.mode, read_pieces(spec.source, size, python), enc)
    except OSError as exc:
        raise Qyn1Error(f"cannot read {spec.source!r}: {words(exc)}") from None
    # the chunk payloads were written already; report sizes only
    return EncodedBlock([(e.size, e.digest)], [], codecs, time.perf_counter() - t0)
