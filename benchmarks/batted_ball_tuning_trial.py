"""Try game constants against the Statcast sample and the league line at once (no file is changed).

    .venv/bin/python benchmarks/batted_ball_tuning_trial.py --games 300 --set la_mean_deg=14.5 \\
        --set ev_mean_mph=97.5 --set ev_sd_mph=9.5

Overrides ``game.engine.TUNING`` in this process only, plays games ``0..N-1`` of season ``--seed``
(serial, play-by-play recorded) and prints what ``validate --statcast`` judges (KS distances of exit
velocity and launch angle against the whole sample and against each half: even ``game_pk``, the half
the average spin was fitted on, and odd; the hit rate of the outcome cells outside their tolerance) next
to the league line against MLB at the stated tolerances. A candidate must pass both; the runbook
("Against the real game") quotes a run of it.
"""

from __future__ import annotations

import argparse

import numpy as np
import pyarrow as pa
from batted_ball import statcast
from batted_ball.game import engine
from batted_ball.season import calibration_table, league_line, run_games
from batted_ball.validation import STATCAST_CSV, _read_rows, default_data_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--games", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TUNING constant")
    args = ap.parse_args()
    for item in args.set:
        key, value = item.split("=", 1)
        if key not in engine.TUNING:
            ap.error(f"{key} is not a TUNING constant")
        engine.TUNING[key] = float(value)
    data = default_data_dir()
    games, _, balls = run_games(args.games, args.seed, executor="serial", pbp=True)
    t = pa.concat_tables(balls).to_pydict()
    fair = np.array(t["outcome"]) != "foul"
    sim = {
        "ev": np.array(t["exit_velo_mph"])[fair],
        "la": np.array(t["launch_angle_deg"])[fair],
        "bb_type": np.array(t["bb_type"])[fair],
        "hit": np.isin(np.array(t["outcome"]), statcast.HITS)[fair],
    }
    real = statcast.read_statcast(data)
    # read_statcast keeps the CSV's order of the balls it does not drop (bunts); game_pk splits them.
    rows = _read_rows(data / STATCAST_CSV, ("game_pk", "events", "bb_type"))
    keep = [
        r for r in rows if r["events"] not in statcast.UNMODELLED_EVENTS and r["bb_type"] in statcast.BB_TYPES
    ]
    pk = np.array([int(r["game_pk"]) for r in keep])
    if pk.size != real["ev"].size:
        raise SystemExit("the sample's rows and read_statcast's balls do not line up")
    even = pk % 2 == 0
    print(
        f"TUNING overrides: {args.set or 'none'}; {args.games} games, seed {args.seed}; {sim['ev'].size:,} balls"
    )
    for q, name in (("ev", "exit velocity"), ("la", "launch angle")):
        parts = [("all", slice(None)), ("even game_pk", even), ("odd game_pk", ~even)]
        print(
            f"  KS {name}: "
            + ", ".join(f"{h} {statcast._ks(q, sim[q], real[q][m])['ks_statistic']:.3f}" for h, m in parts)
            + f" (tolerance {statcast.KS_TOLERANCE:g}); means {sim[q].mean():.1f} vs {real[q].mean():.1f}"
        )
    cells = [c for c in statcast._rate_cells(sim, real) if c["judged"]]
    print(f"  outcome cells within: {sum(c['within'] for c in cells)}/{len(cells)}")
    for c in cells:
        if not c["within"]:
            ev = f"{c['ev_mph'][0]:.0f}-{c['ev_mph'][1]:.0f}" if c["ev_mph"][1] else f"{c['ev_mph'][0]:.0f}+"
            print(
                f"    {c['bb_type']} {ev} mph: {c['hit_rate_simulated']:.3f} vs {c['hit_rate_statcast']:.3f}"
            )
    for r in calibration_table(league_line(games)):
        print(
            f"  {r['stat']:>18} {r['simulated']:9.4f} MLB {r['mlb']:8.4f} (tol {r['tolerance']:g}) "
            f"{'ok' if r['within'] else 'OUTSIDE'}"
        )


if __name__ == "__main__":
    main()
