"""A season: schedule, one task per game (seeded by the game, not the worker), any executor, league line.

Game ``i`` of a season with seed ``S`` draws from ``perfkit.parallel.rng_for(S, "game", i)`` and
its teams from ``generate_league(S)``, so its result is the same whichever worker runs it, with any
worker count or executor — and the same as ``batted-ball game --seed S --game-index i``.
"""

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from perfkit.clitools import progress
from perfkit.limits import check_memory
from perfkit.parallel import Task, map_tasks, rng_for

import perfkit
from perfkit import interrupts

from . import io
from .errors import BattedBallError, whole_number
from .game import Game, Team, find_team, generate_league
from .game.engine import BAT_FIELDS, GAME_MODE
from .game.fast import KernelGame, play_games
from .physics import SimulationMode

GAMES_PER_SEASON = 2430
#: Memory a season holds per game until it is written (task, future, result row, run-report item and
#: events, the table): ~6.7 KiB measured (peak RSS of 100 vs 1,500 games), rounded up.
SEASON_BYTES_PER_GAME = 10 * 1024
#: Play-by-play a season holds per game until written (about 290 pitches and 60 flown balls as Arrow
#: tables, ~45 KiB a game, plus the concatenated copy written at the end): peak RSS of 400 serial games
#: measured 257 MB without ``--pbp`` and 308 MB with, ~128 KiB a game; rounded up.
PBP_BYTES_PER_GAME = 160 * 1024
#: CPU seconds per game at :data:`GAME_MODE` (about 10 ms measured, docs/perf/batted_ball.md), for the
#: size estimate.
CPU_S_PER_GAME = 0.010
TEAM_FIELDS = ("R", "PA", "AB", "H", "2B", "3B", "HR", "BB", "HBP", "SO", "SF", "LOB", "E", "pitches")

#: MLB league line, mean of the 2023 and 2024 seasons, from Retrosheet game logs
#: (``retrosheet_league_totals_2021_2024.json`` in the shared reference data); pitches per PA from
#: issue 7 (MLB 2023-2024: 3.9). Tolerances are the issue's.
MLB_LINE = {
    "R_per_team_game": (0.5 * (4.6156378600823045 + 4.393371757925072), 0.3),
    "BA": (0.5 * (0.2483852132978141 + 0.24328749381441409), 0.010),
    "OBP": (0.5 * (0.32013465592469725 + 0.312110700011545), 0.012),
    "SLG": (0.5 * (0.4141578172706151 + 0.3992192416013489), 0.020),
    "HR_per_team_game": (0.5 * (1.2074074074074075 + 1.122478386167147), 0.15),
    "K_pct": (0.5 * (0.22727914656933038 + 0.2258000865995429), 0.020),
    "BB_pct": (0.5 * (0.0859242602007561 + 0.08182560605977561), 0.015),
    "BABIP": (0.5 * (0.2965227197571585 + 0.29053745625454364), 0.015),
    "PA_per_team_game": (0.5 * (37.88148148148148 + 37.55640181144504), 1.5),
    "pitches_per_PA": (3.9, 0.2),
}


def schedule(n_games: int, n_teams: int = 30) -> list[tuple[int, int, int, int]]:
    """``(home, away, home_game_number, away_game_number)`` for the first ``n_games`` of a season.

    Circle-method round robin, 15 games a day (so over 2,430 games every team plays 162); home
    goes to the side that has hosted fewer games so far, which keeps every team at 81 +- 1 at home.
    """
    n_games, n_teams = whole_number("n_games", n_games), whole_number("n_teams", n_teams, minimum=2)
    teams = list(range(n_teams))
    played = [0] * n_teams
    at_home = [0] * n_teams
    out = []
    day = 0
    while len(out) < n_games:
        rnd = day % (n_teams - 1)
        ring = [teams[0], *teams[1:][rnd:], *teams[1:][:rnd]]
        for k in range(n_teams // 2):
            a, b = ring[k], ring[n_teams - 1 - k]
            # Home goes to whichever side has been at home less often (ties alternate by day).
            if at_home[a] != at_home[b]:
                home, away = (a, b) if at_home[a] < at_home[b] else (b, a)
            else:
                home, away = (a, b) if (k + day) % 2 == 0 else (b, a)
            at_home[home] += 1
            out.append((home, away, played[home], played[away]))
            played[home] += 1
            played[away] += 1
            if len(out) == n_games:
                break
        day += 1
    return out


#: The schedule repeats every 58 days (two turns of the 29-round circle): after them every team has
#: hosted exactly 29 games, so the home rule (fewer home games so far, ties by the day's parity)
#: starts again from equal counts. Every team plays once a day, so each side's game number is the day.
N_TEAMS = 30
GAMES_PER_DAY = N_TEAMS // 2
CYCLE_DAYS = 2 * (N_TEAMS - 1)


@functools.lru_cache(maxsize=1)
def _cycle() -> tuple[tuple[int, int], ...]:
    return tuple((home, away) for home, away, _, _ in schedule(CYCLE_DAYS * GAMES_PER_DAY, N_TEAMS))


def schedule_entry(game_index: int) -> tuple[int, int, int, int]:
    """Game ``game_index`` of the schedule, ``schedule(n)[game_index]`` for any ``n`` past it, in O(1)."""
    day, slot = divmod(whole_number("game_index", game_index), GAMES_PER_DAY)
    home, away = _cycle()[(day % CYCLE_DAYS) * GAMES_PER_DAY + slot]
    return home, away, day, day


_league_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _league_cached(seed: int) -> tuple[Team, ...]:
    return tuple(generate_league(seed))


def league(seed: int) -> tuple[Team, ...]:
    with _league_lock:
        return _league_cached(seed)


def play_game(
    seed: int,
    game_index: int,
    mode: str = GAME_MODE.name.lower(),
    pbp: bool = False,
    *,
    record: bool = False,
    home: str | None = None,
    away: str | None = None,
    teams: list[Team] | None = None,
) -> dict:
    """Game ``game_index`` of the season ``seed``: its box score (plus the game's keys).

    ``home``/``away`` (a code or a name) replace the schedule's teams for this game, from ``teams``
    (a roster) or the season's generated league; the game keeps its random stream and starters.
    With ``record`` the box score carries the play-by-play as Arrow tables under ``"pitch_table"`` and
    ``"bip_table"`` (``io.PITCH_SCHEMA``, ``io.BIP_SCHEMA``).
    """
    game = new_game(seed, game_index, mode, pbp, record=record, home=home, away=away, teams=teams)
    return _keyed(game.run(), game, seed, game_index)


def new_game(
    seed: int,
    game_index: int,
    mode: str = GAME_MODE.name.lower(),
    pbp: bool = False,
    *,
    record: bool = False,
    home: str | None = None,
    away: str | None = None,
    teams: list[Team] | None = None,
    game_class: type[Game] = KernelGame,
) -> Game:
    """The :class:`Game` that :func:`play_game` plays (same arguments), not yet played: a
    :class:`KernelGame` (its pitch loop in a ``nogil`` kernel) unless ``game_class`` is the reference
    twin, :class:`Game`, which plays the same game."""
    seed = whole_number("seed", seed)
    game_index = whole_number("game_index", game_index)
    if teams is not None:  # a list of Team; a roster file's path is read by io.load_teams
        pool = () if isinstance(teams, (str, bytes)) or not hasattr(teams, "__iter__") else tuple(teams)
        if not all(isinstance(t, Team) for t in pool) or (not pool and teams):
            raise BattedBallError(
                "teams must be a list of Team (batted_ball.io.load_teams reads a roster file)"
            )
    pool = league(seed) if teams is None else pool
    h, a, home_n, away_n = schedule_entry(game_index)
    if teams is not None and len(pool) < 2:
        what = f"one team ({pool[0].code})" if pool else "no team"
        raise BattedBallError(f"the roster has {what}; a game needs two")
    if teams is not None:  # a roster: its first two teams unless chosen, their first starters
        h, a, home_n, away_n = 0, 1 % len(pool), 0, 0
    home_team = find_team(pool, home, "--home") if home is not None else None
    away_team = find_team(pool, away, "--away") if away is not None else None
    # A side not chosen is the schedule's (or roster's) team, or the other one if that is the chosen side.
    if home_team is None:
        home_team = pool[h] if pool[h] is not away_team else pool[a]
    if away_team is None:
        away_team = pool[a] if pool[a] is not home_team else pool[h]
    if home_team is away_team:
        raise BattedBallError(f"--home and --away are the same team ({home_team.code}); choose two teams")
    return game_class(
        home_team,
        away_team,
        rng_for(seed, "game", game_index),
        mode=mode,
        home_starter=home_n,
        away_starter=away_n,
        pbp=pbp,
        record=record,
    )


def _keyed(box: dict, game: Game, seed: int, game_index: int) -> dict:
    """A played game's box score with its keys (and its play-by-play tables when it recorded them)."""
    box["game_index"] = game_index
    box["seed"] = seed
    if game.pitch_log is not None:
        box["pitch_table"], box["bip_table"] = io.play_by_play_tables(game, game_index)
    return box


def game_row(box: dict) -> dict:
    """One flat row per game for ``games.parquet``."""
    row = {
        "game_index": box["game_index"],
        "home": box["home"]["team"],
        "away": box["away"]["team"],
        "home_runs": box["home"]["runs"],
        "away_runs": box["away"]["runs"],
        "innings": box["innings"],
        "park": box["park"],
        "temp_f": round(box["temp_f"], 3),
        "batted_balls": box["batted_balls"],
    }
    for side in ("home", "away"):
        s = box[side]
        t = s["totals"]
        vals = {
            "R": s["runs"],
            "LOB": s["lob"],
            "E": s["errors"],
            "pitches": box[("away" if side == "home" else "home")]["pitches"],
        }
        for k in TEAM_FIELDS:
            row[f"{side}_{k}"] = int(vals.get(k, t.get(k, 0)))
    return row


#: Games per task: one each below 160 games, then ``n // 40`` up to 24. A task of 24 games is ~0.1 s of CPU
#: at :data:`GAME_MODE` in the game kernel (~4 ms a game), so a Dask round trip and the journal entry a
#: resumable season writes per task (``perfkit.resume``: one file, and a scan of the journal folder, per
#: entry; 0.35 ms median over 203 entries) are small beside it; and tasks are short enough for two
#: threads to end together: the last task leaves the other thread idle for half a task on average (a
#: 162-game season plays 41 tasks of 4 games, ~16 ms each, instead of 21 of 8; a full one 102 of 24
#: instead of 51 of 48). It depends on the number of games only, so a resumed run (any workers, any
#: executor) finds the same tasks.
MAX_GAMES_PER_TASK = 24
#: Executors whose games run in this process, which then builds the teams and loads the game kernel once
#: before they start (:func:`start_up`). Process and Dask workers do their own.
IN_PROCESS = ("serial", "threads")
ONE_GAME_TASKS_BELOW = 160


def games_per_task(n_games: int) -> int:
    """How many consecutive games one task plays in a season of ``n_games``."""
    if n_games < ONE_GAME_TASKS_BELOW:
        return 1
    return min(MAX_GAMES_PER_TASK, n_games // 40)


def game_key(game_index: int) -> str:
    """A game's item key in the run report."""
    return f"game-{game_index:05d}"


#: A side's columns of :func:`game_row`, in order, and where :meth:`KernelGame.counts` has each value
#: (runs, left on base, errors, pitches its pitchers threw, then ``BAT_FIELDS``); a side's ``pitches``
#: column is the pitches it saw, i.e. the other side's pitchers'.
_COUNT_AT = {"R": 0, "LOB": 1, "E": 2, **{k: 4 + i for i, k in enumerate(BAT_FIELDS)}}
#: Where each :data:`TEAM_FIELDS` value of a side is in its counts followed by the other side's pitches.
_SIDE_AT = tuple(4 + len(BAT_FIELDS) if k == "pitches" else _COUNT_AT[k] for k in TEAM_FIELDS)
_SIDE_COLUMNS = {side: tuple(f"{side}_{k}" for k in TEAM_FIELDS) for side in ("home", "away")}


def kernel_row(game: KernelGame, game_index: int) -> dict | None:
    """:func:`game_row` of a game played by :func:`play_games`, from its counts (no box score); None
    for a game the engine plays (its :meth:`KernelGame.finish` then)."""
    counts = game.counts()
    if counts is None:
        return None
    away, home, innings, batted_balls = counts
    row = {
        "game_index": game_index,
        "home": game.home.team.code,
        "away": game.away.team.code,
        "home_runs": home[0],
        "away_runs": away[0],
        "innings": innings,
        "park": game.park.code,
        "temp_f": round(game.env.temp_f, 3),
        "batted_balls": batted_balls,
    }
    for side, own, other in (("home", home, away), ("away", away, home)):
        values = [*own, other[3]]
        row.update(zip(_SIDE_COLUMNS[side], [values[i] for i in _SIDE_AT], strict=True))
    return row


def _task(payload: tuple) -> list[tuple]:
    """Games ``start..stop-1``: for each, its ``games.parquet`` row, its play-by-play tables when
    recorded (else None) and its seconds. The games are played by :func:`play_games` (the kernel calls
    one after the other, the games' Python in passes before and after them; stopping between games on
    Ctrl-C); the rows come from the kernel's counts (:func:`kernel_row`) unless the game recorded its
    play-by-play or the engine played it (then from its box score). Each game is given an equal share
    of the chunk's time."""
    seed, start, stop, mode, record = payload
    t0 = time.perf_counter()
    indices = range(start, stop)
    games = [new_game(seed, i, mode, record=record) for i in indices]
    # A thread worker stops between games on Ctrl-C, not at the chunk's end.
    play_games(games, poll=interrupts.raise_if_received)
    played = []
    for game_index, game in zip(indices, games, strict=True):
        row, tables = None if record else kernel_row(game, game_index), (None, None)
        if row is None:
            box = _keyed(game.finish(lines=False), game, seed, game_index)
            row = game_row(box)
            if record:
                tables = (box["pitch_table"], box["bip_table"])
        played.append((row, *tables))
    share = (time.perf_counter() - t0) / len(games)
    return [(*p, share) for p in played]


def start_up(seed: int, executor: str) -> None:
    """What a season's process pays once before its games (``season`` 's "start-up" stage, before the clock
    of ``wall_s_games``), measured in CPU seconds:

    - pyarrow's first array imports pandas (~0.3 s); the games' table is built at the end of the games,
      a ``--pbp`` season's tables in its threads;
    - for games in this process (:data:`IN_PROCESS`; process and Dask workers do their own), the teams:
      Numba's first use (its registries, ~0.65 s, a third of it the ``scipy.linalg`` import of Numba's BLAS
      check), then the teams (~0.14 s: the kernels aiming the pitchers' pitches, from Numba's cache, and
      0.05 s of building them) and the game kernel, loaded from the cache (~0.04 s) without playing a
      game, which the threads would otherwise wait for in turn at their first game (Numba's compile lock).
    """
    pa.array([0])
    if executor in IN_PROCESS:
        new_game(seed, 0).load_kernel()  # builds the teams (``league``) first


def check_season_size(n_games: int, pbp: bool = False) -> None:
    """Refuse (``InputError``, with the estimate) a season whose games cannot be held in memory."""
    cpu_h = n_games * CPU_S_PER_GAME / 3600
    per_game = SEASON_BYTES_PER_GAME + (PBP_BYTES_PER_GAME if pbp else 0)
    check_memory(
        per_game * n_games + 300 * 2**20,
        f"a season of {n_games:,} games (about {cpu_h:,.0f} CPU-hours)",
    )


def run_games(
    n_games: int,
    seed: int,
    *,
    workers: int = 1,
    executor: str = "serial",
    scheduler: str | None = None,
    mode: str = GAME_MODE.name.lower(),
    on_result: Callable | None = None,
    pbp: bool = False,
) -> pa.Table | tuple[pa.Table, list[pa.Table], list[pa.Table]]:
    """Play games ``0..n_games-1``; the table is sorted by game index whatever the execution.

    With ``pbp``: ``(games, pitch tables, ball-in-play tables)``, the per-game tables in game order.
    ``scheduler``: a Dask scheduler's address (``executor="dask"``). Each task plays a chunk of
    consecutive games (:func:`games_per_task`); ``on_result`` gets its ``TaskResult``, whose value
    lists ``(row, pitch table, ball-in-play table, seconds)`` per game. The chunks are the resumable
    phase ``"games"``: inside ``perfkit.job(..., resumable=True)`` each finished chunk is journaled,
    and a resumed run takes the chunks a killed run finished from the journal (``attempts == 0``).
    """
    mode = SimulationMode.parse(mode).name.lower()
    if executor in IN_PROCESS:
        league(seed)  # build (and aim) the teams once in this process before threads start (start_up did)
    size = games_per_task(n_games)
    tasks = [
        Task(key=f"games-{i:05d}", payload=(seed, i, min(i + size, n_games), mode, pbp), cost=1.0)
        for i in range(0, n_games, size)
    ]
    results = map_tasks(
        _task,
        tasks,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        on_result=on_result,
        phase="games",
    )
    values = [game for t in tasks for game in results[t.key].value]
    games = pa.Table.from_pylist([v[0] for v in values])
    if not pbp:
        return games
    return games, [v[1] for v in values], [v[2] for v in values]


#: The columns of a table of games that the league line reads, and that the standings read.
LINE_COLUMNS = tuple(f"{side}_{k}" for side in ("home", "away") for k in TEAM_FIELDS)
STANDINGS_COLUMNS = ("home", "away", "home_runs", "away_runs")


def games_table(table, columns: tuple[str, ...] = LINE_COLUMNS) -> pa.Table:
    """A table of games (``games.parquet``'s ``columns``) as Arrow: a ``pyarrow.Table`` as it is, a pandas or
    polars frame converted; anything else, a table without ``columns`` or without rows is refused."""
    frame = not isinstance(table, pa.Table)
    if frame and hasattr(table, "to_arrow"):  # polars
        table = table.to_arrow()
    elif frame and hasattr(table, "columns") and hasattr(table, "to_numpy"):  # pandas
        table = pa.Table.from_pandas(table, preserve_index=False)
    if not isinstance(table, pa.Table):
        raise BattedBallError(
            "a table of games must be a pyarrow.Table or a pandas/polars frame of games.parquet, "
            f"got {type(table).__name__}"
        )
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        more = " ..." if len(missing) > 4 else ""
        raise BattedBallError(f"not a table of games (games.parquet): no {', '.join(missing[:4])}{more}")
    if table.num_rows == 0:
        raise BattedBallError("the table of games has no rows")
    return table


def league_line(table: pa.Table) -> dict[str, float]:
    """The league batting line of a table of games (pitches are per PA of the batting side); any frame
    :func:`games_table` takes."""
    table = games_table(table)
    tot = {
        k: int(np.sum(table.column(f"home_{k}").to_numpy()) + np.sum(table.column(f"away_{k}").to_numpy()))
        for k in TEAM_FIELDS
    }
    team_games = 2 * table.num_rows
    singles = tot["H"] - tot["2B"] - tot["3B"] - tot["HR"]
    return {
        "R_per_team_game": tot["R"] / team_games,
        "BA": tot["H"] / tot["AB"],
        "OBP": (tot["H"] + tot["BB"] + tot["HBP"]) / (tot["AB"] + tot["BB"] + tot["HBP"] + tot["SF"]),
        "SLG": (singles + 2 * tot["2B"] + 3 * tot["3B"] + 4 * tot["HR"]) / tot["AB"],
        "HR_per_team_game": tot["HR"] / team_games,
        "K_pct": tot["SO"] / tot["PA"],
        "BB_pct": tot["BB"] / tot["PA"],
        "BABIP": (tot["H"] - tot["HR"]) / (tot["AB"] - tot["SO"] - tot["HR"] + tot["SF"]),
        "PA_per_team_game": tot["PA"] / team_games,
        "pitches_per_PA": tot["pitches"] / tot["PA"],
    }


def _game_totals(table: pa.Table) -> dict[str, np.ndarray]:
    return {
        k: table.column(f"home_{k}").to_numpy() + table.column(f"away_{k}").to_numpy() for k in TEAM_FIELDS
    }


def league_line_se(table: pa.Table) -> dict[str, float]:
    """Standard errors of the league line from game-to-game variation (games are the independent
    units): per-team-game stats from the spread of per-game values, ratios by linearisation."""
    table = games_table(table)
    g = _game_totals(table)
    n = table.num_rows
    line = league_line(table)
    singles = g["H"] - g["2B"] - g["3B"] - g["HR"]
    tb = singles + 2 * g["2B"] + 3 * g["3B"] + 4 * g["HR"]
    ratios = {
        "BA": (g["H"], g["AB"]),
        "OBP": (g["H"] + g["BB"] + g["HBP"], g["AB"] + g["BB"] + g["HBP"] + g["SF"]),
        "SLG": (tb, g["AB"]),
        "K_pct": (g["SO"], g["PA"]),
        "BB_pct": (g["BB"], g["PA"]),
        "BABIP": (g["H"] - g["HR"], g["AB"] - g["SO"] - g["HR"] + g["SF"]),
        "pitches_per_PA": (g["pitches"], g["PA"]),
    }
    se = {}
    for k, (num, den) in ratios.items():
        resid = num - line[k] * den
        se[k] = float(np.sqrt(np.sum(resid.astype(float) ** 2)) / np.sum(den))
    for k, col in (("R_per_team_game", "R"), ("HR_per_team_game", "HR"), ("PA_per_team_game", "PA")):
        se[k] = float(np.std(g[col] / 2.0, ddof=1) / np.sqrt(n))
    return se


def calibration_table(line: dict[str, float]) -> list[dict]:
    return [
        {
            "stat": k,
            "simulated": line[k],
            "mlb": mlb,
            "difference": line[k] - mlb,
            "tolerance": tol,
            "within": abs(line[k] - mlb) <= tol,
        }
        for k, (mlb, tol) in MLB_LINE.items()
    ]


def standings(table: pa.Table) -> list[dict]:
    """W, L, runs scored and allowed per team, best first (any frame :func:`games_table` takes)."""
    table = games_table(table, STANDINGS_COLUMNS)
    wins: dict[str, list[int]] = {}
    for h, a, hr, ar in zip(
        *(table.column(c).to_pylist() for c in ("home", "away", "home_runs", "away_runs")), strict=True
    ):
        for team in (h, a):
            wins.setdefault(team, [0, 0, 0, 0])
        winner, loser = (h, a) if hr > ar else (a, h)
        wins[winner][0] += 1
        wins[loser][1] += 1
        wins[h][2] += hr
        wins[h][3] += ar
        wins[a][2] += ar
        wins[a][3] += hr
    rows = [{"team": t, "W": w, "L": lo, "RS": rs, "RA": ra} for t, (w, lo, rs, ra) in wins.items()]
    return sorted(rows, key=lambda r: (-r["W"], r["L"], r["team"]))


def write_season(
    n_games: int,
    seed: int,
    out_dir,
    *,
    run: "perfkit.Run | None" = None,
    workers: int = 1,
    executor: str = "threads",
    scheduler: str | None = None,
    mode: str = GAME_MODE.name.lower(),
    quiet: bool = True,
    pbp: bool = False,
) -> dict:
    """Play a season and write ``games.parquet``, ``league.json`` and ``standings.json`` into ``out_dir``
    (with ``pbp`` also ``pitches.parquet`` and ``balls_in_play.parquet``, see :mod:`batted_ball.io`).

    ``out_dir`` is an existing folder the caller owns (``batted-ball season`` passes the private staging
    folder of ``perfkit.job``, which swaps it into place only when the whole season is written). The
    run's stages, one item per game, the receipt and the league line go to ``run`` (a report kept in
    memory only when None).
    """
    n_games = whole_number("n_games", n_games, minimum=1)
    seed = whole_number("seed", seed)
    check_season_size(n_games, pbp)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():  # before the games are played, not when their table is written
        raise BattedBallError(f"out_dir {out_dir} is not an existing folder")
    if run is None:
        config = {"games": n_games, "seed": seed, "pbp": pbp}
        with perfkit.Run("batted_ball", None, config=config) as own:
            return write_season(
                n_games,
                seed,
                out_dir,
                run=own,
                workers=workers,
                executor=executor,
                scheduler=scheduler,
                mode=mode,
                quiet=quiet,
                pbp=pbp,
            )
    with run.stage("start-up"):
        start_up(seed, executor)
    t0 = time.perf_counter()
    resumed = 0
    with run.stage("games"), progress(n_games, "games", quiet=quiet) as bar:

        def done(r):
            nonlocal resumed
            start = int(r.key.removeprefix("games-"))
            fresh = r.attempts > 0  # else taken from the journal of a killed run (--resume)
            for i, (row, _, _, elapsed_s) in enumerate(r.value):
                runs = row["home_R"] + row["away_R"]
                run.add_item(game_key(start + i), elapsed_s if fresh else 0.0, r.worker, runs=runs)
            resumed += 0 if fresh else len(r.value)
            bar.advance(len(r.value))

        played = run_games(
            n_games,
            seed,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            mode=mode,
            on_result=done,
            pbp=pbp,
        )
    table = played[0] if pbp else played
    wall = time.perf_counter() - t0
    with run.stage("write"):
        line = league_line(table)
        calib = calibration_table(line)
        stand = standings(table)
        io.write_season_files(
            out_dir,
            table,
            {
                **line,
                "games": n_games,
                "seed": seed,
                "mode": SimulationMode.parse(mode).name.lower(),
                "calibration": calib,
            },
            stand,
        )
        logs = io.write_play_by_play(out_dir, played[1], played[2]) if pbp else {}
    receipt = perfkit.digest_table(table)
    run.receipt("games", receipt)
    for name, log in logs.items():  # (the "pitches" counter below already counts the pitch rows)
        run.receipt(name.removesuffix(".parquet"), perfkit.digest_table(log))
    if pbp:
        run.count("balls_in_play", logs[io.BIP_FILE].num_rows)
    run.result("league_line", line)
    run.result("standings", stand)
    run.count("games", n_games)
    run.count("pitches", int(sum(table.column(c).to_numpy().sum() for c in ("home_pitches", "away_pitches"))))
    run.metric("games_per_s", n_games / wall)
    run.metric("wall_s_games", wall)
    return {
        "line": line,
        "calibration": calib,
        "receipt": receipt,
        "wall_s": wall,
        "table": table,
        "resumed": resumed,
    }
