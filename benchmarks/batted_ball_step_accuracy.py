"""How accurate is each RK4 step (mode) on the flights a game really asks for?

    .venv/bin/python benchmarks/batted_ball_step_accuracy.py [--games 48]

Plays games ``0..N-1`` of season 2026 (FAST) and keeps every flight they ask for: the batted balls
(with their park's fence) and the pitches. Each is flown again at every mode's step and at a much
finer one (0.25 ms for balls, 0.1 ms for pitches), and the largest differences from the fine flight
are reported: landing distance, hang time, apex, the ball's height where it reaches the fence (found
inside the step with the fence at the step end's bearing), whether it reaches the fence at all, and the
pitch's plate location and time. Then the same games are played at every mode and compared with FAST's box scores.
This is what ``game.engine.GAME_MODE`` (the step games fly) rests on. Appends one line to
``benchmarks/results/batted_ball_step_accuracy.jsonl``.
"""

from __future__ import annotations

import argparse

import numpy as np
from batted_ball.game import lockstep
from batted_ball.physics import SimulationMode, kernels
from batted_ball.season import new_game

from perfkit import bench

FINE_BALL_DT = 0.00025
FINE_PITCH_DT = 0.0001


def record_flights(n_games: int) -> tuple[list[tuple], list[tuple]]:
    """The kernel arguments of every batted ball and pitch of games ``0..n_games-1`` (FAST)."""
    balls, pitches = [], []
    fly, fly_pitches = kernels.fly, lockstep._fly_pitches

    def keep_ball(*args):
        balls.append(args)
        return fly(*args)

    def keep_pitches(games, batch):
        pitches.extend(state + games[i].pitch_args for i, state in batch)
        return fly_pitches(games, batch)

    lockstep.kernels.fly, lockstep._fly_pitches = keep_ball, keep_pitches
    try:
        lockstep.play_together([new_game(2026, i, "fast") for i in range(n_games)])
    finally:
        lockstep.kernels.fly, lockstep._fly_pitches = fly, fly_pitches
    return balls, pitches


def ball_errors(balls: list[tuple], dt: float, fine: np.ndarray) -> dict:
    """Largest differences of the balls flown at ``dt`` from the fine flights (``kernels.fly``'s dt is arg 16)."""
    r = np.array([kernels.fly(*a[:16], dt, *a[17:])[: kernels.N_FLY] for a in balls])
    dist = np.hypot(r[:, 1], r[:, 2]) - np.hypot(fine[:, 1], fine[:, 2])
    both = ~np.isnan(r[:, 7]) & ~np.isnan(fine[:, 7])
    return {
        "distance_ft": float(np.abs(dist).max()),
        "hang_time_s": float(np.abs(r[:, 0] - fine[:, 0]).max()),
        "apex_ft": float(np.abs(r[:, 3] - fine[:, 3]).max()),
        "wall_height_ft": float(np.abs(r[both, 7] - fine[both, 7]).max()),
        "wall_height_ft_median": float(np.median(np.abs(r[both, 7] - fine[both, 7]))),
        "wall_reached_differs": int((np.isnan(r[:, 7]) != np.isnan(fine[:, 7])).sum()),
    }


def pitch_errors(pitches: list[tuple], dt: float, fine: np.ndarray) -> dict:
    """Largest differences of the pitches flown at ``dt`` (``kernels.pitch``'s dt is arg 13)."""
    r = np.array([kernels.pitch(*p[:13], dt, *p[14:])[:7] for p in pitches])
    return {
        "plate_x_ft": float(np.abs(r[:, 1] - fine[:, 1]).max()),
        "plate_z_ft": float(np.abs(r[:, 2] - fine[:, 2]).max()),
        "plate_time_s": float(np.abs(r[:, 0] - fine[:, 0]).max()),
    }


def games_differ(n_games: int, mode: SimulationMode, fast: list[dict]) -> dict:
    """How many of the games' box scores differ from FAST's (anything but the ``mode`` they name)."""
    boxes = lockstep.play_together([new_game(2026, i, mode.name.lower()) for i in range(n_games)])
    return {"games_differ": sum(_played(a) != _played(b) for a, b in zip(boxes, fast, strict=True))}


def _played(box: dict) -> dict:
    """A box score without the mode it names."""
    return {k: v for k, v in box.items() if k != "mode"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--games", type=int, default=48)
    args = ap.parse_args()
    balls, pitches = record_flights(args.games)
    fine_b = np.array([kernels.fly(*a[:16], FINE_BALL_DT, *a[17:])[: kernels.N_FLY] for a in balls])
    fine_p = np.array([kernels.pitch(*p[:13], FINE_PITCH_DT, *p[14:])[:7] for p in pitches])
    fast = lockstep.play_together([new_game(2026, i, "fast") for i in range(args.games)])
    modes = {}
    for mode in SimulationMode:
        m = {
            "dt_s": mode.dt_s,
            "balls": ball_errors(balls, mode.dt_s, fine_b),
            "pitches": pitch_errors(pitches, mode.dt_s, fine_p),
            **games_differ(args.games, mode, fast),
        }
        modes[mode.name.lower()] = m
        b, p = m["balls"], m["pitches"]
        print(
            f"{mode.name:>10} ({mode.dt_s * 1e3:g} ms): balls distance {b['distance_ft']:.1e} ft, hang "
            f"{b['hang_time_s']:.1e} s, apex {b['apex_ft']:.1e} ft, height at the fence {b['wall_height_ft']:.1e} ft "
            f"(median {b['wall_height_ft_median']:.1e}) "
            f"({b['wall_reached_differs']} reach it or not unlike the fine flight); pitches plate x "
            f"{p['plate_x_ft']:.1e} ft, z {p['plate_z_ft']:.1e} ft, time {p['plate_time_s']:.1e} s; "
            f"box scores unlike FAST's {m['games_differ']}/{args.games}"
        )
    data = {
        "games": args.games,
        "seed": 2026,
        "balls": len(balls),
        "pitches": len(pitches),
        "fine_ball_dt_s": FINE_BALL_DT,
        "fine_pitch_dt_s": FINE_PITCH_DT,
        "modes": modes,
    }
    path = bench.record("batted_ball_step_accuracy", "step_accuracy", data)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
