"""Command line for batted-ball: one trajectory, one pitch, the validation checks, a game, a season.

Every command takes perfkit's common options; bad input is one line on stderr and exit 2.
"""

import json
import math
import sys
from pathlib import Path

import click
from perfkit.clitools import (
    Group,
    NotAnOptionPath,
    common_options,
    executor_for,
    executor_option,
    handle_errors,
    scheduler_option,
)
from perfkit.job import job

from .errors import BattedBallError

_BAD_INPUT = (BattedBallError,)
_errors = handle_errors(bad_input=_BAD_INPUT)
CONTEXT = {"help_option_names": ["-h", "--help"]}


class _Finite(click.ParamType):
    """A float option that refuses NaN and infinity (one line naming the option and the value)."""

    name = "float"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


#: ``physics.SimulationMode`` names (a test checks they agree).
MODES = ("accurate", "fast", "ultra_fast", "extreme")
#: The games' mode (``game.engine.GAME_MODE``, written out here: no physics import for ``--help``).
GAME_MODE = "extreme"
#: ``--mode``: checked here (no physics import for a typo), in any case.
MODE = click.Choice(MODES, case_sensitive=False)


FLOAT = _Finite()
SEED = click.IntRange(min=0)


def _quiet_conflict(quiet: bool, as_json: bool, **printouts: bool) -> None:
    """``--quiet`` prints only errors (``--json``'s JSON excepted: asked for by name), so an option
    whose only effect is more printout cannot go with it."""
    asked = [name for name, on in printouts.items() if on]
    if quiet and not as_json and asked:
        raise BattedBallError(f"--{asked[0]} prints more and --quiet prints nothing; add --json or drop one")


def _emit(data: dict, as_json: bool, quiet: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        return
    if quiet:
        return
    for k, v in data.items():
        if k == "trajectory":
            continue
        if isinstance(v, float):
            v = f"{v:.4f}"
        click.echo(f"{k:>24}: {v}")
    if "trajectory" in data:
        _emit_path(data["trajectory"])


def _emit_path(path: dict, every_s: float = 0.1) -> None:
    """The trajectory as a table, one row every ``every_s`` seconds and the landing (``--json`` has all)."""
    t = path["t_s"]
    click.echo(f"\n{'t_s':>8} {'x_ft':>9} {'y_ft':>9} {'z_ft':>9}")
    next_t = 0.0
    for i, ti in enumerate(t):
        if ti + 1e-9 >= next_t or i == len(t) - 1:
            click.echo(f"{ti:>8.3f} {path['x_ft'][i]:>9.2f} {path['y_ft'][i]:>9.2f} {path['z_ft'][i]:>9.2f}")
            next_t += every_s * max(1, int((ti + 1e-9 - next_t) / every_s) + 1)


_NOT_CONFIG = {
    "profile",
    "report_dir",
    "workers",
    "force",
    "quiet",
    "as_json",
    "with_path",
    "pbp",
    "out_dir",
    "out_path",
}


def _given(*names: str) -> list[str]:
    """Which of the current command's parameters the user set (command line or environment), so that
    an option whose value equals its default is still seen as given."""
    ctx = click.get_current_context()
    default = (None, click.core.ParameterSource.DEFAULT)
    return [n for n in names if ctx.get_parameter_source(n) not in default]


def _config() -> dict:
    """The current command's options that define its result, for the run report's ``config``."""
    params = click.get_current_context().params
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items() if k not in _NOT_CONFIG}


def _job(command: str, config: dict, *, profile, report_dir, force, inputs=(), directories=(), resume=None):
    """``perfkit.job`` for one batted-ball command: single runs write files only for ``--report-dir``
    and ``--profile``; ``season`` claims its ``--out`` folder (the report goes inside it), which keeps
    a journal of finished games so that ``--resume`` can continue a killed season (``resume`` not None).
    """
    return job(
        "batted_ball",
        command,
        config=config,
        inputs=inputs,
        directories=directories,
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=_BAD_INPUT,
        resumable=resume is not None,
        resume=bool(resume),
    )


def _out_folder(help_text: str):
    """An optional ``--out DIR`` folder output (claimed through ``perfkit.job`` by the command)."""
    return click.option(
        "--out",
        "out_dir",
        type=NotAnOptionPath(file_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(package_name="batted-ball")
def main() -> None:
    """batted-ball: physics-first baseball simulation, from one trajectory to a parallel season."""


@main.command(context_settings=CONTEXT)
@click.option("--exit-velo", "exit_velo", type=FLOAT, required=True, help="Exit velocity, mph.")
@click.option("--launch-angle", type=FLOAT, required=True, help="Launch angle, degrees above horizontal.")
@click.option(
    "--spray-angle", type=FLOAT, default=0.0, show_default=True, help="Degrees, + toward right field."
)
@click.option(
    "--backspin",
    type=FLOAT,
    default=None,
    help="rpm (0 if only --sidespin is given; with no spin option: the Statcast-average spin).",
)
@click.option(
    "--sidespin",
    type=FLOAT,
    default=None,
    help="rpm, + curves toward left field (Nathan's sign); 0 if only --backspin is given.",
)
@click.option(
    "--spin-rpm", type=FLOAT, default=None, help="Total spin, with --spin-axis (instead of back/side)."
)
@click.option(
    "--spin-axis",
    type=FLOAT,
    default=None,
    help="Statcast's axis, as for pitches: 180 = pure backspin (default), 270 = + sidespin, 90 = - sidespin.",
)
@click.option(
    "--batter-hand",
    type=str,
    default=None,
    help="R or L: chooses the Statcast-average spin when no spin is given (default R).",
)
@click.option("--temp-f", type=FLOAT, default=70.0, show_default=True)
@click.option("--elevation-ft", type=FLOAT, default=0.0, show_default=True)
@click.option("--humidity", type=FLOAT, default=50.0, show_default=True, help="Relative humidity, %.")
@click.option("--pressure-inhg", type=FLOAT, default=29.92, show_default=True)
@click.option("--wind-mph", type=FLOAT, default=0.0, show_default=True)
@click.option("--wind-dir", type=FLOAT, default=0.0, show_default=True, help="Blowing toward: 0 = out to CF.")
@click.option("--spin-decay-s", type=FLOAT, default=None, help="Spin-decay time constant at 100 mph (none).")
@click.option("--mode", type=MODE, default="accurate", show_default=True, help="RK4 step: 1, 2, 5 or 10 ms.")
@click.option(
    "--path", "with_path", is_flag=True, help="Include the trajectory (t, x, y, z; every step with --json)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options(workers=False)
@_errors
def trajectory(
    exit_velo,
    launch_angle,
    spray_angle,
    backspin,
    sidespin,
    spin_rpm,
    spin_axis,
    batter_hand,
    temp_f,
    elevation_ft,
    humidity,
    pressure_inhg,
    wind_mph,
    wind_dir,
    spin_decay_s,
    mode,
    with_path,
    as_json,
    profile,
    report_dir,
    force,
    quiet,
):
    """Fly one batted ball: distance, hang time, apex, landing point.

    Spin: --backspin and/or --sidespin (a missing one is 0), or --spin-rpm with --spin-axis; with
    none of them, the Statcast-average spin for the angles and --batter-hand (spin_source says which).

    Example: batted-ball trajectory --exit-velo 100 --launch-angle 28 --backspin 2000 --json
    """
    spins = [
        n
        for n, v in (("backspin", backspin), ("sidespin", sidespin), ("spin-rpm", spin_rpm))
        if v is not None
    ]
    _quiet_conflict(quiet, as_json, path=with_path)
    if batter_hand is not None and spins:
        raise BattedBallError(
            f"--batter-hand only chooses the Statcast-average spin; it has no effect with --{spins[0]}"
        )
    with _job("trajectory", _config(), profile=profile, report_dir=report_dir, force=force):
        from .physics import Environment, simulate_batted_ball

        env = Environment(
            temp_f, elevation_ft, humidity, pressure_inhg, wind_mph, wind_dir, 0.0, spin_decay_s
        )
        r = simulate_batted_ball(
            exit_velo,
            launch_angle,
            spray_angle,
            backspin,
            sidespin,
            spin_rpm=spin_rpm,
            spin_axis_deg=spin_axis,
            batter_hand=batter_hand or "R",
            env=env,
            mode=mode,
            record_path=with_path,
        )
    _emit(r.to_dict(), as_json, quiet)


@main.command(context_settings=CONTEXT)
@click.option("--velo", type=FLOAT, required=True, help="Release speed, mph.")
@click.option("--spin", type=FLOAT, default=2200.0, show_default=True, help="Spin rate, rpm.")
@click.option(
    "--spin-axis",
    type=FLOAT,
    default=180.0,
    show_default=True,
    help="Statcast axis: 180 = backspin (rise), 90 = movement toward first base.",
)
@click.option("--active-spin", type=FLOAT, default=1.0, show_default=True, help="Transverse fraction, 0-1.")
@click.option("--release-x", type=FLOAT, default=-2.0, show_default=True, help="ft, + toward first base.")
@click.option("--release-z", type=FLOAT, default=6.0, show_default=True, help="ft above the ground.")
@click.option("--extension", type=FLOAT, default=6.5, show_default=True, help="ft in front of the rubber.")
@click.option("--target-x", type=FLOAT, default=0.0, show_default=True, help="Aim at the plate, ft.")
@click.option("--target-z", type=FLOAT, default=2.5, show_default=True, help="Aim at the plate, ft.")
@click.option("--temp-f", type=FLOAT, default=70.0, show_default=True)
@click.option("--elevation-ft", type=FLOAT, default=0.0, show_default=True)
@click.option("--humidity", type=FLOAT, default=50.0, show_default=True)
@click.option("--mode", type=MODE, default="accurate", show_default=True, help="RK4 step: 1, 2, 5 or 10 ms.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options(workers=False)
@_errors
def pitch(
    velo,
    spin,
    spin_axis,
    active_spin,
    release_x,
    release_z,
    extension,
    target_x,
    target_z,
    temp_f,
    elevation_ft,
    humidity,
    mode,
    as_json,
    profile,
    report_dir,
    force,
    quiet,
):
    """Fly one pitch: time to the plate, plate location, induced vertical and horizontal break.

    Example: batted-ball pitch --velo 95 --spin 2400 --spin-axis 180 --json
    """
    with _job("pitch", _config(), profile=profile, report_dir=report_dir, force=force):
        from .physics import Environment, simulate_pitch

        env = Environment(temp_f, elevation_ft, humidity)
        r = simulate_pitch(
            velo,
            spin,
            spin_axis,
            active_spin,
            release_x_ft=release_x,
            release_z_ft=release_z,
            extension_ft=extension,
            target_x_ft=target_x,
            target_z_ft=target_z,
            env=env,
            mode=mode,
        )
    _emit(r.to_dict(), as_json, quiet)


@main.command(context_settings=CONTEXT)
@click.option(
    "--data-dir",
    type=NotAnOptionPath(file_okay=False, path_type=Path),
    default=None,
    help="Folder with the reference CSVs (default: ../shared/data/batted_ball if present).",
)
@click.option(
    "--statcast",
    is_flag=True,
    help="Compare simulated balls in play with the Statcast sample instead (distributions, hit rates, residuals).",
)
@click.option(
    "--games",
    "n_games",
    type=click.IntRange(1, 2430),
    default=240,
    show_default=True,
    help="With --statcast.",
)
@click.option(
    "--seed", type=SEED, default=2026, show_default=True, help="With --statcast: the season played."
)
@_out_folder("With --statcast: write statcast.json and statcast.png here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options(workers=False)
@_errors
def validate(data_dir, statcast, n_games, seed, out_dir, as_json, profile, report_dir, force, quiet):
    """Run the named physics checks; print expected, got and tolerance; exit 1 if any fails.

    With --statcast: simulated games against the Statcast sample (KS statistics of EV, LA and distance,
    hits per ball in play by type and EV, the distance residual to the ground); exit 1 if any is
    outside its tolerance.

    Example: batted-ball validate --statcast --games 240 --out out/statcast
    """
    from .validation import REFERENCE_CASES_CSV, STATCAST_CSV, default_data_dir

    if not statcast and _given("n_games", "seed", "out_dir"):
        raise BattedBallError("--games, --seed and --out go with --statcast")
    if data_dir is not None and not (data_dir / REFERENCE_CASES_CSV).is_file():
        raise BattedBallError(f"--data-dir {data_dir} has no {REFERENCE_CASES_CSV}")
    data_dir = data_dir or default_data_dir()
    if statcast and (data_dir is None or not (data_dir / STATCAST_CSV).is_file()):
        raise BattedBallError(
            f"--statcast needs {STATCAST_CSV} (in --data-dir, $BATTED_BALL_DATA or ../shared/data/batted_ball)"
        )
    if statcast:
        return _validate_statcast(
            data_dir, n_games, seed, out_dir, as_json, profile, report_dir, force, quiet
        )
    config = {"data_dir": str(data_dir)}
    with _job(
        "validate", config, profile=profile, report_dir=report_dir, force=force, inputs=[data_dir]
    ) as j:
        from .validation import run_checks

        checks = run_checks(data_dir)
        j.run.result("checks", {c.name: c.status for c in checks})
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2))
    elif not quiet:
        for c in checks:
            click.echo(f"[{c.status:>7}] {c.name}: {c.description}")
            click.echo(f"          expected {c.expected} | got {c.got} | tolerance {c.tolerance}")
            if c.details:
                click.echo(f"          {c.details}")
            click.echo(f"          source: {c.source}")
        n_pass = sum(c.passed is True for c in checks)
        n_skip = sum(c.passed is None for c in checks)
        click.echo(f"{n_pass}/{len(checks)} passed, {n_skip} skipped")
    if any(c.passed is False for c in checks):
        sys.exit(1)


def _validate_statcast(data_dir, n_games, seed, out_dir, as_json, profile, report_dir, force, quiet):
    config = {"data_dir": str(data_dir), "statcast": True, "games": n_games, "seed": seed}
    with _job(
        "validate",
        config,
        profile=profile,
        report_dir=report_dir,
        force=force,
        inputs=[data_dir],
        directories=[out_dir] if out_dir is not None else (),
    ) as j:
        from .statcast import compare, plot_comparison

        report, sim, real, residual = compare(data_dir, n_games, seed)
        j.run.result("statcast", report["verdict"])
        if out_dir is not None:
            staged = j.path(out_dir)
            (staged / "statcast.json").write_text(json.dumps(report, indent=2))
            plot_comparison(report, sim, real, residual, staged / "statcast.png", "png")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif not quiet:
        click.echo(_format_statcast(report))
    if not report["verdict"]["passed"]:
        sys.exit(1)


def _format_statcast(report: dict) -> str:
    ok = {True: "ok", False: "OUTSIDE", None: "not judged"}
    n = report["balls_in_play"]
    lines = [
        f"{n['simulated']:,} simulated balls in play ({report['games']} games) vs {n['statcast']:,} Statcast"
    ]
    for d in report["distributions"]:
        lines.append(
            f"  KS {d['quantity']:<24} D = {d['ks_statistic']:.3f} (tolerance {d['tolerance']:g}) "
            f"{ok[d['within']]:<8} means {d['mean_simulated']:.1f} vs {d['mean_statcast']:.1f}"
        )
    lines.append("  hits per ball in play    simulated  Statcast   (n sim / n Statcast)")
    for c in report["hit_rate_by_cell"]:
        if c["n_statcast"] and c["n_simulated"]:
            ev = f"{c['ev_mph'][0]:.0f}-{c['ev_mph'][1]:.0f}" if c["ev_mph"][1] else f"{c['ev_mph'][0]:.0f}+"
            lines.append(
                f"    {c['bb_type']:<11} {ev:>7} mph {c['hit_rate_simulated']:>8.3f} {c['hit_rate_statcast']:>9.3f}"
                f"   ({c['n_simulated']:,} / {c['n_statcast']:,}) {ok[c['within']]}"
            )
    r = report["ground_residual"]
    lines.append(
        f"  distance residual to the ground (fly balls and liners): mean {r['mean_ft']:+.1f} ft, "
        f"sd {r['sd_ft']:.1f}, median {r['median_ft']:+.1f}, n={r['n']} (tolerance {r['tolerance_ft']:g} ft) "
        f"{ok[r['within']]}"
    )
    lines.append(
        "    by launch angle: "
        + ", ".join(
            f"{b['launch_angle_deg'][0]:g}-{b['launch_angle_deg'][1]:g}° {b['mean_ft']:+.1f}"
            for b in r["by_launch_angle"]
        )
        + f"; home runs {r['by_group']['home_run']['mean_ft']:+.1f} (n={r['by_group']['home_run']['n']})"
    )
    fit, val = r["by_group"]["spin_fit_half"], r["by_group"]["validation_half"]
    lines.append(
        f"    spin fit's half (even game_pk) {fit['mean_ft']:+.1f} ft (n={fit['n']}), "
        f"validation half (odd) {val['mean_ft']:+.1f} ft (n={val['n']})"
    )
    v = report["verdict"]
    lines.append(
        f"{v['distributions_within']}/{v['distributions']} distributions, {v['cells_within']}/{v['cells_judged']} "
        f"cells, ground residual {ok[v['ground_residual_within']]}: {'PASS' if v['passed'] else 'FAIL'}"
    )
    return "\n".join(lines)


def _format_box(box: dict) -> str:
    lines = []
    n = max(len(box["away"]["line"]), len(box["home"]["line"]))
    head = "      " + " ".join(f"{i + 1:>2}" for i in range(n)) + "    R  H  E"
    lines.append(head)
    for side in ("away", "home"):
        s = box[side]
        cells = [f"{r:>2}" for r in s["line"]] + ["  "] * (n - len(s["line"]))
        if side == "home" and len(s["line"]) < n:
            cells[-1] = " x"
        lines.append(
            f"{s['team']:<5} " + " ".join(cells) + f"   {s['runs']:>2} {s['hits']:>2} {s['errors']:>2}"
        )
    lines.append("")
    for side in ("away", "home"):
        s = box[side]
        lines.append(f"{s['team']} batting            PA AB  R  H 2B 3B HR RBI BB SO")
        for b in s["batting"]:
            lines.append(
                f"  {b['name']:<18} "
                + " ".join(f"{b[k]:>2}" for k in ("PA", "AB", "R", "H", "2B", "3B", "HR"))
                + f" {b['RBI']:>3} {b['BB']:>2} {b['SO']:>2}"
            )
        lines.append(f"{s['team']} pitching           IP  H  R BB SO HR   P")
        for p in s["pitching"]:
            ip = f"{p['outs'] // 3}.{p['outs'] % 3}"
            lines.append(
                f"  {p['name']:<18} {ip:>4} "
                + " ".join(f"{p[k]:>2}" for k in ("H", "R", "BB", "SO", "HR"))
                + f" {p['pitches']:>3}"
            )
        lines.append("")
    lines.append(
        f"park {box['park']}, {box['temp_f']:.0f} F, {box['innings']} innings, {box['pitches']} pitches"
    )
    return "\n".join(lines)


@main.command(context_settings=CONTEXT)
@click.option(
    "--seed", type=SEED, required=True, help="Season seed (>= 0): teams and the game's random stream."
)
@click.option(
    "--game-index",
    type=click.IntRange(min=0, max=2**63 - 1),
    default=0,
    show_default=True,
    help="Which game of the season (any, the schedule repeats).",
)
@click.option("--mode", type=MODE, default=GAME_MODE, show_default=True, help="RK4 step of every flight.")
@click.option(
    "--roster",
    type=NotAnOptionPath(dir_okay=False, path_type=Path),
    default=None,
    help="Teams from a JSON or CSV roster instead of the season's generated league.",
)
@click.option("--home", type=str, default=None, help="Home team, code or name (default: the schedule's).")
@click.option("--away", type=str, default=None, help="Away team, code or name (default: the schedule's).")
@click.option("--pbp", is_flag=True, help="Print the play-by-play log too.")
@_out_folder("Write the play-by-play as data here: pitches.parquet, balls_in_play.parquet.")
@click.option("--json", "as_json", is_flag=True, help="Print the box score as JSON.")
@common_options(workers=False)
@_errors
def game(
    seed, game_index, mode, roster, home, away, pbp, out_dir, as_json, profile, report_dir, force, quiet
):
    """Simulate one game pitch by pitch and print its box score.

    Example: batted-ball game --seed 1 --home NYY --away BOS --out out/game
    """
    _quiet_conflict(quiet, as_json, pbp=pbp)
    with _job(
        "game",
        _config(),
        profile=profile,
        report_dir=report_dir,
        force=force,
        inputs=[roster],
        directories=[out_dir] if out_dir is not None else (),
    ) as j:
        from perfkit.determinism import digest_table

        from .io import load_teams, write_play_by_play
        from .season import play_game

        teams = load_teams(roster) if roster is not None else None
        box = play_game(
            seed, game_index, mode, pbp=pbp, record=out_dir is not None, home=home, away=away, teams=teams
        )
        if out_dir is not None:
            logs = write_play_by_play(j.path(out_dir), [box.pop("pitch_table")], [box.pop("bip_table")])
            for name, log in logs.items():
                j.run.receipt(name.removesuffix(".parquet"), digest_table(log))
        j.run.result(
            "score", {box["away"]["team"]: box["away"]["runs"], box["home"]["team"]: box["home"]["runs"]}
        )
    if as_json:
        click.echo(json.dumps(box, indent=1))
    elif not quiet:
        click.echo(_format_box(box))
        if pbp:
            click.echo("\n".join(box["play_by_play"]))


@main.command(context_settings=CONTEXT)
@click.option("--games", "n_games", type=click.IntRange(min=1), default=2430, show_default=True)
@click.option("--seed", type=SEED, required=True, help="Season seed (>= 0).")
@executor_option(default="threads")
@scheduler_option()
@click.option("--mode", type=MODE, default=GAME_MODE, show_default=True, help="RK4 step of every flight.")
@click.option("--out", "out_dir", type=NotAnOptionPath(file_okay=False, path_type=Path), required=True)
@click.option(
    "--pbp", is_flag=True, help="Also write the play-by-play as data: pitches.parquet, balls_in_play.parquet."
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the season a killed run (kill -9, a lost machine) left unfinished for --out: keep its "
    "finished games, play the rest. --games, --seed, --mode and --pbp must be the same.",
)
@common_options
@_errors
def season(
    n_games,
    seed,
    executor,
    scheduler,
    mode,
    out_dir,
    pbp,
    resume,
    profile,
    report_dir,
    workers,
    force,
    quiet,
):
    """Play a season in parallel; write games.parquet, league.json, standings.json and a run report
    (with --pbp also pitches.parquet and balls_in_play.parquet).

    The --out folder is replaced whole, and only when the season is complete: an existing one needs
    --force and must hold only what an earlier season run wrote there. --scheduler runs the games on
    a Dask cluster; --resume continues a killed run (docs/cluster.md).

    Example: batted-ball season --games 162 --seed 1 --workers 2 --executor threads --out out/season --pbp
    """
    executor = executor_for(executor, scheduler)
    if _given("workers") and (scheduler or (executor == "serial" and workers != 1)):
        where = f"--scheduler {scheduler} (the cluster has its own)" if scheduler else "--executor serial"
        raise BattedBallError(f"--workers {workers} has no meaning with {where}")
    # What defines the output, then execution options perfkit leaves out of --resume's comparison.
    config = {"games": n_games, "seed": seed, "mode": mode}
    if pbp:
        config["pbp"] = True
    config.update(workers=workers, executor=executor)
    if scheduler:
        config["scheduler"] = scheduler
    with _job(
        "season",
        config,
        profile=profile,
        report_dir=report_dir,
        directories=[out_dir],
        force=force,
        resume=resume,
    ) as j:
        from .season import check_season_size, write_season

        check_season_size(n_games, pbp)
        result = write_season(
            n_games,
            seed,
            j.path(out_dir),
            run=j.run,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            mode=mode,
            quiet=quiet,
            pbp=pbp,
        )
    if not quiet:
        click.echo(f"{'stat':>18} {'simulated':>10} {'MLB':>8} {'diff':>8}  tolerance")
        for r in result["calibration"]:
            click.echo(
                f"{r['stat']:>18} {r['simulated']:>10.4f} {r['mlb']:>8.4f} {r['difference']:>+8.4f}  "
                f"{r['tolerance']:g} {'ok' if r['within'] else 'OUTSIDE'}"
            )
        where = (
            f"dask at {scheduler}"
            if scheduler
            else "serial"
            if executor == "serial"
            else f"{executor}, {workers} workers"
        )
        resumed = f", {result['resumed']} resumed" if result["resumed"] else ""
        click.echo(
            f"{n_games} game{'' if n_games == 1 else 's'}{resumed} in {result['wall_s']:.1f} s ({where}); "
            f"receipt {result['receipt']}; wrote {out_dir}"
        )


# ------------------------------------------------------------------------------------------- plot
_PLOT_OUT = click.option(
    "--out",
    "out_path",
    type=NotAnOptionPath(dir_okay=False, path_type=Path),
    required=True,
    help="A .png or .svg.",
)
_PARK = click.option("--park", type=str, default=None, help="Draw this park's fence (code or name).")


def _park(query: str | None):
    from .parks import PARKS, park_code

    if query is None:
        return None
    code = park_code(query)
    if code is None:
        raise BattedBallError(f"--park {query!r} is not a park (codes: {', '.join(sorted(PARKS))})")
    return PARKS[code]


def _plot_job(command: str, out_path: Path, profile, report_dir, force, inputs=()):
    from .plots import plot_format

    plot_format(out_path)  # a bad suffix is refused before anything is claimed
    return job(
        "batted_ball",
        f"plot {command}",
        config=_config(),
        inputs=inputs,
        files=[out_path],
        force=force,
        report_dir=report_dir,
        profile=profile,
        bad_input=_BAD_INPUT,
    )


@main.group(cls=Group, context_settings=CONTEXT)
def plot():
    """Pictures: trajectories (side and top), a spray chart, exit velocity against launch angle.

    Example: batted-ball plot trajectory --ball 100,28 --ball 105,32,-20 --park NYY --out flights.png
    """


@plot.command("trajectory", context_settings=CONTEXT)
@click.option(
    "--ball",
    "balls",
    multiple=True,
    required=True,
    help="EV_MPH,LA_DEG[,SPRAY_DEG[,BACKSPIN,SIDESPIN]] (repeat for several balls; spin as for trajectory).",
)
@_PARK
@click.option("--mode", type=MODE, default="accurate", show_default=True, help="RK4 step: 1, 2, 5 or 10 ms.")
@_PLOT_OUT
@common_options(workers=False)
@_errors
def plot_trajectory(balls, park, mode, out_path, profile, report_dir, force, quiet):
    """Fly balls at a park's elevation and draw them from the side and from above, with its fence.

    Example: batted-ball plot trajectory --ball 100,28,0,2000,0 --ball 110,25,-25 --park COL --out coors.svg
    """
    where = _park(park)
    parsed = [_ball_spec(b) for b in balls]
    with _plot_job("trajectory", out_path, profile, report_dir, force) as j:
        from .physics import Environment, simulate_batted_ball
        from .plots import plot_format, plot_trajectories, spin_note

        env = Environment(elevation_ft=where.elevation_ft) if where else Environment()
        results = [simulate_batted_ball(*b, env=env, mode=mode, record_path=True) for b in parsed]
        plot_trajectories(results, j.path(out_path), where, fmt=plot_format(out_path))
        j.run.result("distances_ft", [round(r.distance_ft, 4) for r in results])
    if not quiet:
        flights = (
            f"{r.distance_ft:.1f} ft (spin {r.backspin_rpm:.0f}/{r.sidespin_rpm:.0f} rpm{spin_note(r.spin_source)})"
            for r in results
        )
        click.echo(f"wrote {out_path}: " + ", ".join(flights))


def _ball_spec(spec: str) -> tuple:
    """``EV,LA[,SPRAY[,BACKSPIN,SIDESPIN]]`` -> arguments of ``simulate_batted_ball``."""
    parts = spec.split(",")
    try:
        numbers = [FLOAT.convert(p.strip(), None, None) for p in parts]
    except click.BadParameter as exc:
        raise BattedBallError(f"--ball {spec!r}: {exc.message}") from None
    if len(numbers) not in (2, 3, 5):
        raise BattedBallError(f"--ball {spec!r}: give EV,LA or EV,LA,SPRAY or EV,LA,SPRAY,BACKSPIN,SIDESPIN")
    return tuple(numbers)


@plot.command("spin-axis", context_settings=CONTEXT)
@_PLOT_OUT
@common_options(workers=False)
@_errors
def plot_spin_axis_figure(out_path, profile, report_dir, force, quiet):
    """The spin-axis convention (one for batted balls and pitches) as a figure.

    Example: batted-ball plot spin-axis --out spin_axis.svg
    """
    with _plot_job("spin-axis", out_path, profile, report_dir, force) as j:
        from .plots import plot_format, plot_spin_axis

        plot_spin_axis(j.path(out_path), fmt=plot_format(out_path))
    if not quiet:
        click.echo(f"wrote {out_path}")


_FROM = click.option(
    "--from",
    "source",
    type=NotAnOptionPath(path_type=Path),
    required=True,
    help="balls_in_play.parquet, or a folder holding one (game --out, season --pbp).",
)


@plot.command("spray", context_settings=CONTEXT)
@_FROM
@_PARK
@_PLOT_OUT
@common_options(workers=False)
@_errors
def plot_spray_chart(source, park, out_path, profile, report_dir, force, quiet):
    """Where batted balls came down, over a field diagram, coloured by outcome.

    Example: batted-ball plot spray --from out/season --park NYY --out spray.png
    """
    where = _park(park)
    with _plot_job("spray", out_path, profile, report_dir, force, inputs=[source]) as j:
        from .io import read_balls_in_play
        from .plots import batted_balls, plot_format, plot_spray

        balls = read_balls_in_play(source, ["landing_x_ft", "landing_y_ft", "outcome"])
        if balls.num_rows == 0:
            raise BattedBallError(f"--from {source}: no batted balls to plot")
        counts = plot_spray(balls.to_pydict(), j.path(out_path), where, fmt=plot_format(out_path))
        j.run.result("outcomes", counts)
    if not quiet:
        click.echo(f"wrote {out_path}: {batted_balls(sum(counts.values()))}")


@plot.command("ev-la", context_settings=CONTEXT)
@_FROM
@_PLOT_OUT
@common_options(workers=False)
@_errors
def plot_ev_la_chart(source, out_path, profile, report_dir, force, quiet):
    """Exit velocity against launch angle, coloured by outcome.

    Example: batted-ball plot ev-la --from out/season --out ev_la.svg
    """
    with _plot_job("ev-la", out_path, profile, report_dir, force, inputs=[source]) as j:
        from .io import read_balls_in_play
        from .plots import batted_balls, plot_ev_la, plot_format

        balls = read_balls_in_play(source, ["exit_velo_mph", "launch_angle_deg", "outcome"])
        if balls.num_rows == 0:
            raise BattedBallError(f"--from {source}: no batted balls to plot")
        counts = plot_ev_la(balls.to_pydict(), j.path(out_path), fmt=plot_format(out_path))
        j.run.result("outcomes", counts)
    if not quiet:
        click.echo(f"wrote {out_path}: {batted_balls(sum(counts.values()))}")


if __name__ == "__main__":
    main()
