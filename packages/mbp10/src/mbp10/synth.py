"""`mbp10 synth`: a deterministic, realistic ES-like MBP-10 day written as a DBN v3 file.

The book dynamics live in `synth_kernel.simulate`; this module lays out the day: event times from a
U-shaped intraday intensity (busy at the RTH open and close, quiet overnight, nothing during the
17:00-18:00 ET halt, which ends with an R clear and a book snapshot), timestamps and sequence numbers.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from mbp10.dbn import encode_metadata
from mbp10.errors import Mbp10Error
from mbp10.schema import MBP10_DTYPE, PRICE_SCALE, RECORD_SIZE, RTYPE_MBP10

ET = ZoneInfo("America/New_York")
TICK_UNITS = PRICE_SCALE // 4  # ES tick 0.25 points
DEFAULT_RECORDS = 1_900_000
DATASET = "GLBX.MDP3"
SYMBOL = "ESH4"
INSTRUMENT_ID = 4242
PUBLISHER_ID = 1


def day_bounds_ns(date: dt.date) -> tuple[int, int]:
    """The synthetic day covers the UTC calendar date [00:00, 24:00)."""
    start = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    s = int(start.timestamp()) * 1_000_000_000
    return s, s + 86_400 * 1_000_000_000


def et_ns(date: dt.date, hh: int, mm: int) -> int:
    """Nanoseconds since the epoch of a New York wall-clock time on `date`."""
    t = dt.datetime(date.year, date.month, date.day, hh, mm, tzinfo=ET)
    return int(t.timestamp()) * 1_000_000_000


def intensity(date: dt.date, grid_s: np.ndarray) -> np.ndarray:
    """Records per second (relative) at seconds since 00:00 UTC: overnight 1, RTH U-shape, halt 0."""
    day0, _ = day_bounds_ns(date)
    open_s = (et_ns(date, 9, 30) - day0) / 1e9
    close_s = (et_ns(date, 16, 0) - day0) / 1e9
    halt0 = (et_ns(date, 17, 0) - day0) / 1e9
    halt1 = (et_ns(date, 18, 0) - day0) / 1e9
    lam = np.ones_like(grid_s, dtype=np.float64)
    rth = (grid_s >= open_s) & (grid_s < close_s)
    tau = 1800.0
    u_shape = 4.0 + 10.0 * np.exp(-(grid_s - open_s) / tau) + 8.0 * np.exp(-(close_s - grid_s) / tau)
    lam[rth] = u_shape[rth]
    lam[(grid_s >= halt0) & (grid_s < halt1)] = 0.0
    return lam


def anchor_price_units(date: dt.date, rng: np.random.Generator) -> int:
    """The day's anchor: a slow deterministic wave over calendar days plus a little noise, on the tick grid."""
    pts = 4800.0 + 120.0 * np.sin(date.toordinal() / 9.0) + rng.normal(0.0, 8.0)
    return round(pts * 4) * TICK_UNITS


def _event_times(lam: np.ndarray, u: np.ndarray, day0: int, lo_s: float, hi_s: float) -> np.ndarray:
    """Stratified inverse-CDF sampling of len(u) sorted event times within [lo_s, hi_s) seconds."""
    cdf = np.concatenate([[0.0], np.cumsum(lam)])
    grid = np.arange(len(cdf), dtype=np.float64)
    c_lo, c_hi = np.interp([lo_s, hi_s], grid, cdf)
    q = c_lo + (np.arange(len(u)) + u) / len(u) * (c_hi - c_lo)
    secs = np.interp(q, cdf, grid)
    return day0 + np.floor(secs * 1e9).astype(np.int64)


def synth_day(
    date: dt.date,
    n_records: int = DEFAULT_RECORDS,
    seed: int = 1,
    *,
    stream: str = "",
    instrument_id: int = INSTRUMENT_ID,
    anchor_offset_pts: float = 0.0,
) -> np.ndarray:
    """The records of one synthetic instrument-day (MBP10_DTYPE, sorted by ts_event, events end with F_LAST).

    `stream` keys the random streams of a second instrument (empty: the first, as before instruments);
    `anchor_offset_pts` moves its price level."""
    from perfkit.parallel import rng_for, seed_for

    from mbp10.synth_kernel import simulate  # Numba: imported when a day is made, not to size one

    if n_records < 40:
        raise ValueError("a synthetic day needs at least 40 records")
    _check_memory(n_records)
    key = date.isoformat() + (f"/{stream}" if stream else "")
    rng = rng_for(seed, "mbp10-synth", key)
    buf = np.zeros(n_records, dtype=MBP10_DTYPE)
    raw = buf.view(np.uint8).reshape(n_records, RECORD_SIZE)
    w64 = raw.view(np.int64)
    w32 = raw.view(np.uint32)
    event_id = np.empty(n_records, dtype=np.int64)
    state = np.array([seed_for(seed, "mbp10-synth-book", key)], dtype=np.uint64)

    day0, day1 = day_bounds_ns(date)
    grid_s = np.arange(86_400, dtype=np.float64)
    lam = intensity(date, grid_s)
    halt0_s = (et_ns(date, 17, 0) - day0) / 1e9
    halt1_s = (et_ns(date, 18, 0) - day0) / 1e9
    frac_before_halt = lam[: int(halt0_s)].sum() / lam.sum()
    p0 = anchor_price_units(date, rng) + round(anchor_offset_pts * 4) * TICK_UNITS
    n_events, clear_event = simulate(
        w64, w32, raw, event_id, state, p0, TICK_UNITS, int(frac_before_halt * n_records), 0.22, 2e-6
    )
    # Event times: events before the R clear fill [00:00, halt start), the rest [halt end, 24:00).
    n_before = clear_event if clear_event >= 0 else n_events
    u = rng.random(n_events)
    t_event = np.empty(n_events, dtype=np.int64)
    t_event[:n_before] = _event_times(lam, u[:n_before], day0, 0.0, halt0_s if clear_event >= 0 else 86_400.0)
    if clear_event >= 0:
        t_event[n_before:] = _event_times(lam, u[n_before:], day0, halt1_s, 86_400.0)
    ts_event = t_event[event_id]
    latency = rng.integers(20_000, 400_000, n_records)
    ts_recv = np.maximum.accumulate(ts_event + latency)
    buf["length"] = RECORD_SIZE // 4
    buf["rtype"] = RTYPE_MBP10
    buf["publisher_id"] = PUBLISHER_ID
    buf["instrument_id"] = instrument_id
    buf["ts_event"] = ts_event
    buf["ts_recv"] = ts_recv
    buf["ts_in_delta"] = rng.integers(5_000, 30_000, n_records).astype(np.int32)
    buf["sequence"] = 1_000_000 + np.cumsum(rng.integers(1, 4, n_records)).astype(np.uint32)
    assert ts_event[-1] < day1
    return buf


def _symbols(symbols) -> tuple[str, ...]:
    """The symbols as a tuple, checked as `synth --symbol` checks them: one string is one symbol (not its
    letters, each of which became an instrument), at least one, none twice (one id each)."""
    symbols = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    if not symbols or not all(isinstance(s, str) and s for s in symbols):
        raise Mbp10Error(f"symbols must be one or more non-empty strings such as ('ESH4',), not {symbols!r}")
    if len(set(symbols)) < len(symbols):
        raise Mbp10Error(f"symbols {symbols!r} name one symbol twice")
    return symbols


def instrument_ids(symbols: tuple[str, ...]) -> list[int]:
    """Synthetic instrument ids: INSTRUMENT_ID, INSTRUMENT_ID + 1, ... in the order given."""
    return [INSTRUMENT_ID + k for k in range(len(symbols))]


def synth_instruments(date: dt.date, n_records: int, seed: int, symbols: tuple[str, ...]) -> np.ndarray:
    """Several instruments' days interleaved by ts_recv, as a Databento multi-instrument file is.

    The first symbol is exactly `synth_day` (same records as a one-instrument file); each later one gets
    its own random stream and half the records of the one before (at least 40). Outrights are priced 60
    points apart (deferred months above), calendar spreads (a '-' in the symbol) around 60 points."""
    from mbp10.symbology import is_spread

    symbols = _symbols(symbols)
    for name, value, low in (("n_records", n_records, 40 * len(symbols)), ("seed", seed, 0)):
        # below 40 a symbol each day got 40 records anyway; a str seed gave another day than the int
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise Mbp10Error(
                f"{name}={value!r}: must be a whole number of at least {low} ({len(symbols)} symbols)"
            )
    _check_memory(n_records)  # the whole file's records, before the first instrument's day is made
    shares = np.array([0.5**k for k in range(len(symbols))])
    counts = np.maximum(40, np.floor(n_records * shares / shares.sum()).astype(np.int64))
    parts = []
    outright = 0
    for k, (sym, iid) in enumerate(zip(symbols, instrument_ids(symbols), strict=True)):
        if is_spread(sym):
            offset = 60.0 - anchor_price_units(date, np.random.default_rng(0)) / PRICE_SCALE
        else:
            offset, outright = 60.0 * outright, outright + 1
        parts.append(
            synth_day(
                date,
                int(counts[k]),
                seed,
                stream=sym if k else "",
                instrument_id=iid,
                anchor_offset_pts=offset,
            )
        )
    rec = np.concatenate(parts)
    return rec[np.argsort(rec["ts_recv"], kind="stable")]


# Peak memory of `synth_day` plus writing and digesting its records, per record: the 368-byte records, the
# per-record int64/float64 work arrays of the event times (event id, uniforms, times, latencies, sequence
# numbers) and numpy temporaries. Measured: peak RSS grows 421-428 bytes a record over 0.5M..4M records
# (docs/mbp10.md, "What is refused"); rounded up.
BYTES_PER_RECORD = 450
BASE_BYTES = 256 * 2**20  # interpreter, numpy/pyarrow/numba and the compiled kernels (measured ~170 MiB)


def synth_memory_bytes(n_records: int) -> int:
    """Estimated peak memory (bytes) of synthesising and writing `n_records` records."""
    return BASE_BYTES + BYTES_PER_RECORD * int(n_records)


def _check_memory(n_records: int) -> None:
    """Refuse (`Mbp10Error`) a day larger than memory holds before allocating it, as `mbp10 synth` does: a
    notebook asking for 10**8 records (~45 GB) was otherwise killed by the OOM killer mid-fill."""
    from perfkit.errors import InputError
    from perfkit.limits import check_memory

    try:
        check_memory(synth_memory_bytes(n_records), f"{n_records:,} records")
    except InputError as e:
        raise Mbp10Error(str(e)) from None


def warm_up() -> None:
    """Compile the simulation kernel, or load it from Numba's cache, on the smallest day (40 records): a
    command times this as its own stage, so a first run's compile time stays out of its records rate."""
    synth_day(dt.date(2024, 1, 2), 40, seed=0)


def synth_header(date: dt.date, symbols: tuple[str, ...] = (SYMBOL,), parent: str | None = None) -> bytes:
    """The DBN v3 metadata header for a synthetic day: one mapping per symbol (raw symbol -> instrument
    id for the day); with `parent`, a parent pull's header (e.g. ES.FUT)."""
    day0, day1 = day_bounds_ns(date)
    symbols = _symbols(symbols)
    pairs = list(zip(symbols, instrument_ids(symbols), strict=True))
    return encode_metadata(dataset=DATASET, start_ns=day0, end_ns=day1, instruments=pairs, parent=parent)
