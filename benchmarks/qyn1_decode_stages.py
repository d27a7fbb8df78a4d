"""Where the structural decoder's CPU goes, stage by stage: a profile of ``qyn1.python.decode``'s batch kernel.

    uv run --frozen python benchmarks/qyn1_decode_stages.py [--rounds 7]

The chunks are those of ``benchmarks/qyn1_decode_speed.py`` (every 128 KiB ``python`` chunk of every 8th held-out
stdlib file), decoded in batches of 64 as the unpack path does. The kernel is copied from ``decode.py`` into a
temporary module with one more argument, ``stop``: the copy returns after the stage ``stop`` names (or skips the
rest of a stage's chunk loop for a sub-stage), so the time of stage k is the time to stop after k minus the
time to stop before it. Stops are timed in one process, in alternating order, best of 3 passes each, median
over ``--rounds``; the full copy is checked to give the shipped kernel's bytes. The copy compiles without the
Numba cache (~20 s). A marker the copy needs that is missing from ``decode.py`` stops the script: update
``_STOPS`` with the kernel. Exploratory: the shares are the figure, the MB/s moves with the host's load.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path

import numpy as np

_RETURN = "    if stop < {k}:\n        return [none for _ in range(nc)], err\n"
_SKIP = "        if stop == {k}:\n            continue\n"
# (stop, stage name, marker in decode.py, code, before or after the marker)
_STOPS = [
    (5, "header", "    # kinds, then the contexts", _RETURN.format(k=10), "before"),
    (
        15,
        "kinds (match model)",
        "t_kinds, kinds)\n",
        _SKIP.format(k=15),
        "after",
    ),
    (19, "kind contexts (layout._kind_contexts)", "    ws_line_l = [i32", _RETURN.format(k=20), "before"),
    (29, "ws_line, ws_mid (rows)", "    strkind_l = [i32", _RETURN.format(k=30), "before"),
    (39, "strkind (match)", "    # the three text streams", _RETURN.format(k=40), "before"),
    (49, "text0-2 (match)", "    # every name occurrence", _RETURN.format(k=50), "before"),
    (55, "name occurrences", "        extra = data[be[c] : starts[c + 1]]\n", _SKIP.format(k=55), "after"),
    (59, "names stream", "    # spell items: layout", _RETURN.format(k=60), "before"),
    (
        65,
        "spell (match)",
        "        sbytes, s_start, s_end, item_len, ok = _spell_items(spell)\n",
        _SKIP.format(k=65),
        "before",
    ),
    (
        69,
        "spell items, whitespace lengths, counts",
        "    # new names from the morpheme",
        _RETURN.format(k=70),
        "before",
    ),
    (
        79,
        "morph0-5 (buckets), morphx (rows)",
        "    # the names spelled, the last checks",
        _RETURN.format(k=80),
        "before",
    ),
    (
        85,
        "new names (names._new_names_kernel)",
        "        if rp[c] != data[bs[c] : be[c]].shape[0] or x0[c] != lo or x1[c] != lo:\n",
        _SKIP.format(k=85),
        "before",
    ),
    (90, "detokeniser (WRITE16) and last checks", None, "", ""),
]


def staged_kernel(folder: str):
    """``decode._decode_batch_kernel`` with a ``stop`` argument, compiled from a copy in ``folder``."""
    from qyn1.python import decode

    src = Path(decode.__file__).read_text()
    src = src.replace("numba_cache.depend_on(", "(lambda *a, **k: None)(", 1)
    src = src.replace("    t_voc,\n):", "    t_voc,\n    stop,\n):", 1)
    for _, name, marker, code, where in _STOPS:
        if marker is None:
            continue
        if src.count(marker) != 1:
            sys.exit(
                f"error: decode.py changed: the marker of stage '{name}' is not found once; update _STOPS"
            )
        src = src.replace(marker, marker + code if where == "after" else code + marker)
    src = src.replace("cache=True", "cache=False")
    path = Path(folder) / "qyn1_decode_stages_copy.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("qyn1_decode_stages_copy", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod._decode_batch_kernel


def batches(every: int, size: int) -> tuple[list, int]:
    sys.path.insert(0, str(Path(__file__).parent))
    from qyn1_decode_speed import held_out_python_chunks

    chunks = [(payload[1:], n) for payload, n in held_out_python_chunks(every)]
    out = []
    for i in range(0, len(chunks), size):
        bodies = [b for b, _ in chunks[i : i + size]]
        limits = np.array([n for _, n in chunks[i : i + size]], dtype=np.int64)
        starts = np.fromiter(accumulate(map(len, bodies), initial=0), dtype=np.int64, count=len(bodies) + 1)
        out.append((np.frombuffer(b"".join(bodies), dtype=np.uint8), starts, limits))
    return out, sum(n for _, n in chunks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    from qyn1.python import decode

    t = decode.tables()
    if t is None:
        sys.exit("error: the shipped tables do not take the fused decoder's routes")
    work, total = batches(args.every, args.batch)
    with tempfile.TemporaryDirectory() as folder:
        kernel = staged_kernel(folder)

        def run(stop: int) -> None:
            for data, starts, limits in work:
                _, err = kernel(data, starts, limits, *t, stop)
                assert not err.any()

        for data, starts, limits in work:  # the copy decodes as the shipped kernel does
            mine, _ = kernel(data, starts, limits, *t, 90)
            theirs, _ = decode._decode_batch_kernel(data, starts, limits, *t)
            assert all(a.tobytes() == b.tobytes() for a, b in zip(mine, theirs, strict=True))
        stops = [s[0] for s in _STOPS]
        times: dict[int, list[float]] = {s: [] for s in stops}
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for r in range(args.rounds):
            for stop in stops if r % 2 == 0 else stops[::-1]:
                best = float("inf")
                for _ in range(3):
                    c0 = time.thread_time()
                    run(stop)
                    best = min(best, time.thread_time() - c0)
                times[stop].append(best)
    med = {s: statistics.median(v) * 1e3 for s, v in times.items()}
    print(
        f"{sum(len(s) for _, s, _ in work) - len(work)} chunks, {total / 1e6:.2f} MB of held-out source, "
        f"batches of {args.batch}; thread CPU ms per pass (median of {args.rounds} rounds, best of 3)"
    )
    print("| stage | ms per pass | share |\n| --- | ---: | ---: |")
    prev = 0.0
    for stop, name, *_ in _STOPS:
        d = med[stop] - prev
        print(f"| {name} | {d:.2f} | {100 * d / med[90]:.1f} % |")
        prev = med[stop]
    print(f"| all | {med[90]:.2f} | {total / 1e6 / (med[90] / 1e3):.1f} MB/s |")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
