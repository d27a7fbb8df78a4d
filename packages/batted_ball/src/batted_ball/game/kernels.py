"""The pitches of a plate appearance as a Numba ``nogil`` kernel (called by :mod:`.game_kernel`).

:func:`pa_pitches` is :meth:`Game.plate_appearance 's <batted_ball.game.engine.Game.plate_appearance>`
pitch loop — the pitch chosen and aimed (``_throw``), flown to the plate, the hit-by-pitch, swing,
take, contact and foul-back decisions — and, when the ball is put in play, its exit velocity, launch
angle, spray and spin drawn and the ball flown (the start of ``_ball_in_play``). It returns when the
plate appearance ends without a ball in play (strikeout, walk, hit by pitch) or after a ball in play
has flown (the caller fields it; a foul comes back for the next pitch).

Every draw comes from the game's draw buffers (the engine's ``Dice`` blocks on arrays) in the order the
Python loop takes them, and the arithmetic is written as CPython evaluates it (left to right, Python's
``max``/``min`` on ties, ``x * (pi / 180)`` for ``math.radians``, libm's ``pow`` for ``** 2``; no
fastmath), so a game is the same bit for bit (``tests/batted_ball/test_game.py`` plays both twins).

The buffers are refilled by the caller (:func:`game_kernel.refill`): when a draw finds its buffer empty,
the pitch being played is dropped (nothing of it is kept) and the kernel returns :data:`NEED_U` or
:data:`NEED_N`; the caller puts a new block in front of what is left and calls again, which replays the
pitch with the same draws. Blocks are drawn in the order the engine's ``Dice`` draws them, so the
generator's stream is the same.
"""

import math

import numpy as np
from numba import njit

from perfkit import numba_cache

from ..physics import constants
from ..physics import kernels as physics_kernels
from ..physics.constants import MPH_TO_FTS, PLATE_FRONT_Y_FT
from ..physics.kernels import _pitch_flight, fly

# these kernels hold the compiled flight kernels and constants: their Numba cache entries depend on those files
numba_cache.depend_on(__file__, [physics_kernels.__file__, constants.__file__])

#: Results of :func:`pa_pitches`.
K_LOOKING, K_SWINGING, WALK, HBP, IN_PLAY, NEED_U, NEED_N, ROWS_FULL = range(8)
#: Description codes of the pitch rows (``rows[:, 7]``); a row of an ``IN_PLAY`` pitch is written
#: ``IN_PLAY_ROW`` and becomes a foul or a hit into play by what the fielders make of it.
BALL, CALLED, SWINGING, FOUL_BACK, HIT_BY_PITCH, IN_PLAY_ROW = range(6)
#: Columns of a pitch row: pitch number in the repertoire, speed (mph), plate x and z (ft), distance out
#: of the zone (ft), balls, strikes before it, description code.
ROW_WIDTH = 8
#: Rows of the pitch table one call fills at most (then it returns :data:`ROWS_FULL` between pitches): a
#: plate appearance ends by 4 balls and 3 strikes, fouls with two strikes excepted.
MAX_ROWS = 64

# Integer state (``ist``): balls, strikes, the fielding side's pitch count, rows written, u and n left.
BALLS, STRIKES, PITCH_COUNT, N_ROWS, U_LEFT, N_LEFT = range(6)
# Pitcher facts (``pf``): total usage, release x y z, control, stuff, stamina (pitches).
# Pitch table columns (``ptab``): usage, speed mph, release vang deg, hang deg, spin vector x y z, whiff
# logit, launch-angle shift deg.
# Batter facts (``bf``): eye, contact, power, launch deg, 1.0 if he hits right-handed now.
#: Order of the constants in ``par`` (:func:`batted_ball.game.fast.kernel_params`).
PARAMS = (
    "zone_intent",
    "zone_intent_per_ball",
    "zone_intent_per_strike",
    "command_sd_ft",
    "swing_in_zone",
    "swing_out_slope",
    "swing_two_strikes",
    "swing_three_balls",
    "swing_first_pitch",
    "swing_eye",
    "contact_base",
    "contact_out_slope",
    "contact_skill",
    "contact_stuff",
    "contact_velo_per_mph",
    "contact_two_strikes",
    "foul_back",
    "ev_mean_mph",
    "ev_sd_mph",
    "ev_power",
    "la_mean_deg",
    "la_sd_deg",
    "la_per_ft_height",
    "ev_la_penalty",
    "spray_pull_deg",
    "spray_sd_deg",
    "spin_spray_factor",
    "hbp_inside",
    # The zone (engine's ZONE_*), the spin fit (flight.SPIN_FIT, clamps) and the flights' air.
    "zone_center_z",
    "zone_half_width",
    "zone_bottom",
    "zone_top",
    "spin_b0",
    "spin_b_la",
    "spin_b_spray",
    "spin_s0",
    "spin_s_spray",
    "backspin_lo",
    "backspin_hi",
    "sidespin_clamp",
    "c0",
    "cd0",
    "cdspin",
    "inv_tau",
    "wind_x",
    "wind_y",
    "wind_h",
    "dt",
    "ground_z",
    "fly_t_max",
    "pitch_t_max",
    # 2.0, read at run time: CPython's ``x ** 2`` is libm's pow(x, 2.0), which is not always x * x in the
    # last bit; with a constant exponent LLVM would square instead.
    "two",
)
P = {name: i for i, name in enumerate(PARAMS)}
(
    _ZI,
    _ZIB,
    _ZIS,
    _CMD,
    _SIZ,
    _SOS,
    _S2S,
    _S3B,
    _S1P,
    _SEYE,
    _CB,
    _COS,
    _CSK,
    _CST,
    _CVEL,
    _C2S,
    _FOUL,
    _EVM,
    _EVSD,
    _EVP,
    _LAM,
    _LASD,
    _LAH,
    _EVLA,
    _PULL,
    _SPSD,
    _SPF,
    _HBP,
    _ZC,
    _ZHW,
    _ZB,
    _ZT,
    _B0,
    _BLA,
    _BSP,
    _S0,
    _SSP,
    _BLO,
    _BHI,
    _SCL,
    _C0,
    _CD0,
    _CDS,
    _TAU,
    _WX,
    _WY,
    _WH,
    _DT,
    _GZ,
    _FTM,
    _PTM,
    _TWO,
) = range(len(PARAMS))

#: ``math.radians`` as CPython computes it.
_DEG2RAD = math.pi / 180.0


@njit(cache=True, nogil=True, error_model="numpy")
def _max(a, b):
    """Python's ``max(a, b)``: ``a`` unless ``b > a``."""
    return b if b > a else a


@njit(cache=True, nogil=True, error_model="numpy")
def _min(a, b):
    """Python's ``min(a, b)``: ``a`` unless ``b < a``."""
    return b if b < a else a


@njit(cache=True, nogil=True, error_model="numpy")
def _logistic(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, nogil=True, error_model="numpy")
def _take(buf, left, k, empty):
    """The next value of buffer ``k`` (0 uniforms, 1 normals): the last one left, as ``list.pop``; if
    none is left, ``empty`` and ``left[2] = k + 1`` (the first buffer found empty)."""
    if left[k] == 0:
        if left[2] == 0:
            left[2] = k + 1
        return empty
    left[k] -= 1
    return buf[left[k]]


@njit(cache=True, nogil=True, error_model="numpy")
def _u(ub, left):
    return _take(ub, left, 0, 0.5)


@njit(cache=True, nogil=True, error_model="numpy")
def _n(nb, left):
    return _take(nb, left, 1, 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _commit(ist, left, balls, strikes, pitch_count, n_rows):
    ist[BALLS] = balls
    ist[STRIKES] = strikes
    ist[PITCH_COUNT] = pitch_count
    ist[N_ROWS] = n_rows
    ist[U_LEFT] = left[0]
    ist[N_LEFT] = left[1]


@njit(cache=True, nogil=True, error_model="numpy")
def _row(rows, i, k, speed, px, pz, dist_out, balls, strikes, desc):
    rows[i, 0] = k
    rows[i, 1] = speed
    rows[i, 2] = px
    rows[i, 3] = pz
    rows[i, 4] = dist_out
    rows[i, 5] = balls
    rows[i, 6] = strikes
    rows[i, 7] = desc


@njit(cache=True, nogil=True, error_model="numpy")
def pa_pitches(ub, nb, ist, ptab, pf, bf, par, fence_dist, fence_height, path, rows, bip):
    """Play pitches of one plate appearance from the count in ``ist`` until it ends or a ball is in play.

    ``ub``/``nb``: the uniform and normal buffers (the last ``ist[U_LEFT]``/``ist[N_LEFT]`` values
    unused, taken from the end); ``ist``: balls, strikes, pitch count, rows, left (updated after each
    pitch); ``ptab``/``pf``/``bf``: the pitcher's repertoire and facts and the batter's (see the
    module); ``par``: :data:`PARAMS`; the fence and path arrays of :func:`kernels.fly`. Writes one row
    per pitch to ``rows`` from ``ist[N_ROWS]``; for a ball in play ``bip`` gets EV, LA, spray, backspin,
    sidespin, then :func:`kernels.fly` 's twelve results. Returns one of the result codes.
    """
    left = np.zeros(3, np.int64)  # u left, n left, which ran out (0: none, 1: u, 2: n)
    left[0] = ist[U_LEFT]
    left[1] = ist[N_LEFT]
    balls = ist[BALLS]
    strikes = ist[STRIKES]
    pitch_count = ist[PITCH_COUNT]
    n_rows = ist[N_ROWS]
    n_kinds = ptab.shape[0]
    total, rel0, rel1, rel2 = pf[0], pf[1], pf[2], pf[3]
    control, stuff, stamina = pf[4], pf[5], pf[6]
    eye, contact_skill, power, launch_deg = bf[0], bf[1], bf[2], bf[3]
    right = bf[4] == 1.0
    zc, zhw, zb, zt = par[_ZC], par[_ZHW], par[_ZB], par[_ZT]
    while True:
        if n_rows >= rows.shape[0]:
            return ROWS_FULL
        # ------------------------------------------------------------------- the pitch (_throw)
        fatigue = _max(0.0, pitch_count / stamina - 0.8)
        r = _u(ub, left) * total
        k = n_kinds - 1
        for j in range(n_kinds):
            r -= ptab[j, 0]
            if r <= 0:
                k = j
                break
        p_zone = par[_ZI] + par[_ZIB] * balls + par[_ZIS] * strikes
        if _u(ub, left) < p_zone:
            tx = 0.45 * _n(nb, left)
            tz = zc + 0.4 * _n(nb, left)
        else:
            if _u(ub, left) < 0.55:
                a = zhw + 0.25 + 0.35 * abs(_n(nb, left))
                tx = math.copysign(a, _u(ub, left) - 0.5)
                tz = zc + 0.6 * _n(nb, left)
            else:
                tx = 0.5 * _n(nb, left)
                if _u(ub, left) < 0.8:
                    tz = zb - 0.2 - 0.35 * abs(_n(nb, left))
                else:
                    tz = zt + 0.3 + 0.3 * abs(_n(nb, left))
        sd = par[_CMD] * (1.0 - 0.1 * control) * (1.0 + fatigue)
        tx += sd * _n(nb, left)
        tz += sd * _n(nb, left)
        speed = ptab[k, 1] - 2.0 * fatigue + 0.7 * _n(nb, left)
        if left[2]:
            return NEED_U if left[2] == 1 else NEED_N
        dy = rel1 - PLATE_FRONT_Y_FT
        vang = ptab[k, 2] * _DEG2RAD + (tz - zc) / dy
        hang = ptab[k, 3] * _DEG2RAD + tx / dy
        v = speed * MPH_TO_FTS
        ch = math.cos(vang)
        res = _pitch_flight(
            rel0,
            rel1,
            rel2,
            v * ch * math.sin(hang),
            -v * ch * math.cos(hang),
            v * math.sin(vang),
            ptab[k, 4],
            ptab[k, 5],
            ptab[k, 6],
            par[_C0],
            par[_CD0],
            par[_CDS],
            par[_TAU],
            par[_DT],
            PLATE_FRONT_Y_FT,
            par[_PTM],
        )
        px = res[1]
        pz = res[2]
        pitch_count += 1
        d = abs(px) - zhw
        if zb - pz > d:
            d = zb - pz
        if pz - zt > d:
            d = pz - zt
        dist_out = d
        b0 = balls
        s0 = strikes
        # ---------------------------------------------------------------- hit by pitch, swing
        if dist_out > 0.8 and (px < 0.0) == right:
            hbp = _u(ub, left) < par[_HBP]
            if left[2]:
                return NEED_U
            if hbp:
                _row(rows, n_rows, k, speed, px, pz, dist_out, b0, s0, HIT_BY_PITCH)
                _commit(ist, left, balls, strikes, pitch_count, n_rows + 1)
                return HBP
        x = par[_SIZ] - par[_SOS] * _max(dist_out, -0.3) + par[_SEYE] * (-eye if dist_out > 0 else 0.5 * eye)
        if strikes == 2:
            x += par[_S2S]
        if balls == 3:
            x += par[_S3B]
        if balls == 0 and strikes == 0:
            x += par[_S1P]
        swing = _u(ub, left) < _logistic(x)
        if left[2]:
            return NEED_U
        if not swing:
            called = _u(ub, left) < _logistic(-dist_out / 0.07)
            if left[2]:
                return NEED_U
            _row(rows, n_rows, k, speed, px, pz, dist_out, b0, s0, CALLED if called else BALL)
            n_rows += 1
            if called:
                strikes += 1
                if strikes == 3:
                    _commit(ist, left, balls, strikes, pitch_count, n_rows)
                    return K_LOOKING
            else:
                balls += 1
                if balls == 4:
                    _commit(ist, left, balls, strikes, pitch_count, n_rows)
                    return WALK
            _commit(ist, left, balls, strikes, pitch_count, n_rows)
            continue
        # ---------------------------------------------------------------------------- contact
        x = (
            par[_CB]
            - par[_COS] * _max(dist_out, 0.0)
            + par[_CSK] * contact_skill
            - par[_CST] * stuff
            - ptab[k, 7]
            - par[_CVEL] * (speed - 90.0)
            + (par[_C2S] if strikes == 2 else 0.0)
        )
        contact = _u(ub, left) < _logistic(x)
        if left[2]:
            return NEED_U
        if not contact:
            _row(rows, n_rows, k, speed, px, pz, dist_out, b0, s0, SWINGING)
            n_rows += 1
            strikes += 1
            _commit(ist, left, balls, strikes, pitch_count, n_rows)
            if strikes == 3:
                return K_SWINGING
            continue
        foul = _u(ub, left) < par[_FOUL]
        if left[2]:
            return NEED_U
        if foul:
            _row(rows, n_rows, k, speed, px, pz, dist_out, b0, s0, FOUL_BACK)
            n_rows += 1
            if strikes < 2:
                strikes += 1
            _commit(ist, left, balls, strikes, pitch_count, n_rows)
            continue
        # -------------------------------------------------------- ball in play (_ball_in_play)
        la = par[_LAM] + launch_deg + ptab[k, 8] + par[_LAH] * (pz - zc) + par[_LASD] * _n(nb, left)
        la = _min(_max(la, -75.0), 85.0)
        ev = par[_EVM] + par[_EVP] * power - 0.8 * stuff + par[_EVSD] * _n(nb, left)
        ev *= 1.0 - par[_EVLA] * (la - 14.0) ** par[_TWO]
        ev = _min(_max(ev, 25.0), 121.0)
        pull = -par[_PULL] if right else par[_PULL]
        spray = pull * (1.0 + 0.5 * (1.0 if la < 10.0 else 0.0)) + par[_SPSD] * _n(nb, left)
        spray = _min(_max(spray, -85.0), 85.0)
        if left[2]:
            return NEED_N
        # flight.average_spin_rpm at spin_spray_factor x the spray.
        sign = 1.0 if right else -1.0
        s = par[_SPF] * spray
        back = par[_B0] + par[_BLA] * la + par[_BSP] * s * sign
        side = par[_S0] * sign + par[_SSP] * s
        back = _min(_max(back, par[_BLO]), par[_BHI])
        side = _min(_max(side, -par[_SCL]), par[_SCL])
        th = la * _DEG2RAD
        ph = spray * _DEG2RAD
        v = ev * MPH_TO_FTS
        cth, sth, cph, sph = math.cos(th), math.sin(th), math.cos(ph), math.sin(ph)
        wb = back * math.pi / 30.0
        ws = side * math.pi / 30.0
        out = fly(
            0.0,
            0.0,
            3.0,
            v * cth * sph,
            v * cth * cph,
            v * sth,
            wb * cph - ws * sth * sph,
            -wb * sph - ws * sth * cph,
            ws * cth,
            par[_C0],
            par[_CD0],
            par[_CDS],
            par[_TAU],
            par[_WX],
            par[_WY],
            par[_WH],
            par[_DT],
            par[_GZ],
            par[_FTM],
            fence_dist,
            fence_height,
            path,
        )
        bip[0] = ev
        bip[1] = la
        bip[2] = spray
        bip[3] = back
        bip[4] = side
        bip[5] = out[0]
        bip[6] = out[1]
        bip[7] = out[2]
        bip[8] = out[3]
        bip[9] = out[4]
        bip[10] = out[5]
        bip[11] = out[6]
        bip[12] = out[7]
        bip[13] = out[8]
        bip[14] = out[9]
        bip[15] = out[10]
        bip[16] = out[11]
        _row(rows, n_rows, k, speed, px, pz, dist_out, b0, s0, IN_PLAY_ROW)
        _commit(ist, left, balls, strikes, pitch_count, n_rows + 1)
        return IN_PLAY
