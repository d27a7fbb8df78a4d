"""Paths and helpers shared by the mbp10 tests: Databento's own samples ship in fixtures/ (Apache-2.0); the
CME-derived ES files stay in ../shared (internal testing only)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "mbp10"
DATABENTO = REPO / "fixtures" / "mbp10" / "databento"
ES_REAL = SHARED / "es_real"


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path} is absent (needs ../shared/data/mbp10)")
    return path


def make_records(rows: list[dict]):
    """MBP-10 records from dicts: ts (ns), action, side, price/size (points / contracts), flags, depth and
    book = {"bid": [(px_pts, sz), ...], "ask": [...]} (missing levels are empty: UNDEF_PRICE, size 0)."""
    import numpy as np
    from mbp10.schema import MBP10_DTYPE, PRICE_SCALE, RECORD_SIZE, RTYPE_MBP10, UNDEF_PRICE

    rec = np.zeros(len(rows), MBP10_DTYPE)
    rec["length"] = RECORD_SIZE // 4
    rec["rtype"] = RTYPE_MBP10
    for i, r in enumerate(rows):
        rec[i]["ts_event"] = r["ts"]
        rec[i]["ts_recv"] = r["ts"] + 1000
        rec[i]["action"] = r["action"].encode()
        rec[i]["side"] = r.get("side", "N").encode()
        px = r.get("price")
        rec[i]["price"] = UNDEF_PRICE if px is None else round(px * PRICE_SCALE)
        rec[i]["size"] = r.get("size", 0)
        rec[i]["flags"] = r.get("flags", 130)
        rec[i]["depth"] = r.get("depth", 0)
        book = r.get("book", {})
        for side in ("bid", "ask"):
            levels = book.get(side, [])
            for k in range(10):
                if k < len(levels):
                    rec[i][f"{side}_px_{k:02d}"] = round(levels[k][0] * PRICE_SCALE)
                    rec[i][f"{side}_sz_{k:02d}"] = levels[k][1]
                    rec[i][f"{side}_ct_{k:02d}"] = 1
                else:
                    rec[i][f"{side}_px_{k:02d}"] = UNDEF_PRICE
    return rec


def trades_dbn(path: Path) -> Path:
    """A valid DBN file of the trades schema (one record): a DBN file that is not MBP-10."""
    import databento_dbn as dbn

    meta = dbn.Metadata(
        dataset="GLBX.MDP3",
        start=0,
        stype_in=dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=dbn.Schema.TRADES,
        symbols=["ESH4"],
        end=10,
    )
    msg = dbn.TradeMsg(
        publisher_id=1,
        instrument_id=1,
        ts_event=1,
        price=1,
        size=1,
        action=dbn.Action.TRADE,
        side=dbn.Side.BID,
        depth=0,
        ts_recv=2,
        flags=128,
    )
    path.write_bytes(bytes(meta) + bytes(msg))
    return path
