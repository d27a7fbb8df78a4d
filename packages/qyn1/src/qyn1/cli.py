"""Command line for qyn1: keygen, pack, unpack, list, cat, verify, presets, profile, bench."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click
from perfkit.clitools import (
    Group,
    NotAnOptionPath,
    common_options,
    executor_for,
    executor_option,
    handle_errors,
    progress,
    scheduler_option,
    write_stdout,
)
from perfkit.job import job
from perfkit.outputs import MARKER, REPORT_FILES

from qyn1 import keys, presets
from qyn1.errors import Qyn1Error, words

_BAD_INPUT = (Qyn1Error,)
_bad_input = handle_errors(bad_input=_BAD_INPUT)


def key_options(fn):
    fn = click.option(
        "--key-env",
        metavar="VAR",
        default=None,
        help="Read the 32-byte key from this environment variable (64 hex digits or base64).",
    )(fn)
    fn = click.option(
        "--passphrase-env",
        metavar="VAR",
        default=None,
        help="Read the passphrase from this environment variable (Argon2id).",
    )(fn)
    fn = click.option(
        "--passphrase-file",
        type=NotAnOptionPath(dir_okay=False, path_type=Path),
        default=None,
        help="Read the passphrase from the first line of this file (Argon2id).",
    )(fn)
    fn = click.option(
        "--key",
        "-k",
        "key_file",
        type=NotAnOptionPath(dir_okay=False, path_type=Path),
        default=None,
        help="32-byte key file from `qyn1 keygen`.",
    )(fn)
    return fn


def _key_source(key_file, passphrase_file, passphrase_env, key_env=None) -> keys.KeySource:
    given = [x is not None for x in (key_file, passphrase_file, passphrase_env, key_env)]
    if sum(given) != 1:
        raise Qyn1Error("give exactly one of --key, --key-env, --passphrase-file or --passphrase-env")
    if key_file is not None:
        return keys.KeySource.from_file(key_file)
    if key_env is not None:
        value = os.environ.get(key_env)
        if not value:
            raise Qyn1Error(f"environment variable {key_env} is not set or empty")
        key = keys.key_from_text(value)
        if key is None:
            raise Qyn1Error(
                f"environment variable {key_env} does not hold a 32-byte key (64 hex digits or base64)"
            )
        return keys.KeySource(key=key)
    if passphrase_file is not None:
        try:
            # The first line is the passphrase: the file is never read whole (a wrong path, /dev/zero).
            with open(passphrase_file, "rb") as f:
                head = f.read(keys.KEY_FILE_MAX + 1)
            lines = head.splitlines()
            if len(head) > keys.KEY_FILE_MAX and len(lines) < 2:
                raise Qyn1Error(
                    f"passphrase file {str(passphrase_file)!r} has no line break in its first "
                    f"{keys.KEY_FILE_MAX} bytes: not a passphrase file"
                )
            passphrase = lines[0].decode("utf-8") if lines else ""
        except OSError as e:
            raise Qyn1Error(f"cannot read passphrase file {str(passphrase_file)!r}: {words(e)}") from None
        except UnicodeDecodeError:
            raise Qyn1Error(f"passphrase file {str(passphrase_file)!r} is not UTF-8 text") from None
        return keys.KeySource.from_passphrase(passphrase)
    value = os.environ.get(passphrase_env)
    if not value:
        raise Qyn1Error(f"environment variable {passphrase_env} is not set or empty")
    return keys.KeySource.from_passphrase(value)


def _pipeline():
    """:mod:`qyn1.pipeline` (pack), imported by the commands that do the work, after their outputs are
    claimed: it loads numba and the kernels (~1.5 s of CPU), which a refused command line never needs."""
    from qyn1 import pipeline

    return pipeline


def _extraction():
    """:mod:`qyn1.extraction` (unpack, verify, list), imported late for the same reason as :func:`_pipeline`."""
    from qyn1 import extraction

    return extraction


def _key_inputs(key_file, passphrase_file) -> list:
    """The key material a command reads: an input, so no output may be written over it."""
    return [p for p in (key_file, passphrase_file) if p is not None]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qyn1")
def main() -> None:
    """qyn1: pack source trees into compact, encrypted, verifiable packages and back, byte for byte."""


@main.command()
@click.argument("path", type=NotAnOptionPath(dir_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Replace an existing key file (every package made with it is lost)."
)
@_bad_input
def keygen(path: Path, force: bool) -> None:
    """Write a new random 32-byte key file (mode 0600); never over an existing file without --force.

    Example: qyn1 keygen project.key
    """
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        with job(
            "qyn1", "keygen", config={"path": str(path)}, files=[path], force=force, bad_input=_BAD_INPUT
        ) as j:
            # perfkit gives a published file the umask's mode: a private umask keeps the key 0600 from
            # the rename on (the staging file is 0600 already, the folders above it were made before this).
            os.umask(umask | 0o077)
            keys.write_key(j.path(path))
    finally:
        os.umask(umask)
    click.echo(f"wrote key {path}")


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=NotAnOptionPath(dir_okay=False, path_type=Path),
    help="The package file, or - for standard output.",
)
@key_options
@click.option("--preset", default=None, help="Chunk size/workers/executor priors (see `qyn1 presets`).")
@click.option(
    "--chunk-size", type=int, default=None, help="Chunk size of Python text in bytes (default: the preset's)."
)
@executor_option(default=None)
@scheduler_option()
@click.option("--exclude", multiple=True, help="Glob of paths/components to leave out (repeatable).")
@common_options
@_bad_input
def pack(
    sources,
    output,
    key_file,
    passphrase_file,
    passphrase_env,
    key_env,
    preset,
    chunk_size,
    executor,
    scheduler,
    exclude,
    profile,
    report_dir,
    workers,
    force,
    quiet,
) -> None:
    """Pack files and folders into one encrypted package (one file, or standard output with -o -; a run
    report only with --report-dir). Paths in the package are relative to each source given (like
    `tar -C SRC .`); a file source keeps its base name. An existing package is replaced only with --force.

    --scheduler encodes the blocks on a Dask cluster (docs/cluster.md); the package is written here.

    Example: qyn1 pack src/ -o src.qyn --key project.key
    """
    executor = executor_for(executor, scheduler)
    workers_opt = workers if _option_given("workers") else None
    to_stdout = str(output) == "-"
    config = {"sources": [str(s) for s in sources], "output": str(output), "exclude": list(exclude)}
    if scheduler:
        config["scheduler"] = scheduler
    if to_stdout and sys.stdout.isatty():
        raise Qyn1Error(
            "not writing a binary package to a terminal: redirect standard output or give -o FILE"
        )
    with job(
        "qyn1",
        "pack",
        config=config,
        inputs=[*sources, *_key_inputs(key_file, passphrase_file)],
        files=[] if to_stdout else [output],
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=_BAD_INPUT,
    ) as j:
        run = j.run
        ks = _key_source(key_file, passphrase_file, passphrase_env, key_env)
        pipeline = _pipeline()
        project = next((s for s in sources if Path(s).is_dir()), None)
        p = presets.resolve(preset, project, chunk_size=chunk_size, workers=workers_opt, executor=executor)
        run.config["preset"] = p.to_dict()
        with run.stage("collect"):
            specs, skipped = pipeline.scan_sources(sources, tuple(exclude))
        # imports, model tables and the kernels (compiled on the first run after an install), apart from
        # the timed work so they do not count against the rates
        with run.stage("warm_up"):
            pipeline.warm_up(p.executor, p.workers)
        digests = []
        with run.stage("pack"), progress(len(specs), "packing", quiet) as bar:

            def on_file(spec, size, digest, stored, encode_s):
                digests.append((spec.arcpath, digest))
                bar.advance()
                run.add_item(spec.arcpath, encode_s, bytes_in=size, bytes_out=stored)

            try:
                st = pipeline.write_package(
                    specs,
                    _WholeWrites() if to_stdout else j.path(output),
                    ks,
                    chunk_size=p.chunk_size,
                    workers=p.workers,
                    executor=p.executor,
                    scheduler=scheduler,
                    on_file=on_file,
                    python_cm=p.python_cm,
                )
                if to_stdout:
                    sys.stdout.buffer.flush()
            except BrokenPipeError:
                _silence_stdout()
                raise Qyn1Error("standard output was closed before the package was complete") from None
        run.count("files", st.files)
        run.count("blocks", st.blocks)
        run.count("bytes_in", st.bytes_in)
        for kind, n in skipped.items():
            run.count("skipped_" + kind.replace(" ", "_") + "s", n)
        run.result("codecs", st.codecs)
        run.metric("ratio", st.ratio)
        run.metric("mb_per_s", st.bytes_in / 1e6 / max(st.wall_s, 1e-9))
        if st.worker_memory:
            run.metric("worker_memory_bytes", st.worker_memory)
        run.receipt("content", _content_receipt(digests))
    if not quiet:
        click.echo(
            f"packed {_count(st.files, 'file')}{pipeline.skipped_words(skipped)}, {st.bytes_in:,} -> {st.bytes_out:,} bytes "
            f"(ratio {st.ratio:.2f}) in {st.wall_s:.2f} s -> {'standard output' if to_stdout else output}",
            err=to_stdout,
        )


class _WholeWrites:
    """Standard output for ``pack -o -``: every write taken whole by :func:`write_stdout`, so a reader
    leaving mid-write fails the next write instead of dropping its rest unseen (a cut package, exit 0)."""

    def write(self, data) -> int:
        write_stdout(data)
        return len(data)


def _count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null once its reader is gone, so the interpreter's last flush stays quiet."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _content_receipt(digests) -> str:
    """Digest of (path, plaintext digest) pairs, in path order: independent of salt, workers, codec
    choices and of how files are grouped into blocks."""
    from perfkit.determinism import combine_digests

    # a name may hold a newline (legal on POSIX): escaped, so each item stays one line and distinct
    # (backslashes never reach a package, and names without a newline give the same receipt as before)
    return combine_digests(
        (path.replace("\n", "\\n") + "\t" + d.hex() for path, d in sorted(digests)), "qyn1-content"
    )


def _option_given(name: str) -> bool:
    ctx = click.get_current_context()
    src = ctx.get_parameter_source(name)
    return src is not None and src.name not in ("DEFAULT", "DEFAULT_MAP")


def _is_stdin(package: Path) -> bool:
    return str(package) == "-"


@contextlib.contextmanager
def _package_file(package: Path):
    """The package as a path: itself, or for ``-`` a private (0600) temporary copy of standard input,
    removed afterwards (a package is read by random access, which a pipe cannot give)."""
    if not _is_stdin(package):
        yield package
        return
    if sys.stdin is None or sys.stdin.isatty():
        raise Qyn1Error("no package on standard input (it is a terminal): pipe one in or give a path")
    with tempfile.NamedTemporaryFile(prefix="qyn1-stdin-", suffix=".qyn") as tmp:
        shutil.copyfileobj(sys.stdin.buffer, tmp, 1 << 20)
        tmp.flush()
        yield Path(tmp.name)


def _inputs(package: Path, key_file, passphrase_file) -> list:
    return [*([] if _is_stdin(package) else [package]), *_key_inputs(key_file, passphrase_file)]


@main.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", "output", required=True, type=NotAnOptionPath(file_okay=False, path_type=Path)
)
@key_options
@executor_option(default="processes")
@scheduler_option()
@common_options
@_bad_input
def unpack(
    package,
    output,
    key_file,
    passphrase_file,
    passphrase_env,
    key_env,
    executor,
    scheduler,
    profile,
    report_dir,
    workers,
    force,
    quiet,
) -> None:
    """Verify and extract every file into a new folder: all or nothing (the folder appears only when every
    file verified). PACKAGE may be - (standard input). An existing folder is replaced only with --force,
    and only if it holds nothing but an earlier unpack; the run report goes inside it unless --report-dir
    says otherwise. --scheduler decodes on a Dask cluster whose workers read PACKAGE and write the files
    (docs/cluster.md). Without --workers, a package quick to decode is decoded in this process.

    Example: qyn1 unpack src.qyn -o restored/ --key project.key
    """
    executor = executor_for(executor, scheduler)
    if str(output) == "-":
        raise Qyn1Error("unpack writes a folder, not standard output: give -o DIR (one file: qyn1 cat)")
    if scheduler and _is_stdin(package):
        raise Qyn1Error(
            f"--scheduler {scheduler}: the cluster's workers read the package by path, so it cannot come "
            "from standard input; give its path on a filesystem every worker mounts"
        )
    with job(
        "qyn1",
        "unpack",
        config={
            "package": str(package),
            "output": str(output),
            "executor": executor,
            **({"scheduler": scheduler} if scheduler else {}),
        },
        inputs=_inputs(package, key_file, passphrase_file),
        directories=[output],
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=_BAD_INPUT,
    ) as j:
        run = j.run
        ks = _key_source(key_file, passphrase_file, passphrase_env, key_env)
        pipeline, extraction = _pipeline(), _extraction()
        reserved = {MARKER: "perfkit's record of what it wrote"}
        if j.report_path is not None and os.path.realpath(j.report_path.parent) == os.path.realpath(output):
            reserved.update({name: "the run report (give --report-dir elsewhere)" for name in REPORT_FILES})
        with _package_file(package) as pkg:
            if executor == "processes" and not _option_given("workers"):  # threads, Dask: as asked
                workers = extraction.workers_for(pkg, ks, workers)
            run.metric("workers_used", workers)
            with run.stage("warm_up"):
                pipeline.warm_up(executor, workers, pipeline.DECODE_PRELOAD)
            with run.stage("unpack"):
                st = extraction.extract(
                    pkg,
                    j.path(output),
                    ks,
                    workers=workers,
                    executor=executor,
                    scheduler=scheduler,
                    reserved=reserved,
                )
        run.count("files", st.files)
        run.count("bytes_out", st.bytes_in)
        run.metric("mb_per_s", st.bytes_in / 1e6 / max(st.wall_s, 1e-9))
        if st.worker_memory:
            run.metric("worker_memory_bytes", st.worker_memory)
    if not quiet:
        click.echo(
            f"unpacked {_count(st.files, 'file')}, {st.bytes_in:,} bytes in {st.wall_s:.2f} s -> {output}"
        )


@main.command("list")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@key_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file (a JSON array).")
@_bad_input
def list_(package, key_file, passphrase_file, passphrase_env, key_env, as_json) -> None:
    """List the files of a package (sorted by path): mode, size, stored size (a file in a solid block
    gets its share by size), chunks read to get it, codecs, path. PACKAGE may be - (standard input).

    Example: qyn1 list src.qyn --key project.key --json
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env, key_env)
    with _package_file(package) as pkg:
        f, r = _extraction().open_package(pkg, ks)
        with f:
            rows = [_list_row(e) for e in sorted(r.entries, key=lambda e: e.path)]
    if as_json:
        import json

        text = json.dumps(rows, indent=1) + "\n"
    else:
        lines = [f"{'mode':<5} {'size':>10} {'stored':>10} {'chunks':>6} {'codecs':<14} path"]
        lines += [
            f"{row['mode']:<5} {row['size']:>10} {row['stored_size']:>10} {row['chunks']:>6} "
            f"{'+'.join(row['codecs']) or '-':<14} {_one_row(row['path'])}"
            for row in rows
        ]
        text = "\n".join(lines) + "\n"
    # one write of all of it: a reader leaving mid-write gives the quiet 141, never exit 0 with the output cut
    write_stdout(text.encode("utf-8"))


def _one_row(path: str) -> str:
    """A path for the ``list`` table: a character that is not printable (a newline, a tab, ...) written as
    Python's escape (``\\n``, ``\\t``, ``\\x7f``), so that one file is one row. Unambiguous: a package
    path holds no backslash. ``--json`` keeps the exact path."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


def _list_row(e) -> dict:
    from qyn1 import codec

    span = e.chunk_span()
    return {
        "path": e.path,
        "mode": f"{e.mode:04o}",
        "size": e.size,
        "stored_size": e.stored_size,
        "block": e.block,
        "shared_block": e.shared,
        "chunks": len(span),
        "codecs": sorted({codec.NAMES[e.codecs[j]] for j in span}),
    }


@main.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("path")
@key_options
@_bad_input
def cat(package, path, key_file, passphrase_file, passphrase_env, key_env) -> None:
    """Write one file of a package to stdout (random access: only the chunks that hold it are decrypted).
    PACKAGE may be - (standard input).

    Example: qyn1 cat src.qyn app.py --key project.key
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env, key_env)
    with _package_file(package) as pkg:
        f, r = _extraction().open_package(pkg, ks)
        with f:
            e = r.entry(path)
            data = r.read(e)  # whole file authenticated and digest-checked before anything is written
    write_stdout(data)


@main.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@key_options
@executor_option(choices=("serial", "threads", "processes"), default="processes")
@common_options
@_bad_input
def verify(
    package,
    key_file,
    passphrase_file,
    passphrase_env,
    key_env,
    executor,
    profile,
    report_dir,
    workers,
    force,
    quiet,
) -> None:
    """Authenticate and decode every chunk and check every file digest; writes nothing. PACKAGE may be -.
    Decodes on --workers as unpack does (without --workers, a package quick to decode is decoded in this
    process); a failure is reported as one pass in table order finds it.

    Example: qyn1 verify src.qyn --key project.key
    """
    with job(
        "qyn1",
        "verify",
        config={"package": str(package), "executor": executor},
        inputs=_inputs(package, key_file, passphrase_file),
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=_BAD_INPUT,
    ) as j:
        ks = _key_source(key_file, passphrase_file, passphrase_env, key_env)
        pipeline, extraction = _pipeline(), _extraction()
        with _package_file(package) as pkg:
            if executor == "processes" and not _option_given("workers"):
                workers = extraction.workers_for(pkg, ks, workers)
            j.run.metric("workers_used", workers)
            with j.run.stage("warm_up"):
                pipeline.warm_up(executor, workers, pipeline.DECODE_PRELOAD)
            with j.run.stage("verify"):
                st = extraction.verify(pkg, ks, workers=workers, executor=executor)
        j.run.count("files", st.files)
        j.run.count("chunks", st.chunks)
    if not quiet:
        click.echo(
            f"ok: {_count(st.files, 'file')}, {_count(st.chunks, 'chunk')}, {st.bytes_in:,} bytes verified"
        )


@main.command("presets")
def presets_() -> None:
    """Show the presets (chunk size, workers, executor per language/domain).

    Example: qyn1 presets
    """
    for p in presets.PRESETS.values():
        mark = "*" if p.name == presets.DEFAULT else " "
        click.echo(
            f"{mark} {p.name:<12} chunk {p.chunk_size // 1024:>4} KiB  workers {p.workers}  "
            f"{p.executor:<9} {p.description}"
        )


@main.command()
@click.option(
    "--out",
    "out",
    type=NotAnOptionPath(dir_okay=False, path_type=Path),
    default=Path("reports/profile-qyn1.json"),
    show_default=True,
    help="JSON report (top functions + stage times); OUT.pstats and OUT.top.json go beside it.",
)
@click.option(
    "--module",
    default="typing.py",
    show_default=True,
    help="Stdlib module (path relative to the stdlib) to profile.",
)
@click.option("--repeats", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--force", is_flag=True, help="Replace the report files of an earlier profile.")
@_bad_input
def profile(out: Path, module: str, repeats: int, force: bool) -> None:
    """cProfile encoder -> compressor -> encryptor on a representative module; JSON report via perfkit.

    Example: qyn1 profile --out reports/profile-qyn1.json --module json/decoder.py
    """
    import json

    from qyn1 import profiling as qprof

    source = corpus_module(module)
    from perfkit.profiling import top_path_for

    pstats_path = out.with_suffix(".pstats")
    top_path = top_path_for(pstats_path)
    with job(
        "qyn1",
        "profile",
        config={"module": module, "repeats": repeats},
        inputs=[source],
        files=[out, pstats_path, top_path],
        force=force,
        bad_input=_BAD_INPUT,
    ) as j:
        report = qprof.profile_module(source, j.path(pstats_path), j.path(top_path), repeats=repeats)
        report["pstats"] = str(pstats_path)
        j.path(out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for stage, secs in report["stages_s"].items():
        click.echo(f"{stage:<12} {secs * 1e3:9.2f} ms")
    click.echo(f"wrote {out}")


def corpus_module(module: str) -> Path:
    from qyn1 import corpus

    p = corpus.stdlib_root() / module
    if not p.is_file():
        raise Qyn1Error(f"no module {module!r} in {corpus.stdlib_root()}")
    return p


@main.command("bench")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Without PATHS: every N-th held-out stdlib file.",
)
@_bad_input
def bench_(paths, every: int) -> None:
    """Per-file ratio and MB/s of qyn1 vs zlib-9, lzma-9, zstd-19, brotli-11 (those installed) and zstd-19
    with a dictionary trained on the stdlib training split.

    Example: qyn1 bench --every 16
    """
    from qyn1 import corpus
    from qyn1 import profiling as qprof

    for p in paths:
        if not Path(p).is_file():
            raise Qyn1Error(f"{p}: not a regular file (a device, pipe or socket)")
    train, held = corpus.split()
    if not paths:
        paths = held[::every]
    rows = qprof.compare_codecs([Path(p).read_bytes() for p in paths], [p.read_bytes() for p in train])
    click.echo(f"{len(paths)} files, {rows['qyn1']['bytes_in'] / 1e6:.2f} MB, each compressed on its own")
    click.echo(f"{'codec':<13} {'ratio':>7} {'comp MB/s':>10} {'decomp MB/s':>12}")
    for name, r in rows.items():
        click.echo(f"{name:<13} {r['ratio']:7.3f} {r['compress_mb_s']:10.2f} {r['decompress_mb_s']:12.2f}")


if __name__ == "__main__":  # pragma: no cover
    main()
