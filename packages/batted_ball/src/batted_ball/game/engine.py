"""One game, pitch by pitch: pitch physics to the plate, swing and contact, batted-ball physics,
fielding against reach and throw times, base running, pitcher fatigue and relievers, box score.

Probabilities that are not physics (swing decisions, contact, the spread of exit velocity and
launch angle) are logistic or normal models whose constants sit in :data:`TUNING`, calibrated so
a season matches the MLB 2023-2024 league line (see ``docs/batted_ball.md``). Randomness comes from
one generator per game (keyed by the game, never the worker), drawn in blocks.
"""

import math
from collections.abc import Generator

import numpy as np

from ..errors import BattedBallError
from ..parks import PARKS
from ..physics import Environment, FlightArgs, SimulationMode, kernels
from ..physics.constants import MPH_TO_FTS, PLATE_FRONT_Y_FT
from ..physics.flight import MAX_PITCH_S, average_spin_rpm
from .fielding import field_ground_ball
from .players import PITCH_TYPES, ZONE_CENTER_Z_FT, Batter, Pitcher, Team

#: The RK4 step of a game's flights unless asked otherwise (``--mode``): EXTREME, 10 ms. RK4 of this
#: smooth model is far more accurate than its step suggests: against 0.25 ms (0.1 ms for pitches) the
#: balls of 48 games land within 4e-9 ft at 10 ms and the pitches cross the plate within 1.5e-10 ft
#: (``benchmarks/batted_ball_step_accuracy.py``); the one coarser quantity is the ball's height at the
#: fence, found inside the step with the fence of the step end's bearing (first order in the step:
#: 0.039 ft at 10 ms, 0.009 ft at 2 ms, at most, over 2,822 balls). Until 2026-12-06
#: games flew at FAST (2 ms), five times the steps for no accuracy a game can see; ``--mode fast``
#: still plays those games (docs/batted_ball.md, "Which step the games fly").
GAME_MODE = SimulationMode.EXTREME

TUNING = {
    # Pitcher intent: probability of aiming in the zone, by count (balls, strikes) adjustments.
    "zone_intent": 0.685,
    "zone_intent_per_ball": 0.08,
    "zone_intent_per_strike": -0.09,
    "command_sd_ft": 0.5,
    # Swing: logistic in the (signed) distance of the pitch from the zone edge, ft.
    "swing_in_zone": 0.15,
    "swing_out_slope": 1.9,
    "swing_two_strikes": 0.5,
    "swing_three_balls": -0.4,
    "swing_first_pitch": -0.45,
    "swing_eye": 0.18,
    # Contact: logistic.
    "contact_base": 1.65,
    "contact_out_slope": 2.4,
    "contact_skill": 0.32,
    "contact_stuff": 0.22,
    "contact_velo_per_mph": 0.035,
    "contact_two_strikes": 0.65,
    # Of contact: share fouled straight back (tips, back-net fouls) before any flight.
    "foul_back": 0.46,
    # Batted balls.
    # EV and LA fitted to the Statcast sample (even game_pk half; docs/batted_ball.md "Against the real game").
    "ev_mean_mph": 98.5,
    "ev_sd_mph": 9.5,
    "ev_power": 2.6,
    "la_mean_deg": 14.5,
    "la_sd_deg": 25.0,
    "la_per_ft_height": 7.0,
    "ev_la_penalty": 0.00016,
    "spray_pull_deg": 9.0,
    "spray_sd_deg": 24.0,
    # The average spin is Nathan's fit by Statcast's spray angle, i.e. where the ball was fielded; a ball
    # hooks or slices away from its launch direction, so its spin is taken at this multiple of the launch
    # spray (fitted with the EV/LA constants above on the sample's even game_pk half).
    "spin_spray_factor": 2.0,
    # Fielding and running.
    "of_react_s": 0.5,
    "of_route": 0.84,
    "if_react_s": 0.45,
    "if_speed_fts": 12.5,
    "if_reach_ft": 2.4,
    "catch_softness_s": 0.17,
    # A ball that reaches the wall is caught (leaping, at the track) with this share of the
    # reach-time catch probability of a ball in the open; it was never caught before.
    "wall_catch": 0.5,
    "error_rate": 0.011,
    "throw_fts": 118.0,
    "of_throw_fts": 92.0,
    "if_transfer_s": 0.85,
    "of_transfer_s": 1.15,
    "of_roll_keep": 0.6,
    "of_pickup_s": 1.0,
    "of_roll_decel": 7.0,
    "gb_keep": 0.65,
    "gb_decel": 18.0,
    "dp_pivot_s": 1.0,
    "hbp_inside": 0.04,
}

# Fielder standing positions (x, y ft): P, C, 1B, 2B, 3B, SS, LF, CF, RF.
_POLAR = (
    (55.0, 0.0),
    (3.0, 180.0),
    (105.0, 37.0),
    (150.0, 13.0),
    (112.0, -34.0),
    (150.0, -13.0),
    (290.0, -27.0),
    (320.0, 0.0),
    (290.0, 27.0),
)
FIELDER_XY = np.array([(r * math.sin(math.radians(b)), r * math.cos(math.radians(b))) for r, b in _POLAR])
FIELDER_XY[1] = (0.0, -3.0)
#: The same as Python floats, for the scalar code of a ball in play (NumPy scalars cost several times a
#: float's arithmetic; the values and every result are the same), and the columns the kernels take.
_FIELDER_XY = tuple((float(x), float(y)) for x, y in FIELDER_XY)
_FX, _FY = FIELDER_XY[:, 0], FIELDER_XY[:, 1]
_FX_OF, _FY_OF = FIELDER_XY[6:, 0], FIELDER_XY[6:, 1]
FIELD_POS = ("P", "C", "1B", "2B", "3B", "SS", "LF", "CF", "RF")
BASE_XY = ((0.0, 0.0), (63.64, 63.64), (0.0, 127.28), (-63.64, 63.64))  # home, 1B, 2B, 3B
ZONE_HALF_WIDTH_FT = 0.83  # 17 in plate / 2 + ball radius
ZONE_BOTTOM_FT, ZONE_TOP_FT = 1.5, 3.5

#: One row per pitch of a game run with ``record=True`` (``Game.pitch_log``; types in ``io.PITCH_SCHEMA``).
#: Counts and outs are before the pitch; ``description`` is what became of it (Statcast's words).
PITCH_FIELDS = (
    "inning",
    "top",
    "pa_index",
    "pitch_index",
    "pitch_of_pa",
    "batting_team",
    "batter",
    "bat_side",
    "pitcher",
    "p_throws",
    "balls",
    "strikes",
    "outs",
    "pitch_type",
    "release_speed_mph",
    "spin_rpm",
    "spin_axis_deg",
    "plate_x_ft",
    "plate_z_ft",
    "in_zone",
    "description",
)
#: One row per batted ball that flew (fair or foul; ``Game.bip_log``; types in ``io.BIP_SCHEMA``).
BIP_FIELDS = (
    "inning",
    "top",
    "pa_index",
    "pitch_index",
    "batting_team",
    "batter",
    "bat_side",
    "pitcher",
    "exit_velo_mph",
    "launch_angle_deg",
    "spray_angle_deg",
    "backspin_rpm",
    "sidespin_rpm",
    "landing_x_ft",
    "landing_y_ft",
    "distance_ft",
    "hang_time_s",
    "apex_ft",
    "bb_type",
    "fielder",
    "outcome",
)
#: ``_ball_in_play`` results in Statcast's ``events`` words.
OUTCOMES = {
    "HR": "home_run",
    "1B": "single",
    "2B": "double",
    "3B": "triple",
    "out": "field_out",
    "SF": "sac_fly",
    "DP": "double_play",
    "FC": "force_out",
    "ROE": "field_error",
    "foul": "foul",
}


#: What a game asks its driver to fly (:meth:`Game.play`): a pitch to the plate, a batted ball to the ground.
PITCH, FLY = 0, 1
#: A step of the game that may need flights: yields requests, is sent results, returns its value.
Flights = Generator[tuple, tuple, object]


def bb_type(launch_angle_deg: float) -> str:
    """Statcast's batted-ball type by launch angle: < 10 ground ball, 10-25 liner, 25-50 fly, > 50 popup."""
    if launch_angle_deg < 10.0:
        return "ground_ball"
    if launch_angle_deg < 25.0:
        return "line_drive"
    return "fly_ball" if launch_angle_deg <= 50.0 else "popup"


BAT_FIELDS = ("PA", "AB", "R", "H", "2B", "3B", "HR", "RBI", "BB", "SO", "HBP", "SF")
PIT_FIELDS = ("outs", "BF", "H", "R", "BB", "SO", "HR", "HBP", "pitches")


class Dice:
    """Uniform and normal draws from one generator, taken in blocks (per-call cost of a list pop)."""

    __slots__ = ("_n", "_rng", "_u")

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._u: list[float] = []
        self._n: list[float] = []

    def u(self) -> float:
        if not self._u:
            self._u = self._rng.random(2048).tolist()
        return self._u.pop()

    def n(self) -> float:
        if not self._n:
            self._n = self._rng.standard_normal(2048).tolist()
        return self._n.pop()


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def fielding(team: Team) -> np.ndarray:
    """A team's fielders, by position (``FIELD_POS``): speed (ft/s), reaction (s), arm and glove factors."""
    fielders = {b.position: b for b in team.lineup}
    sprint = np.array([25.0] + [fielders[p].speed_fts - (3.0 if p == "C" else 0.0) for p in FIELD_POS[1:]])
    # Outfielders cover ground at a fraction of their sprint speed (reaction, acceleration, route);
    # infielders (and the pitcher) move laterally from a set stance, slower still.
    f_speed = TUNING["of_route"] * sprint
    f_speed[0] = TUNING["if_speed_fts"]
    f_speed[2:6] = TUNING["if_speed_fts"] + 0.5 * (sprint[2:6] - 27.0)
    f_react = np.array([TUNING["if_react_s"]] * 6 + [TUNING["of_react_s"]] * 3)
    f_arm = np.array([1.0] + [1.0 + 0.06 * fielders[p].arm for p in FIELD_POS[1:]])
    f_glove = np.array([0.0] + [fielders[p].fielding for p in FIELD_POS[1:]])
    return np.array((f_speed, f_react, f_arm, f_glove))


class _Side:
    """One team in one game: lineup slot, pitcher in the game, stats."""

    def __init__(self, team: Team, starter: int):
        self.team = team
        self.slot = 0
        self.pitcher = team.rotation[starter % len(team.rotation)]
        self.bullpen = list(team.bullpen)
        self.closer: Pitcher | None = self.bullpen.pop(0)  # None once he has pitched
        self.pitch_count = 0
        self.runs = 0
        self.hits = 0
        self.errors = 0
        self.lob = 0
        self.line: list[int] = []
        self.bat = [dict.fromkeys(BAT_FIELDS, 0) for _ in team.lineup]
        self.pit: dict[str, dict] = {self.pitcher.name: dict.fromkeys(PIT_FIELDS, 0)}
        self.f_speed, self.f_react, self.f_arm, self.f_glove = fielding(team)
        # As Python floats for the scalar code (see _FIELDER_XY); the outfielders' for the kernels.
        self.speed, self.react = self.f_speed.tolist(), self.f_react.tolist()
        self.arm, self.glove = self.f_arm.tolist(), self.f_glove.tolist()
        self.f_speed_of, self.f_react_of = self.f_speed[6:], self.f_react[6:]

    def change_pitcher(self, new: Pitcher) -> None:
        self.pitcher = new
        self.pitch_count = 0
        self.pit.setdefault(new.name, dict.fromkeys(PIT_FIELDS, 0))


class Game:
    """Simulate one game; ``run()`` returns the box score as a dict."""

    #: Where the game's draws come from (:class:`.fast.KernelGame` takes the same draws from arrays).
    dice_class = Dice
    #: A team in the game (:class:`.fast.KernelGame` keeps its counters in the kernel's arrays).
    side_class = _Side

    def __init__(
        self,
        home: Team,
        away: Team,
        rng: np.random.Generator,
        *,
        mode=GAME_MODE,
        home_starter: int = 0,
        away_starter: int = 0,
        pbp: bool = False,
        record: bool = False,
    ):
        if not (isinstance(home, Team) and isinstance(away, Team)):
            raise BattedBallError(
                f"home and away must be Team objects, got {type(home).__name__}, {type(away).__name__}"
            )
        if home is away:  # season.new_game refuses it too; the class played a team against itself
            raise BattedBallError(f"home and away are the same team ({home.code}); choose two teams")
        if not isinstance(rng, np.random.Generator):
            raise BattedBallError(
                f"rng must be a numpy Generator (perfkit.rng_for(seed, 'game', i)), got {rng!r}"
            )
        self.dice = self.dice_class(rng)
        self.home = self.side_class(home, home_starter)
        self.away = self.side_class(away, away_starter)
        self.park = PARKS[home.code]
        temp = 72.0 if self.park.roof else 72.0 + 9.0 * self.dice.n()
        self.env = Environment(temp_f=min(max(temp, 35.0), 105.0), elevation_ft=self.park.elevation_ft)
        self.mode = SimulationMode.parse(mode)
        a = FlightArgs.of(self.env, self.mode)
        #: The kernels' arguments after a flight's nine state values (:func:`kernels.fly`, :func:`kernels.pitch`).
        self.fly_args = a.fly_tail(fence=self.park.fence_profile)
        self.pitch_args = (a.c0, a.cd0, a.cdspin, a.inv_tau, a.dt, PLATE_FRONT_Y_FT, MAX_PITCH_S, False)
        self.pbp: list[str] | None = [] if pbp else None
        #: Play-by-play as data (``record=True``): tuples in :data:`PITCH_FIELDS` / :data:`BIP_FIELDS` order.
        self.pitch_log: list[tuple] | None = [] if record else None
        self.bip_log: list[tuple] | None = [] if record else None
        self.pa_count = 0
        self._pitch_key: tuple = ()
        self._fielder: int | None = None
        self._facts: dict[str, tuple] = {}
        self.total_pitches = 0
        self.batted_balls = 0
        #: Optional pitch-level counters (calibration diagnostics); None in normal runs.
        self.tally: dict[str, int] | None = None
        self.inning = 1
        self.outs = 0
        self.bases: list[int | None] = [None, None, None]  # lineup slot of the runner on 1B, 2B, 3B

    # ------------------------------------------------------------------------------------ logging
    def _log(self, text: str) -> None:
        if self.pbp is not None:
            self.pbp.append(text)

    # -------------------------------------------------------------------------------------- pitch
    def _throw(self, pitcher: Pitcher, fatigue: float, balls: int, strikes: int) -> Flights:
        d = self.dice
        ps = pitcher.pitches
        total, rel = self._pitcher_facts(pitcher)
        r = d.u() * total
        pitch = ps[-1]
        for p in ps:
            r -= p.usage
            if r <= 0:
                pitch = p
                break
        t = TUNING
        p_zone = t["zone_intent"] + t["zone_intent_per_ball"] * balls + t["zone_intent_per_strike"] * strikes
        if d.u() < p_zone:
            tx = 0.45 * d.n()
            tz = ZONE_CENTER_Z_FT + 0.4 * d.n()
        else:  # work the edges / chase: away or below the zone
            if d.u() < 0.55:
                tx = math.copysign(ZONE_HALF_WIDTH_FT + 0.25 + 0.35 * abs(d.n()), d.u() - 0.5)
                tz = ZONE_CENTER_Z_FT + 0.6 * d.n()
            else:
                tx = 0.5 * d.n()
                tz = (
                    ZONE_BOTTOM_FT - 0.2 - 0.35 * abs(d.n())
                    if d.u() < 0.8
                    else ZONE_TOP_FT + 0.3 + 0.3 * abs(d.n())
                )
        sd = t["command_sd_ft"] * (1.0 - 0.1 * pitcher.control) * (1.0 + fatigue)
        tx += sd * d.n()
        tz += sd * d.n()
        speed = pitch.speed_mph - 2.0 * fatigue + 0.7 * d.n()
        dy = rel[1] - PLATE_FRONT_Y_FT
        vang = math.radians(pitch.vang_deg) + (tz - ZONE_CENTER_Z_FT) / dy
        hang = math.radians(pitch.hang_deg) + tx / dy
        v = speed * MPH_TO_FTS
        ch = math.cos(vang)
        w = pitch.spin_vec
        res = yield (
            PITCH,
            (
                rel[0],
                rel[1],
                rel[2],
                v * ch * math.sin(hang),
                -v * ch * math.cos(hang),
                v * math.sin(vang),
                w[0],
                w[1],
                w[2],
            ),
        )
        return pitch, res[1], res[2], speed

    def _pitcher_facts(self, pitcher: Pitcher) -> tuple[float, tuple[float, float, float]]:
        """Total usage weight and release point of a pitcher (looked up once per game)."""
        facts = self._facts.get(pitcher.name)
        if facts is None:
            facts = self._facts[pitcher.name] = (sum(p.usage for p in pitcher.pitches), pitcher.release)
        return facts

    # ------------------------------------------------------------------------ plate appearance
    def plate_appearance(self, bat: _Side, fld: _Side) -> Flights:
        d = self.dice
        t = TUNING
        batter = bat.team.lineup[bat.slot]
        pitcher = fld.pitcher
        pl = fld.pit[pitcher.name]
        bl = bat.bat[bat.slot]
        balls = strikes = 0
        hand = batter.bats if batter.bats != "S" else ("L" if pitcher.throws == "R" else "R")
        pl["BF"] += 1
        bl["PA"] += 1
        self.pa_count += 1
        rec = self.pitch_log
        n_pa = 0
        while True:
            fatigue = max(0.0, fld.pitch_count / pitcher.stamina_pitches - 0.8)
            fld.pitch_count += 1
            pl["pitches"] += 1
            self.total_pitches += 1
            pitch, px, pz, speed = yield from self._throw(pitcher, fatigue, balls, strikes)
            dist_out = max(abs(px) - ZONE_HALF_WIDTH_FT, ZONE_BOTTOM_FT - pz, pz - ZONE_TOP_FT)
            if rec is not None:
                n_pa += 1
                self._pitch_key = (self.inning, bat is self.away, self.pa_count, self.total_pitches)
                row = (
                    *self._pitch_key,
                    n_pa,
                    bat.team.code,
                    batter.name,
                    hand,
                    pitcher.name,
                    pitcher.throws,
                    balls,
                    strikes,
                    self.outs,
                    pitch.kind,
                    speed,
                    pitch.spin_rpm,
                    pitch.spin_axis_deg,
                    px,
                    pz,
                    dist_out <= 0,
                )
            tally = self.tally
            if tally is not None:
                tally["pitch"] += 1
                tally["zone"] += dist_out <= 0
            if dist_out > 0.8 and (px < 0.0) == (hand == "R") and d.u() < t["hbp_inside"]:
                if rec is not None:
                    rec.append((*row, "hit_by_pitch"))
                return self._walk(bat, fld, batter, "HBP")  # inside, into the batter
            # Swing decision.
            x = (
                t["swing_in_zone"]
                - t["swing_out_slope"] * max(dist_out, -0.3)
                + t["swing_eye"] * (-batter.eye if dist_out > 0 else 0.5 * batter.eye)
            )
            if strikes == 2:
                x += t["swing_two_strikes"]
            if balls == 3:
                x += t["swing_three_balls"]
            if balls == 0 and strikes == 0:
                x += t["swing_first_pitch"]
            swing = d.u() < _logistic(x)
            if tally is not None:
                tally["swing_z" if dist_out <= 0 else "swing_o"] += swing
            if not swing:
                # Take: the umpire calls the zone with a soft edge.
                called = d.u() < _logistic(-dist_out / 0.07)
                if rec is not None:
                    rec.append((*row, "called_strike" if called else "ball"))
                if tally is not None:
                    tally["called" if called else "ball"] += 1
                if called:
                    strikes += 1
                    if strikes == 3:
                        return self._strikeout(bat, fld, batter, "looking")
                else:
                    balls += 1
                    if balls == 4:
                        return self._walk(bat, fld, batter, "BB")
                continue
            # Swing: contact?
            whiff_type = PITCH_TYPES[pitch.kind][4]
            x = (
                t["contact_base"]
                - t["contact_out_slope"] * max(dist_out, 0.0)
                + t["contact_skill"] * batter.contact
                - t["contact_stuff"] * pitcher.stuff
                - whiff_type
                - t["contact_velo_per_mph"] * (speed - 90.0)
                + (t["contact_two_strikes"] if strikes == 2 else 0.0)
            )
            contact = d.u() < _logistic(x)
            if tally is not None:
                tally["contact_z" if dist_out <= 0 else "contact_o"] += contact
            if not contact:
                if rec is not None:
                    rec.append((*row, "swinging_strike"))
                strikes += 1
                if strikes == 3:
                    return self._strikeout(bat, fld, batter, "swinging")
                continue
            if d.u() < t["foul_back"]:
                if rec is not None:
                    rec.append((*row, "foul"))
                if strikes < 2:
                    strikes += 1
                continue
            result = yield from self._ball_in_play(bat, fld, batter, pitch, pz)
            if rec is not None:
                rec.append((*row, "foul" if result == "foul" else "hit_into_play"))
            if tally is not None:
                tally["foul_fly" if result == "foul" else "in_play"] += 1
            if result == "foul":
                if strikes < 2:
                    strikes += 1
                continue
            return result

    def _walk(self, bat: _Side, fld: _Side, batter: Batter, kind: str) -> str:
        bl = bat.bat[bat.slot]
        pl = fld.pit[fld.pitcher.name]
        bl[kind] += 1
        pl[kind] += 1
        runs = self._force_advance(bat)
        bl["RBI"] += runs
        self._log(f"{batter.name}: {'walk' if kind == 'BB' else 'hit by pitch'}")
        return kind

    def _strikeout(self, bat: _Side, fld: _Side, batter: Batter, how: str) -> str:
        bat.bat[bat.slot]["AB"] += 1
        bat.bat[bat.slot]["SO"] += 1
        fld.pit[fld.pitcher.name]["SO"] += 1
        self._out(fld)
        self._log(f"{batter.name}: strikes out {how}")
        return "K"

    # ------------------------------------------------------------------------------- base running
    def _out(self, fld: _Side, n: int = 1) -> None:
        self.outs += n
        fld.pit[fld.pitcher.name]["outs"] += n

    def _score(self, bat: _Side, fld: _Side, slots: list[int]) -> int:
        for s in slots:
            bat.bat[s]["R"] += 1
        bat.runs += len(slots)
        fld.pit[fld.pitcher.name]["R"] += len(slots)
        return len(slots)

    def _force_advance(self, bat: _Side) -> int:
        """Batter to first; runners move up only when forced. Returns runs scored."""
        fld = self.home if bat is self.away else self.away
        b = self.bases
        scored = []
        if b[0] is not None:
            if b[1] is not None:
                if b[2] is not None:
                    scored.append(b[2])
                b[2] = b[1]
            b[1] = b[0]
        b[0] = bat.slot
        return self._score(bat, fld, scored)

    def _runner_time(self, slot: int, bat: _Side, bases: int, start: float) -> float:
        v = bat.team.lineup[slot].speed_fts
        return start + 90.0 * bases / v + 0.2 * max(0, bases - 1)

    def _throw_time(self, fld: _Side, f: int, x: float, y: float, base: int) -> float:
        bx, by = BASE_XY[base]
        dist = math.hypot(bx - x, by - y)
        speed = (TUNING["of_throw_fts"] if f >= 6 else TUNING["throw_fts"]) * fld.arm[f]
        if dist > 200.0:  # relay
            speed *= 0.9
        return (TUNING["of_transfer_s"] if f >= 6 else TUNING["if_transfer_s"]) + dist / speed

    def _advance_on_hit(
        self,
        bat: _Side,
        fld: _Side,
        batter_bases: int,
        f: int,
        t_ret: float,
        x: float,
        y: float,
        start: float,
    ) -> list[int]:
        """Move the runners on a hit; returns the lineup slots that scored.

        Bases are numbered 1-3, home is 4. A runner must go at least as far as the runners behind him
        (and the batter) push him; beyond that he takes each base he reaches before the fielder's
        throw (fielder ``f`` has the ball at ``t_ret`` at ``(x, y)``), never passing the runner ahead.
        """
        b = self.bases
        min_target = {}
        prev = batter_bases
        for c in (1, 2, 3):
            if b[c - 1] is not None:
                min_target[c] = max(c, prev + 1) if prev >= c else c
                prev = min_target[c]
        new: list[int | None] = [None, None, None]
        scored: list[int] = []
        ahead = 4
        for c in (3, 2, 1):
            slot = b[c - 1]
            if slot is None:
                continue
            cap = 4 if ahead == 4 else ahead - 1
            final = min(min_target[c], cap)
            for target in range(final + 1, cap + 1):
                t_run = self._runner_time(slot, bat, target - c, start)
                if t_run + 0.3 < t_ret + self._throw_time(fld, f, x, y, target % 4):
                    final = target
                else:
                    break
            if final >= 4:
                scored.append(slot)
            else:
                new[final - 1] = slot
                ahead = final
        if batter_bases >= 4:
            scored.append(bat.slot)
        else:
            new[batter_bases - 1] = bat.slot
        self.bases = new
        return scored

    # ----------------------------------------------------------------------------- ball in play
    def _ball_in_play(self, bat: _Side, fld: _Side, batter: Batter, pitch, pz: float) -> Flights:
        d = self.dice
        t = TUNING
        hand = batter.bats if batter.bats != "S" else ("L" if fld.pitcher.throws == "R" else "R")
        la = (
            t["la_mean_deg"]
            + batter.launch_deg
            + PITCH_TYPES[pitch.kind][5]
            + t["la_per_ft_height"] * (pz - ZONE_CENTER_Z_FT)
            + t["la_sd_deg"] * d.n()
        )
        la = min(max(la, -75.0), 85.0)
        ev = (
            t["ev_mean_mph"] + t["ev_power"] * batter.power - 0.8 * fld.pitcher.stuff + t["ev_sd_mph"] * d.n()
        )
        ev *= 1.0 - t["ev_la_penalty"] * (la - 14.0) ** 2
        ev = min(max(ev, 25.0), 121.0)
        pull = -t["spray_pull_deg"] if hand == "R" else t["spray_pull_deg"]
        spray = pull * (1.0 + 0.5 * (la < 10)) + t["spray_sd_deg"] * d.n()
        spray = min(max(spray, -85.0), 85.0)
        back, side = average_spin_rpm(la, t["spin_spray_factor"] * spray, hand == "R")
        th = math.radians(la)
        ph = math.radians(spray)
        v = ev * MPH_TO_FTS
        cth, sth, cph, sph = math.cos(th), math.sin(th), math.cos(ph), math.sin(ph)
        wb = float(back) * math.pi / 30.0
        ws = float(side) * math.pi / 30.0
        r = yield (
            FLY,
            (
                0.0,
                0.0,
                3.0,
                v * cth * sph,
                v * cth * cph,
                v * sth,
                wb * cph - ws * sth * sph,
                -wb * sph - ws * sth * cph,
                ws * cth,
            ),
        )
        return self._bip_outcome(bat, fld, batter, hand, ev, la, spray, back, side, r)

    def _bip_outcome(self, bat, fld, batter, hand, ev, la, spray, back, side, r) -> str:
        """What the fielders and runners make of a batted ball that flew (``r``: :func:`kernels.fly` 's
        results); logs it when recording. Shared by both twins (:mod:`.fast` flies the ball in a kernel)."""
        hang, lx, ly, apex, lvx, lvy, _, wall_z, wall_h, wall_b = r[:10]
        self.batted_balls += 1
        bearing = math.degrees(math.atan2(lx, ly))
        dist = math.hypot(lx, ly)
        fair = abs(bearing) <= 45.0
        self._fielder = None
        if not math.isnan(wall_z) and abs(wall_b) <= 45.0 and wall_z > wall_h:
            result = self._home_run(bat, fld, batter, dist)
        elif la < 10.0 and dist < 160.0:
            result = self._ground_ball(bat, fld, batter, lx, ly, hang, lvx, lvy) if fair else "foul"
        else:
            result = self._air_ball(bat, fld, batter, lx, ly, hang, apex, dist, fair, wall_z, la, lvx, lvy)
        if self.bip_log is not None:
            f = self._fielder
            self.bip_log.append(
                (
                    *self._pitch_key,
                    bat.team.code,
                    batter.name,
                    hand,
                    fld.pitcher.name,
                    ev,
                    la,
                    spray,
                    back,
                    side,
                    lx,
                    ly,
                    dist,
                    hang,
                    apex,
                    bb_type(la),
                    None if f is None else FIELD_POS[f],
                    OUTCOMES[result],
                )
            )
        return result

    def _home_run(self, bat: _Side, fld: _Side, batter: Batter, dist: float) -> str:
        scored = [s for s in self.bases if s is not None] + [bat.slot]
        self.bases = [None, None, None]
        self._credit_hit(bat, fld, "HR", scored)
        self._log(f"{batter.name}: home run, {dist:.0f} ft")
        return "HR"

    def _credit_hit(self, bat: _Side, fld: _Side, kind: str, scored: list[int]) -> None:
        bl = bat.bat[bat.slot]
        bl["AB"] += 1
        bl["H"] += 1
        if kind in ("2B", "3B", "HR"):
            bl[kind] += 1
        bat.hits += 1
        pl = fld.pit[fld.pitcher.name]
        pl["H"] += 1
        if kind == "HR":
            pl["HR"] += 1
        bl["RBI"] += self._score(bat, fld, scored)

    def _air_ball(self, bat, fld, batter, lx, ly, hang, apex, dist, fair, wall_z, la, lvx, lvy) -> str:
        d = self.dice
        t = TUNING
        ux, uy = (lx / dist, ly / dist) if dist > 0 else (0.0, 1.0)
        best_f, best_margin = -1, -1e9
        for f in range(9):
            fx, fy = _FIELDER_XY[f]
            along = fx * ux + fy * uy
            if la < 20.0 and 0.0 < along < dist and f in (2, 3, 4, 5, 0):
                # A liner past an infielder: catchable where it passes him below his reach.
                u = along / dist
                z_pass = 3.0 * (1.0 - u) + 4.0 * (apex - 1.5) * u * (1.0 - u)
                if z_pass < 8.5:
                    lateral = abs(fx * uy - fy * ux)
                    margin = hang * u - fld.react[f] - max(0.0, lateral - 2.5) / fld.speed[f]
                    if margin > best_margin:
                        best_f, best_margin = f, margin
                continue
            run = math.hypot(fx - lx, fy - ly)
            margin = hang - fld.react[f] - run / fld.speed[f]
            if margin > best_margin:
                best_f, best_margin = f, margin
        off_wall = not math.isnan(wall_z)
        p_catch = _logistic(best_margin / t["catch_softness_s"]) * (t["wall_catch"] if off_wall else 1.0)
        if d.u() < p_catch:
            self._fielder = best_f
            if d.u() < t["error_rate"] * (1.0 - 0.3 * fld.glove[best_f]) * 0.6:
                return self._reach_on_error(bat, fld, batter)
            if not fair:
                bat.bat[bat.slot]["AB"] += 1
                self._out(fld)
                self._log(f"{batter.name}: foul out to {FIELD_POS[best_f]}")
                return "out"
            return self._fly_out(bat, fld, batter, best_f, lx, ly, hang)
        if not fair:
            return "foul"
        # A hit: the ball rolls on from where it lands (or drops off the wall) until an outfielder
        # gets to it; where and when he does decides the bases.
        fd, _ = self._fence_at(math.degrees(math.atan2(lx, ly)))
        if off_wall:
            lx, ly = lx * (fd - 8.0) / dist, ly * (fd - 8.0) / dist
            lvx, lvy, keep = -0.1 * lvx, -0.1 * lvy, 1.0
        else:
            keep = t["of_roll_keep"]
        f, t_ret, rx, ry = field_ground_ball(
            lx,
            ly,
            hang,
            lvx,
            lvy,
            _FX_OF,
            _FY_OF,
            fld.f_speed_of,
            fld.f_react_of,
            t["if_reach_ft"],
            keep,
            t["of_roll_decel"],
            0.05,
            fd - 3.0,
        )
        return self._hit(bat, fld, batter, f + 6, t_ret + TUNING["of_pickup_s"], rx, ry)

    def _fence_at(self, bearing: float) -> tuple[float, float]:
        return kernels.fence_at(bearing, *self.park.fence_profile)

    def _hit(self, bat, fld, batter, f, t_ret, x, y) -> str:
        self._fielder = f
        bases = 1
        for k in (2, 3):
            t_run = self._runner_time(bat.slot, bat, k, 0.85)
            if t_run + 0.1 < t_ret + self._throw_time(fld, f, x, y, k):
                bases = k
            else:
                break
        start = 0.6 if self.outs == 2 else 0.2
        scored = self._advance_on_hit(bat, fld, bases, f, t_ret, x, y, start)
        kind = ("1B", "2B", "3B")[bases - 1]
        self._credit_hit(bat, fld, kind, scored)
        self._log(
            f"{batter.name}: {('single', 'double', 'triple')[bases - 1]} to {FIELD_POS[f]}"
            + (f", {len(scored)} score" if scored else "")
        )
        return kind

    def _fly_out(self, bat, fld, batter, f, x, y, hang) -> str:
        bl = bat.bat[bat.slot]
        self._out(fld)
        scored = []
        if self.outs < 3:
            b = self.bases
            if b[2] is not None and f >= 6:
                t_run = hang + self._runner_time(b[2], bat, 1, 0.25)
                if t_run + 0.2 < hang + self._throw_time(fld, f, x, y, 0):
                    scored.append(b[2])
                    b[2] = None
            if b[1] is not None and b[2] is None and f >= 6:
                t_run = hang + self._runner_time(b[1], bat, 1, 0.25)
                if t_run + 0.5 < hang + self._throw_time(fld, f, x, y, 3):
                    b[2], b[1] = b[1], None
        if scored:
            bl["SF"] += 1
            bl["RBI"] += self._score(bat, fld, scored)
            self._log(f"{batter.name}: sacrifice fly to {FIELD_POS[f]}")
            return "SF"
        bl["AB"] += 1
        self._log(f"{batter.name}: flies out to {FIELD_POS[f]}")
        return "out"

    def _reach_on_error(self, bat, fld, batter) -> str:
        bat.bat[bat.slot]["AB"] += 1
        fld.errors += 1
        b = self.bases
        scored = []
        if b[2] is not None:
            scored.append(b[2])
        self.bases = [bat.slot, b[0], b[1]]
        self._score(bat, fld, scored)
        self._log(f"{batter.name}: reaches on an error")
        return "ROE"

    def _ground_ball(self, bat, fld, batter, lx, ly, hang, lvx, lvy) -> str:
        d = self.dice
        t = TUNING
        f, t_f, bx, by = field_ground_ball(
            lx,
            ly,
            hang,
            lvx,
            lvy,
            _FX,
            _FY,
            fld.f_speed,
            fld.f_react,
            t["if_reach_ft"],
            t["gb_keep"],
            t["gb_decel"],
            0.02,
            self._fence_at(math.degrees(math.atan2(lx, ly)))[0] - 3.0,
        )
        self._fielder = f
        if f >= 6:  # through the infield
            return self._hit(bat, fld, batter, f, t_f + 0.3, bx, by)
        if d.u() < t["error_rate"] * (1.0 - 0.3 * fld.glove[f]):
            return self._reach_on_error(bat, fld, batter)
        bl = bat.bat[bat.slot]
        t_batter = self._runner_time(bat.slot, bat, 1, 1.0)
        t_first = t_f + self._throw_time(fld, f, bx, by, 1)
        b = self.bases
        if b[0] is not None and self.outs < 2:
            t_second = t_f + self._throw_time(fld, f, bx, by, 2)
            if t_second < self._runner_time(b[0], bat, 1, 0.3) + 0.1:
                # Force at second; turn two if the relay beats the batter.
                dp = t_second + t["dp_pivot_s"] + 90.0 / t["throw_fts"] < t_batter
                runner_scores = []
                lead = [b[1], b[2]]
                self._out(fld, 2 if dp else 1)
                if self.outs < 3:
                    if lead[1] is not None and (lead[0] is not None or d.u() < 0.5):
                        runner_scores.append(lead[1])
                        lead[1] = None
                    if lead[0] is not None and (lead[1] is None):
                        lead = [None, lead[0]]
                    self.bases = [None if dp else bat.slot, lead[0], lead[1]]
                    if runner_scores and not dp:
                        bl["RBI"] += self._score(bat, fld, runner_scores)
                    elif runner_scores:
                        self._score(bat, fld, runner_scores)
                else:
                    self.bases = [None, None, None]
                bl["AB"] += 1
                self._log(
                    f"{batter.name}: {'grounds into a double play' if dp else 'forced out'}, {FIELD_POS[f]}"
                )
                return "DP" if dp else "FC"
        if t_first < t_batter:
            bl["AB"] += 1
            self._out(fld)
            if self.outs < 3:
                scored = []
                if b[2] is not None and f not in (0, 1, 2, 4) and d.u() < 0.65:
                    scored.append(b[2])
                    b[2] = None
                if b[1] is not None and b[2] is None and (bx > 0 or d.u() < 0.35):
                    b[2], b[1] = b[1], None
                if b[0] is not None and b[1] is None:
                    b[1], b[0] = b[0], None
                if scored:
                    bl["RBI"] += self._score(bat, fld, scored)
            self._log(f"{batter.name}: grounds out, {FIELD_POS[f]}")
            return "out"
        # Infield hit.
        scored = self._advance_on_hit(bat, fld, 1, f, t_f, bx, by, 0.3)
        self._credit_hit(bat, fld, "1B", scored)
        self._log(f"{batter.name}: infield single, {FIELD_POS[f]}")
        return "1B"

    # -------------------------------------------------------------------------------- innings
    def _maybe_change_pitcher(self, fld: _Side, bat: _Side) -> None:
        """Closer for a save spot (9th or later, lead of 1-3, once a game); otherwise a reliever when
        the pitcher is past his pitch limit or a starter has given up six runs."""
        p = fld.pitcher
        lead = fld.runs - bat.runs
        if fld.closer is not None and self.inning >= 9 and 0 < lead <= 3:
            fld.change_pitcher(fld.closer)
            fld.closer = None
            return
        if fld.pitch_count >= p.stamina_pitches or (p.role == "SP" and fld.pit[p.name]["R"] >= 6):
            if fld.bullpen:
                fld.change_pitcher(fld.bullpen.pop())
            elif fld.closer is not None:
                fld.change_pitcher(fld.closer)
                fld.closer = None

    def _half(self, bat: _Side, fld: _Side, top: bool) -> Flights:
        self.outs = 0
        self.bases = [None, None, None]
        if self.inning > 9:  # automatic runner: the batter before this inning's leadoff man
            self.bases[1] = (bat.slot - 1) % 9
        runs_before = bat.runs
        self._maybe_change_pitcher(fld, bat)
        while self.outs < 3:
            if fld.pitch_count > fld.pitcher.stamina_pitches + 12:
                self._maybe_change_pitcher(fld, bat)
            yield from self.plate_appearance(bat, fld)
            bat.slot = (bat.slot + 1) % 9
            if not top and self.inning >= 9 and self.home.runs > self.away.runs:
                break  # walk-off
        if self.outs >= 3:
            bat.lob += sum(s is not None for s in self.bases)
        bat.line.append(bat.runs - runs_before)

    def run(self) -> dict:
        """Play the game, each flight by its own kernel call (the plain path; see :meth:`play`)."""
        gen = self.play()
        try:
            kind, state = next(gen)
            while True:
                if kind == PITCH:
                    res = kernels.pitch(*state, *self.pitch_args)
                else:
                    res = kernels.fly(*state, *self.fly_args)
                kind, state = gen.send(res)
        except StopIteration as stop:
            return stop.value

    def play(self) -> Flights:
        """The game as a generator: it yields ``(PITCH or FLY, state)`` for every flight it needs and is
        sent the kernel's result (:func:`kernels.pitch` 's or :func:`kernels.fly` 's tuple, or a row
        with the same leading values), and returns the box score. Whoever drives it decides how the
        flights are flown — one call each (:meth:`run`) or many games' pitches together
        (:mod:`.lockstep`); the game's draws and results are the same either way."""
        while True:
            self._log(f"-- top {self.inning}")
            yield from self._half(self.away, self.home, True)
            if self.inning >= 9 and self.home.runs > self.away.runs:
                break
            self._log(f"-- bottom {self.inning}")
            yield from self._half(self.home, self.away, False)
            if self.inning >= 9 and self.home.runs != self.away.runs:
                break
            self.inning += 1
            if self.inning > 40:  # a safety net no real game reaches
                break
        return self.box_score()

    # ------------------------------------------------------------------------------ box score
    def _lines(self, s: _Side) -> tuple[list, list, dict, int]:
        """A side's batting and pitching lines, batting totals and the pitches its pitchers threw."""
        batting = [{"name": s.team.lineup[i].name, **b} for i, b in enumerate(s.bat)]
        pitching = [{"name": n, **p} for n, p in s.pit.items()]
        totals = {k: sum(b[k] for b in s.bat) for k in BAT_FIELDS}
        return batting, pitching, totals, sum(p["pitches"] for p in s.pit.values())

    def box_score(self) -> dict:
        def side(s: _Side) -> dict:
            batting, pitching, totals, pitches = self._lines(s)
            return {
                "team": s.team.code,
                "runs": s.runs,
                "hits": s.hits,
                "errors": s.errors,
                "lob": s.lob,
                "line": s.line,
                "batting": batting,
                "pitching": pitching,
                "totals": totals,
                "pitches": pitches,
            }

        out = {
            "home": side(self.home),
            "away": side(self.away),
            "innings": self.inning,
            "park": self.park.code,
            "temp_f": self.env.temp_f,
            "pitches": self.total_pitches,
            "batted_balls": self.batted_balls,
            "mode": self.mode.name.lower(),
        }
        if self.pbp is not None:
            out["play_by_play"] = self.pbp
        return out
