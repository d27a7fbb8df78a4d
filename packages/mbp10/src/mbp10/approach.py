"""Approach features of each touch: grouped array operations over a (touches x window) index matrix.

For touch i at grid bar t_i the approach window is the W bars ending at t_i (rel_bar -(W-1)..0). Per bar:
cumulative sums of the flow features from the window start, rates (rolling sums over k in {3, 12, 36}
bars, per second), first and second differences over k bars of the approach-signed distance and the L1
imbalance. Per touch: the setup signature (start/min/max distance, flow totals, wall maxima, bar count).
No per-touch Python loop: day-level prefix sums are gathered with one fancy index. The per-touch loop
twin is `mbp10.reference.approach_reference`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mbp10.bar_columns import SIDES
from mbp10.episodes import DenseBars, gather_rows
from mbp10.io import np_to_arrow
from mbp10.schema import BANDS, BAR_NS

WINDOW = 36
DIFF_LAGS = (3, 12, 36)
BAR_SECONDS = BAR_NS / 1e9

#: Per-bar flow features (zero in empty bars): short name -> bar5s column.
FLOW = {
    "trade_vol": "bar5s_trade_vol_sum",
    "trade_cnt": "bar5s_trade_cnt_sum",
    "signed_vol": "bar5s_trade_signed_vol_sum",
    "aggbuy_vol": "bar5s_trade_aggbuy_vol_sum",
    "aggsell_vol": "bar5s_trade_aggsell_vol_sum",
    "msg_cnt": "bar5s_meta_msg_cnt_sum",
    "add_cnt": "bar5s_meta_add_cnt_sum",
    "cancel_cnt": "bar5s_meta_cancel_cnt_sum",
    "fill_cnt": "bar5s_meta_fill_cnt_sum",
    "ofi_l1": "bar5s_ofi_l1_sum",
    "ofi_l10": "bar5s_ofi_l10_sum",
    **{f"flow_{s}_{b}": f"bar5s_flow_net_vol_{s}_{b}_sum" for s in SIDES for b, _, _ in BANDS},
}
#: Book-state features (carried forward over empty bars).
STATE = {
    "mid": "bar5s_book_mid_px_eob",
    "imbal_l1": "bar5s_depth_imbal_l1_eob",
    "wall_bid_maxz": "bar5s_wall_bid_maxz_eob",
    "wall_ask_maxz": "bar5s_wall_ask_maxz_eob",
}
#: Flow series whose per-bar values are read (the vectors' bar features), not only their prefix sums.
GRIDS = ("trade_vol", "signed_vol", "ofi_l1", "ofi_l10", "flow_bid_p0_1", "flow_ask_p0_1")
RATE = ("trade_vol", "msg_cnt", "signed_vol", "ofi_l1")
DIFF = ("dist_pts", "imbal_l1")


def prefix(short: str) -> str:
    """The `day_series` key of a flow series' prefix sums: [:, j] = the sum of a row's bars before j (one
    sequential cumsum per row: each instrument's sums are those of its own day alone)."""
    return f"{short}_before"


def integers(short: str) -> str:
    """The `day_series` key of a flow series as int64, where its column holds integers."""
    return f"{short}_int"


def values(short: str) -> str:
    """The `day_series` key of a flow's values per bar row (every instrument's rows in order), kept instead of
    its prefix sums where these would be exact (`exact_sums`): `compute_approach` sums each touch's window."""
    return f"{short}_rows"


#: The `day_series` key of each grid cell's bar row (an index into the `values` arrays; -1: no row).
ROW_OF_CELL = "row_of_cell"
#: Cells before a touch's bar (and its own) that its approach sums read: the window and the longest lag.
SPAN = WINDOW - 1 + max(DIFF_LAGS) + 1


def exact_sums(x: np.ndarray, width: int) -> bool:
    """Whether `sums_before` sums `x`'s grid (width `width`) as int64: every partial sum then is an integer
    below 2**52, exact in float64, and so is the difference of two of them (a window's sum)."""
    bound = 2**52 // max(width, 1)
    return x.dtype.kind == "i" and (len(x) == 0 or (-bound < x.min() and x.max() < bound))


def sums_before(x: np.ndarray) -> np.ndarray:
    """[:, j] = the sum of row i's values before j in float64, as one sequential cumsum of the row gives it.
    Integers below 2**52 / width in magnitude keep every partial sum of a row below 2**52, where float64
    adds them exactly: summed as int64 then (5x faster here: no chain of floating-point add latencies),
    the same bits. Other input is summed as float64."""
    out = np.zeros((len(x), x.shape[1] + 1))
    if x.dtype.kind == "i":
        bound = 2**52 // max(x.shape[1], 1)
        if x.size and not (-bound < x.min() and x.max() < bound):
            x = x.astype(np.float64)
    out[:, 1:] = np.cumsum(x, axis=1)
    return out


def day_series(parts: list[pa.Table]) -> tuple[DenseBars, dict[str, np.ndarray]]:
    """The per-bar series of each bars table in `parts` (one instrument's day each) on its dense grid: row i
    of every series is `parts[i]`'s day. One pass over all instruments: gathering every instrument's
    touches at once costs one instrument's array calls, not one set per instrument."""
    dense = DenseBars.from_starts([b.column("bar_start_ns").to_numpy() for b in parts])

    def rows(col: str) -> np.ndarray:
        cols = [b.column(col).to_numpy(zero_copy_only=False) for b in parts]
        return np.concatenate(cols) if cols else np.empty(0)

    out = {}
    for short, col in FLOW.items():
        values_ = rows(col)
        if short not in GRIDS and exact_sums(values_, dense.width):
            out[values(short)] = values_  # summed over each touch's window only (`compute_approach`)
            if ROW_OF_CELL not in out:
                out[ROW_OF_CELL] = dense.row_of_cell()
            continue
        whole = values_.dtype.kind == "i"  # counts and volumes (float with NaN where a file has nulls)
        grid = dense.zero_filled(values_, np.int64 if whole else np.float64)
        if short in GRIDS:
            out[short] = grid.astype(np.float64) if whole else grid
            if whole:
                out[integers(short)] = grid  # the vectors square them exactly
        out[prefix(short)] = sums_before(grid)  # the vectors' standardisation reads them too: summed once
    out.update({short: dense.carried(rows(col)) for short, col in STATE.items()})
    out["has_records"] = dense.has_records()
    return dense, out


def _nan_reduce(x: np.ndarray, fn) -> np.ndarray:
    """Row-wise min/max ignoring NaN (NaN when a row is all NaN), without RuntimeWarnings."""
    fill = np.inf if fn is np.min else -np.inf
    r = fn(np.where(np.isnan(x), fill, x), axis=1)
    return np.where(np.isinf(r), np.nan, r)


def compute_approach(
    bars: pa.Table,
    episodes: pa.Table,
    series: tuple[DenseBars, dict] | None = None,
    inst: np.ndarray | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(approach per touch x window bar, signature per touch) of one date's episodes. One instrument: its
    `bars` and `episodes`. Several at once: `series` = `day_series` of their bars and `inst` = each touch's
    row in it (`bars` is then unused); the output rows follow the episodes' order."""
    dense, s = series if series is not None else day_series([bars])
    t = episodes.column("touch_bar").to_numpy()
    level = episodes.column("level_price").to_numpy()
    direction = episodes.column("direction").to_numpy().astype(np.float64)
    ids = episodes.column("touch_id").to_numpy()
    n = len(t)
    row = (np.zeros(n, np.int64) if inst is None else inst)[:, None]  # touches x 1
    n_grid = dense.n[row]  # each touch's grid length
    rel = np.arange(-(WINDOW - 1), 1)
    idx = t[:, None] + rel[None, :]  # touches x W
    w0 = t - (WINDOW - 1)
    cols: dict[str, np.ndarray] = {
        "touch_id": np.repeat(ids, WINDOW),
        "rel_bar": np.tile(rel, n).astype(np.int32),
        "bar_start_ns": (dense.t0_ns[row] + idx * BAR_NS).ravel(),
    }

    def gather(name: str, at: np.ndarray) -> np.ndarray:
        return gather_rows(s[name], dense.n, row, at)

    dist = (gather("mid", idx) - level[:, None]) * direction[:, None]
    cols["dist_pts"] = dist.ravel()
    if ROW_OF_CELL in s:  # each touch's SPAN cells up to its bar: their bar rows (-1: none, or off the grid)
        cell = t[:, None] + np.arange(1 - SPAN, 1)[None, :]
        inside = (cell >= 0) & (cell < n_grid)
        row_of = s[ROW_OF_CELL]
        at = np.where(inside, row_of[row, np.clip(cell, 0, max(row_of.shape[1] - 1, 0))], -1) if n else cell
    for short in FLOW:
        if values(short) in s:
            # The window sums from the cells' values (int64): the differences of exact prefix sums that
            # `sums_before` would give, the same float64 values.
            v = s[values(short)]
            cells = np.where(at >= 0, v[np.maximum(at, 0)], 0) if len(v) else np.zeros(at.shape, np.int64)
            local = np.zeros((n, SPAN + 1), np.int64)  # [:, j]: the sum of the span's first j cells
            np.cumsum(cells, axis=1, out=local[:, 1:])
            upto = local[:, SPAN + 1 - WINDOW :].astype(np.float64)  # through each window bar
            start = local[:, SPAN - WINDOW : SPAN + 1 - WINDOW].astype(np.float64)  # before the window
            cols[f"{short}_cum"] = np.where(idx >= 0, upto - start, np.nan).ravel()
            if short in RATE:
                for k in DIFF_LAGS:
                    lag = local[:, SPAN + 1 - WINDOW - k : SPAN + 1 - k].astype(np.float64)
                    cols[f"{short}_rate_{k}"] = np.where(
                        idx >= 0, (upto - lag) / (k * BAR_SECONDS), np.nan
                    ).ravel()
            continue
        pref = s[prefix(short)]
        hi = np.clip(idx + 1, 0, n_grid)
        lo = np.clip(w0[:, None], 0, n_grid)
        cols[f"{short}_cum"] = np.where(idx >= 0, pref[row, hi] - pref[row, lo], np.nan).ravel()
        if short in RATE:
            for k in DIFF_LAGS:
                lo_k = np.clip(idx + 1 - k, 0, n_grid)
                cols[f"{short}_rate_{k}"] = np.where(
                    idx >= 0, (pref[row, hi] - pref[row, lo_k]) / (k * BAR_SECONDS), np.nan
                ).ravel()
    for h in DIFF:
        for k in DIFF_LAGS:
            if h == "dist_pts":
                x0 = dist
                x1 = (gather("mid", idx - k) - level[:, None]) * direction[:, None]
                x2 = (gather("mid", idx - 2 * k) - level[:, None]) * direction[:, None]
            else:
                x0, x1, x2 = gather(h, idx), gather(h, idx - k), gather(h, idx - 2 * k)
            cols[f"{h}_d1_{k}"] = (x0 - x1).ravel()
            cols[f"{h}_d2_{k}"] = (x0 - 2 * x1 + x2).ravel()
    approach = pa.table({k: np_to_arrow(np.ascontiguousarray(v)) for k, v in cols.items()})

    sig = {
        "touch_id": ids,
        "sig_direction": direction.astype(np.int8),
        "sig_dist_start": dist[:, 0] if n else np.empty(0),
        "sig_dist_min": _nan_reduce(dist, np.min) if n else np.empty(0),
        "sig_dist_max": _nan_reduce(dist, np.max) if n else np.empty(0),
    }
    for short in FLOW:
        sig[f"sig_{short}_total"] = cols[f"{short}_cum"].reshape(n, WINDOW)[:, -1] if n else np.empty(0)
    for short in ("wall_bid_maxz", "wall_ask_maxz"):
        sig[f"sig_{short}_max"] = _nan_reduce(gather(short, idx), np.max) if n else np.empty(0)
    sig["sig_bar_count"] = (
        np.nan_to_num(gather("has_records", idx)).sum(axis=1) if n else np.empty(0)
    ).astype(np.int32)
    signature = pa.table({k: np_to_arrow(np.ascontiguousarray(v)) for k, v in sig.items()})
    return approach, signature
