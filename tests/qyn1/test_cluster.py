"""``qyn1 pack`` and ``qyn1 unpack`` on a real Dask cluster, also with a worker killed mid-pack.

The cluster is ``dask scheduler`` + two single-threaded ``dask worker`` processes (tests/cluster.py), torn
down even when a test fails. Every run is the installed console script in a scratch folder, compared with
one local serial pack of the same tree (files written here, not by qyn1). A CLI package has a random salt,
so two packages of one tree differ in their ciphertext; what the executor decides -- the blocks, the chunk
boundaries, every chunk's codec and encoded payload, the file table -- must be equal, and is compared
after decryption (:func:`_contents`). Byte for byte, with a fixed salt, :func:`pipeline.pack` on the
cluster is compared with a serial pack.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import pytest
from qyn1 import container, extraction, pipeline
from qyn1.crypto import fast as aead

from tests.cluster import dask_cluster
from tests.hostile import run, with_children_killed

from ._helpers import KEY, SALT, key_source, start

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]
TIMEOUT_S = 180.0
CHUNK = 16384  # small chunks: every module is a block of its own, a task of its own
PACK = ["qyn1", "pack", "tree", "--key", "k.key", "--chunk-size", str(CHUNK), "--quiet"]


def _write_tree(folder: Path) -> None:
    """16 Python modules of ~24 KB (a block each, two chunks) and a text file: a few seconds of work."""
    rng = random.Random(3)
    for i in range(16):
        d = folder / "tree" / f"pkg{i % 4}"
        d.mkdir(parents=True, exist_ok=True)
        lines = (
            f"def f_{i}_{j}(a, b={rng.randrange(1000)}):\n    return a * {rng.randrange(99)} + b  # c{j}\n\n"
            for j in range(400)
        )
        (d / f"mod{i}.py").write_text("".join(lines))
    (folder / "tree" / "notes.txt").write_text("some notes\n" * 50)
    (folder / "k.key").write_text(KEY.hex())


def _report(folder: Path) -> dict:
    report = json.loads((folder / "run_report.json").read_text())
    assert report["status"] == "ok"
    return report


def _receipts(folder: Path) -> dict:
    return {name: r["digest"] for name, r in _report(folder)["receipts"].items()}


def _contents(package: Path) -> dict:
    """Everything in a package but its salt and what the salt changes: the header's other fields, the file
    table (paths, modes, sizes, digests, blocks, chunk offsets and lengths, codecs) and every chunk's
    encoded payload, decrypted (equal payloads mean equal plaintext sent to the cipher)."""
    f, r = extraction.open_package(package, key_source())
    with f:
        payloads = []
        for b in r.blocks:
            for j, (offset, stored, _) in enumerate(b.chunks):
                f.seek(offset)
                nonce = container.nonce_for(container._DOMAIN_CHUNK, b.index, j)
                aad = container.chunk_aad(r.header_bytes, b.index, j, j == len(b.chunks) - 1)
                payloads.append(
                    hashlib.sha256(aead.aead_decrypt(r.key, nonce, f.read(stored), aad)).hexdigest()
                )
    header = {k: v for k, v in vars(r.header).items() if k != "salt"}
    return {"header": header, "blocks": r.blocks, "entries": r.entries, "payloads": payloads}


def _tree_files(folder: Path) -> dict[str, bytes]:
    skip = {".perfkit-output", "run_report.json", "events.jsonl"}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in skip
    }


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """A scratch folder with the tree, the key and ``local.qyn`` (+ report ``rl/``) packed serially."""
    folder = tmp_path_factory.mktemp("qyn1-cluster")
    _write_tree(folder)
    done = run([*PACK, "--workers", "1", "-o", "local.qyn", "--report-dir", "rl"], folder, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return folder


def test_pack_and_unpack_on_a_cluster_equal_the_local_run(local, tmp_path):
    """Pack on the cluster (--scheduler), unpack that package on the cluster (DASK_SCHEDULER_ADDRESS):
    the content receipt and the package contents equal the local pack's, the unpacked tree equals the
    source tree byte for byte; with a fixed salt the cluster's package is the serial one byte for byte."""
    specs = pipeline.collect_sources([local / "tree"])
    salted = {"chunk_size": CHUNK, "salt": SALT}
    pipeline.pack(specs, tmp_path / "serial.qyn", key_source(), workers=1, executor="serial", **salted)
    with dask_cluster(tmp_path, workers=2) as cluster:
        packed = run([*PACK, "--scheduler", cluster.address, "-o", "c.qyn", "--report-dir", "rc"], local)
        env = {"DASK_SCHEDULER_ADDRESS": cluster.address}
        unpacked = run(["qyn1", "unpack", "c.qyn", "--key", "k.key", "-o", "out", "--quiet"], local, env=env)
        pipeline.pack(
            specs,
            tmp_path / "dask.qyn",
            key_source(),
            workers=2,
            executor="dask",
            scheduler=cluster.address,
            **salted,
        )
    assert packed.returncode == 0, packed.stderr
    assert unpacked.returncode == 0, unpacked.stderr
    assert _receipts(local / "rc") == _receipts(local / "rl")
    assert _report(local / "rc")["config"]["scheduler"] == cluster.address
    assert _contents(local / "c.qyn") == _contents(local / "local.qyn")
    assert _report(local / "out")["config"]["executor"] == "dask"
    assert _tree_files(local / "out") == _tree_files(local / "tree")
    assert (tmp_path / "dask.qyn").read_bytes() == (tmp_path / "serial.qyn").read_bytes()


def _executing(dask_worker) -> int:
    """How many tasks a Dask worker is running now (run on the worker through ``Client.run``)."""
    return len(dask_worker.state.executing)


def _run_killing_w0(cluster, argv: list[str], cwd: Path) -> tuple[bool, int, str]:
    """Run ``argv`` against ``cluster``; SIGKILL worker w0 as soon as it is seen running a task. Returns
    (w0 was seen busy and killed, exit code, stderr)."""
    from distributed import Client

    proc = start([*argv, "--scheduler", cluster.address], cwd)
    busy = False
    try:
        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            w0 = next(a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "w0")
            deadline = time.monotonic() + TIMEOUT_S
            while not busy and proc.poll() is None and time.monotonic() < deadline:
                busy = client.run(_executing, workers=[w0]).get(w0, 0) > 0
                if not busy:
                    time.sleep(0.02)
            if busy:
                cluster.kill_worker(0)
        _, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        with_children_killed(proc.pid)
    return busy, proc.returncode, err


@pytest.mark.parametrize("command", ["pack", "unpack"])
def test_a_worker_killed_mid_run(local, tmp_path, command):
    """Worker w0 is SIGKILLed while it runs a task (seen through the scheduler a few ms before; its first
    task also loads qyn1 and its kernels on the fresh worker, so w0 is busy for a second or more). pack
    encodes the tree; unpack decodes the local package, its workers writing the files themselves.

    What this guarantees: the run completes on the remaining worker -- pack with the local content receipt
    and the same package contents, unpack with every file byte for byte -- and every item Dask ran again is
    reported with 2 attempts. It does not assert which items are retried: the task w0 was running (unless
    it ended in the moment between the look and the kill), and also items w0 had finished whose results it
    still held (perfkit keeps its futures until the run ends, so Dask recomputes them; a decode task run
    again rewrites its files). Nor that any is reported: an attempt counts once its start announcement
    (a Dask event) reaches the scheduler, and a worker killed while it unpickles the task (importing qyn1)
    never sends it -- seen here for unpack: w0 killed mid-task, nothing reported retried."""
    if command == "pack":
        argv, report = [*PACK, "-o", "killed.qyn", "--report-dir", "rk"], local / "rk"
    else:
        out = tmp_path / "unpacked"
        argv, report = ["qyn1", "unpack", "local.qyn", "--key", "k.key", "-o", str(out), "--quiet"], out
    with dask_cluster(tmp_path, workers=2) as cluster:
        busy, code, err = _run_killing_w0(cluster, argv, local)
    assert busy, "the run ended before worker w0 was seen running a task"
    assert code == 0, err
    retried = _report(report)["metrics"].get("retried_items") or {}
    assert all(n == 2 for n in retried.values()), retried
    (tmp_path / "retried.json").write_text(json.dumps(retried))
    if command == "unpack":
        assert _tree_files(out) == _tree_files(local / "tree")
        return
    assert _receipts(report) == _receipts(local / "rl")
    assert _contents(local / "killed.qyn") == _contents(local / "local.qyn")
    out = tmp_path / "out"
    unpacked = run(
        ["qyn1", "unpack", "killed.qyn", "--key", "k.key", "-o", str(out), "--workers", "1", "--quiet"], local
    )
    assert unpacked.returncode == 0, unpacked.stderr
    assert _tree_files(out) == _tree_files(local / "tree")
