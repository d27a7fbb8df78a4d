"""Gold setup vectors: one fixed-length float32 vector per touch, and nearest-neighbour search over them.

vector = [the last LAST_BARS bars of the approach window, each with BAR_FEATURES standardised by the mean and
standard deviation of the day's bars up to the touch bar (distance in units of reset_pts), then the signature
aggregates (distances / reset_pts, flow totals as sign(x) * log1p(|x|), wall maxima, bar count / W,
direction)]. Point in time: nothing after the touch bar enters a vector, and `nearest` sees only candidates
decided by its cut, standardised over themselves.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mbp10.approach import FLOW, GRIDS, STATE, WINDOW, day_series, integers, prefix, sums_before
from mbp10.episodes import gather_rows
from mbp10.errors import Mbp10Error
from mbp10.schema import BAR_NS

LAST_BARS = 12
BAR_FEATURES = (
    "dist_pts",
    "signed_vol",
    "trade_vol",
    "ofi_l1",
    "ofi_l10",
    "imbal_l1",
    "flow_bid_p0_1",
    "flow_ask_p0_1",
)
assert set(BAR_FEATURES) <= {"dist_pts", *GRIDS, *STATE}  # `day_series` holds each of them bar by bar
DIM = LAST_BARS * len(BAR_FEATURES) + 3 + len(FLOW) + 2 + 2


def _expanding_stats(
    x: np.ndarray,
    row: np.ndarray,
    at: np.ndarray,
    before: np.ndarray | None = None,
    ints: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the non-NaN values of `x[row, 0..t]` for every t in `at` (sd 1 where
    it is 0 or undefined; `x`: one grid row per instrument, `row` each touch's): a touch at bar t is
    standardised with what was known when bar t ended, never the whole day. `before`: x's prefix sums
    (`approach.prefix`), used when x has no NaN (a flow series): the same sums, not taken twice. `ints`: x
    as int64 (`approach.integers`); below 2**26 in magnitude their squares are exact in float64, so their
    sums are taken as `approach.sums_before` takes them (the same bits, without a float add chain)."""
    ok = ~np.isnan(x)
    if before is not None and ok.all():
        v, n, s1 = x, at + 1, before[row, at + 1]
    else:
        v = np.where(ok, x, 0.0)
        n = np.cumsum(ok, axis=1)[row, at]
        s1 = np.cumsum(v, axis=1)[row, at]
    if ints is not None and ints.size and ints.min() > -(2**26) and ints.max() < 2**26:
        s2 = sums_before(ints * ints)[row, at + 1]
    else:
        s2 = np.cumsum(v * v, axis=1)[row, at]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / np.maximum(n, 1), 0.0)
        var = np.where(n > 0, s2 / np.maximum(n, 1) - mean * mean, 0.0)
    sd = np.sqrt(np.maximum(var, 0.0))
    return mean, np.where(sd > 1e-12, sd, 1.0)


def slog(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def compute_vectors(
    bars: pa.Table,
    episodes: pa.Table,
    approach: pa.Table,
    signature: pa.Table,
    reset_pts: float,
    day: tuple | None = None,
    inst: np.ndarray | None = None,
) -> pa.Table:
    """The vectors of one instrument's touches; several instruments' at once with `day` = `approach.day_series`
    of their bars and `inst` = each touch's row in it (`bars` is then unused; as in `compute_approach`)."""
    if not (math.isfinite(reset_pts) and reset_pts > 0):
        raise Mbp10Error(f"reset_pts={reset_pts!r}: must be a positive, finite number of points")
    dense, series = day if day is not None else day_series([bars])
    n = episodes.num_rows
    t = episodes.column("touch_bar").to_numpy()
    row = np.repeat(np.zeros(n, np.int64) if inst is None else inst, LAST_BARS)
    last = approach.filter(pc.greater(approach.column("rel_bar"), -LAST_BARS))
    # grid bar of each of the last LAST_BARS approach rows (approach rows are touch-major, rel_bar ascending)
    g = (last.column("bar_start_ns").to_numpy() - dense.t0_ns[row]) // BAR_NS
    blocks = []
    for name in BAR_FEATURES:
        if name == "dist_pts":
            x = last.column("dist_pts").to_numpy() / reset_pts
        else:
            at = np.repeat(t, LAST_BARS)  # every bar of a touch's window scaled by the stats at its touch bar
            mean, sd = _expanding_stats(
                series[name], row, at, series.get(prefix(name)), series.get(integers(name))
            )
            x = (gather_rows(series[name], dense.n, row, g) - mean) / sd if len(at) else np.empty(0)
        blocks.append(x.reshape(n, LAST_BARS))
    bar_part = np.stack(blocks, axis=2).reshape(n, LAST_BARS * len(BAR_FEATURES))  # touches x (bar, feature)
    sig = [
        signature.column(c).to_numpy().astype(np.float64) / reset_pts
        for c in ("sig_dist_start", "sig_dist_min", "sig_dist_max")
    ]
    sig += [slog(signature.column(f"sig_{k}_total").to_numpy()) for k in FLOW]
    sig += [signature.column(c).to_numpy() for c in ("sig_wall_bid_maxz_max", "sig_wall_ask_maxz_max")]
    sig += [
        signature.column("sig_bar_count").to_numpy() / WINDOW,
        signature.column("sig_direction").to_numpy().astype(np.float64),
    ]
    vec = np.concatenate([bar_part, np.stack(sig, axis=1) if n else np.empty((0, len(sig)))], axis=1)
    vec = np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    assert vec.shape[1] == DIM or n == 0
    flat = pa.array(vec.reshape(-1), type=pa.float32())
    return pa.table(
        {
            "touch_id": episodes.column("touch_id"),
            "date": episodes.column("date"),
            "level_kind": episodes.column("level_kind"),
            "level_price": episodes.column("level_price"),
            "direction": episodes.column("direction"),
            "outcome": episodes.column("outcome"),
            "decision_ns": episodes.column("decision_ns"),
            "outcome_known_ns": episodes.column("outcome_known_ns"),
            "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
        }
    )


def _matrix(library: pa.Table) -> np.ndarray:
    col = library.column("vector")
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    # flatten() leaves null vectors out, and a list column (a pandas round trip) may be ragged: either way
    # the rows of the reshaped matrix would shift against their touch ids
    ragged = (
        not pa.types.is_fixed_size_list(col.type)
        and len(col)
        and pc.count_distinct(pc.list_value_length(col)).as_py() > 1
    )
    if col.null_count or ragged:
        raise Mbp10Error(
            f"vectors: {col.null_count} null vectors{', vectors of different lengths' if ragged else ''}; "
            "every row needs a vector of the same length"
        )
    return col.flatten().to_numpy(zero_copy_only=False).reshape(library.num_rows, -1).astype(np.float64)


def nearest(library: pa.Table, touch_id: int, k: int = 10, as_of_ns: int | None = None) -> pa.Table:
    """The k setups nearest to `touch_id`, point in time.

    Candidates are only touches decided by the cut: by default the start of the query's session (its
    `date`: neighbours come from strictly earlier sessions), or `as_of_ns`, which may not be later than the
    query's own decision time (the end of its touch bar); outcomes count as known at the query's decision
    time, or at `as_of_ns`. Each dimension is standardised over those
    candidates alone (not the whole library, which holds later days), Euclidean distance, ties by touch_id.
    An outcome not yet known at the cut is null (`outcome_known` false). Columns: the library's (without
    the vector), `distance`, `outcome_known`.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:  # k=-3 sliced off the last 3
        raise Mbp10Error(f"k={k!r}: the number of neighbours must be a whole number of at least 1")
    if pa.types.is_timestamp(library.schema.field("decision_ns").type):  # a table as written (`io.typed`)
        from mbp10.io import plain

        library = plain(library)
    ids = library.column("touch_id").to_numpy()
    hit = np.nonzero(ids == touch_id)[0]
    if len(hit) == 0:
        raise KeyError(touch_id)
    if len(hit) > 1:  # two libraries concatenated (another run of the same date): which touch is meant?
        raise Mbp10Error(
            f"touch_id {touch_id} is in the library {len(hit)} times (vectors of the same date from two runs?); "
            "a library holds each touch once"
        )
    q = int(hit[0])
    decision = library.column("decision_ns").to_numpy()
    dates = np.asarray(library.column("date").to_pylist(), dtype=object)
    if as_of_ns is None:
        session = dates[q]
        pool = np.array([d < session for d in dates], dtype=bool)
        cut = int(decision[q])  # outcomes known when the query is decided
    else:
        if as_of_ns > decision[q]:
            raise Mbp10Error(
                f"--as-of is after touch {touch_id}'s decision time ({_iso(int(decision[q]))}): "
                "that would look ahead"
            )
        pool = decision <= as_of_ns
        cut = as_of_ns
    pool[q] = False
    cand = np.flatnonzero(pool)
    vec = _matrix(library)
    ref = vec[cand] if len(cand) else vec[[q]]
    mean, sd = ref.mean(axis=0), ref.std(axis=0)
    z = (vec - mean) / np.where(sd > 0, sd, 1.0)
    d = np.sqrt(((z[cand] - z[q]) ** 2).sum(axis=1))
    pick = np.lexsort((ids[cand], d))[:k]
    out = library.take(pa.array(cand[pick], pa.int64())).drop_columns(["vector"])
    known = out.column("outcome_known_ns").to_numpy() <= cut
    outcome = pa.array(
        [o if ok else None for o, ok in zip(out.column("outcome").to_pylist(), known, strict=True)],
        pa.string(),
    )
    out = out.set_column(out.column_names.index("outcome"), "outcome", outcome)
    out = out.append_column("outcome_known", pa.array(known, pa.bool_()))
    return out.append_column("distance", pa.array(d[pick], pa.float64()))


def _iso(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
