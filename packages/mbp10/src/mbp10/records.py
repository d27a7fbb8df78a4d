"""Column views of MBP-10 records: the one shape every kernel reads, from DBN bytes or bronze Parquet.

From a DBN record array the columns are strided views into the decompressed bytes (no copy); from bronze
Parquet they are the Parquet columns (the 10-level book stacked into (n, 10) blocks).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mbp10.schema import MBP10_DTYPE, N_LEVELS, RECORD_SIZE


class RecordColumns(NamedTuple):
    ts_event: np.ndarray  # int64 (n,)
    price: np.ndarray  # int64 (n,)
    size: np.ndarray  # uint32 (n,)
    action: np.ndarray  # uint8 (n,)
    side: np.ndarray  # uint8 (n,)
    flags: np.ndarray  # uint8 (n,)
    bid_px: np.ndarray  # int64 (n, 10)
    ask_px: np.ndarray  # int64 (n, 10)
    bid_sz: np.ndarray  # uint32 (n, 10)
    ask_sz: np.ndarray  # uint32 (n, 10)

    def __len__(self) -> int:  # type: ignore[override]
        return len(self.ts_event)

    def take(self, index: np.ndarray) -> RecordColumns:
        return RecordColumns(*(np.ascontiguousarray(c[index]) for c in self))


def from_records(rec: np.ndarray) -> RecordColumns:
    """Strided, zero-copy column views over a contiguous MBP10_DTYPE array."""
    if rec.dtype != MBP10_DTYPE:
        raise TypeError(f"expected MBP10_DTYPE records, got {rec.dtype}")
    n = len(rec)
    raw = rec.view(np.uint8).reshape(n, RECORD_SIZE)
    w64 = raw.view(np.int64)  # (n, 46)
    w32 = raw.view(np.uint32)  # (n, 92)
    # Offsets: schema.MBP10_DTYPE (ts_event @8, price @16, size @24, action @28, side @29, flags @30,
    # levels from @48 in 32-byte strides: bid_px, ask_px, bid_sz, ask_sz, bid_ct, ask_ct).
    return RecordColumns(
        ts_event=w64[:, 1],
        price=w64[:, 2],
        size=w32[:, 6],
        action=raw[:, 28],
        side=raw[:, 29],
        flags=raw[:, 30],
        bid_px=w64[:, 6 : 6 + 4 * N_LEVELS : 4],
        ask_px=w64[:, 7 : 7 + 4 * N_LEVELS : 4],
        bid_sz=w32[:, 16 : 16 + 8 * N_LEVELS : 8],
        ask_sz=w32[:, 17 : 17 + 8 * N_LEVELS : 8],
    )


def out_of_order_count(ts: np.ndarray) -> int:
    """Records whose ts_event is earlier than some record before them in the input."""
    if len(ts) < 2:
        return 0
    run_max = np.maximum.accumulate(ts)
    return int(np.count_nonzero(ts[1:] < run_max[:-1]))
