"""What package-level context could save the structural coder (issue 13 item 2): on an installed package's
Python, cut exactly as ``qyn1 pack`` plans it (solid groups of small files, 128 KiB chunks), the ideal size of
every stream of every chunk coded alone, and coded after a context text D -- the cost of the chunk given D is
``cost(D + C) - cost(D)``, stream by stream. The shipped rANS models are static: the only state a chunk
builds up is its name lists (move-to-front, successors), the match models' histories and the new names'
spellings, so this difference is what priming the coder with D's state would save (an upper bound for a
dictionary D stored once; exact up to the chunk's end-of-file token and rounding).

    uv run --frozen python benchmarks/qyn1_context.py --packages pandas,numba
    uv run --frozen python benchmarks/qyn1_context.py --packages pandas,numba --names-dict 300,1000,4000,16000
    uv run --frozen python benchmarks/qyn1_context.py --packages pandas,numba --cm --dict-kib 256,512
    uv run --frozen python benchmarks/qyn1_context.py --packages pandas --cm --python-max

Contexts D: ``prev1`` the previous chunk (128 KiB), ``prev4`` the previous four, ``dict256`` the first
256 KiB of the package's Python (a package dictionary of its own text). Besides, per chunk: its new names
(first occurrence in the chunk) and how many of them occur in an earlier chunk of the package. Sizes only
(no timing): ideal bits from the shipped models, as ``benchmarks/qyn1_heldout.py --streams``.

With ``--names-dict N,...``, the brief's names dictionary: the N identifiers found in the most chunks, one per
line, coded once, and every chunk coded after it (its name lists primed: ranks by how widespread a name is).

With ``--cm``, the same question for the adaptive cm coder (``qyn1.cm``): each chunk coded by cm started from
the shipped primed model that has also read a package dictionary (``firstN``: the package's first N KiB of
Python, whole chunks, no copy to store; ``spreadN``: the first N KiB / n of each of the n chunks; ``coverN``:
zstd's COVER-trained dictionary of 8 KiB samples; the last two stored apart, their cm size counted), and the
package's Python bytes under per-chunk rules: the default choice as it is, cm-with-dictionary where it wins by
size alone, under the default preset's rule (zstd probe gate + ``CM_PYTHON_MARGIN``), and where it is m times
smaller than the structural payload (with how many chunks then decode through cm). Exact sizes.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sysconfig
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from qyn1 import codec, pipeline

from perfkit import bench

SITE = Path(sysconfig.get_paths()["purelib"])
CHUNK = 128 << 10
DICT_BYTES = 256 << 10
_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def package_chunks(folder: Path, chunk: int = CHUNK) -> list[bytes]:
    """The package's Python chunks, as ``qyn1 pack`` cuts them (UTF-8 runs of each block, 128 KiB chunks)."""
    out = []
    for b in pipeline.plan_blocks(pipeline.collect_sources([folder]), chunk):
        if b.python:
            for run in pipeline.text_runs([Path(f.source).read_bytes() for f in b.files]):
                out += [p for p in codec.split_chunks(run, chunk, at_lines=True) if pipeline._is_utf8(p)]
    return out


def stream_costs(text: str) -> dict[str, float]:
    """Ideal bytes of each stream of ``text`` coded alone by the structural coder."""
    from qyn1.python import pipeline as pe

    v, models = pe.vocab(), pe._models()
    st = pe.analyze(text, v)
    costs = {}
    for name in pe.STREAMS:
        syms, ext = st[name]
        if len(syms):
            m, coded, rows = pe._coded(name, models[name], syms, ext)
            bits = len(coded) * m.scale_bits - np.log2(m.freq[rows, coded].astype(np.float64)).sum()
            costs[name] = bits / 8
    costs["extra bits"] = st["_extra"][1].sum() / 8
    return costs


def _work(task) -> dict:
    i, chunks, dict_text = task
    c = chunks[i].decode("utf-8")
    row = {"alone": stream_costs(c)}
    contexts = {
        "prev1": b"".join(chunks[max(0, i - 1) : i]),
        "prev4": b"".join(chunks[max(0, i - 4) : i]),
        "dict256": dict_text if i > 0 else b"",
    }
    for key, d in contexts.items():
        if not d:
            row[key] = row["alone"]
            continue
        d_text = d.decode("utf-8", errors="strict")
        if not d_text.endswith("\n"):
            d_text += "\n"
        both, alone = stream_costs(d_text + c), stream_costs(d_text)
        row[key] = {k: both.get(k, 0.0) - alone.get(k, 0.0) for k in both}
    return row


def primed_state(context: bytes):
    """The shipped primed cm model after it has also read ``context`` (a package dictionary): its contexts,
    mixer and match history all continue over it; chunks start from a copy."""
    from qyn1.cm import kernels, model

    base = model.primed(model.PRIMER_TEXT)
    s = model._copy(base, len(context))
    s.buf[base.start :] = np.frombuffer(context, np.uint8)
    if context:
        kernels.code(
            kernels.PRIME,
            s.buf,
            base.start,
            len(s.buf),
            s.buf[:0],
            s.buf[:0],
            *s.arrays(),
            kernels.coder_state(),
        )
    s.start = len(s.buf)
    return s


def cm_size(data: bytes, state) -> int:
    """Bytes of a cm chunk body for ``data`` started from a copy of ``state`` (:func:`primed_state`)."""
    from qyn1.cm import kernels, model

    s = model._copy(state, len(data))
    s.buf[s.start :] = np.frombuffer(data, np.uint8)
    out = np.empty(len(data) + 8, np.uint8)
    ac = kernels.coder_state()
    ac[kernels.AC_FINAL] = 1
    n = kernels.code(kernels.ENCODE, s.buf, s.start, len(s.buf), s.buf[:0], out, *s.arrays(), ac)
    return n + 2 if n >= 0 else len(data) + 2


def _cut(data: bytes, n: int) -> bytes:
    data = data[:n]
    return data[: data.rfind(b"\n") + 1]


def dictionaries(chunks: list[bytes], kib: list[int]) -> dict[str, tuple[bytes, int]]:
    """Candidate package dictionaries: name -> (text, chunks it holds whole: coded as they are, not again).
    ``firstN`` the package's first N KiB of Python in plan order (whole chunks: no separate copy to store);
    ``spreadN`` the first N KiB / n of every chunk; ``coverN`` zstd's COVER-trained dictionary of 8 KiB samples
    (both stored apart: their cm size is counted)."""
    import zstandard

    out = {}
    for k in kib:
        n, size = 0, 0
        while n < len(chunks) and size + len(chunks[n]) <= (k << 10):
            size += len(chunks[n])
            n += 1
        out[f"first{k}"] = (b"".join(chunks[:n]), n)
        per = (k << 10) // len(chunks)
        out[f"spread{k}"] = (b"".join(_cut(c, per) for c in chunks), 0)
        samples = [c[j : j + 8192] for c in chunks for j in range(0, len(c), 8192)]
        d = zstandard.train_dictionary(k << 10, samples, k=1024, d=8, threads=2)
        out[f"cover{k}"] = (d.as_bytes(), 0)
    return out


_STATES: dict = {}
_PYTHON_CM = [False]


def _cm_init(dicts: dict[str, tuple[bytes, int]], python_cm: bool) -> None:
    _PYTHON_CM[0] = python_cm
    _STATES.update({name: (primed_state(text), n) for name, (text, n) in dicts.items()})
    _STATES[""] = (primed_state(b""), 0)


def _cm_work(task) -> dict:
    """Per chunk: structural, zstd-3 probe, the default choice, cm, and cm after each dictionary."""
    i, c = task
    row = {
        "structural": len(codec.encode_chunk(c, python=True, general=False)),
        "probe": len(codec._probe(c)) + 1,
        "choice": len(codec.encode_chunk(c, python_cm=_PYTHON_CM[0])),
        "cm": cm_size(c, _STATES[""][0]),
    }
    for name, (state, n) in _STATES.items():
        if name:
            row[name] = None if i < n else cm_size(c, state)
    return row


def policies(rows: list[dict], dict_cost: dict[str, int]) -> dict[str, int]:
    """Package Python bytes under per-chunk rules: the choice as it is; each dictionary's cm where it wins by
    size alone, or only where the zstd probe admits cm and cm is ``CM_PYTHON_MARGIN`` smaller (the default
    preset's rule), plus the dictionary's own cost."""
    out = {"choice": sum(r["choice"] for r in rows), "structural": sum(r["structural"] for r in rows)}
    for name, cost in dict_cost.items():
        by_size = margin = cost
        n_cm = 0
        for r in rows:
            x = r[name]
            if x is None:  # the chunk is part of the dictionary: coded as it is
                by_size += r["choice"]
                margin += r["choice"]
                continue
            by_size += min(r["choice"], x)
            admitted = r["probe"] < codec.PROBE_MARGIN * r["structural"]
            ok = admitted and x * codec.CM_PYTHON_MARGIN <= r["structural"]
            margin += min(r["choice"], x) if ok else r["choice"]
            n_cm += ok and x < r["choice"]
        out[f"{name} by size"] = by_size
        out[f"{name} default rule"] = margin
        out[f"{name} default rule: chunks cm-dict"] = n_cm
    return out


def margin_curve(rows: list[dict], dict_cost: dict[str, int], margins=(1.0, 1.1, 1.25, 1.5, 2.0)) -> dict:
    """Each dictionary's cm wherever it is ``m`` times smaller than the structural payload (no probe gate):
    the package's Python bytes and how many chunks decode through cm (each ~30x a structural chunk's time)."""
    out = {}
    for name, cost in dict_cost.items():
        for m in margins:
            total, n_cm = cost, 0
            for r in rows:
                x = r[name]
                if x is not None and x * m <= r["structural"] and x < r["choice"]:
                    total += x
                    n_cm += 1
                else:  # the chunk keeps the default choice (a dictionary chunk, or cm-dict not admitted)
                    total += r["choice"]
            out[f"{name} margin {m}"] = total
            out[f"{name} margin {m}: chunks cm-dict"] = n_cm
    return out


def names_dictionary(chunks: list[bytes], n: int) -> str:
    """A package names dictionary as text the structural coder can be primed with: the ``n`` identifiers found
    in the most chunks (at least two), one per line, the most widespread last (so the most recent in the
    coder's move-to-front lists: ranks follow how widespread a name is in the package)."""
    from collections import Counter

    count: Counter = Counter()
    for c in chunks:
        count.update(set(_NAME.findall(c)))
    common = [(k, w) for w, k in count.items() if k >= 2 and not keyword.iskeyword(w.decode())]
    common.sort(key=lambda kw: (-kw[0], kw[1]))
    return "".join(w.decode() + "\n" for _, w in reversed(common[:n]))


def _names_work(task) -> dict:
    chunk, dicts = task
    c = chunk.decode("utf-8")
    row = {"alone": sum(stream_costs(c).values())}
    for key, (d, d_cost) in dicts.items():
        row[key] = sum(stream_costs(d + c).values()) - d_cost
    return row


def name_reuse(chunks: list[bytes]) -> tuple[int, int, int, int]:
    """(distinct names summed over chunks, of them seen in an earlier chunk, their bytes, bytes of those seen)."""
    seen: set[bytes] = set()
    n = n_seen = b = b_seen = 0
    for c in chunks:
        names = set(_NAME.findall(c))
        n += len(names)
        b += sum(map(len, names))
        old = names & seen
        n_seen += len(old)
        b_seen += sum(map(len, old))
        seen |= names
    return n, n_seen, b, b_seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", default="pandas,numba")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--max-chunks", type=int, default=0, help="only every k-th chunk so that at most this many"
    )
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--cm", action="store_true", help="the cm coder primed with package text instead")
    ap.add_argument(
        "--python-max", action="store_true", help="the python-max preset: 1 MiB chunks, cm by size"
    )
    ap.add_argument("--dict-kib", default="256,512", help="dictionary sizes (with --cm)")
    ap.add_argument(
        "--names-dict", default="", help="sizes of a names dictionary the structural coder reads first"
    )
    args = ap.parse_args()
    for name in args.packages.split(","):
        chunks = package_chunks(SITE / name, (1 << 20) if args.python_max else CHUNK)
        dict_text = b"".join(chunks)[:DICT_BYTES]
        dict_text = dict_text[: dict_text.rfind(b"\n") + 1]
        idx = list(range(len(chunks)))
        if args.max_chunks and len(idx) > args.max_chunks:
            idx = idx[:: -(-len(idx) // args.max_chunks)]
        if args.names_dict:
            dicts = {f"names{k}": names_dictionary(chunks, int(k)) for k in args.names_dict.split(",")}
            cost = {k: sum(stream_costs(d).values()) for k, d in dicts.items()}
            with Pool(args.workers) as pool:
                both = {k: (d, cost[k]) for k, d in dicts.items()}
                rows = pool.map(_names_work, [(c, both) for c in chunks], chunksize=1)
            alone = sum(r["alone"] for r in rows)
            size = sum(map(len, chunks))
            print(
                f"{name}: {len(chunks)} chunks, {size:,} B of Python; structural alone {alone:,.0f} B (ideal)"
            )
            out = {"alone": alone}
            for k in dicts:
                total = cost[k] + sum(r[k] for r in rows)
                out[k] = total
                print(
                    f"  primed with {k:<12} dictionary {cost[k]:10,.0f} B + chunks {total - cost[k]:12,.0f} B"
                    f" = {total:12,.0f} B  {100 * (total / alone - 1):+6.1f} %"
                )
            if not args.no_record:
                bench.record(
                    "qyn1",
                    "qyn1/context-names",
                    {"package": name, "chunks": len(chunks), "bytes": size, "dictionary_cost": cost, **out},
                )
            continue
        if args.cm:
            dicts = dictionaries(chunks, [int(k) for k in args.dict_kib.split(",")])
            cost = {k: 0 if n else cm_size(d, primed_state(b"")) for k, (d, n) in dicts.items()}
            with Pool(args.workers, initializer=_cm_init, initargs=(dicts, args.python_max)) as pool:
                rows = pool.map(_cm_work, [(i, chunks[i]) for i in range(len(chunks))], chunksize=1)
            sums = policies(rows, cost)
            sums.update(margin_curve(rows, cost))
            size = sum(map(len, chunks))
            print(f"{name}: {len(chunks)} chunks, {size:,} B of Python; dictionary costs {cost}")
            for k, x in sums.items():
                rel = "" if k.endswith("cm-dict") else f" {100 * (x / sums['choice'] - 1):+6.1f} % vs choice"
                print(f"  {k:<40}{x:12,}{rel}")
            if not args.no_record:
                bench.record(
                    "qyn1",
                    "qyn1/context-cm",
                    {
                        "package": name,
                        "chunks": len(chunks),
                        "bytes": size,
                        "dictionary_cost": cost,
                        "python_max": args.python_max,
                        **sums,
                    },
                )
            continue
        with Pool(args.workers) as pool:
            rows = pool.map(_work, [(i, chunks, dict_text) for i in idx], chunksize=1)
        totals: dict[str, dict[str, float]] = {}
        for r in rows:
            for key, costs in r.items():
                t = totals.setdefault(key, {})
                for s, x in costs.items():
                    t[s] = t.get(s, 0.0) + x
        n, n_seen, b, b_seen = name_reuse(chunks)
        size = sum(len(chunks[i]) for i in idx)
        print(f"{name}: {len(idx)} of {len(chunks)} chunks, {size:,} B of Python")
        print(
            f"  distinct names per chunk: {n:,}, of them in an earlier chunk {n_seen:,} ({100 * n_seen / n:.1f} %),"
            f" bytes {b:,} / {b_seen:,}"
        )
        keys = list(totals)
        print(f"  {'stream':<12}" + "".join(f"{k:>14}" for k in keys))
        streams = sorted(totals["alone"], key=lambda s: -totals["alone"][s])
        for s in streams:
            print(f"  {s:<12}" + "".join(f"{totals[k].get(s, 0.0):14,.0f}" for k in keys))
        sums = {k: sum(totals[k].values()) for k in keys}
        print(f"  {'total':<12}" + "".join(f"{sums[k]:14,.0f}" for k in keys))
        print("  vs alone   " + "".join(f"{100 * (sums[k] / sums['alone'] - 1):13.1f}%" for k in keys))
        if not args.no_record:
            bench.record(
                "qyn1",
                "qyn1/context",
                {
                    "package": name,
                    "chunks": len(idx),
                    "bytes": size,
                    "streams": totals,
                    "totals": sums,
                    "names": [n, n_seen, b, b_seen],
                },
            )


if __name__ == "__main__":
    main()
