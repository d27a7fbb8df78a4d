"""Names and order of the bar5s feature columns (the kernel writes them by index into two matrices)."""

from __future__ import annotations

from mbp10.schema import BANDS

SIDES = ("bid", "ask")

#: Integer features, accumulated exactly in int64.
INT_COLUMNS = (
    "bar5s_meta_msg_cnt_sum",
    "bar5s_meta_add_cnt_sum",
    "bar5s_meta_cancel_cnt_sum",
    "bar5s_meta_modify_cnt_sum",
    "bar5s_meta_clear_cnt_sum",
    "bar5s_meta_fill_cnt_sum",
    "bar5s_meta_event_cnt_sum",
    "bar5s_trade_cnt_sum",
    "bar5s_trade_vol_sum",
    "bar5s_trade_signed_vol_sum",
    "bar5s_trade_aggbuy_vol_sum",
    "bar5s_trade_aggsell_vol_sum",
    "bar5s_trade_fill_vol_sum",
    "bar5s_ofi_l1_sum",
    "bar5s_ofi_l10_sum",
    *(f"bar5s_flow_net_vol_{s}_{b}_sum" for s in SIDES for b, _, _ in BANDS),
    "bar5s_depth_bid_l1_eob",
    "bar5s_depth_bid_l5_eob",
    "bar5s_depth_bid_l10_eob",
    "bar5s_depth_ask_l1_eob",
    "bar5s_depth_ask_l5_eob",
    "bar5s_depth_ask_l10_eob",
    "bar5s_wall_bid_maxz_level_eob",
    "bar5s_wall_ask_maxz_level_eob",
    # Integrity flags: events in the bar whose consistent (F_LAST) book ended crossed (bid > ask) or locked
    # (bid == ask); a normal CME book is neither (docs/mbp10.md, "Integrity").
    "bar5s_flag_crossed_cnt_sum",
    "bar5s_flag_locked_cnt_sum",
)
#: Float features (prices in points, ratios); NaN where undefined.
FLOAT_COLUMNS = (
    "bar5s_trade_vwap",
    "bar5s_trade_first_px",
    "bar5s_trade_high_px",
    "bar5s_trade_low_px",
    "bar5s_trade_last_px",
    "bar5s_book_bid_px_00_eob",
    "bar5s_book_ask_px_00_eob",
    "bar5s_book_spread_pts_eob",
    "bar5s_book_mid_px_eob",
    "bar5s_book_micro_px_eob",
    "bar5s_depth_imbal_l1_eob",
    "bar5s_depth_imbal_l10_eob",
    "bar5s_wall_bid_maxz_eob",
    "bar5s_wall_ask_maxz_eob",
)
#: Added after the kernel, from the day's levels.
DIST_COLUMN = "bar5s_approach_dist_to_level_pts_eob"

_I = {name: i for i, name in enumerate(INT_COLUMNS)}
_F = {name: i for i, name in enumerate(FLOAT_COLUMNS)}
NI = len(INT_COLUMNS)
NF = len(FLOAT_COLUMNS)

# Indices the kernel uses (module-level ints are compile-time constants in Numba).
I_MSG = _I["bar5s_meta_msg_cnt_sum"]
I_ADD = _I["bar5s_meta_add_cnt_sum"]
I_CANCEL = _I["bar5s_meta_cancel_cnt_sum"]
I_MODIFY = _I["bar5s_meta_modify_cnt_sum"]
I_CLEAR = _I["bar5s_meta_clear_cnt_sum"]
I_FILL = _I["bar5s_meta_fill_cnt_sum"]
I_EVENT = _I["bar5s_meta_event_cnt_sum"]
I_TRADE_CNT = _I["bar5s_trade_cnt_sum"]
I_TRADE_VOL = _I["bar5s_trade_vol_sum"]
I_TRADE_SIGNED = _I["bar5s_trade_signed_vol_sum"]
I_AGGBUY = _I["bar5s_trade_aggbuy_vol_sum"]
I_AGGSELL = _I["bar5s_trade_aggsell_vol_sum"]
I_FILL_VOL = _I["bar5s_trade_fill_vol_sum"]
I_OFI1 = _I["bar5s_ofi_l1_sum"]
I_OFI10 = _I["bar5s_ofi_l10_sum"]
I_FLOW_BID = _I[f"bar5s_flow_net_vol_bid_{BANDS[0][0]}_sum"]  # 5 consecutive bands
I_FLOW_ASK = _I[f"bar5s_flow_net_vol_ask_{BANDS[0][0]}_sum"]
I_BID_L1 = _I["bar5s_depth_bid_l1_eob"]
I_ASK_L1 = _I["bar5s_depth_ask_l1_eob"]
I_BID_L5 = _I["bar5s_depth_bid_l5_eob"]
I_BID_L10 = _I["bar5s_depth_bid_l10_eob"]
I_ASK_L5 = _I["bar5s_depth_ask_l5_eob"]
I_ASK_L10 = _I["bar5s_depth_ask_l10_eob"]
I_WALL_BID_LVL = _I["bar5s_wall_bid_maxz_level_eob"]
I_WALL_ASK_LVL = _I["bar5s_wall_ask_maxz_level_eob"]
I_CROSSED = _I["bar5s_flag_crossed_cnt_sum"]
I_LOCKED = _I["bar5s_flag_locked_cnt_sum"]

F_VWAP = _F["bar5s_trade_vwap"]
F_FIRST = _F["bar5s_trade_first_px"]
F_HIGH = _F["bar5s_trade_high_px"]
F_LOW = _F["bar5s_trade_low_px"]
F_LASTPX = _F["bar5s_trade_last_px"]
F_BID0 = _F["bar5s_book_bid_px_00_eob"]
F_ASK0 = _F["bar5s_book_ask_px_00_eob"]
F_SPREAD = _F["bar5s_book_spread_pts_eob"]
F_MID = _F["bar5s_book_mid_px_eob"]
F_MICRO = _F["bar5s_book_micro_px_eob"]
F_IMB1 = _F["bar5s_depth_imbal_l1_eob"]
F_IMB10 = _F["bar5s_depth_imbal_l10_eob"]
F_WALL_BID = _F["bar5s_wall_bid_maxz_eob"]
F_WALL_ASK = _F["bar5s_wall_ask_maxz_eob"]

ALL_COLUMNS = ("bar_start_ns", *INT_COLUMNS, *FLOAT_COLUMNS, DIST_COLUMN)
