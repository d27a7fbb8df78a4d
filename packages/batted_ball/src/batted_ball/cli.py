"""Command line for batted-ball: one trajectory, one pitch, the validation checks, a game, a season.

Every command takes perfkit's common options; bad input is one line on stderr and exit 2.
"""

import contextlib
import json
import sys
from pathlib import Path

import click
from perfkit.clitools import common_options, handle_errors, profiling

import perfkit

from .errors import BattedBallError

_errors = handle_errors(bad_input=(BattedBallError,))
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _emit(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        return
    for k, v in data.items():
        if isinstance(v, float):
            v = f"{v:.4f}"
        click.echo(f"{k:>24}: {v}")


@contextlib.contextmanager
def _maybe_run(report_dir: Path | None, name: str, config: dict):
    """A perfkit run report in ``report_dir`` when one is asked for (single runs write no files)."""
    if report_dir is None:
        yield None
    else:
        with perfkit.Run("batted_ball", report_dir, config={"command": name, **config}) as run:
            yield run


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="batted-ball")
def main() -> None:
    """batted-ball: physics-first baseball simulation, from one trajectory to a parallel season."""


@main.command(context_settings=CONTEXT)
@click.option("--exit-velo", "exit_velo", type=float, required=True, help="Exit velocity, mph.")
@click.option("--launch-angle", type=float, required=True, help="Launch angle, degrees above horizontal.")
@click.option(
    "--spray-angle", type=float, default=0.0, show_default=True, help="Degrees, + toward right field."
)
@click.option(
    "--backspin", type=float, default=None, help="rpm (default: Statcast-average spin for the angles)."
)
@click.option("--sidespin", type=float, default=None, help="rpm, + curves toward left field (Nathan's sign).")
@click.option(
    "--batter-hand", type=str, default="R", show_default=True, help="R or L (for the default spin)."
)
@click.option("--temp-f", type=float, default=70.0, show_default=True)
@click.option("--elevation-ft", type=float, default=0.0, show_default=True)
@click.option("--humidity", type=float, default=50.0, show_default=True, help="Relative humidity, %.")
@click.option("--pressure-inhg", type=float, default=29.92, show_default=True)
@click.option("--wind-mph", type=float, default=0.0, show_default=True)
@click.option("--wind-dir", type=float, default=0.0, show_default=True, help="Blowing toward: 0 = out to CF.")
@click.option("--spin-decay-s", type=float, default=None, help="Spin-decay time constant at 100 mph (none).")
@click.option(
    "--mode", type=str, default="accurate", show_default=True, help="accurate|fast|ultra_fast|extreme"
)
@click.option("--path", "with_path", is_flag=True, help="Include the full trajectory (t, x, y, z).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options
@_errors
def trajectory(
    exit_velo,
    launch_angle,
    spray_angle,
    backspin,
    sidespin,
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
    workers,
    quiet,
):
    """Fly one batted ball: distance, hang time, apex, landing point.

    Example: batted-ball trajectory --exit-velo 100 --launch-angle 28 --backspin 2000 --sidespin 0 --json
    """
    from .physics import Environment, simulate_batted_ball

    env = Environment(temp_f, elevation_ft, humidity, pressure_inhg, wind_mph, wind_dir, 0.0, spin_decay_s)
    with profiling(profile), _maybe_run(report_dir, "trajectory", {"mode": mode}):
        r = simulate_batted_ball(
            exit_velo,
            launch_angle,
            spray_angle,
            backspin,
            sidespin,
            batter_hand=batter_hand,
            env=env,
            mode=mode,
            record_path=with_path,
        )
    _emit(r.to_dict(), as_json)


@main.command(context_settings=CONTEXT)
@click.option("--velo", type=float, required=True, help="Release speed, mph.")
@click.option("--spin", type=float, default=2200.0, show_default=True, help="Spin rate, rpm.")
@click.option(
    "--spin-axis", type=float, default=180.0, show_default=True, help="Statcast axis: 180 = backspin."
)
@click.option("--active-spin", type=float, default=1.0, show_default=True, help="Transverse fraction, 0-1.")
@click.option("--release-x", type=float, default=-2.0, show_default=True, help="ft, + toward first base.")
@click.option("--release-z", type=float, default=6.0, show_default=True, help="ft above the ground.")
@click.option("--extension", type=float, default=6.5, show_default=True, help="ft in front of the rubber.")
@click.option("--target-x", type=float, default=0.0, show_default=True, help="Aim at the plate, ft.")
@click.option("--target-z", type=float, default=2.5, show_default=True, help="Aim at the plate, ft.")
@click.option("--temp-f", type=float, default=70.0, show_default=True)
@click.option("--elevation-ft", type=float, default=0.0, show_default=True)
@click.option("--humidity", type=float, default=50.0, show_default=True)
@click.option("--mode", type=str, default="accurate", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options
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
    workers,
    quiet,
):
    """Fly one pitch: time to the plate, plate location, induced vertical and horizontal break.

    Example: batted-ball pitch --velo 95 --spin 2400 --spin-axis 180 --json
    """
    from .physics import Environment, simulate_pitch

    env = Environment(temp_f, elevation_ft, humidity)
    with profiling(profile), _maybe_run(report_dir, "pitch", {"mode": mode}):
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
    _emit(r.to_dict(), as_json)


@main.command(context_settings=CONTEXT)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with the reference CSVs (default: ../shared/data/batted_ball if present).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options
@_errors
def validate(data_dir, as_json, profile, report_dir, workers, quiet):
    """Run the named physics checks; print expected, got and tolerance; exit 1 if any fails.

    Example: batted-ball validate
    """
    from .validation import REFERENCE_CASES_CSV, default_data_dir, run_checks

    if data_dir is not None and not (data_dir / REFERENCE_CASES_CSV).is_file():
        raise BattedBallError(f"--data-dir {data_dir} has no {REFERENCE_CASES_CSV}")
    data_dir = data_dir or default_data_dir()
    with profiling(profile), _maybe_run(report_dir, "validate", {"data_dir": str(data_dir)}) as run:
        checks = run_checks(data_dir)
        if run is not None:
            run.result("checks", {c.name: c.status for c in checks})
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
