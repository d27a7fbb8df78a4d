"""Gold setup vectors: one fixed-length float32 vector per touch, and nearest-neighbour search over them.

vector = [the last LAST_BARS bars of the approach window, each with BAR_FEATURES standardised by the day's
per-bar mean and standard deviation (distance in units of reset_pts), then the signature aggregates
(distances / reset_pts, flow totals as sign(x) * log1p(|x|), wall maxima, bar count / W, direction)].
`similar` re-standardises each dimension over the whole library before the Euclidean distance.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mbp10.approach import FLOW, WINDOW, day_series
from mbp10.episodes import gather
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
DIM = LAST_BARS * len(BAR_FEATURES) + 3 + len(FLOW) + 2 + 2


def _day_stats(series: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    out = {}
    for name in BAR_FEATURES:
        if name == "dist_pts":
            continue
        x = series[name]
        x = x[~np.isnan(x)]
        mean = float(x.mean()) if len(x) else 0.0
        sd = float(x.std()) if len(x) else 0.0
        out[name] = (mean, sd if sd > 0 else 1.0)
    return out


def slog(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def compute_vectors(
    bars: pa.Table, episodes: pa.Table, approach: pa.Table, signature: pa.Table, reset_pts: float
) -> pa.Table:
    if not (math.isfinite(reset_pts) and reset_pts > 0):
        raise Mbp10Error(f"reset_pts={reset_pts!r}: must be a positive, finite number of points")
    dense, series = day_series(bars)
    stats = _day_stats(series)
    n = episodes.num_rows
    last = approach.filter(pc.greater(approach.column("rel_bar"), -LAST_BARS))
    # grid bar of each of the last LAST_BARS approach rows (approach rows are touch-major, rel_bar ascending)
    g = (last.column("bar_start_ns").to_numpy() - dense.t0_ns) // BAR_NS
    blocks = []
    for name in BAR_FEATURES:
        if name == "dist_pts":
            x = last.column("dist_pts").to_numpy() / reset_pts
        else:
            mean, sd = stats[name]
            x = (gather(series[name], g) - mean) / sd
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
            "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
        }
    )


def nearest(library: pa.Table, touch_id: int, k: int = 10) -> pa.Table:
    """The k touches nearest to `touch_id` (itself excluded) by Euclidean distance after standardising
    each dimension over the library; ties broken by touch_id."""
    ids = library.column("touch_id").to_numpy()
    hit = np.nonzero(ids == touch_id)[0]
    if len(hit) == 0:
        raise KeyError(touch_id)
    vec = (
        library.column("vector")
        .combine_chunks()
        .flatten()
        .to_numpy()
        .reshape(len(ids), -1)
        .astype(np.float64)
    )
    mean, sd = vec.mean(axis=0), vec.std(axis=0)
    z = (vec - mean) / np.where(sd > 0, sd, 1.0)
    d = np.sqrt(((z - z[hit[0]]) ** 2).sum(axis=1))
    d[hit[0]] = np.inf
    order = np.lexsort((ids, d))[: min(k, len(ids) - 1)]
    out = library.take(pa.array(order)).drop_columns(["vector"])
    return out.append_column("distance", pa.array(d[order]))
