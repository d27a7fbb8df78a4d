"""The reader thread of `DbnStream(ahead=N)`: the same blocks as decoding in the caller's thread, errors raised
in the caller, and no thread left behind however the caller stops (end, break, error, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
import zstandard
from mbp10.errors import Mbp10Error
from mbp10.io import DbnStream, scan_dbn


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mbp10-zstd"]


def _blocks(path, ahead: int, chunk: int) -> list[np.ndarray]:
    with DbnStream(path, chunk_records=chunk, ahead=ahead) as s:
        return [b.copy() for b in s]


@pytest.mark.parametrize("ahead", [1, 3])
@pytest.mark.parametrize("chunk", [37, 1_001, 40_000])
def test_blocks_ahead_equal_blocks_in_the_callers_thread(small_day_file, ahead, chunk):
    mine = _blocks(small_day_file, 0, chunk)
    theirs = _blocks(small_day_file, ahead, chunk)
    assert [len(b) for b in theirs] == [len(b) for b in mine]
    assert b"".join(b.tobytes() for b in theirs) == b"".join(b.tobytes() for b in mine)
    assert not _readers()


def test_a_block_stays_valid_until_the_next_is_asked_for(small_day, small_day_file):
    # With one block ahead the ring has two buffers: a block handed out is never refilled under its reader.
    with DbnStream(small_day_file, chunk_records=1_000, ahead=1) as s:
        for i, block in enumerate(s):
            before = block.tobytes()
            threading.Event().wait(0.002)  # give the reader time to run ahead (it must wait, not overwrite)
            assert block.tobytes() == before == small_day[i * 1_000 : (i + 1) * 1_000].tobytes()


def test_breaking_out_early_ends_the_reader(small_day_file):
    with DbnStream(small_day_file, chunk_records=500, ahead=2) as s:
        for i, _ in enumerate(s):
            if i == 3:
                break
    assert not _readers()


def test_scan_dbn_out_of_order_fallback_ends_the_reader(tmp_path, small_day):
    import datetime as dt

    from mbp10.bars import BarsConsumer
    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_header

    rec = small_day.copy()
    rec[20_000:20_010] = rec[20_000:20_010][::-1]  # out of order after many streamed blocks
    path = tmp_path / "swapped.dbn.zst"
    write_dbn(path, synth_header(dt.date(2024, 1, 2)), rec)
    stats = scan_dbn(path, [BarsConsumer()], ahead=2)
    assert not stats.streamed and stats.records == len(rec)
    assert not _readers()


def test_a_corrupt_stream_is_one_error_in_the_caller(tmp_path, small_day_file):
    raw = bytearray(small_day_file.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = bytes(64)  # garbage inside a block: zstd fails mid-stream
    bad = tmp_path / "bad.dbn.zst"
    bad.write_bytes(bytes(raw))
    with pytest.raises(Mbp10Error, match="truncated or corrupt zstd stream"):
        _blocks(bad, 2, 1_000)
    assert not _readers()


def test_a_partial_last_record_is_refused(tmp_path, small_day_file):
    with open(small_day_file, "rb") as fh:
        plain = zstandard.ZstdDecompressor().stream_reader(fh).read()
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(plain[:-100])  # uncompressed: the reader thread reads the file itself
    with pytest.raises(Mbp10Error, match="partial record"):
        _blocks(cut, 2, 1_000)
    assert not _readers()


class _SlowReader:
    """A zstd reader whose every read waits a little: the caller then waits for blocks in the ring."""

    def __init__(self, reader, started: threading.Event):
        self.reader, self.started = reader, started

    def readinto(self, view):
        self.started.set()
        threading.Event().wait(0.01)
        return self.reader.readinto(view)


def test_ctrl_c_while_waiting_for_a_block_stops_the_reader(small_day_file):
    """SIGINT reaches the main thread while it waits for the reader: KeyboardInterrupt in the caller, and
    the reader thread is stopped and joined before the stream closes."""
    started = threading.Event()
    timer = None
    try:
        with pytest.raises(KeyboardInterrupt), DbnStream(small_day_file, chunk_records=100, ahead=2) as s:
            s._reader = _SlowReader(s._reader, started)

            def ctrl_c():
                started.wait(5)
                os.kill(os.getpid(), signal.SIGINT)

            timer = threading.Thread(target=ctrl_c)
            timer.start()
            for _ in s:
                pass
    finally:
        if timer is not None:
            timer.join()
    assert not _readers()


def test_an_error_in_the_callers_work_stops_the_reader(small_day_file):
    with (
        pytest.raises(RuntimeError, match="consumer failed"),
        DbnStream(small_day_file, chunk_records=1_000, ahead=2) as s,
    ):
        for i, _ in enumerate(s):
            if i == 5:
                raise RuntimeError("consumer failed")
    assert not _readers()


@pytest.mark.parametrize(("running", "threaded"), [(1, True), (2, False), (7, False)])
def test_day_bars_reads_ahead_only_with_a_core_to_spare(
    monkeypatch, tmp_path, small_day_file, running, threaded
):
    """`day_bars(ahead=None)` (the default) starts the reader thread only when fewer threads are runnable
    than cores (/proc/loadavg's count, the caller included); with every core busy it decodes in the caller's
    thread. Same bars either way."""
    from mbp10 import io
    from mbp10.pipeline import day_bars

    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"0.50 0.40 0.30 {running}/321 4242\n")
    monkeypatch.setattr(io, "LOADAVG", str(loadavg))
    monkeypatch.setattr(io, "CORES", 2)
    monkeypatch.setattr(io, "READ_AHEAD", 2)
    started = []
    ring = io._Ring
    monkeypatch.setattr(io, "_Ring", lambda *a: started.append(1) or ring(*a))
    bars, stats = day_bars(small_day_file)
    assert bool(started) == threaded and stats.read_ahead == (2 if threaded else 0)
    import perfkit

    assert perfkit.digest_table(bars) == perfkit.digest_table(day_bars(small_day_file, ahead=0)[0])


def test_an_unreadable_load_count_means_no_reader_thread(monkeypatch, tmp_path):
    from mbp10 import io

    monkeypatch.setattr(io, "LOADAVG", str(tmp_path / "missing"))
    assert not io.spare_core() and io.read_ahead() == 0


def _cut_after_a_flushed_block(tmp_path, small_day) -> Path:
    """The header and 20,000 records compressed, a block flushed, the frame's end left off: zstandard decodes
    it without an error, only the frames' walk (`dbn.FrameWalk`) refuses it."""
    import datetime as dt

    from mbp10.synth import synth_header

    c = zstandard.ZstdCompressor(level=3).compressobj()
    raw = c.compress(synth_header(dt.date(2024, 1, 2)) + small_day[:20_000].tobytes())
    path = tmp_path / "cut.dbn.zst"
    path.write_bytes(raw + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
    return path


@pytest.mark.parametrize("ahead", [0, 2])
def test_a_stream_cut_after_a_flushed_block_is_refused(tmp_path, small_day, ahead):
    """Without a reader thread the walk comes before the first block; with one, the caller walks while it
    waits for blocks: the same refusal either way, also over an error the caller met in a block first."""
    cut = _cut_after_a_flushed_block(tmp_path, small_day)
    with pytest.raises(Mbp10Error, match=r"frame 1 ends at byte .* without a last block"):
        _blocks(cut, ahead, 1_000)
    with (
        pytest.raises(Mbp10Error, match="without a last block"),
        DbnStream(cut, chunk_records=1_000, ahead=ahead) as s,
    ):
        for _ in s:
            raise Mbp10Error("the caller's own error")
    assert not _readers()


def test_the_frames_walk_in_steps_is_the_walk_in_one_go(tmp_path, small_day):
    """Two frames with a skippable frame between them, then (second file) bytes that are no frame: walked one
    block header a step (as the caller of a reader thread walks them) or at once, the same count and error."""
    from mbp10.dbn import FrameWalk, check_zstd_frames

    cctx = zstandard.ZstdCompressor(level=1)
    skippable = (0x184D2A5A).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
    good = tmp_path / "three.zst"
    good.write_bytes(cctx.compress(small_day[:3_000].tobytes()) + skippable + cctx.compress(b"x" * 100))
    bad = tmp_path / "tail.zst"
    bad.write_bytes(good.read_bytes() + b"garbage!")

    def in_steps(path) -> int:
        walk = FrameWalk(path)
        while not walk.step(1):
            pass
        return walk.frames

    assert in_steps(good) == check_zstd_frames(good) == 2
    messages = []
    for walk in (in_steps, check_zstd_frames):
        with pytest.raises(Mbp10Error, match="no zstd frame at byte") as e:
            walk(bad)
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_mbp10_bars_walks_the_frames_once(monkeypatch, tmp_path, small_day, small_day_file):
    """`probe` walks the frames before Numba is loaded; `day_bars` then takes its word for the same unchanged
    file (one walk, not two); a file changed since is walked again, and a cut one is still refused."""
    import shutil

    from click.testing import CliRunner
    from mbp10 import io
    from mbp10.cli import main

    walks = []

    class Counted(io.FrameWalk):
        def __init__(self, path) -> None:
            walks.append(path)
            super().__init__(path)

    monkeypatch.setattr(io, "FrameWalk", Counted)
    day = shutil.copy(small_day_file, tmp_path / "day.dbn.zst")
    out = tmp_path / "bars.parquet"
    r = CliRunner().invoke(main, ["bars", str(day), "-o", str(out), "--quiet"])
    assert r.exit_code == 0 and out.exists()
    assert len(walks) == 1
    probed = io.probe(day)
    with DbnStream(day, frames=probed.frames) as s:
        assert s._walk is None
    st = os.stat(day)
    os.utime(day, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # the file changed since its probe
    with DbnStream(day, frames=probed.frames) as s:
        assert s._walk is not None
    cut = _cut_after_a_flushed_block(tmp_path, small_day)
    r = CliRunner().invoke(main, ["bars", str(cut), "-o", str(tmp_path / "cut.parquet"), "--quiet"])
    assert r.exit_code == 2 and "without a last block" in r.output


def test_mbp10_run_walks_each_dates_frames_once(monkeypatch, tmp_path):
    """`run` probes every date's file in the parent (bad input refused before any worker starts); the bars
    task then takes that probe's word for the same unchanged file instead of walking its frames again."""
    import datetime as dt

    from click.testing import CliRunner
    from mbp10 import io
    from mbp10.cli import main
    from mbp10.dbn import write_dbn
    from mbp10.synth import synth_header, synth_instruments

    days = tmp_path / "days"
    days.mkdir()
    for d in (2, 3):
        date = dt.date(2024, 1, d)
        write_dbn(
            days / f"ES-{date}.dbn.zst",
            synth_header(date, ("ESH4",)),
            synth_instruments(date, 5_000, 1, ("ESH4",)),
        )
    walks = []

    class Counted(io.FrameWalk):
        def __init__(self, path) -> None:
            walks.append(Path(path).name)
            super().__init__(path)

    monkeypatch.setattr(io, "FrameWalk", Counted)
    args = ["run", "--input-dir", str(days), "--dates", "2024-01-02..2024-01-03", "--executor", "serial"]
    r = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert sorted(walks) == ["ES-2024-01-02.dbn.zst", "ES-2024-01-03.dbn.zst"]
