"""MBP-10 record layout (DBN v3), flags, and the fixed constants every stage shares.

The layout is the DBN `Mbp10Msg` (rtype 0x0A, 368 bytes, little endian). It is the same in DBN v1, v2
and v3; only the metadata header differs between versions. Offsets are pinned in tests against
`databento.DBNStore.to_ndarray()` on the real samples.
"""

from __future__ import annotations

import numpy as np

N_LEVELS = 10
RECORD_SIZE = 368
RTYPE_MBP10 = 0x0A
#: `length` in the record header counts 4-byte words (DBN spec, RecordHeader).
RECORD_LENGTH_WORDS = RECORD_SIZE // 4

#: Prices are int64 fixed point: 1 unit = 1e-9 (databento_dbn.FIXED_PRICE_SCALE).
PRICE_SCALE = 1_000_000_000
#: An empty level: price UNDEF_PRICE (i64 max) with size 0 (databento_dbn.UNDEF_PRICE).
UNDEF_PRICE = np.iinfo(np.int64).max

# Record flags (databento_dbn.F_*).
F_LAST = 128
F_TOB = 64
F_SNAPSHOT = 32
F_MBP = 16
F_BAD_TS_RECV = 8
F_MAYBE_BAD_BOOK = 4
F_PUBLISHER_SPECIFIC = 2

# Actions and sides as their ASCII bytes.
ACT_ADD = ord("A")
ACT_CANCEL = ord("C")
ACT_MODIFY = ord("M")
ACT_TRADE = ord("T")
ACT_CLEAR = ord("R")
ACT_FILL = ord("F")
ACT_NONE = ord("N")
SIDE_ASK = ord("A")
SIDE_BID = ord("B")
SIDE_NONE = ord("N")

#: Bars are 5-second intervals of ts_event, labelled by their start.
BAR_NS = 5_000_000_000

#: Net-flow price bands, distance from the same-side touch in points: [lo, hi).
BANDS = (("p0_1", 0, 1), ("p1_2", 1, 2), ("p2_3", 2, 3), ("p3_5", 3, 5), ("p5_10", 5, 10))
N_BANDS = len(BANDS)
#: Band upper edges in price units (the lower edge of band 0 is open: prices through the touch count as p0_1).
BAND_EDGES_UNITS = np.array([hi * PRICE_SCALE for _, _, hi in BANDS], dtype=np.int64)


def _level_fields() -> list[tuple[str, str]]:
    out = []
    for i in range(N_LEVELS):
        out += [
            (f"bid_px_{i:02d}", "<i8"),
            (f"ask_px_{i:02d}", "<i8"),
            (f"bid_sz_{i:02d}", "<u4"),
            (f"ask_sz_{i:02d}", "<u4"),
            (f"bid_ct_{i:02d}", "<u4"),
            (f"ask_ct_{i:02d}", "<u4"),
        ]
    return out


#: One MBP-10 record exactly as it lies in a DBN stream (no ts_out).
MBP10_DTYPE = np.dtype(
    [
        ("length", "u1"),
        ("rtype", "u1"),
        ("publisher_id", "<u2"),
        ("instrument_id", "<u4"),
        ("ts_event", "<u8"),
        ("price", "<i8"),
        ("size", "<u4"),
        ("action", "S1"),
        ("side", "S1"),
        ("flags", "u1"),
        ("depth", "u1"),
        ("ts_recv", "<u8"),
        ("ts_in_delta", "<i4"),
        ("sequence", "<u4"),
        *_level_fields(),
    ]
)
assert MBP10_DTYPE.itemsize == RECORD_SIZE

#: Byte offsets inside a record, for the word views the kernels read (int64 words, uint32 words, bytes).
OFF_TS_EVENT = 8
OFF_PRICE = 16
OFF_SIZE = 24
OFF_ACTION = 28
OFF_SIDE = 29
OFF_FLAGS = 30
OFF_DEPTH = 31
OFF_TS_RECV = 32
OFF_SEQUENCE = 44
OFF_LEVELS = 48
LEVEL_STRIDE = 32  # bid_px i8, ask_px i8, bid_sz u4, ask_sz u4, bid_ct u4, ask_ct u4

#: The columns of a bronze Parquet file: the record minus its header bytes, with action/side as uint8.
BRONZE_SCALAR_COLUMNS = (
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
    ("instrument_id", "uint32"),
    ("publisher_id", "uint16"),
    ("sequence", "uint32"),
    ("ts_in_delta", "int32"),
    ("action", "uint8"),
    ("side", "uint8"),
    ("depth", "uint8"),
    ("flags", "uint8"),
    ("price", "int64"),
    ("size", "uint32"),
)
LEVEL_KINDS = (
    ("bid_px", "int64"),
    ("ask_px", "int64"),
    ("bid_sz", "uint32"),
    ("ask_sz", "uint32"),
    ("bid_ct", "uint32"),
    ("ask_ct", "uint32"),
)
BRONZE_COLUMNS = BRONZE_SCALAR_COLUMNS + tuple(
    (f"{kind}_{i:02d}", dt) for kind, dt in LEVEL_KINDS for i in range(N_LEVELS)
)

# The columns `mbp10 similar` and `mbp10.api.neighbours` need of a setup vectors table.
VECTORS_REQUIRED = (
    "touch_id",
    "instrument_id",
    "symbol",
    "date",
    "level_kind",
    "level_price",
    "direction",
    "outcome",
    "decision_ns",
    "outcome_known_ns",
    "vector",
)
