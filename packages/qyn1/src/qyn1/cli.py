"""Command line for qyn1: keygen, pack, unpack, list, cat, verify, presets, profile, bench."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from perfkit.clitools import Group, common_options, handle_errors, profiling, progress

import perfkit
from qyn1 import keys, pipeline, presets
from qyn1.errors import Qyn1Error

_bad_input = handle_errors(bad_input=(Qyn1Error, OSError))


def key_options(fn):
    fn = click.option(
        "--passphrase-env",
        metavar="VAR",
        default=None,
        help="Read the passphrase from this environment variable (Argon2id).",
    )(fn)
    fn = click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Read the passphrase from the first line of this file (Argon2id).",
    )(fn)
    fn = click.option(
        "--key",
        "-k",
        "key_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="32-byte key file from `qyn1 keygen`.",
    )(fn)
    return fn


def _key_source(key_file, passphrase_file, passphrase_env) -> keys.KeySource:
    given = [x is not None for x in (key_file, passphrase_file, passphrase_env)]
    if sum(given) != 1:
        raise Qyn1Error("give exactly one of --key, --passphrase-file or --passphrase-env")
    if key_file is not None:
        return keys.KeySource.from_file(key_file)
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise Qyn1Error(f"cannot read passphrase file {str(passphrase_file)!r}: {e}") from None
        return keys.KeySource.from_passphrase(text[0] if text else "")
    value = os.environ.get(passphrase_env)
    if not value:
        raise Qyn1Error(f"environment variable {passphrase_env} is not set or empty")
    return keys.KeySource.from_passphrase(value)


def _run(command: str, report_dir, default_dir, config: dict):
    out = report_dir if report_dir is not None else default_dir
    if out is None:
        import contextlib

        return contextlib.nullcontext(None)
    return perfkit.Run("qyn1", out, config={"command": command, **config})


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qyn1")
def main() -> None:
    """qyn1: pack source trees into compact, encrypted, verifiable packages and back, byte for byte."""


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
@_bad_input
def keygen(path: Path, force: bool) -> None:
    """Write a new random 32-byte key file (mode 0600).

    Example: qyn1 keygen project.key
    """
    keys.write_key_file(path, force=force)
    click.echo(f"wrote key {path}")


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@key_options
@click.option("--preset", default=None, help="Chunk size/workers/executor priors (see `qyn1 presets`).")
@click.option("--chunk-size", type=int, default=None, help="Chunk size in bytes (default: from the preset).")
@click.option("--executor", type=click.Choice(["serial", "threads", "processes", "dask"]), default=None)
@click.option("--exclude", multiple=True, help="Glob of paths/components to leave out (repeatable).")
@common_options
@_bad_input
def pack(
    sources,
    output,
    key_file,
    passphrase_file,
    passphrase_env,
    preset,
    chunk_size,
    executor,
    exclude,
    profile,
    report_dir,
    workers,
    quiet,
) -> None:
    """Pack files and directories into one encrypted package.

    Example: qyn1 pack src/ -o src.qyn --key project.key
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env)
    project = next((s for s in sources if Path(s).is_dir()), None)
    workers_opt = workers if _option_given("workers") else None
    p = presets.resolve(preset, project, chunk_size=chunk_size, workers=workers_opt, executor=executor)
    specs = pipeline.collect_sources(sources, tuple(exclude))
    default_report = Path(str(output) + ".report") if report_dir is None else None
    with (
        _run("pack", report_dir, default_report, {"preset": p.to_dict(), "files": len(specs)}) as run,
        profiling(profile),
        progress(len(specs), "packing", quiet) as bar,
    ):
        digests = []

        def on_file(spec, ef):
            digests.append((spec.arcpath, ef.digest))
            bar.advance()
            if run is not None:
                run.add_item(
                    spec.arcpath,
                    ef.encode_s,
                    bytes_in=ef.size,
                    bytes_out=sum(len(c) + 16 for c, _ in ef.chunks),
                )

        st = pipeline.pack(
            specs,
            output,
            ks,
            chunk_size=p.chunk_size,
            workers=p.workers,
            executor=p.executor,
            on_file=on_file,
        )
        if run is not None:
            run.count("files", st.files)
            run.count("bytes_in", st.bytes_in)
            run.result("codecs", st.codecs)
            run.metric("ratio", st.ratio)
            run.metric("mb_per_s", st.bytes_in / 1e6 / max(st.wall_s, 1e-9))
            if st.worker_memory:
                run.metric("worker_memory_bytes", st.worker_memory)
            run.receipt("content", _content_receipt(digests))
    if not quiet:
        click.echo(
            f"packed {st.files} files, {st.bytes_in:,} -> {st.bytes_out:,} bytes "
            f"(ratio {st.ratio:.2f}) in {st.wall_s:.2f} s -> {output}"
        )


def _content_receipt(digests) -> str:
    """Digest of (path, plaintext digest) pairs: independent of salt, workers and codec choices."""
    from perfkit.determinism import combine_digests

    return combine_digests((f"{path}\t{d.hex()}" for path, d in digests), "qyn1-content")


def _option_given(name: str) -> bool:
    ctx = click.get_current_context()
    src = ctx.get_parameter_source(name)
    return src is not None and src.name not in ("DEFAULT", "DEFAULT_MAP")


@main.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False, path_type=Path))
@key_options
@click.option(
    "--executor", type=click.Choice(["serial", "threads", "processes", "dask"]), default="processes"
)
@common_options
@_bad_input
def unpack(
    package, output, key_file, passphrase_file, passphrase_env, executor, profile, report_dir, workers, quiet
) -> None:
    """Verify and extract every file (nothing is renamed into place unless everything verifies).

    Example: qyn1 unpack src.qyn -o restored/ --key project.key
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env)
    with _run("unpack", report_dir, None, {"package": str(package)}) as run, profiling(profile):
        st = pipeline.unpack(package, output, ks, workers=workers, executor=executor)
        if run is not None:
            run.count("files", st.files)
            run.count("bytes_out", st.bytes_in)
            run.metric("mb_per_s", st.bytes_in / 1e6 / max(st.wall_s, 1e-9))
            if st.worker_memory:
                run.metric("worker_memory_bytes", st.worker_memory)
    if not quiet:
        click.echo(f"unpacked {st.files} files, {st.bytes_in:,} bytes in {st.wall_s:.2f} s -> {output}")


@main.command("list")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@key_options
@_bad_input
def list_(package, key_file, passphrase_file, passphrase_env) -> None:
    """List the files of a package: mode, size, stored size, chunks, path.

    Example: qyn1 list src.qyn --key project.key
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env)
    f, r = pipeline.open_package(package, ks)
    with f:
        for e in r.entries:
            click.echo(f"{e.mode:04o} {e.size:>10} {e.stored_size:>10} {len(e.chunks):>4} {e.path}")


@main.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("path")
@key_options
@_bad_input
def cat(package, path, key_file, passphrase_file, passphrase_env) -> None:
    """Write one file of a package to stdout (random access: other files are not decrypted).

    Example: qyn1 cat src.qyn src/app.py --key project.key
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env)
    f, r = pipeline.open_package(package, ks)
    with f:
        e = r.entry(path)
        data = r.read(e)  # whole file authenticated and digest-checked before anything is written
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@main.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@key_options
@common_options
@_bad_input
def verify(package, key_file, passphrase_file, passphrase_env, profile, report_dir, workers, quiet) -> None:
    """Authenticate and decode every chunk and check every file digest; writes nothing.

    Example: qyn1 verify src.qyn --key project.key
    """
    ks = _key_source(key_file, passphrase_file, passphrase_env)
    with _run("verify", report_dir, None, {"package": str(package)}) as run, profiling(profile):
        st = pipeline.verify(package, ks)
        if run is not None:
            run.count("files", st.files)
    if not quiet:
        click.echo(f"ok: {st.files} files, {st.chunks} chunks, {st.bytes_in:,} bytes verified")


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
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("reports/profile-qyn1.json"),
    show_default=True,
    help="JSON report (top functions + stage times); the .pstats goes beside it.",
)
@click.option(
    "--module",
    default="typing.py",
    show_default=True,
    help="Stdlib module (path relative to the stdlib) to profile.",
)
@click.option("--repeats", type=int, default=5, show_default=True)
@_bad_input
def profile(out: Path, module: str, repeats: int) -> None:
    """cProfile encoder -> compressor -> encryptor on a representative module; JSON report via perfkit.

    Example: qyn1 profile --out reports/profile-qyn1.json --module json/decoder.py
    """
    from qyn1 import profiling as qprof

    report = qprof.profile_module(corpus_module(module), out, repeats=repeats)
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
    "--every", type=int, default=8, show_default=True, help="Without PATHS: every N-th held-out stdlib file."
)
@_bad_input
def bench_(paths, every: int) -> None:
    """Per-file ratio and MB/s of qyn1 vs zlib-9, lzma-9, zstd-19, brotli-11 (those installed) and zstd-19
    with a dictionary trained on the stdlib training split.

    Example: qyn1 bench --every 16
    """
    from qyn1 import corpus
    from qyn1 import profiling as qprof

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
