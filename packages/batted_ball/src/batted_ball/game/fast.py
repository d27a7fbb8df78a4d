"""The game the commands play: :class:`Game` with its pitch loop in the ``nogil`` kernel of :mod:`.kernels`.

:class:`KernelGame` is :class:`~batted_ball.game.engine.Game` (the reference twin, plain Python) with
:meth:`plate_appearance` calling :func:`kernels.pa_pitches`: the pitches, the swing decisions and the
flights run in Numba without the GIL; what follows a strikeout, a walk or a ball in play (fielding,
running, the box score, the logs) is the engine's own code. Its draws come from :class:`ArrayDice`,
the engine's ``Dice`` on arrays a kernel can read, so both twins draw the same values in the same
order and play the same game bit for bit (``tests/batted_ball/test_game.py``).

Its flights never leave the kernel, so :meth:`play` yields nothing: :func:`lockstep.play_together`
plays such games one after the other, and threads play them side by side.
"""

import numpy as np

from ..physics.flight import BACKSPIN_CLAMP_RPM, MAX_PITCH_S, SIDESPIN_CLAMP_RPM, SPIN_FIT
from . import kernels as gk
from .engine import (
    PITCH_TYPES,
    TUNING,
    ZONE_BOTTOM_FT,
    ZONE_CENTER_Z_FT,
    ZONE_HALF_WIDTH_FT,
    ZONE_TOP_FT,
    Flights,
    Game,
    _Side,
)
from .players import Batter, Pitcher

#: Values of a draw block (the engine's ``Dice`` draws 2,048 at a time).
BLOCK = 2048
#: Pitch descriptions (Statcast's words) of the kernel's row codes.
_DESCRIPTION = {
    gk.BALL: "ball",
    gk.CALLED: "called_strike",
    gk.SWINGING: "swinging_strike",
    gk.FOUL_BACK: "foul",
    gk.HIT_BY_PITCH: "hit_by_pitch",
}


class ArrayDice:
    """The engine's ``Dice`` on arrays: draws are taken from the end of a block, a new block is drawn
    when one is empty. ``left[0]``/``left[1]`` count the uniforms/normals not yet taken.

    A kernel that finds a block empty asks for :meth:`refill` before it has drawn anything a pitch
    keeps; the new block goes in front of what is left (taken after it), exactly as the engine's
    ``Dice`` would draw it when the last value is gone, so the generator's stream is the same.
    """

    __slots__ = ("left", "nb", "rng", "ub")

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.ub = np.empty(0)
        self.nb = np.empty(0)
        self.left = [0, 0]

    def refill(self, which: int) -> None:
        """A new block of uniforms (0) or normals (1) in front of those left."""
        if which == 0:
            self.ub = np.concatenate((self.rng.random(BLOCK), self.ub[: self.left[0]]))
            self.left[0] = self.ub.shape[0]
        else:
            self.nb = np.concatenate((self.rng.standard_normal(BLOCK), self.nb[: self.left[1]]))
            self.left[1] = self.nb.shape[0]

    def u(self) -> float:
        if not self.left[0]:
            self.refill(0)
        self.left[0] -= 1
        return float(self.ub[self.left[0]])

    def n(self) -> float:
        if not self.left[1]:
            self.refill(1)
        self.left[1] -= 1
        return float(self.nb[self.left[1]])


def kernel_params(game: Game) -> np.ndarray:
    """:data:`kernels.PARAMS` of a game: the tuning, the zone, the spin fit and the game's air."""
    _, cd0, cdspin, _, dt, _, _, _ = game.pitch_args
    c0, _, _, inv_tau, wind_x, wind_y, wind_h, _, ground_z, fly_t_max = game.fly_args[:10]
    lo, hi = BACKSPIN_CLAMP_RPM
    extra = {
        "zone_center_z": ZONE_CENTER_Z_FT,
        "zone_half_width": ZONE_HALF_WIDTH_FT,
        "zone_bottom": ZONE_BOTTOM_FT,
        "zone_top": ZONE_TOP_FT,
        **dict(
            zip(("spin_b0", "spin_b_la", "spin_b_spray", "spin_s0", "spin_s_spray"), SPIN_FIT, strict=True)
        ),
        "backspin_lo": lo,
        "backspin_hi": hi,
        "sidespin_clamp": SIDESPIN_CLAMP_RPM,
        "c0": c0,
        "cd0": cd0,
        "cdspin": cdspin,
        "inv_tau": inv_tau,
        "wind_x": wind_x,
        "wind_y": wind_y,
        "wind_h": wind_h,
        "dt": dt,
        "ground_z": ground_z,
        "fly_t_max": fly_t_max,
        "pitch_t_max": MAX_PITCH_S,
        "two": 2.0,
    }
    return np.array([TUNING[k] if k in TUNING else extra[k] for k in gk.PARAMS], dtype=np.float64)


def pitcher_arrays(p: Pitcher) -> tuple[np.ndarray, np.ndarray]:
    """A pitcher's repertoire table and facts in the kernel's layout (see :mod:`.kernels`)."""
    ptab = np.array(
        [
            (q.usage, q.speed_mph, q.vang_deg, q.hang_deg, *q.spin_vec, *PITCH_TYPES[q.kind][4:6])
            for q in p.pitches
        ],
        dtype=np.float64,
    )
    pf = np.array(
        (sum(q.usage for q in p.pitches), *p.release, p.control, p.stuff, p.stamina_pitches), dtype=np.float64
    )
    return ptab, pf


def batter_array(b: Batter, right: bool) -> np.ndarray:
    return np.array((b.eye, b.contact, b.power, b.launch_deg, 1.0 if right else 0.0), dtype=np.float64)


class KernelGame(Game):
    """:class:`Game` whose plate appearances pitch in :func:`kernels.pa_pitches` (same arguments, same
    games)."""

    dice_class = ArrayDice

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._par = kernel_params(self)
        self._ist = np.zeros(6, dtype=np.int64)
        self._rows = np.zeros((gk.MAX_ROWS, gk.ROW_WIDTH))
        self._bip = np.zeros(17)
        self._pitchers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._batters: dict[tuple[str, bool], np.ndarray] = {}
        self._n_pa = 0
        self._last_row: tuple = ()

    def _pitcher_arrays(self, p: Pitcher) -> tuple[np.ndarray, np.ndarray]:
        arrays = self._pitchers.get(p.name)
        if arrays is None:
            arrays = self._pitchers[p.name] = pitcher_arrays(p)
        return arrays

    def _batter_array(self, b: Batter, right: bool) -> np.ndarray:
        array = self._batters.get((b.name, right))
        if array is None:
            array = self._batters[b.name, right] = batter_array(b, right)
        return array

    def plate_appearance(self, bat: _Side, fld: _Side) -> Flights:
        """The engine's plate appearance, its pitch loop in the kernel (yields nothing)."""
        if False:  # a generator, as the engine's: its value is the result
            yield
        batter = bat.team.lineup[bat.slot]
        pitcher = fld.pitcher
        pl = fld.pit[pitcher.name]
        bl = bat.bat[bat.slot]
        hand = batter.bats if batter.bats != "S" else ("L" if pitcher.throws == "R" else "R")
        pl["BF"] += 1
        bl["PA"] += 1
        self.pa_count += 1
        ptab, pf = self._pitcher_arrays(pitcher)
        bf = self._batter_array(batter, hand == "R")
        d = self.dice
        ist, rows, bip = self._ist, self._rows, self._bip
        ist[gk.BALLS] = ist[gk.STRIKES] = 0
        self._n_pa = 0
        fence_dist, fence_height, path = self.fly_args[10:13]
        while True:
            ist[gk.PITCH_COUNT] = fld.pitch_count
            ist[gk.N_ROWS] = 0
            ist[gk.U_LEFT], ist[gk.N_LEFT] = d.left
            code = gk.pa_pitches(
                d.ub, d.nb, ist, ptab, pf, bf, self._par, fence_dist, fence_height, path, rows, bip
            )
            d.left[0], d.left[1] = int(ist[gk.U_LEFT]), int(ist[gk.N_LEFT])
            n = int(ist[gk.PITCH_COUNT]) - fld.pitch_count  # the pitches it kept
            fld.pitch_count += n
            pl["pitches"] += n
            first = self.total_pitches
            self.total_pitches += n
            if self.pitch_log is not None or self.tally is not None:
                self._pitch_rows(bat, batter, hand, pitcher, first, rows[:n].tolist())
            if code == gk.NEED_U or code == gk.NEED_N:
                d.refill(0 if code == gk.NEED_U else 1)
                continue
            if code == gk.ROWS_FULL:
                continue
            if code == gk.K_LOOKING:
                return self._strikeout(bat, fld, batter, "looking")
            if code == gk.K_SWINGING:
                return self._strikeout(bat, fld, batter, "swinging")
            if code == gk.WALK:
                return self._walk(bat, fld, batter, "BB")
            if code == gk.HBP:
                return self._walk(bat, fld, batter, "HBP")
            ev, la, spray, back, side, *r = bip.tolist()
            result = self._bip_outcome(bat, fld, batter, hand, ev, la, spray, back, side, r)
            if self.pitch_log is not None:
                self.pitch_log.append((*self._last_row, "foul" if result == "foul" else "hit_into_play"))
            if self.tally is not None:
                self.tally["foul_fly" if result == "foul" else "in_play"] += 1
            if result == "foul":
                if ist[gk.STRIKES] < 2:
                    ist[gk.STRIKES] += 1
                continue
            return result

    def _pitch_rows(
        self, bat: _Side, batter: Batter, hand: str, pitcher: Pitcher, first: int, rows: list
    ) -> None:
        """The engine's pitch-log rows and tally counts of pitches ``first + 1 ...`` (kernel rows)."""
        rec, tally = self.pitch_log, self.tally
        for i, (k, speed, px, pz, dist_out, balls, strikes, desc) in enumerate(rows):
            desc = int(desc)
            in_zone = dist_out <= 0
            if rec is not None:
                self._n_pa += 1
                q = pitcher.pitches[int(k)]
                self._pitch_key = (self.inning, bat is self.away, self.pa_count, first + i + 1)
                row = (
                    *self._pitch_key,
                    self._n_pa,
                    bat.team.code,
                    batter.name,
                    hand,
                    pitcher.name,
                    pitcher.throws,
                    int(balls),
                    int(strikes),
                    self.outs,
                    q.kind,
                    speed,
                    q.spin_rpm,
                    q.spin_axis_deg,
                    px,
                    pz,
                    in_zone,
                )
                if desc == gk.IN_PLAY_ROW:
                    self._last_row = row  # its description follows the fielding
                else:
                    rec.append((*row, _DESCRIPTION[desc]))
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
