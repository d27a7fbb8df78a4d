"""Point in time: `similar` and the vectors never use what was not known at a touch's decision time.

The library cases are built by hand: a future touch identical to the query, a same-session earlier touch,
and an earlier-session touch whose outcome was still open when the query was decided. With look-ahead the
future twin would be the nearest neighbour (distance 0) and every outcome would show.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest
from mbp10.episodes import EpisodeParams
from mbp10.errors import Mbp10Error
from mbp10.pipeline import day_bars, day_features
from mbp10.vectors import nearest

from .test_cli import invoke


def ns(day: int, hh: int, mm: int = 0) -> int:
    return int(dt.datetime(2024, 1, day, hh, mm, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


Q = 2024010300000
ROWS = [
    # touch_id, date, decision, outcome, outcome known at, vector
    (Q, "2024-01-03", ns(3, 15), "break", ns(3, 15, 5), [0.0, 0.0]),
    (2024010300001, "2024-01-03", ns(3, 14), "bounce", ns(3, 14, 30), [0.1, 0.0]),  # same session, earlier
    (2024010400000, "2024-01-04", ns(4, 15), "break", ns(4, 15, 5), [0.0, 0.0]),  # the future twin
    (2024010200000, "2024-01-02", ns(2, 12), "break", ns(2, 12, 10), [1.0, 0.0]),
    (
        2024010200001,
        "2024-01-02",
        ns(2, 23),
        "chop",
        ns(3, 16),
        [3.0, 0.0],
    ),  # outcome known after Q's decision
]


def library(rows=ROWS) -> pa.Table:
    """A vectors library of one instrument's `rows` (touch_id, date, decision, outcome, outcome known at, vector)."""
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    return pa.table(
        {
            "touch_id": pa.array(cols[0], pa.int64()),
            "instrument_id": pa.array([1] * n, pa.uint32()),
            "symbol": ["ESH4"] * n,
            "date": list(cols[1]),
            "level_kind": ["pdh"] * n,
            "level_price": [4800.0] * n,
            "direction": pa.array([1] * n, pa.int8()),
            "outcome": list(cols[3]),
            "decision_ns": pa.array(cols[2], pa.int64()),
            "outcome_known_ns": pa.array(cols[4], pa.int64()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(np.ravel(cols[5]), pa.float32()), 2),
        }
    )


def test_default_neighbours_are_earlier_sessions_with_known_outcomes_only():
    hits = nearest(library(), Q, k=10).to_pylist()
    assert [h["touch_id"] for h in hits] == [2024010200000, 2024010200001]
    # standardised over the two candidates only: dim 0 mean 2, sd 1 -> query at -2, candidates -1 and +1
    assert [h["distance"] for h in hits] == pytest.approx([1.0, 3.0])
    assert [h["outcome"] for h in hits] == ["break", None]  # the chop ended after the query was decided
    assert [h["outcome_known"] for h in hits] == [True, False]


def test_as_of_admits_same_session_touches_already_decided():
    hits = nearest(library(), Q, k=10, as_of_ns=ns(3, 15)).to_pylist()
    assert [h["touch_id"] for h in hits] == [2024010300001, 2024010200000, 2024010200001]
    assert [h["outcome"] for h in hits] == ["bounce", "break", None]
    early = nearest(library(), Q, k=10, as_of_ns=ns(2, 13)).to_pylist()
    assert [h["touch_id"] for h in early] == [2024010200000]


def test_as_of_after_the_decision_is_refused():
    with pytest.raises(Mbp10Error, match="look ahead"):
        nearest(library(), Q, k=3, as_of_ns=ns(4, 0))


def test_similar_cli_json(tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(library(), tmp_path / "v.parquet")
    r = invoke("similar", "--vectors", tmp_path / "v.parquet", "--touch-id", Q, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["query"]["touch_id"] == Q and "outcome" not in doc["query"]
    assert [h["touch_id"] for h in doc["neighbours"]] == [2024010200000, 2024010200001]
    assert [h["outcome"] for h in doc["neighbours"]] == ["break", None]
    r = invoke("similar", "--vectors", tmp_path / "v.parquet", "--touch-id", Q, "--as-of", "2024-01-05")
    assert r.exit_code == 2 and "look ahead" in r.output


def test_a_vector_does_not_change_when_the_rest_of_the_day_is_cut(small_day_file):
    """Vectors (and their per-feature scaling) use bars up to the touch bar only: recomputing the day from
    the bars up to a touch's decision time gives the same vector for that touch."""
    bars, _ = day_bars(small_day_file)
    params = EpisodeParams(approach_pts=0.25, reset_pts=1.0, break_pts=0.5, bounce_pts=1.0)  # a quiet day
    full = day_features(dt.date(2024, 1, 2), bars, None, None, params)
    ep = full.episodes.to_pylist()
    ten_et = ns(2, 15)  # 10:00 New York: the opening range is set, every level valid
    later = [e for e in ep if e["decision_ns"] > ten_et]
    assert len(later) >= 2
    checked = 0
    for e in (later[0], later[len(later) // 2]):
        start = bars.column("bar_start_ns").to_numpy()
        cut = bars.filter(start < e["decision_ns"])
        part = day_features(dt.date(2024, 1, 2), cut, None, None, params)
        mine = [r for r in part.vectors.to_pylist() if r["touch_id"] == e["touch_id"]]
        assert len(mine) == 1 and mine[0]["level_price"] == e["level_price"]
        whole = next(r for r in full.vectors.to_pylist() if r["touch_id"] == e["touch_id"])
        np.testing.assert_array_equal(np.array(mine[0]["vector"]), np.array(whole["vector"]))
        checked += 1
    assert checked == 2
