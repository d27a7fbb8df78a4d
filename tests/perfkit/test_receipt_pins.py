"""Receipts are compared across sessions and machines (docs/perf/*.md quote them; "a refactor must not change a
receipt"), so their definition is pinned here: a hand-typed table and array with the receipts recorded on
2026-12-08 (the same code that reproduced every recorded receipt in docs/perf), and `combine_digests` recomputed
from its documented definition with hashlib alone.

Without these, a change of the hashing scheme that is self-consistent (another label, field order or length
encoding) passed every other test: each one compares two receipts made by the same code. If a receipt has to
change on purpose, bump DIGEST_VERSION, update the values here and say so in the commit.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
from perfkit.determinism import combine_digests, digest_array, digest_table


def test_table_receipt_is_the_recorded_one():
    table = pa.table(
        {
            "i": pa.array([1, None, -3], pa.int64()),
            "f": pa.array([0.5, 1.25, None], pa.float64()),
            "s": pa.array(["ab", None, "c"]),
            "d": pa.array(["x", "y", "x"]).dictionary_encode(),
            "l": pa.array([[1.0], [], [2.0, 3.0]]),
            "b": pa.array([True, False, None]),
        }
    )
    assert (
        digest_table(table)
        == "blake2b-256/v1:eb0bd4a4b58f125be95cf52115773b3a2d8e75c1d8a2b317733cfdfd29a43555"
    )


def test_array_receipt_is_the_recorded_one():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert (
        digest_array(a) == "blake2b-256/v1:a9ec16a766c053bede0dc3eb8acc00dfbea83726604c3533faaac4f64cd29de9"
    )


def test_combined_receipt_is_blake2b_of_the_label_and_newline_terminated_items():
    items = ["a.parquet\tblake2b-256/v1:00", "b.parquet\tblake2b-256/v1:ff"]
    expected = hashlib.blake2b(
        b"label" + b"".join(i.encode() + b"\n" for i in items), digest_size=32
    ).hexdigest()
    assert combine_digests(items, "label") == "blake2b-256/v1:" + expected
