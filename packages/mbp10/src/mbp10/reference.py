"""The slow, obvious twins of the fast paths: a per-record loop for bar5s, a per-touch loop for approach, a
per-level loop for the distance to the nearest level.

Written for reading, not speed: plain Python over rows, dicts for bars. The fast kernels must equal these
(integers exactly, floats to 1e-9 relative). Definitions: docs/mbp10/features.md.
"""

from __future__ import annotations

import math

import numpy as np

from mbp10.bar_columns import FLOAT_COLUMNS, INT_COLUMNS
from mbp10.schema import BANDS, BAR_NS, F_LAST, N_LEVELS, PRICE_SCALE, UNDEF_PRICE

SIDES = ("bid", "ask")


def _new_bar() -> dict:
    bar = {name: 0 for name in INT_COLUMNS}
    bar.update({name: math.nan for name in FLOAT_COLUMNS})
    bar["_vwap_num"] = 0.0
    return bar


def _columns(records: np.ndarray) -> dict[str, list]:
    """Every field the loop reads, each converted to a Python list once (not one NumPy field read per record
    and field: that cost 60% of an earlier version of this loop and measured NumPy, not the algorithm)."""
    cols = {name: records[name].astype(np.int64).tolist() for name in ("ts_event", "price", "size", "flags")}
    cols["action"] = [a.decode() for a in records["action"].tolist()]
    cols["side"] = [a.decode() for a in records["side"].tolist()]
    for side in SIDES:
        px = np.stack([records[f"{side}_px_{k:02d}"] for k in range(N_LEVELS)], axis=1).tolist()
        sz = np.stack(
            [records[f"{side}_sz_{k:02d}"].astype(np.int64) for k in range(N_LEVELS)], axis=1
        ).tolist()
        cols[side] = [list(zip(p, q, strict=True)) for p, q in zip(px, sz, strict=True)]
    return cols


def _size_at(levels, price) -> int:
    for px, sz in levels:
        if px == price:
            return sz
    return 0


def _wall(levels):
    sizes = [sz for px, sz in levels if px != UNDEF_PRICE]
    if len(sizes) < 2:
        return math.nan, -1
    mean = sum(float(s) for s in sizes) / len(sizes)
    var = sum((s - mean) ** 2 for s in sizes) / len(sizes)
    if var <= 0:
        return math.nan, -1
    sd = math.sqrt(var)
    best, best_level = -math.inf, -1
    for k, (px, sz) in enumerate(levels):
        if px != UNDEF_PRICE and (sz - mean) / sd > best:
            best, best_level = (sz - mean) / sd, k
    return best, best_level


def _end_of_bar(bar: dict, book: dict | None) -> None:
    if book is None:
        bar["bar5s_wall_bid_maxz_level_eob"] = -1
        bar["bar5s_wall_ask_maxz_level_eob"] = -1
        return
    for side in SIDES:
        sizes = [sz for _, sz in book[side]]
        bar[f"bar5s_depth_{side}_l1_eob"] = sizes[0]
        bar[f"bar5s_depth_{side}_l5_eob"] = sum(sizes[:5])
        bar[f"bar5s_depth_{side}_l10_eob"] = sum(sizes)
        z, level = _wall(book[side])
        bar[f"bar5s_wall_{side}_maxz_eob"] = z
        bar[f"bar5s_wall_{side}_maxz_level_eob"] = level
    (bpx, bsz), (apx, asz) = book["bid"][0], book["ask"][0]
    if bpx != UNDEF_PRICE:
        bar["bar5s_book_bid_px_00_eob"] = bpx / PRICE_SCALE
    if apx != UNDEF_PRICE:
        bar["bar5s_book_ask_px_00_eob"] = apx / PRICE_SCALE
    if bpx != UNDEF_PRICE and apx != UNDEF_PRICE:
        b, a = bpx / PRICE_SCALE, apx / PRICE_SCALE
        bar["bar5s_book_spread_pts_eob"] = a - b
        bar["bar5s_book_mid_px_eob"] = (a + b) / 2
        if bsz + asz > 0:
            bar["bar5s_book_micro_px_eob"] = (b * asz + a * bsz) / (bsz + asz)
    if bsz + asz > 0:
        bar["bar5s_depth_imbal_l1_eob"] = (bsz - asz) / (bsz + asz)
    d_bid, d_ask = bar["bar5s_depth_bid_l10_eob"], bar["bar5s_depth_ask_l10_eob"]
    if d_bid + d_ask > 0:
        bar["bar5s_depth_imbal_l10_eob"] = (d_bid - d_ask) / (d_bid + d_ask)


def _ofi_level(old: dict, new: dict, k: int) -> int:
    """Cont-Kukanov-Stoikov e_n at level k; an empty bid compares as -inf, an empty ask as +inf."""
    ob, obs = old["bid"][k]
    nb, nbs = new["bid"][k]
    oa, oas = old["ask"][k]
    na, nas = new["ask"][k]
    ob = -math.inf if ob == UNDEF_PRICE else ob
    nb = -math.inf if nb == UNDEF_PRICE else nb
    e = 0
    if nb >= ob:
        e += nbs
    if nb <= ob:
        e -= obs
    if na <= oa:
        e -= nas
    if na >= oa:
        e += oas
    return e


def _band(dist_units: int) -> str | None:
    for name, _, hi in BANDS:
        if dist_units < hi * PRICE_SCALE:
            return name
    return None


def bars_reference(records: np.ndarray) -> dict[str, np.ndarray]:
    """bar5s features of one instrument's MBP10_DTYPE records, one Python iteration per record.

    Records are stably sorted by ts_event first. Returns column name -> array, one entry per non-empty bar.
    """
    records = records[np.argsort(records["ts_event"].astype(np.int64), kind="stable")]
    bars: dict[int, dict] = {}
    current_bar = None
    last_book = None  # the book at the most recent F_LAST record
    prev_book = None  # the book at the previous record
    pending: list[list] = []  # [price, passive side, remaining qty] of this event's trades
    cols = _columns(records)
    for i, ts in enumerate(cols["ts_event"]):
        bar_id = ts // BAR_NS
        if bar_id != current_bar:
            if current_bar is not None:
                _end_of_bar(bars[current_bar], last_book)
            current_bar = bar_id
            bars[bar_id] = _new_bar()
        bar = bars[bar_id]
        action, side, price, size = cols["action"][i], cols["side"][i], cols["price"][i], cols["size"][i]
        book = {"bid": cols["bid"][i], "ask": cols["ask"][i]}
        bar["bar5s_meta_msg_cnt_sum"] += 1
        flow_side, net = None, 0
        if action == "T":
            bar["bar5s_trade_cnt_sum"] += 1
            bar["bar5s_trade_vol_sum"] += size
            if side == "B":
                bar["bar5s_trade_signed_vol_sum"] += size
                bar["bar5s_trade_aggbuy_vol_sum"] += size
            elif side == "A":
                bar["bar5s_trade_signed_vol_sum"] -= size
                bar["bar5s_trade_aggsell_vol_sum"] += size
            passive = {"B": "A", "A": "B"}.get(side, "N")
            px = price / PRICE_SCALE
            if math.isnan(bar["bar5s_trade_first_px"]):
                bar["bar5s_trade_first_px"] = bar["bar5s_trade_high_px"] = bar["bar5s_trade_low_px"] = px
            bar["bar5s_trade_high_px"] = max(bar["bar5s_trade_high_px"], px)
            bar["bar5s_trade_low_px"] = min(bar["bar5s_trade_low_px"], px)
            bar["bar5s_trade_last_px"] = px
            bar["_vwap_num"] += px * size
            for entry in pending:
                if entry[0] == price and entry[1] == passive:
                    entry[2] += size
                    break
            else:
                if len(pending) < 16:
                    pending.append([price, passive, size])
        elif action in ("A", "C", "M"):
            flow_side = {"B": "bid", "A": "ask"}.get(side)
            if action == "A":
                bar["bar5s_meta_add_cnt_sum"] += 1
                net = size
            else:
                key = "bid" if side == "B" else "ask"
                after = _size_at(book[key], price)
                before = _size_at(prev_book[key], price) if prev_book is not None else 0
                net = -size if action == "C" else after - before
                fill = next((e for e in pending if e[0] == price and e[2] > 0 and e[1] in (side, "N")), None)
                if fill is not None:
                    filled = size if action == "C" else max(before - after, 0)
                    fill[2] = max(fill[2] - filled, 0)
                    bar["bar5s_meta_fill_cnt_sum"] += 1
                    bar["bar5s_trade_fill_vol_sum"] += filled
                    flow_side = None
                elif action == "C":
                    bar["bar5s_meta_cancel_cnt_sum"] += 1
                else:
                    bar["bar5s_meta_modify_cnt_sum"] += 1
        elif action == "R":
            bar["bar5s_meta_clear_cnt_sum"] += 1
            pending = []
        if flow_side is not None and last_book is not None and price != UNDEF_PRICE:
            touch = last_book[flow_side][0][0]
            if touch != UNDEF_PRICE:
                dist = touch - price if flow_side == "bid" else price - touch
                band = _band(dist)
                if band is not None:
                    bar[f"bar5s_flow_net_vol_{flow_side}_{band}_sum"] += net
        if cols["flags"][i] & F_LAST:
            bar["bar5s_meta_event_cnt_sum"] += 1
            pending = []
            if last_book is not None:
                levels = [_ofi_level(last_book, book, k) for k in range(N_LEVELS)]
                bar["bar5s_ofi_l1_sum"] += levels[0]
                bar["bar5s_ofi_l10_sum"] += sum(levels)
            last_book = book
            best_bid, best_ask = book["bid"][0][0], book["ask"][0][0]
            if best_bid != UNDEF_PRICE and best_ask != UNDEF_PRICE:
                if best_bid > best_ask:
                    bar["bar5s_flag_crossed_cnt_sum"] += 1
                elif best_bid == best_ask:
                    bar["bar5s_flag_locked_cnt_sum"] += 1
        prev_book = book
    if current_bar is not None:
        _end_of_bar(bars[current_bar], last_book)
    out: dict[str, np.ndarray] = {"bar_start_ns": np.array([b * BAR_NS for b in bars], dtype=np.int64)}
    for name in INT_COLUMNS:
        out[name] = np.array([bar[name] for bar in bars.values()], dtype=np.int64)
    for name in FLOAT_COLUMNS:
        out[name] = np.array([bar[name] for bar in bars.values()], dtype=np.float64)
    vol = out["bar5s_trade_vol_sum"]
    num = np.array([bar["_vwap_num"] for bar in bars.values()], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["bar5s_trade_vwap"] = np.where(vol > 0, num / np.maximum(vol, 1), np.nan)
    return out


def approach_reference(bars, episodes) -> tuple[dict[str, list], dict[str, list]]:
    """Approach features and signatures with one Python loop per touch and per window bar."""
    from mbp10.approach import DIFF_LAGS, FLOW, RATE, STATE, WINDOW

    start = bars.column("bar_start_ns").to_pylist()
    by_bar = {}
    t0 = start[0] if start else 0
    for r, s in enumerate(start):
        by_bar[(s - t0) // BAR_NS] = r
    n_grid = (start[-1] - t0) // BAR_NS + 1 if start else 0
    flow = {k: bars.column(c).to_pylist() for k, c in FLOW.items()}
    state = {k: bars.column(c).to_pylist() for k, c in STATE.items()}

    def flow_at(name, g):
        return float(flow[name][by_bar[g]]) if g in by_bar else 0.0

    def state_at(name, g):
        # last non-NaN value at or before grid bar g
        while g >= 0:
            if g in by_bar and not math.isnan(state[name][by_bar[g]]):
                return state[name][by_bar[g]]
            g -= 1
        return math.nan

    def inside(g):
        return 0 <= g < n_grid

    rows: dict[str, list] = {}
    sigs: dict[str, list] = {}
    for ep in episodes.to_pylist():
        t, level, d = ep["touch_bar"], ep["level_price"], float(ep["direction"])

        def dist(g, level=level, d=d):
            return (state_at("mid", g) - level) * d if inside(g) else math.nan

        cum = {name: 0.0 for name in FLOW}
        dists, walls_b, walls_a, count = [], [], [], 0
        for r in range(-(WINDOW - 1), 1):
            g = t + r
            row = {"touch_id": ep["touch_id"], "rel_bar": r, "bar_start_ns": t0 + g * BAR_NS}
            row["dist_pts"] = dist(g)
            for name in FLOW:
                if inside(g):
                    cum[name] += flow_at(name, g)
                row[f"{name}_cum"] = cum[name] if g >= 0 else math.nan
                if name in RATE:
                    for k in DIFF_LAGS:
                        total = sum(flow_at(name, j) for j in range(g - k + 1, g + 1) if inside(j))
                        row[f"{name}_rate_{k}"] = total / (k * BAR_NS / 1e9) if g >= 0 else math.nan
            for k in DIFF_LAGS:
                x0, x1, x2 = dist(g), dist(g - k), dist(g - 2 * k)
                row[f"dist_pts_d1_{k}"], row[f"dist_pts_d2_{k}"] = x0 - x1, x0 - 2 * x1 + x2
                i0, i1, i2 = (
                    state_at("imbal_l1", j) if inside(j) else math.nan for j in (g, g - k, g - 2 * k)
                )
                row[f"imbal_l1_d1_{k}"], row[f"imbal_l1_d2_{k}"] = i0 - i1, i0 - 2 * i1 + i2
            for key, value in row.items():
                rows.setdefault(key, []).append(value)
            dists.append(row["dist_pts"])
            if inside(g):
                walls_b.append(state_at("wall_bid_maxz", g))
                walls_a.append(state_at("wall_ask_maxz", g))
                count += g in by_bar
        finite = [x for x in dists if not math.isnan(x)]
        sig = {
            "touch_id": ep["touch_id"],
            "sig_direction": int(d),
            "sig_dist_start": dists[0],
            "sig_dist_min": min(finite) if finite else math.nan,
            "sig_dist_max": max(finite) if finite else math.nan,
        }
        for name in FLOW:
            sig[f"sig_{name}_total"] = rows[f"{name}_cum"][-1]
        for key, walls in (("wall_bid_maxz", walls_b), ("wall_ask_maxz", walls_a)):
            w = [x for x in walls if not math.isnan(x)]
            sig[f"sig_{key}_max"] = max(w) if w else math.nan
        sig["sig_bar_count"] = count
        for key, value in sig.items():
            sigs.setdefault(key, []).append(value)
    return rows, sigs


def bars_reference_by_instrument(records: np.ndarray) -> dict[int, dict[str, np.ndarray]]:
    """`bars_reference` of each instrument's records on their own: instrument_id -> columns."""
    ids = records["instrument_id"]
    return {int(i): bars_reference(records[ids == i]) for i in np.unique(ids)}


def level_distance_reference(mid: np.ndarray, bar_end: np.ndarray, prices, valid_from) -> np.ndarray:
    """`levels.level_distance` one level at a time over every bar, in (price, valid_from) order: a strictly
    closer valid level replaces the best so far (so ties keep the lower one); a NaN distance to a valid
    level (no mid, or a NaN level) leaves the bar NaN."""
    dist = np.full(len(mid), np.nan)
    best = np.full(len(mid), np.inf)
    nan_seen = np.zeros(len(mid), bool)
    order = np.lexsort((valid_from, prices))
    for price, since in zip(
        np.asarray(prices, np.float64)[order], np.asarray(valid_from)[order], strict=True
    ):
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, as meant
            delta = mid - price
        absd = np.abs(delta)
        valid = bar_end >= since
        nan_seen |= valid & np.isnan(absd)
        closer = valid & (absd < best)
        best[closer] = absd[closer]
        dist[closer] = delta[closer]
    dist[nan_seen] = np.nan
    return dist
