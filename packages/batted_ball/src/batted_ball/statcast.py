"""The simulated game against the real one: batted balls of simulated games beside the Statcast sample.

``batted-ball validate --statcast`` plays a sample of a season (play-by-play recorded) and compares its
fair balls in play with the 2,284 Statcast balls in play of ``../shared/data/batted_ball``:

- distributions: two-sample Kolmogorov-Smirnov statistics (scipy) of exit velocity and launch angle
  (every ball in play) and of distance (balls in the air: line drives, fly balls, popups);
- outcome rates: hits per ball in play in cells of batted-ball type x exit-velocity bucket;
- the physics alone: every fair fly ball and liner of the sample flown with its own EV, LA and spray
  and measured to the ground (``validation.statcast_residuals(catch_height_ft=0)``), mean and spread.

The tolerances and why: ``docs/batted_ball.md`` ("Against the real game").
"""

import itertools
import math
from pathlib import Path

import numpy as np

from .errors import BattedBallError, whole_number
from .validation import STATCAST_CSV, _read_rows, statcast_residuals

#: Largest Kolmogorov-Smirnov distance accepted between simulated and Statcast distributions.
KS_TOLERANCE = 0.10
#: Hits per ball in play of a cell: |simulated - Statcast| within this plus 2 combined standard errors;
#: cells with fewer than ``MIN_CELL_BALLS`` balls on either side (Statcast or simulated) are shown, not judged.
RATE_TOLERANCE = 0.10
RATE_SE = 2.0
MIN_CELL_BALLS = 30
#: Mean distance residual (simulated - measured) of the sample's fly balls and liners, to the ground.
GROUND_RESIDUAL_TOLERANCE_FT = 10.0
EV_EDGES_MPH = (0.0, 85.0, 95.0, 105.0, math.inf)
#: Launch-angle bins of the residual breakdown (where along the angles the model and Statcast part).
RESIDUAL_LA_EDGES_DEG = (-90.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 90.0)
BB_TYPES = ("ground_ball", "line_drive", "fly_ball", "popup")
AIR_TYPES = ("line_drive", "fly_ball", "popup")
HITS = ("single", "double", "triple", "home_run")
#: Statcast events the simulation does not model (bunts).
UNMODELLED_EVENTS = ("sac_bunt", "bunt_groundout", "sac_bunt_double_play")


def read_statcast(data_dir: Path) -> dict[str, np.ndarray]:
    """The sample's balls in play: ``ev``, ``la``, ``distance`` (NaN where missing), ``bb_type``, ``hit``.

    ``bb_type`` is the game's rule by launch angle (``game.engine.bb_type``), so that both sides of
    every comparison are classified alike: Statcast's own column disagrees with it for ~10 % of the
    sample (its fly balls reach 69 deg, its line drives go down to 3 deg).
    """
    from .game.engine import bb_type

    path = Path(data_dir) / STATCAST_CSV
    rows = _read_rows(path, ("launch_speed", "launch_angle", "hit_distance_sc", "bb_type", "events"))
    out: dict[str, list] = {"ev": [], "la": [], "distance": [], "bb_type": [], "hit": []}
    for line, r in enumerate(rows, start=2):
        if r["events"] in UNMODELLED_EVENTS or r["bb_type"] not in BB_TYPES:
            continue
        try:
            ev, la = float(r["launch_speed"]), float(r["launch_angle"])
            dist = float(r["hit_distance_sc"]) if r["hit_distance_sc"] else math.nan
        except ValueError as exc:
            raise BattedBallError(f"malformed {path}, line {line}: {exc}") from None
        if not (math.isfinite(ev) and math.isfinite(la)):
            continue
        for k, v in (("ev", ev), ("la", la), ("distance", dist), ("bb_type", bb_type(la))):
            out[k].append(v)
        out["hit"].append(r["events"] in HITS)
    if not out["ev"]:
        raise BattedBallError(f"{path} has no balls in play")
    return {k: np.array(v) for k, v in out.items()}


def simulated_balls(n_games: int, seed: int) -> dict[str, np.ndarray]:
    """Fair balls in play of games ``0..n_games-1`` of season ``seed`` (same keys as :func:`read_statcast`)."""
    import pyarrow as pa

    from .season import run_games

    _, _, balls = run_games(n_games, seed, executor="serial", pbp=True)
    t = pa.concat_tables(balls).to_pydict()
    fair = np.array(t["outcome"]) != "foul"
    return {
        "ev": np.array(t["exit_velo_mph"])[fair],
        "la": np.array(t["launch_angle_deg"])[fair],
        "distance": np.array(t["distance_ft"])[fair],
        "bb_type": np.array(t["bb_type"])[fair],
        "hit": np.isin(np.array(t["outcome"]), HITS)[fair],
    }


def _ks(name: str, sim: np.ndarray, real: np.ndarray) -> dict:
    from scipy.stats import ks_2samp

    sim, real = sim[np.isfinite(sim)], real[np.isfinite(real)]
    r = ks_2samp(sim, real)
    return {
        "quantity": name,
        "ks_statistic": float(r.statistic),
        "p_value": float(r.pvalue),
        "n_simulated": int(sim.size),
        "n_statcast": int(real.size),
        "mean_simulated": float(sim.mean()),
        "mean_statcast": float(real.mean()),
        "tolerance": KS_TOLERANCE,
        "within": bool(r.statistic <= KS_TOLERANCE),
    }


def _rate_cells(sim: dict, real: dict) -> list[dict]:
    cells = []
    for bb in BB_TYPES:
        for lo, hi in itertools.pairwise(EV_EDGES_MPH):
            ms = (sim["bb_type"] == bb) & (sim["ev"] >= lo) & (sim["ev"] < hi)
            mr = (real["bb_type"] == bb) & (real["ev"] >= lo) & (real["ev"] < hi)
            ns, nr = int(ms.sum()), int(mr.sum())
            ps = float(sim["hit"][ms].mean()) if ns else math.nan
            pr = float(real["hit"][mr].mean()) if nr else math.nan
            se = math.sqrt(ps * (1 - ps) / ns + pr * (1 - pr) / nr) if ns and nr else math.nan
            judged = nr >= MIN_CELL_BALLS and ns >= MIN_CELL_BALLS
            cells.append(
                {
                    "bb_type": bb,
                    "ev_mph": [lo, hi if math.isfinite(hi) else None],
                    "n_simulated": ns,
                    "n_statcast": nr,
                    "hit_rate_simulated": ps,
                    "hit_rate_statcast": pr,
                    "difference": ps - pr,
                    "standard_error": se,
                    "judged": judged,
                    "within": bool(abs(ps - pr) <= RATE_TOLERANCE + RATE_SE * se) if judged else None,
                }
            )
    return cells


def _residual_summary(res: dict) -> dict:
    r = res["residual"]
    groups = {
        "fly_ball": res["bb_type"] == "fly_ball",
        "line_drive": res["bb_type"] == "line_drive",
        "caught": res["caught"],
        "not_caught": ~res["caught"],
        "home_run": res["home_run"],
        # The spin fit (flight.SPIN_FIT) was made on the even game_pk half; the odd half validates it.
        "spin_fit_half": res["fit_half"],
        "validation_half": ~res["fit_half"],
    }
    la = res["launch_angle_deg"]
    by_angle = []
    for lo, hi in itertools.pairwise(RESIDUAL_LA_EDGES_DEG):
        m = (la >= lo) & (la < hi)
        if m.any():
            by_angle.append({"launch_angle_deg": [lo, hi], "n": int(m.sum()), "mean_ft": float(r[m].mean())})
    mean = float(r.mean())
    return {
        "n": int(r.size),
        "mean_ft": mean,
        "sd_ft": float(r.std(ddof=1)),
        "median_ft": float(np.median(r)),
        "p10_ft": float(np.percentile(r, 10)),
        "p90_ft": float(np.percentile(r, 90)),
        "by_group": {k: {"n": int(m.sum()), "mean_ft": float(r[m].mean())} for k, m in groups.items()},
        "by_launch_angle": by_angle,
        "tolerance_ft": GROUND_RESIDUAL_TOLERANCE_FT,
        "within": bool(abs(mean) <= GROUND_RESIDUAL_TOLERANCE_FT),
    }


def compare(data_dir: Path, n_games: int, seed: int) -> tuple[dict, dict, dict, np.ndarray]:
    """The report (JSON-ready), the simulated and the Statcast balls, and the ground residuals."""
    data_dir = Path(data_dir)
    n_games = whole_number("n_games", n_games, minimum=1)
    real = read_statcast(data_dir)
    sim = simulated_balls(n_games, seed)
    air_s, air_r = np.isin(sim["bb_type"], AIR_TYPES), np.isin(real["bb_type"], AIR_TYPES)
    distributions = [
        _ks("exit_velo_mph", sim["ev"], real["ev"]),
        _ks("launch_angle_deg", sim["la"], real["la"]),
        _ks("distance_ft_in_the_air", sim["distance"][air_s], real["distance"][air_r]),
    ]
    cells = _rate_cells(sim, real)
    ground = statcast_residuals(data_dir, catch_height_ft=0.0)
    residual = _residual_summary(ground)
    share = {
        bb: [float(np.mean(sim["bb_type"] == bb)), float(np.mean(real["bb_type"] == bb))] for bb in BB_TYPES
    }
    judged = [c for c in cells if c["judged"]]
    report = {
        "games": n_games,
        "seed": seed,
        "balls_in_play": {"simulated": int(sim["ev"].size), "statcast": int(real["ev"].size)},
        "hit_rate": {"simulated": float(sim["hit"].mean()), "statcast": float(real["hit"].mean())},
        "bb_type_share_simulated_statcast": share,
        "distributions": distributions,
        "hit_rate_by_cell": cells,
        "ground_residual": residual,
        "verdict": {
            "distributions_within": sum(d["within"] for d in distributions),
            "distributions": len(distributions),
            "cells_within": sum(bool(c["within"]) for c in judged),
            "cells_judged": len(judged),
            "ground_residual_within": residual["within"],
        },
    }
    v = report["verdict"]
    v["passed"] = bool(
        v["distributions_within"] == v["distributions"]
        and v["cells_within"] == v["cells_judged"]
        and v["ground_residual_within"]
    )
    return _finite_or_none(report), sim, real, ground["residual"]


def _finite_or_none(obj):
    """NaN (an empty cell's rate) as None, so the report is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite_or_none(v) for v in obj]
    return obj


def plot_comparison(report: dict, sim: dict, real: dict, residual: np.ndarray, path: Path, fmt: str) -> None:
    """Four panels: EV and LA histograms, air distance, hit rate by cell, ground residuals."""
    from .plots import new_figure, save_figure

    fig = new_figure(12.0, 8.0)
    (a, b, c), (d, e, f) = fig.subplots(2, 3)
    air_s, air_r = np.isin(sim["bb_type"], AIR_TYPES), np.isin(real["bb_type"], AIR_TYPES)
    for ax, key, sel_s, sel_r, bins, label, ks in (
        (a, "ev", slice(None), slice(None), np.arange(20, 125, 2.5), "exit velocity, mph", 0),
        (b, "la", slice(None), slice(None), np.arange(-90, 91, 5), "launch angle, deg", 1),
        (c, "distance", air_s, air_r, np.arange(0, 500, 10), "distance of balls in the air, ft", 2),
    ):
        rs = real[key][sel_r]
        ax.hist(sim[key][sel_s], bins=bins, density=True, alpha=0.5, label="simulated", color="#457b9d")
        ax.hist(rs[np.isfinite(rs)], bins=bins, density=True, alpha=0.5, label="Statcast", color="#e76f51")
        dist = report["distributions"][ks]
        ax.set_title(f"KS D = {dist['ks_statistic']:.3f} (tolerance {KS_TOLERANCE:g})", fontsize=9)
        ax.set_xlabel(label)
        ax.legend(fontsize=7)
    cells = [x for x in report["hit_rate_by_cell"] if x["n_statcast"] > 0 and x["n_simulated"] > 0]
    xs = np.arange(len(cells))
    d.errorbar(xs - 0.1, [x["hit_rate_statcast"] for x in cells], fmt="o", color="#e76f51", label="Statcast",
               yerr=[math.sqrt(x["hit_rate_statcast"] * (1 - x["hit_rate_statcast"]) / x["n_statcast"]) for x in cells])  # fmt: skip
    d.plot(xs + 0.1, [x["hit_rate_simulated"] for x in cells], "s", color="#457b9d", label="simulated")
    names = [f"{x['bb_type'].split('_')[0]} {x['ev_mph'][0]:.0f}+" for x in cells]
    d.set_xticks(xs, names, rotation=70, fontsize=6)
    d.set_ylabel("hits per ball in play")
    d.set_title("hit rate by batted-ball type and EV (mph)", fontsize=9)
    d.legend(fontsize=7)
    r = report["ground_residual"]
    e.hist(residual, bins=np.arange(-80, 101, 5), color="#2a9d8f")
    e.axvline(0, color="k", lw=0.8)
    e.axvline(r["mean_ft"], color="#d00000", lw=1.2)
    e.set_xlabel("simulated - Statcast distance, ft (to the ground)")
    e.set_title(
        f"fly balls and liners: mean {r['mean_ft']:+.1f} ft, sd {r['sd_ft']:.1f} (n={r['n']})", fontsize=9
    )
    share = report["bb_type_share_simulated_statcast"]
    kinds = list(share)
    f.bar(np.arange(len(kinds)) - 0.2, [share[k][0] for k in kinds], 0.4, label="simulated", color="#457b9d")
    f.bar(np.arange(len(kinds)) + 0.2, [share[k][1] for k in kinds], 0.4, label="Statcast", color="#e76f51")
    f.set_xticks(np.arange(len(kinds)), kinds, fontsize=7)
    f.set_title("share of balls in play by type", fontsize=9)
    f.legend(fontsize=7)
    fig.suptitle(f"{report['games']} simulated games (seed {report['seed']}) against the Statcast sample")
    save_figure(fig, path, fmt)
