"""Which instrument is which: the DBN metadata's symbology mappings, date-ranged, and instrument selection.

A DBN header maps each requested symbol to instrument ids over UTC date intervals (`start_date` inclusive,
`end_date` exclusive, `symbol` = the instrument id as text; Databento's `Metadata::symbol_map`). The symbol of
an instrument on a date is the mapping key whose interval covers that date. Only the header is read: no API
call, no definition records.

Selection (`Selection`): `--symbol` (repeatable) and `--instrument-id` pick instruments explicitly; without
them every *outright* is kept and calendar spreads (a raw symbol with a '-', CME's `ESH4-ESM4`) are left out
unless `spreads=True`; `front_month=True` keeps, on each date, the one outright with the largest traded
volume that date (ties to the lower instrument id).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import databento_dbn as dbn
import numpy as np
import pyarrow as pa

from mbp10.errors import Mbp10Error
from mbp10.io import np_to_arrow, strings_to_arrow

DAY_NS = 86_400 * 1_000_000_000
EPOCH = dt.date(1970, 1, 1)
#: Schema-metadata key of the symbology in bronze Parquet files.
PARQUET_KEY = b"mbp10.symbology"
#: The longest raw symbol: DBN's symbol fields hold 71 bytes with the terminating NUL.
SYMBOL_MAX = 70


def is_spread(symbol: str | None) -> bool:
    """A CME calendar spread or other combination: its raw symbol joins legs with '-' (e.g. ESH4-ESM4)."""
    return symbol is not None and "-" in symbol


def _plain(symbol: str) -> bool:
    """1 to SYMBOL_MAX printable ASCII characters, no spaces."""
    return 1 <= len(symbol) <= SYMBOL_MAX and all(0x21 <= ord(c) <= 0x7E for c in symbol)


def check_raw_symbol(symbol: str, what: str) -> None:
    """Refuse a raw symbol DBN cannot store or Databento would not send: it is 1-70 printable ASCII
    characters without spaces, and a spread (:func:`is_spread`) is two such legs joined by one '-'."""
    legs = symbol.split("-")
    if not _plain(symbol) or len(legs) > 2 or not all(legs):
        raise Mbp10Error(
            f"bad {what} {symbol!r}: a raw symbol is 1-{SYMBOL_MAX} printable ASCII characters without spaces"
            " (a calendar spread: two legs joined by one '-', e.g. ESH4-ESM4)"
        )


def check_parent_symbol(symbol: str, what: str) -> None:
    """Refuse anything but a parent symbol in Databento's form, ``ROOT.FUT`` or ``ROOT.OPT`` (e.g. ES.FUT)."""
    if not _plain(symbol) or "-" in symbol or not symbol.endswith((".FUT", ".OPT")):
        raise Mbp10Error(f"bad {what} {symbol!r}: a parent symbol is ROOT.FUT or ROOT.OPT (e.g. ES.FUT)")


@dataclass(frozen=True)
class SymbolMap:
    """instrument_id -> [(first UTC day number, end day number exclusive, symbol)] from a DBN header."""

    intervals: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata) -> SymbolMap:
        """As `databento`'s `InstrumentMap.insert_metadata` resolves it: with `stype_in` instrument_id the
        key is the id and the interval names the symbol; otherwise the key is the symbol (the raw symbol of
        a contract; in a parent pull, each contract's raw symbol) and the interval names the id."""
        by_id = str(metadata.stype_in) == str(dbn.SType.INSTRUMENT_ID)
        out: dict[int, list[tuple[int, int, str]]] = {}
        for key, intervals in (metadata.mappings or {}).items():
            for iv in intervals:
                text = str(iv["symbol"]).strip()
                iid, sym = (str(key).strip(), text) if by_id else (text, str(key))
                if not (text and iid.isdigit()):  # an unresolved interval has an empty symbol
                    continue
                d0 = (iv["start_date"] - EPOCH).days
                d1 = (iv["end_date"] - EPOCH).days
                out.setdefault(int(iid), []).append((d0, d1, sym))
        return cls(out)

    def to_json(self) -> bytes:
        """For a bronze Parquet file's schema metadata (the DBN header is not kept there)."""
        import json

        return json.dumps({str(k): v for k, v in sorted(self.intervals.items())}).encode()

    @classmethod
    def from_parquet_metadata(cls, metadata: dict | None) -> SymbolMap:
        import json

        raw = (metadata or {}).get(PARQUET_KEY)
        if not raw:
            return cls()
        return cls({int(k): [tuple(iv) for iv in v] for k, v in json.loads(raw).items()})

    def symbol(self, instrument_id: int, day: int) -> str | None:
        """The symbol of `instrument_id` on UTC day number `day` (days since 1970-01-01), or None."""
        for d0, d1, sym in self.intervals.get(int(instrument_id), ()):
            if d0 <= day < d1:
                return sym
        return None

    def symbols_of(self, instrument_id: int) -> set[str]:
        return {sym for _, _, sym in self.intervals.get(int(instrument_id), ())}

    def ids_of(self, symbol: str) -> set[int]:
        return {iid for iid, ivs in self.intervals.items() if any(s == symbol for _, _, s in ivs)}

    def symbols_for(self, instrument_id: int, start_ns: np.ndarray) -> pa.Array:
        """The symbol of `instrument_id` at each timestamp (by its UTC date; null without a mapping)."""
        day = np.asarray(start_ns, np.int64) // DAY_NS
        if len(day) and day.min() == day.max():  # one date (a daily file): its symbol repeated, no gather
            return pa.repeat(pa.scalar(self.symbol(instrument_id, int(day[0])), pa.string()), len(day))
        days, where = np.unique(day, return_inverse=True)
        names = strings_to_arrow([self.symbol(instrument_id, int(d)) for d in days])
        return names.take(np_to_arrow(where.reshape(-1)))


@dataclass(frozen=True)
class Selection:
    """Which instruments of a file are computed (see the module docstring)."""

    symbols: tuple[str, ...] = ()
    instrument_ids: tuple[int, ...] = ()
    spreads: bool = False
    front_month: bool = False

    def __post_init__(self) -> None:
        # one symbol or id given alone is that one (Selection(symbols="ESH4") matched by substring and letter)
        if isinstance(self.symbols, str):
            object.__setattr__(self, "symbols", (self.symbols,))
        if isinstance(self.instrument_ids, int):
            object.__setattr__(self, "instrument_ids", (self.instrument_ids,))

    def to_dict(self) -> dict:
        return {
            "symbols": tuple(self.symbols),
            "instrument_ids": tuple(self.instrument_ids),
            "spreads": self.spreads,
            "front_month": self.front_month,
        }

    @property
    def explicit(self) -> bool:
        return bool(self.symbols or self.instrument_ids)

    def check(self, spreads_given: bool) -> None:
        """Refuse options that contradict each other (each was silently dropped before): `--front-month`
        keeps one outright, so no spread; `--spreads`/`--no-spreads` (`spreads_given`) choose among all of a
        file's instruments, while `--symbol`/`--instrument-id` keep exactly the ones named, spreads or not."""
        if self.front_month and self.spreads:
            raise Mbp10Error("--front-month keeps one outright, so it drops every spread: not with --spreads")
        if spreads_given and self.explicit:
            flag = "--spreads" if self.spreads else "--no-spreads"
            raise Mbp10Error(
                f"{flag} applies without --symbol/--instrument-id only (those keep exactly the instruments "
                "they name, spreads or not): give one or the other"
            )

    def keeps(self, symmap: SymbolMap, instrument_id: int) -> bool:
        """Whether the bars of `instrument_id` are computed (front-month picks among these afterwards)."""
        if self.explicit:
            return instrument_id in self.instrument_ids or bool(
                symmap.symbols_of(instrument_id) & set(self.symbols)
            )
        return self.spreads or not any(is_spread(s) for s in symmap.symbols_of(instrument_id))

    def check_found(self, symmap: SymbolMap, seen: set[int], source: str) -> None:
        """An asked-for symbol or instrument id without records in the file is bad input (Mbp10Error)."""
        for sym in self.symbols:
            if not symmap.ids_of(sym) & seen:
                known = sorted({s for i in seen for s in symmap.symbols_of(i)})
                raise Mbp10Error(
                    f"{source}: --symbol {sym} has no records in the file (symbols: {', '.join(known) or 'none'})"
                )
        for iid in self.instrument_ids:
            if iid not in seen:
                ids = ", ".join(str(i) for i in sorted(seen)) or "none"
                raise Mbp10Error(f"{source}: --instrument-id {iid} has no records in the file (ids: {ids})")
