"""The game the commands play: :class:`KernelGame`, the engine's game played by one ``nogil`` kernel.

:class:`KernelGame` is :class:`~batted_ball.game.engine.Game` (the reference twin, plain Python) whose
:meth:`play` hands the whole game to :func:`game_kernel.play_game`: the pitches, swings, flights,
fielding, running and pitching changes run in Numba without the GIL, so threads play games side by
side. Before, it builds the kernel's arrays (a pair of teams' once, :func:`match_arrays`); after, it writes the
counters back into the engine's sides and builds the engine's box score, play-by-play strings and
pitch and ball-in-play tuples from the kernel's rows. Its draws come from :class:`ArrayDice`, the
engine's ``Dice`` on arrays the kernel reads and refills, so both twins draw the same values in the
same order and play the same game bit for bit (``tests/batted_ball/test_game.py``).

A game whose rows outgrow their arrays (none in practice) or a team with two pitchers of one name (the
engine keys pitching lines by name) is played again by the engine from the same generator state.
"""

import threading
from collections.abc import Callable

import numba
import numpy as np

from ..physics.flight import BACKSPIN_CLAMP_RPM, MAX_PITCH_S, SIDESPIN_CLAMP_RPM, SPIN_FIT
from . import game_kernel as gm
from . import kernels as gk
from .engine import (
    BAT_FIELDS,
    FIELD_POS,
    FIELDER_XY,
    OUTCOMES,
    PIT_FIELDS,
    PITCH_TYPES,
    TUNING,
    ZONE_BOTTOM_FT,
    ZONE_CENTER_Z_FT,
    ZONE_HALF_WIDTH_FT,
    ZONE_TOP_FT,
    Flights,
    Game,
    _Side,
    bb_type,
    fielding,
)
from .players import Team

BLOCK = gm.BLOCK
#: Rows a game's arrays hold: events (a game has ~100), pitches (~290), balls in play (~60).
MAX_EVENTS, MAX_PITCHES, MAX_BIP = 2048, 4096, 1024
_FXY = np.ascontiguousarray(FIELDER_XY)
_HITS = ("single", "double", "triple")
_DESCRIPTION = (
    "ball",
    "called_strike",
    "swinging_strike",
    "foul",
    "hit_by_pitch",
    "",
    "foul",
    "hit_into_play",
)
_RESULTS = gm.RESULTS


class ArrayDice:
    """The engine's ``Dice`` on arrays: draws are taken from the end of a block, a new block is drawn
    when one is empty and put in front of what is left (:func:`game_kernel.refill`, which the kernel
    calls the same way). ``left[0]``/``left[1]`` count the uniforms/normals not yet taken."""

    __slots__ = ("left", "nb", "rng", "ub")

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.ub = np.empty(2 * BLOCK)
        self.nb = np.empty(2 * BLOCK)
        self.left = [0, 0]

    def _refill(self, buf: np.ndarray, left: int, normal: bool) -> int:
        buf[BLOCK : BLOCK + left] = buf[:left]
        if normal:  # drawn in place: the values of ``standard_normal(BLOCK)``, without a copy
            self.rng.standard_normal(out=buf[:BLOCK])
        else:
            self.rng.random(out=buf[:BLOCK])
        return left + BLOCK

    def u(self) -> float:
        if not self.left[0]:
            self.left[0] = self._refill(self.ub, 0, False)
        self.left[0] -= 1
        return float(self.ub[self.left[0]])

    def n(self) -> float:
        if not self.left[1]:
            self.left[1] = self._refill(self.nb, 0, True)
        self.left[1] -= 1
        return float(self.nb[self.left[1]])


#: :data:`kernels.PARAMS` that are the same for every game: the zone and the spin fit.
_CONSTANT_PARAMS = {
    "zone_center_z": ZONE_CENTER_Z_FT,
    "zone_half_width": ZONE_HALF_WIDTH_FT,
    "zone_bottom": ZONE_BOTTOM_FT,
    "zone_top": ZONE_TOP_FT,
    **dict(zip(("spin_b0", "spin_b_la", "spin_b_spray", "spin_s0", "spin_s_spray"), SPIN_FIT, strict=True)),
    "backspin_lo": BACKSPIN_CLAMP_RPM[0],
    "backspin_hi": BACKSPIN_CLAMP_RPM[1],
    "sidespin_clamp": SIDESPIN_CLAMP_RPM,
    "pitch_t_max": MAX_PITCH_S,
    "two": 2.0,
}
#: The game's air and step, by their places in :attr:`Game.pitch_args` and :attr:`Game.fly_args`.
_PITCH_ARG_PARAMS = {"cd0": 1, "cdspin": 2, "dt": 4}
_FLY_ARG_PARAMS = {
    "c0": 0,
    "inv_tau": 3,
    "wind_x": 4,
    "wind_y": 5,
    "wind_h": 6,
    "ground_z": 8,
    "fly_t_max": 9,
}


#: ``(kernels.PARAMS without the game's values, the kernel's TUNE)`` by the values of :data:`TUNING` (a
#: tuning trial may change it between games: it is read at every game).
_TUNED: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
#: Where the game's air and step go in :data:`kernels.PARAMS`, and where they come from.
_GAME_SLOTS = [gk.PARAMS.index(k) for k in (*_PITCH_ARG_PARAMS, *_FLY_ARG_PARAMS)]


def _tuned() -> tuple[np.ndarray, np.ndarray]:
    key = tuple(TUNING.values())
    hit = _TUNED.get(key)
    if hit is None:
        params = {**_CONSTANT_PARAMS, **dict.fromkeys((*_PITCH_ARG_PARAMS, *_FLY_ARG_PARAMS), 0.0)}
        hit = (
            np.array([TUNING[k] if k in TUNING else params[k] for k in gk.PARAMS], dtype=np.float64),
            np.array([TUNING[k] for k in gm.TUNE]),
        )
        with _LOCK:
            _TUNED[key] = hit
    return hit


def kernel_params(game: Game) -> np.ndarray:
    """:data:`kernels.PARAMS` of a game: the tuning, the zone, the spin fit and the game's air."""
    par = _tuned()[0].copy()
    pitch, fly = game.pitch_args, game.fly_args
    par[_GAME_SLOTS] = [
        *(pitch[i] for i in _PITCH_ARG_PARAMS.values()),
        *(fly[i] for i in _FLY_ARG_PARAMS.values()),
    ]
    return par


_TEAMS: dict[tuple, tuple] = {}
_MATCHES: dict[tuple, tuple] = {}
_LOCK = threading.Lock()
#: The tuning the fielders' arrays depend on (:func:`engine.fielding`): part of a match's cache key.
_FIELDING_TUNING = ("of_route", "if_speed_fts", "if_react_s", "of_react_s")
_BAT_KEYS = ("name", *BAT_FIELDS)
_PIT_KEYS = ("name", *PIT_FIELDS)


def _team_arrays(team: Team) -> tuple:
    """A team's pitchers (list), ``ptab``, ``pf``, ``nk``, ``bat`` and ``bfa`` (the kernel's layout,
    :mod:`.game_kernel`), fielders (:func:`engine.fielding`), the pitchers' index by ``id`` and whether
    their names are unique, built once per team object (and tuning)."""
    key = (id(team), *(TUNING[k] for k in _FIELDING_TUNING))
    hit = _TEAMS.get(key)
    if hit is not None and hit[0] is team:
        return hit[1]
    pitchers = team.rotation + team.bullpen
    n_kinds = max(len(p.pitches) for p in pitchers)
    ptab = np.zeros((len(pitchers), n_kinds, 9))
    pf = np.zeros((len(pitchers), gm.PF_COLS))
    nk = np.array([len(p.pitches) for p in pitchers], dtype=np.int64)
    for i, p in enumerate(pitchers):
        for j, q in enumerate(p.pitches):
            ptab[i, j] = (
                q.usage,
                q.speed_mph,
                q.vang_deg,
                q.hang_deg,
                *q.spin_vec,
                *PITCH_TYPES[q.kind][4:6],
            )
        pf[i] = (
            sum(q.usage for q in p.pitches),
            *p.release,
            p.control,
            p.stuff,
            p.stamina_pitches,
            p.throws == "R",
            p.role == "SP",
        )
    codes = {"R": 0, "L": 1, "S": 2}
    bat = np.array(
        [(b.eye, b.contact, b.power, b.launch_deg, codes[b.bats], b.speed_fts) for b in team.lineup]
    )
    bfa = np.zeros((len(team.lineup), 2, 5))
    bfa[:, :, :4] = bat[:, None, :4]
    bfa[:, 0, 4] = 1.0  # hitting right-handed
    index = {id(p): i for i, p in enumerate(pitchers)}
    unique = len({p.name for p in pitchers}) == len(pitchers)
    arrays = (pitchers, ptab, pf, nk, bat, bfa, fielding(team), index, unique)
    with _LOCK:
        _TEAMS[key] = (team, arrays)
    return arrays


def _stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` and ``b`` as one array of two, the smaller padded with zeros (the kernel reads a pitcher's
    first ``nk`` kinds and a side's own pitchers only)."""
    if a.shape == b.shape:  # every generated team's
        out = np.empty((2, *a.shape), dtype=a.dtype)
        out[0], out[1] = a, b
        return out
    shape = tuple(max(x, y) for x, y in zip(a.shape, b.shape, strict=True))
    out = np.zeros((2, *shape), dtype=a.dtype)
    out[0][tuple(slice(0, n) for n in a.shape)] = a
    out[1][tuple(slice(0, n) for n in b.shape)] = b
    return out


def match_arrays(away: Team, home: Team) -> tuple:
    """The kernel's arrays of two teams (away first), built once per pair of team objects (and tuning):
    ``(pitchers, index, ptab, pf, nk, bat, bfa, fld, unique)`` — per side the pitchers and their index
    by ``id``; ``unique``: no team has two pitchers of one name. A season meets most pairs for the first
    time (a 162-game one each), so a pair is stacked from its teams' arrays (:func:`_team_arrays`)."""
    key = (id(away), id(home), *(TUNING[k] for k in _FIELDING_TUNING))
    hit = _MATCHES.get(key)
    if hit is not None and hit[0] is away and hit[1] is home:
        return hit[2]
    a, h = _team_arrays(away), _team_arrays(home)
    arrays = (
        (a[0], h[0]),
        (a[7], h[7]),
        *(_stack(a[i], h[i]) for i in range(1, 7)),
        a[8] and h[8],
    )
    with _LOCK:
        _MATCHES[key] = (away, home, arrays)
    return arrays


def play_games(games: list["KernelGame"], poll: Callable[[], None] | None = None) -> None:
    """Play kernel games one after the other, in two passes: all the games' arguments first
    (:meth:`KernelGame.prepare`), then the kernel calls (:meth:`KernelGame.play_kernel`, without the
    GIL); then take each game's box score (:meth:`KernelGame.finish`, the same as
    :meth:`KernelGame.run` 's) or its counts (:meth:`KernelGame.counts`), again in a pass.

    Python run right after a kernel runs on caches the kernel has evicted and took 2-3x the CPU time of
    the same code run in a pass (docs/perf/batted_ball.md), and time a thread holds the GIL is time the
    other thread's game may wait for it. ``poll`` is called before each kernel (a place to stop on an
    interrupt).
    """
    for g in games:
        g.prepare()
    for g in games:
        if poll is not None:
            poll()
        g.play_kernel()


class _KernelSide(_Side):
    """A side whose counters the kernel keeps (:meth:`KernelGame._write_back` sets them after the game)."""

    def __init__(self, team: Team, starter: int):
        self.team = team
        self.slot = 0
        self.pitcher = team.rotation[starter % len(team.rotation)]
        self.bullpen = list(team.bullpen)
        self.closer = self.bullpen.pop(0)
        self.pitch_count = self.runs = self.hits = self.errors = self.lob = 0
        self.line = []


class KernelGame(Game):
    """:class:`Game` played by :func:`game_kernel.play_game` (same arguments, same games)."""

    dice_class = ArrayDice
    side_class = _KernelSide

    def __init__(self, home: Team, away: Team, rng: np.random.Generator, **kwargs):
        self._rng_state = rng.bit_generator.state  # to replay the game in the engine if need be
        self._args = (home, away, rng, kwargs)
        super().__init__(home, away, rng, **kwargs)

    def play(self) -> Flights:
        """The game, played by the kernel at the first ``send``; yields nothing (its flights are the
        kernel's), returns the box score."""
        if False:  # a generator, as the engine's
            yield
        return self._play()

    def run(self) -> dict:
        return self._play()

    def _kernel_args(self) -> tuple:
        """The pitchers of each side, whether their names are unique, and :func:`game_kernel.play_game` 's
        arguments for this game (the arrays it reads and the zeroed ones it fills)."""
        sides = (self.away, self.home)
        pitchers, index, ptab, pf, nk, bat, bfa, fld, unique = match_arrays(self.away.team, self.home.team)
        n_p = ptab.shape[1]
        n_bp = max(1, max(len(s.bullpen) for s in sides))
        starters, counters, pens = [], [], []
        for s, ix in zip(sides, index, strict=True):
            starters.append([ix[id(s.pitcher)]] + [0] * (n_p - 1))
            counters.append([0] * gm.SS_COLS)
            c = counters[-1]
            c[gm.PIT] = starters[-1][0]
            c[gm.CLOSER] = -1 if s.closer is None else ix[id(s.closer)]
            c[gm.NBP] = len(s.bullpen)
            c[gm.NPIT] = 1
            pens.append([ix[id(p)] for p in s.bullpen] + [0] * (n_bp - len(s.bullpen)))
        bullpen = np.array(pens, dtype=np.int64)
        ss = np.array(counters, dtype=np.int64)
        order = np.array(starters, dtype=np.int64)
        record = self.pitch_log is not None or self.tally is not None
        gs = np.zeros(gm.GS_COLS, dtype=np.int64)
        gs[gm.INNING] = 1
        gs[gm.RECORD] = record
        gs[gm.B1 : gm.B3 + 1] = -1
        bst = np.zeros((2, 9, len(BAT_FIELDS)), dtype=np.int64)
        pst = np.zeros((2, n_p, len(PIT_FIELDS)), dtype=np.int64)
        line = np.zeros((2, 64), dtype=np.int64)
        # Rows the kernel only writes, and only its first rows are read: not zeroed (ev is 96 KiB).
        ev = np.empty((MAX_EVENTS, gm.EV_COLS))
        prow = np.empty((MAX_PITCHES if record else 1, gm.PITCH_COLS))
        brow = np.empty((MAX_BIP if record else 1, gm.BIP_COLS))
        d = self.dice
        ist = np.zeros(6, dtype=np.int64)
        ist[gk.U_LEFT], ist[gk.N_LEFT] = d.left
        tn = _tuned()[1]
        fence_dist, fence_height, path = self.fly_args[10:13]
        args = (
            gs, ss, bat, fld, bst, pst, ptab, pf, nk, bfa, bullpen, order, line, kernel_params(self), tn,
            _FXY, fence_dist, fence_height, path, d.ub, d.nb, ist, d.rng, ev, prow, brow,
            np.zeros((gk.MAX_ROWS, gk.ROW_WIDTH)), np.zeros(17),
        )  # fmt: skip
        return pitchers, unique, args

    def load_kernel(self) -> None:
        """Load (or compile) :func:`game_kernel.play_game` for this game's argument types without playing
        it: a season does this once before its clock starts, so its threads do not wait in turn for
        Numba's compile lock at their first game."""
        gm.play_game.compile(tuple(numba.typeof(a) for a in self._kernel_args()[2]))

    def _play(self) -> dict:
        self.prepare()
        self.play_kernel()
        return self.finish()

    def prepare(self) -> None:
        """The kernel's arguments (:meth:`_kernel_args`), kept for :meth:`play_kernel`."""
        self._prepared = self._kernel_args()

    def play_kernel(self) -> None:
        """The game in the kernel (without the GIL), unless the engine must play it (:meth:`finish`)."""
        _, unique, args = self._prepared
        if unique:
            gm.play_game(*args)

    def counts(self) -> tuple[list, list, int, int] | None:
        """After :meth:`play_kernel`, straight from the kernel's arrays: per side (away, home) its runs,
        left on base, errors, pitches its pitchers threw and batting totals (``BAT_FIELDS``), the
        innings and the batted balls; None for a game the engine plays (:meth:`finish` then)."""
        _, unique, args = self._prepared
        gs, ss, bst, pst = args[0], args[1], args[4], args[5]
        if not unique or gs[gm.OVERFLOW]:
            return None
        c, totals = ss.tolist(), bst.sum(axis=1).tolist()
        pitches = pst[:, :, gm.P_PITCHES].sum(axis=1).tolist()
        sides = [
            [c[k][gm.RUNS], c[k][gm.LOB], c[k][gm.ERRORS], pitches[k], *totals[k]] for k in (0, 1)
        ]  # fmt: skip
        return sides[0], sides[1], int(gs[gm.INNING]), int(gs[gm.BATTED_BALLS])

    def finish(self, lines: bool = True) -> dict:
        """After :meth:`play_kernel`: the kernel's counts into the engine's game (or the engine's replay);
        the box score (without ``lines``, its players' lines None: a season's rows need the totals)."""
        pitchers, unique, args = self._prepared
        self._prepared = None
        if not unique:
            return self._replay()
        gs, ss, bst, pst, order, line, ist, ev, prow, brow = (
            args[i] for i in (0, 1, 4, 5, 11, 12, 21, 23, 24, 25)
        )
        record = bool(gs[gm.RECORD])
        sides = (self.away, self.home)
        d = self.dice
        if gs[gm.OVERFLOW]:
            return self._replay()
        d.left = [int(ist[gk.U_LEFT]), int(ist[gk.N_LEFT])]
        self._write_back(sides, pitchers, gs, ss, bst, pst, order, line, lines)
        if self.pbp is not None:
            self.pbp = self._strings(ev[: gs[gm.N_EVENTS]].tolist())
        if record:
            self._logs(pitchers, prow[: gs[gm.N_PITCHES]].tolist(), brow[: gs[gm.N_BIP]].tolist())
        return self.box_score()

    def _replay(self) -> dict:
        """The same game played by the engine, from the generator state this game started with."""
        home, away, rng, kwargs = self._args
        rng.bit_generator.state = self._rng_state
        ref = Game(home, away, rng, **kwargs)
        ref.tally = self.tally
        box = ref.run()
        self.pitch_log, self.bip_log, self.pbp = ref.pitch_log, ref.bip_log, ref.pbp
        return box

    def _write_back(self, sides, pitchers, gs, ss, bst, pst, order, line, lines: bool = True) -> None:
        """The kernel's counters into the engine's sides and game; the lines for :meth:`_lines` (the
        players' None without ``lines``)."""
        self.inning = int(gs[gm.INNING])
        self.outs = int(gs[gm.OUTS])
        self.pa_count = int(gs[gm.PA_COUNT])
        self.total_pitches = int(gs[gm.TOTAL_PITCHES])
        self.batted_balls = int(gs[gm.BATTED_BALLS])
        totals, pitches = bst.sum(axis=1).tolist(), pst[:, :, gm.P_PITCHES].sum(axis=1).tolist()
        for k, s in enumerate(sides):
            ps = pitchers[k]
            c = ss[k].tolist()
            s.slot, s.pitch_count = c[gm.SLOT], c[gm.PC]
            s.runs, s.hits, s.errors, s.lob = c[gm.RUNS], c[gm.HITS], c[gm.ERRORS], c[gm.LOB]
            s.pitcher = ps[c[gm.PIT]]
            s.closer = None if c[gm.CLOSER] == -1 else ps[c[gm.CLOSER]]
            s.bullpen = s.bullpen[: c[gm.NBP]]
            s.line = line[k, : c[gm.NLINE]].tolist()
            if not lines:
                s.lines = (None, None, dict(zip(BAT_FIELDS, totals[k], strict=True)), pitches[k])
                continue
            rows = pst[k].tolist()
            s.lines = (
                [dict(zip(_BAT_KEYS, (b.name, *r), strict=True)) for b, r in zip(s.team.lineup, bst[k].tolist(), strict=True)],
                [dict(zip(_PIT_KEYS, (ps[i].name, *rows[i]), strict=True)) for i in order[k, : c[gm.NPIT]].tolist()],
                dict(zip(BAT_FIELDS, totals[k], strict=True)),
                pitches[k],
            )  # fmt: skip

    def _lines(self, s) -> tuple[list, list, dict, int]:
        """The engine's lines, from the kernel's arrays (:meth:`_write_back`)."""
        return s.lines

    def _strings(self, events: list) -> list[str]:
        """The engine's play-by-play lines of the kernel's events."""
        sides = (self.away, self.home)
        out = []
        for code, side, slot, f, number, dist in events:
            code, number = int(code), int(number)
            if code == gm.E_TOP or code == gm.E_BOTTOM:
                out.append(f"-- {'top' if code == gm.E_TOP else 'bottom'} {number}")
                continue
            name = sides[int(side)].team.lineup[int(slot)].name
            pos = FIELD_POS[int(f)] if f >= 0 else ""
            if code == gm.E_HR:
                text = f"home run, {dist:.0f} ft"
            elif code == gm.E_HIT:
                n = number % 10
                text = f"{_HITS[number // 10 - 1]} to {pos}" + (f", {n} score" if n else "")
            else:
                text = {
                    gm.E_K_LOOKING: "strikes out looking",
                    gm.E_K_SWINGING: "strikes out swinging",
                    gm.E_BB: "walk",
                    gm.E_HBP: "hit by pitch",
                    gm.E_FOUL_OUT: f"foul out to {pos}",
                    gm.E_SF: f"sacrifice fly to {pos}",
                    gm.E_FLY_OUT: f"flies out to {pos}",
                    gm.E_ROE: "reaches on an error",
                    gm.E_DP: f"grounds into a double play, {pos}",
                    gm.E_FC: f"forced out, {pos}",
                    gm.E_GROUND_OUT: f"grounds out, {pos}",
                    gm.E_INFIELD_HIT: f"infield single, {pos}",
                }[code]
            out.append(f"{name}: {text}")
        return out

    def _logs(self, pitchers, pitches: list, balls: list) -> None:
        """The engine's pitch-log and ball-in-play tuples (and tally) of the kernel's rows."""
        sides = (self.away, self.home)
        rec, tally = self.pitch_log, self.tally
        for (
            inning,
            top,
            pa,
            idx,
            n_pa,
            bs,
            slot,
            right,
            p,
            balls_,
            strikes,
            outs,
            k,
            speed,
            px,
            pz,
            dout,
            desc,
        ) in pitches:
            desc = int(desc)
            in_zone = dout <= 0
            if rec is not None:
                side = sides[int(bs)]
                pitcher = pitchers[int(bs) ^ 1][int(p)]
                q = pitcher.pitches[int(k)]
                rec.append(
                    (
                        int(inning), top == 1.0, int(pa), int(idx), int(n_pa), side.team.code,
                        side.team.lineup[int(slot)].name, "R" if right else "L", pitcher.name, pitcher.throws,
                        int(balls_), int(strikes), int(outs), q.kind, speed, q.spin_rpm, q.spin_axis_deg,
                        px, pz, in_zone, _DESCRIPTION[desc],
                    )
                )  # fmt: skip
            if tally is not None:
                tally["pitch"] += 1
                tally["zone"] += in_zone
                if desc != gk.HIT_BY_PITCH:
                    swing = desc not in (gk.BALL, gk.CALLED)
                    tally["swing_z" if in_zone else "swing_o"] += swing
                    if not swing:
                        tally["called" if desc == gk.CALLED else "ball"] += 1
                    else:
                        tally["contact_z" if in_zone else "contact_o"] += desc != gk.SWINGING
                    if desc >= gm.FOUL_FLY:
                        tally["foul_fly" if desc == gm.FOUL_FLY else "in_play"] += 1
        if self.bip_log is None:
            return
        for row in balls:
            inning, top, pa, idx, bs, slot, right, p = row[:8]
            f, result = int(row[18]), _RESULTS[int(row[19])]
            side = sides[int(bs)]
            self.bip_log.append(
                (
                    int(inning), top == 1.0, int(pa), int(idx), side.team.code,
                    side.team.lineup[int(slot)].name, "R" if right else "L", pitchers[int(bs) ^ 1][int(p)].name,
                    *row[8:18], bb_type(row[9]), None if f < 0 else FIELD_POS[f], OUTCOMES[result],
                )
            )  # fmt: skip
