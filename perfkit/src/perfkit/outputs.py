"""What one command writes: claimed and checked before any work, staged privately, committed at the end.

The contract (``docs/perfkit.md``, "Output safety"):

* an output is never an input, inside an input folder, or a folder holding an input (real paths,
  symlinks resolved, same-file checks) -- refused before any work, naming both paths;
* an existing output is replaced only with ``force``, and a folder only when it holds nothing but
  what an earlier perfkit run wrote there (its ``.perfkit-output`` marker lists every path);
* every output is built in a private temporary beside its target and renamed into place only when
  the command succeeds (folders are swapped with ``renameat2(RENAME_EXCHANGE)`` where the kernel has
  it, so the old output stays whole until the new one is complete);
* on failure or interrupt every temporary, and every parent folder the claim created, is removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from perfkit._atomic import (
    TEMP_PREFIX,
    default_mode,
    flush,
    make_temp,
    publish,
    remove_path,
    stale_temporaries,
    sweep_stale,
    sync_folder,
    temp_path,
)
from perfkit.errors import InputError
from perfkit.resume import JOURNAL, differing_options, recorded_options

#: Errors of a write that found no room: the file system full, a quota, a file-size limit.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

MARKER = ".perfkit-output"
REPORT_FILES = ("run_report.json", "events.jsonl")


def _real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _inside(inner: Path, outer: Path) -> bool:
    return inner != outer and outer in inner.parents


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _marker_paths(folder: Path) -> tuple[set[str], bool] | None:
    """What an earlier perfkit run recorded writing into ``folder``, or None if it has no marker.

    Returns ``(paths, complete)``: every file, folder and link under it (relative, ``/``-joined), or, from a
    marker written before perfkit recorded whole trees, only its top-level entries (``complete`` False).
    """
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        if "paths" in data:
            return set(data["paths"]), True
        return set(data["entries"]), False
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _tree_paths(folder: Path) -> set[str]:
    """Every file, folder and link under ``folder`` (relative, ``/``-joined), the marker excluded. Links are
    listed, never followed: what a link points to is not the folder's to replace."""
    paths = set()
    for root, dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        paths.update(name if rel == "." else f"{rel}/{name}" for name in (*dirs, *files))
    paths.discard(MARKER)
    return paths


def is_perfkit_report(path: Path) -> bool:
    """True if ``path`` is a run report or event log perfkit wrote (so a new run may replace it)."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    if path.name == "run_report.json":
        return '"schema_version"' in head and '"pipeline"' in head
    first = head.split("\n", 1)[0]
    try:
        return not first or "event" in json.loads(first)
    except (ValueError, TypeError):
        return False


def _target_mode(path: Path) -> int | None:
    """The mode of what ``path`` links to (None for a dangling link)."""
    try:
        return os.stat(path).st_mode
    except OSError:
        return None


# A link to an open file descriptor: /dev/stdout, /dev/fd/1, /proc/self/fd/1, /proc/<pid>/task/<tid>/fd/1.
_DESCRIPTOR_LINK = re.compile(
    r"/(proc/(self|thread-self|\d+)(/task/\d+)?/fd|dev/fd)/\d+|/dev/std(in|out|err)"
)


def _descriptor_link(path: Path) -> str | None:
    """The file-descriptor link ``path`` is or links through, if any (followed hop by hop, each hop's folder
    resolved). Such a link's target is whatever the descriptor is at that moment: a terminal, a pipe, or --
    with ``> file`` -- a regular file, so the device check alone passes and replacing the output would
    replace the link itself (as root: the system's ``/dev/stdout``)."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on a chain of links
        current = os.path.join(os.path.realpath(os.path.dirname(current)), os.path.basename(current))
        if _DESCRIPTOR_LINK.fullmatch(current):
            return current
        if not os.path.islink(current):
            return None
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    return None


def _check_name_length(path: Path, what: str) -> None:
    """Refuse a name the file system cannot hold (checked on the nearest existing ancestor folder)."""
    folder = path.parent
    while not os.path.isdir(folder) and folder != folder.parent:
        folder = folder.parent
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except OSError:
        name_max = 255
    for part in path.parts[1:]:
        if len(os.fsencode(part)) > name_max:
            raise InputError(f"cannot write {what} {path}: a name is longer than {name_max} bytes")


@dataclass(frozen=True)
class Output:
    """One claimed target: its final path, what kind it is (``file``/``dir``), its private staging path."""

    target: Path
    kind: str
    staged: Path


def _not_standard_stream(path, what: str) -> None:
    """``-o -`` means standard output to a Unix user; a command that writes a file or folder there would
    make one named ``-`` instead. Commands that can stream (``qyn1 pack -o -``) handle ``-`` themselves
    and never claim it; ``./-`` still names such a file on purpose."""
    if os.fspath(path) == "-":
        raise InputError(
            f"{what} '-': this command cannot write to standard output; name a file (./- for a file named '-')"
        )


def output_holding(path: Path) -> Path | None:
    """The folder output of an earlier run that ``path`` is, or lies inside (the nearest folder at or above
    it holding a marker), or None. Whatever is written there joins that output's dataset (a reader of
    `tiles/` then fails on a stray `.json`) and blocks its next ``--force``, whose marker does not list it."""
    return next((folder for folder in (path, *path.parents) if (folder / MARKER).is_file()), None)


def _not_inside_an_earlier_output(path: Path, real: Path, what: str) -> None:
    """Refuse a path inside another run's folder output (see :func:`output_holding`)."""
    folder = output_holding(real.parent)
    if folder is not None:
        raise InputError(
            f"{what} {path} is inside {folder}, the output of an earlier run; choose a path outside it"
        )


def _drop_temporaries(folder: Path) -> None:
    """Remove perfkit temporaries anywhere under a finished staging folder.

    Every task has finished when a folder is committed, so a ``.pk-*`` temporary still there was
    left by a worker that died mid-write (its task was retried and wrote the file again).
    """
    for root, dirs, files in os.walk(folder):
        for name in [*files, *dirs]:
            if name.startswith(TEMP_PREFIX):
                remove_path(Path(root) / name)
        dirs[:] = [d for d in dirs if not d.startswith(TEMP_PREFIX)]


class Outputs:
    """The outputs of one command, checked against its inputs and against each other when claimed.

    Claim every output (and ``--profile``, ``--report-dir``) before any work: each claim checks, sweeps
    stale temporaries of the same target, and creates the private staging path (which also proves the
    folder is writable). Write into :meth:`staged` paths, then :meth:`commit`; on failure :meth:`discard`.
    """

    def __init__(self, inputs=(), *, force: bool = False, owner: str = "perfkit"):
        self.force = force
        self.owner = owner
        self.inputs = [(Path(p), _real(Path(p))) for p in inputs if p is not None]
        self._outputs: list[Output] = []
        self._created_dirs: list[Path] = []
        self._report: tuple[Path, Path] | None = None  # (report folder, staging folder)
        self._resume_options: dict | None = None
        self.resumed_from: Path | None = None  # the killed run's staging folder a --resume adopted
        self.committed = False
        self._first_target: Path | None = None  # kept after a discard, to name it in a no-room error

    # -- claiming ------------------------------------------------------------------------------
    def _check_against_inputs(self, path: Path, real: Path, what: str) -> None:
        for given, inp in self.inputs:
            if real == inp or _same_file(real, inp):
                raise InputError(f"{what} {path} is the input {given}; choose another path")
            if _inside(real, inp):
                folder = "input folder" if inp.is_dir() else "input"
                raise InputError(f"{what} {path} is inside the {folder} {given}; choose another path")
            if _inside(inp, real):
                raise InputError(f"{what} {path} would contain the input {given}; choose another path")

    def _check_against_outputs(self, path: Path, real: Path, what: str) -> None:
        for other in self._outputs:
            r = _real(other.target)
            if r == real or _inside(real, r) or _inside(r, real):
                raise InputError(f"{what} {path} overlaps the output {other.target}; choose another path")

    def _make_parent(self, path: Path, what: str) -> None:
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except OSError as exc:
                raise InputError(f"cannot create the folder of {what} {path}: {exc.strerror}") from None
            self._created_dirs.append(folder)
        if not path.parent.is_dir():
            raise InputError(f"cannot write {what} {path}: {path.parent} is not a folder")

    def _stage(self, path: Path, kind: str, what: str) -> Path:
        adopted = self._adopt(path) if self._resume_options is not None else None
        sweep_stale(path)
        if adopted is not None:
            return adopted
        try:
            return make_temp(path, kind)
        except OSError as exc:
            raise InputError(f"cannot write {what} {path}: {exc.strerror}") from None

    def _claim(self, path, kind: str, what: str) -> Path:
        _not_standard_stream(path, what)
        path = Path(os.path.abspath(path))
        if not path.name or path.name in (".", ".."):
            raise InputError(f"{what} {path} is not a usable name")
        _check_name_length(path, what)
        real = _real(path)
        self._check_against_inputs(path, real, what)
        self._check_against_outputs(path, real, what)
        _not_inside_an_earlier_output(path, real, what)
        if path.exists() or path.is_symlink():
            self._check_existing(path, kind, what)
        self._make_parent(path, what)
        staged = self._stage(path, kind, what)
        self._outputs.append(Output(path, kind, staged))
        if self._first_target is None:
            self._first_target = path
        return staged

    def _check_existing(self, path: Path, kind: str, what: str) -> None:
        for mode in (os.lstat(path).st_mode, _target_mode(path)):
            if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                raise InputError(f"{what} {path} is (or links to) a device, pipe or socket; not replacing it")
        link = _descriptor_link(path)
        if link is not None:
            shown = "" if os.fspath(link) == os.fspath(path) else f" ({link})"
            raise InputError(
                f"{what} {path} is (or links to) an open file descriptor{shown}; not replacing it "
                "(for standard output use '-' where the command takes it)"
            )
        is_dir = path.is_dir() and not path.is_symlink()
        if kind == "file" and is_dir:
            raise InputError(f"{what} {path} is a folder; give a file name")
        if kind == "dir" and path.is_symlink():
            # Replacing it would replace the link, never the folder it points to: say so rather than that
            # the folder "is not a folder".
            raise InputError(
                f"{what} {path} is a symbolic link (to {os.readlink(path)}); not replacing it, "
                "give the folder itself or a new name"
            )
        if kind == "dir" and not is_dir:
            raise InputError(f"{what} {path} exists and is not a folder")
        if kind == "dir" and not any(os.scandir(path)):
            return  # an empty folder holds nothing to lose
        if not self.force:
            raise InputError(f"{what} {path} exists; pass --force to replace it")
        if kind == "dir":
            # Every path below the folder, not only its top level: a file of the user's inside a subfolder of
            # an earlier output would otherwise be deleted with it.
            recorded = _marker_paths(path)
            owned, complete = recorded if recorded is not None else (set(), True)
            foreign = sorted(_tree_paths(path) - owned)
            if foreign:
                shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                older = "" if complete else "; its marker, from an older perfkit, lists only the top level"
                raise InputError(
                    f"{what} {path} holds files this command did not write ({shown}{older}); "
                    "not replacing it, choose a new or empty folder"
                )

    def file(self, path) -> Path:
        """Claim a one-file output; return the staging file to write (it exists, empty, mode 0600)."""
        return self._claim(path, "file", "output")

    def directory(self, path, *, resume_options: dict | None = None) -> Path:
        """Claim a folder output; return the staging folder to fill (it exists, empty, mode 0700).

        The current folder (or one holding it) is refused: swapping it would leave the shell in a
        deleted folder. With ``resume_options`` (``--resume``), the staging folder a killed run of the
        same target left behind is adopted instead of a new one, if its journal recorded the same
        options (:mod:`perfkit.resume`); other options are refused and the partial folder kept.
        """
        real, cwd = _real(Path(path)), _real(Path.cwd())
        if real == cwd or _inside(cwd, real):
            raise InputError(f"output {path} is the current folder or holds it; choose a new folder")
        self._resume_options = resume_options
        try:
            return self._claim(path, "dir", "output")
        finally:
            self._resume_options = None

    def _adopt(self, path: Path) -> Path | None:
        """The staging folder of a killed run of ``path``, renamed to this run's, or None if there is none."""
        partials = [p for p in stale_temporaries(path) if p.is_dir() and recorded_options(p) is not None]
        if not partials:
            return None
        newest = max(partials, key=lambda p: p.stat().st_mtime_ns)
        differing = differing_options(recorded_options(newest), self._resume_options)
        if differing:
            raise InputError(
                f"--resume: the interrupted run of {path} used other options ({', '.join(differing)}); "
                "rerun with those options, or without --resume to start again"
            )
        staged = temp_path(path)
        os.rename(newest, staged)
        self.resumed_from = newest
        return staged

    def profile(self, path, what: str = "--profile") -> tuple[Path, Path]:
        """Claim ``--profile PATH`` and its top-functions JSON beside it (``PATH`` with the suffix
        ``.top.json``: :func:`perfkit.profiling.top_path_for`); return both staging paths. ``what``
        names the option in messages (``perfkit profile`` takes it as ``-o``)."""
        from perfkit.profiling import top_path_for

        path = Path(path)
        return (
            self._claim(path, "file", what),
            self._claim(top_path_for(path), "file", what),
        )

    def report_dir(self, folder) -> Path:
        """Claim ``--report-dir``: never emptied; only ``run_report.json``/``events.jsonl`` are (re)placed.

        Returns a private staging folder where the run writes its report; :meth:`commit_report` moves the
        two files into ``folder``. A folder equal to a claimed folder output returns that output's staging
        folder instead (the report then travels with the output).
        """
        _not_standard_stream(folder, "--report-dir")
        folder = Path(os.path.abspath(folder))
        real = _real(folder)
        for out in self._outputs:
            if out.kind == "dir" and _real(out.target) == real:
                return out.staged
        for given, inp in self.inputs:
            if real == inp or _inside(real, inp):
                raise InputError(f"--report-dir {folder} is the input {given} or inside it; choose another")
        for name in REPORT_FILES:
            self._check_against_inputs(folder / name, real / name, "--report-dir")
            self._check_against_outputs(folder / name, real / name, "--report-dir")
            existing = folder / name
            if existing.is_dir() or (
                (existing.exists() or existing.is_symlink()) and not is_perfkit_report(existing)
            ):
                raise InputError(
                    f"--report-dir: {existing} exists and is not a perfkit report; not replacing it"
                )
        if folder.exists() and not folder.is_dir():
            raise InputError(f"--report-dir {folder} exists and is not a folder")
        _not_inside_an_earlier_output(folder, real, "--report-dir")
        if (folder / MARKER).exists() and not self.force:
            # Another command's output folder: its report and event log are part of that output.
            raise InputError(
                f"--report-dir {folder} is the output folder of an earlier run, whose report it would replace; "
                "choose another folder (or pass --force)"
            )
        try:
            self._make_parent(folder / REPORT_FILES[0], "--report-dir")
        except InputError as exc:
            reason = str(exc).rsplit(": ", 1)[-1]
            raise InputError(f"cannot create --report-dir {folder}: {reason}") from None
        sweep_stale(folder / REPORT_FILES[0])
        try:
            staged = make_temp(folder / REPORT_FILES[0], "dir")
        except OSError as exc:
            raise InputError(f"cannot write --report-dir {folder}: {exc.strerror}") from None
        self._report = (folder, staged)
        return staged

    # -- results -------------------------------------------------------------------------------
    def staged(self, target) -> Path:
        """The staging path of a claimed target."""
        target = Path(os.path.abspath(target))
        for out in self._outputs:
            if out.target == target:
                return out.staged
        raise KeyError(f"{target} was not claimed")

    def staged_outputs(self) -> list[tuple[Path, str]]:
        """``(staging path, kind)`` of every claimed output, kind ``"file"`` or ``"dir"``."""
        return [(out.staged, out.kind) for out in self._outputs]

    @property
    def report_path(self) -> Path | None:
        """Where ``run_report.json`` will be after a commit, or None when the run keeps no report."""
        if self._report is not None:
            return self._report[0] / REPORT_FILES[0]
        return None

    def commit(self) -> None:
        """Rename every staged output onto its target (folders swapped whole), then the report.

        Every target is first checked again, as at its claim: another command may have written it while
        this one ran (the same command started twice), and its output is not replaced without ``--force``
        (nor, with it, a folder holding files no run of ours wrote).
        """
        for out in self._outputs:
            if out.target.exists() or out.target.is_symlink():
                try:
                    self._check_existing(out.target, out.kind, "output")
                except InputError as exc:
                    raise InputError(f"{exc} (it was written while this run ran)") from None
        for out in self._outputs:
            if out.kind == "dir":
                self._commit_dir(out)
            else:
                publish(out.staged, out.target)
        self.commit_report()
        self.committed = True
        self._outputs.clear()
        self._created_dirs.clear()

    def _commit_dir(self, out: Output) -> None:
        _drop_temporaries(out.staged)
        remove_path(out.staged / JOURNAL)
        record = {
            "owner": self.owner,
            "entries": sorted(os.listdir(out.staged)),
            "paths": sorted(_tree_paths(out.staged)),
        }
        (out.staged / MARKER).write_text(json.dumps(record) + "\n", encoding="utf-8")
        os.chmod(out.staged / MARKER, default_mode(False))
        os.chmod(out.staged, default_mode(True))
        flush(out.staged)
        if out.target.exists() and _exchange(out.staged, out.target):
            sync_folder(out.target.parent)
            remove_path(out.staged)  # now holds the previous output
            return
        if out.target.exists():
            old = temp_path(out.target, "old")
            os.rename(out.target, old)
            os.rename(out.staged, out.target)
            sync_folder(out.target.parent)
            remove_path(old)
        else:
            os.rename(out.staged, out.target)
            sync_folder(out.target.parent)

    def commit_report(self) -> None:
        """Move the staged report files into ``--report-dir`` (also after a failed run)."""
        if self._report is None:
            return
        folder, staged = self._report
        for name in REPORT_FILES:
            if (staged / name).exists():
                publish(staged / name, folder / name)
        remove_path(staged)
        if folder in self._created_dirs or any(_inside(folder, d) for d in self._created_dirs):
            keep = {folder, *folder.parents}
            self._created_dirs = [d for d in self._created_dirs if d not in keep]
        self._report = None

    def discard(self) -> None:
        """Remove every staging path and every folder the claims created (deepest first)."""
        for out in self._outputs:
            remove_path(out.staged)
        if self._report is not None:
            remove_path(self._report[1])
            self._report = None
        for folder in reversed(self._created_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._outputs.clear()
        self._created_dirs.clear()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None and not self.committed:
            self.commit()
        elif exc_type is not None:
            self.discard()
            if self._no_room(exc):
                self.reraise(exc)
        return False

    def _no_room(self, exc: BaseException) -> bool:
        """A write that found no room and names no file (write(2) has none; pyarrow's error neither)."""
        return (
            isinstance(exc, OSError) and exc.errno in _FULL and not exc.filename and bool(self._first_target)
        )

    def reraise(self, exc: BaseException) -> NoReturn:
        """Raise ``exc`` again; a no-room error as the same error naming the first claimed output, so that the
        user learns where."""
        if self._no_room(exc):
            raise OSError(exc.errno, os.strerror(exc.errno), str(self._first_target)) from exc
        raise exc
