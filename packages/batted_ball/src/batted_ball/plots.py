"""Pictures (matplotlib): trajectories side and top, a spray chart over a field, EV/LA by outcome.

Figures are drawn on ``matplotlib.figure.Figure`` objects (no pyplot state, safe in threads) and saved
as PNG or SVG (by the file's suffix unless ``fmt`` says), without a date in the file (same inputs, same bytes).
"""

from pathlib import Path

import numpy as np

from .errors import BattedBallError
from .parks import FENCE_BEARINGS_DEG, Park, park

FORMATS = ("png", "svg")
#: Outcome colours: hits warm (by bases), outs cool, fouls grey.
OUTCOME_COLOURS = {
    "single": "#f4a259",
    "double": "#e76f51",
    "triple": "#b5179e",
    "home_run": "#d00000",
    "field_out": "#457b9d",
    "force_out": "#1d3557",
    "double_play": "#14213d",
    "sac_fly": "#8ecae6",
    "field_error": "#2a9d8f",
    "foul": "#adb5bd",
}
#: A field drawn when no park is given: 330 ft lines, 375 ft gaps, 400 ft to centre, 8 ft walls.
GENERIC_PARK = Park("GEN", "a generic park", 0.0, (330, 375, 400, 375, 330), (8, 8, 8))
BASE_DISTANCE_FT = 90.0


def plot_format(path: Path) -> str:
    """``png`` or ``svg`` from the file's suffix; anything else is refused (``BattedBallError``)."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise BattedBallError(f"{path}: a picture is .png or .svg, not {Path(path).suffix or 'no suffix'!r}")
    return fmt


def new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def save_figure(fig, path: Path, fmt: str | None) -> None:
    fmt = fmt or plot_format(path)
    import matplotlib

    # SVG element ids come from a hash salted with this (not a random one); no date in either format.
    with matplotlib.rc_context({"svg.hashsalt": "batted-ball"}):
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(path, format=fmt, metadata=meta)


def as_park(where: Park | str | None) -> Park:
    """A :class:`Park`, or the park a code or name names (``"NYY"``, ``"Fenway Park"``); None: the generic one."""
    if where is None:
        return GENERIC_PARK
    return where if isinstance(where, Park) else park(where)


def draw_field(ax, park: Park | str | None = None) -> None:
    """Foul lines, the infield diamond and the outfield fence of ``park`` (top view, ft; home at 0, 0)."""
    park = as_park(park)
    dist, _ = park.fence_profile
    b = np.radians(FENCE_BEARINGS_DEG)
    ax.plot(dist * np.sin(b), dist * np.cos(b), color="#2d6a4f", lw=2.0, label=f"fence: {park.name}")
    for side in (-1, 1):
        end = dist[0 if side < 0 else -1]
        ax.plot([0, side * end * np.sin(np.pi / 4)], [0, end * np.cos(np.pi / 4)], color="0.4", lw=0.8)
    d = BASE_DISTANCE_FT / np.sqrt(2.0)
    ax.plot([0, d, 0, -d, 0], [0, d, 2 * d, d, 0], color="#9c6644", lw=1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("x, ft (+ toward right field)")
    ax.set_ylabel("y, ft (toward centre field)")


def spin_note(spin_source: str) -> str:
    """``, Statcast avg RHB`` for a spin the ball was not given (a default a user may not expect: its
    sidespin curves the ball), nothing for a spin given on the command line."""
    if spin_source.startswith("statcast_average_"):
        return f", Statcast avg {spin_source.rsplit('_', 1)[1]}"
    return ""


def plot_trajectories(
    results: list, path: Path, park: Park | None = None, title: str = "", fmt: str | None = None
) -> None:
    """Side view (distance along the ground vs height) and top view over the field, one line per ball.

    ``results`` are :class:`physics.BattedBallResult` flown with ``record_path=True``.
    """
    fmt = fmt or plot_format(path)
    park = as_park(park)
    results = [results] if hasattr(results, "trajectory") else list(results)
    if any(getattr(r, "trajectory", None) is None for r in results):
        raise BattedBallError(
            "plot_trajectories draws balls flown with record_path=True (a result has no trajectory)"
        )
    fig = new_figure(11.0, 5.0)
    side, top = fig.subplots(1, 2, width_ratios=(1.6, 1.0))
    dist, height = park.fence_profile
    for r in results:
        t = r.trajectory
        label = (
            f"{r.exit_velo_mph:g} mph, {r.launch_angle_deg:g}°, spray {r.spray_angle_deg:g}°, "
            f"spin {r.backspin_rpm:.0f}/{r.sidespin_rpm:.0f} rpm{spin_note(r.spin_source)}: "
            f"{r.distance_ft:.0f} ft, {r.hang_time_s:.1f} s"
        )
        side.plot(np.hypot(t[:, 1], t[:, 2]), t[:, 3], lw=1.5, label=label)
        top.plot(t[:, 1], t[:, 2], lw=1.5)
    # The wall in the side view at each ball's bearing would differ per ball: show centre field's.
    centre = len(dist) // 2
    side.plot([dist[centre]] * 2, [0, height[centre]], color="#2d6a4f", lw=3, label="centre-field wall")
    side.set_xlabel("distance from home plate, ft")
    side.set_ylabel("height, ft")
    side.set_ylim(bottom=0)
    side.set_xlim(left=0)
    side.legend(fontsize=7, loc="upper left")
    side.set_title(title or "trajectories, side view")
    draw_field(top, park)
    top.set_title("top view")
    top.legend(fontsize=7, loc="lower center")
    save_figure(fig, path, fmt)


def plot_spray(balls, path: Path, park: Park | None = None, title: str = "", fmt: str | None = None) -> dict:
    """Landing points of batted balls over a field, coloured by outcome (``balls_in_play`` columns).

    Every ball is drawn at its first landing point (a ground ball's roll is not stored). Returns the
    counts per outcome.
    """
    fmt = fmt or plot_format(path)
    park = as_park(park)
    fig = new_figure(7.0, 7.0)
    ax = fig.subplots()
    draw_field(ax, park)
    counts = _scatter_by_outcome(ax, balls, "landing_x_ft", "landing_y_ft", size=9)
    ax.set_title(title or f"spray chart: {batted_balls(sum(counts.values()))}")
    ax.legend(fontsize=7, loc="lower right", markerscale=1.5)
    save_figure(fig, path, fmt)
    return counts


def plot_ev_la(balls, path: Path, title: str = "", fmt: str | None = None) -> dict:
    """Exit velocity against launch angle, coloured by outcome: the barrel zone shows as red."""
    fmt = fmt or plot_format(path)
    fig = new_figure(8.0, 6.0)
    ax = fig.subplots()
    counts = _scatter_by_outcome(ax, balls, "launch_angle_deg", "exit_velo_mph", size=7)
    for la in (10, 25, 50):  # Statcast's batted-ball types by launch angle
        ax.axvline(la, color="0.7", lw=0.7, ls="--")
    ax.set_xlabel("launch angle, degrees")
    ax.set_ylabel("exit velocity, mph")
    ax.set_title(title or f"exit velocity and launch angle: {batted_balls(sum(counts.values()))}")
    ax.legend(fontsize=7, loc="lower left", markerscale=1.5)
    save_figure(fig, path, fmt)
    return counts


def batted_balls(n: int) -> str:
    """``1 batted ball``, ``1,806 batted balls``."""
    return f"{n:,} batted ball{'' if n == 1 else 's'}"


def _column(balls, name: str, dtype) -> np.ndarray:
    """A column of ``balls`` (an Arrow table, a pandas or polars frame, a dict of lists) as a numpy array."""
    try:
        values = balls[name]
    except Exception:  # KeyError (dict, pandas, Arrow) or polars' ColumnNotFoundError
        raise BattedBallError(f"the balls have no {name!r} column (see io.BIP_SCHEMA)") from None
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError):
        raise BattedBallError(f"the balls' {name!r} column is not numbers") from None


def _scatter_by_outcome(ax, balls, x: str, y: str, size: float) -> dict:
    outcome = _column(balls, "outcome", object)
    xs, ys = _column(balls, x, float), _column(balls, y, float)
    counts = {}
    for name, colour in OUTCOME_COLOURS.items():
        sel = outcome == name
        if sel.any():
            counts[name] = int(sel.sum())
            ax.scatter(xs[sel], ys[sel], s=size, c=colour, alpha=0.7, lw=0, label=f"{name} ({sel.sum():,})")
    return counts


def plot_spin_axis(path: Path, fmt: str | None = None) -> None:
    """The one spin-axis convention (batted balls and pitches), drawn as seen from behind home plate."""
    fig = new_figure(5.5, 5.5)
    ax = fig.subplots()
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.5", lw=1)
    notes = {
        0: "0: topspin (dives)",
        90: "90: toward 1B / right field\n(batted ball: sidespin < 0)",
        180: "180: backspin (lift)",
        270: "270: toward 3B / left field\n(batted ball: sidespin > 0)",
    }
    for a_deg, text in notes.items():
        a = np.radians(a_deg)
        dx, dz = np.sin(a), -np.cos(a)  # the push: (sin a, -cos a) in (x toward first base, z up)
        ax.annotate("", xy=(0.9 * dx, 0.9 * dz), xytext=(0, 0), arrowprops={"arrowstyle": "->", "lw": 2})
        ax.text(1.18 * dx, 1.18 * dz, text, ha="center", va="center", fontsize=8)
    ax.text(0, -0.12, "spin axis a: the spin pushes the ball toward (sin a, -cos a)", ha="center", fontsize=7)
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.set_xlabel("x: toward first base / right field (seen from behind home plate)")
    ax.set_ylabel("z: up")
    ax.set_title("--spin-axis, the same for batted balls and pitches (Statcast's)", fontsize=9)
    save_figure(fig, path, fmt)
