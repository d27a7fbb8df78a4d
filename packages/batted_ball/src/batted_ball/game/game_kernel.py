"""A whole game in one Numba ``nogil`` kernel: :meth:`Game.play <batted_ball.game.engine.Game.play>`
written over arrays, so a thread plays a game without holding the GIL.

:func:`play_game` is the engine's game loop line for line — half innings and pitching changes
(``_half``, ``_maybe_change_pitcher``), the plate appearance (its pitches in :func:`kernels.pa_pitches`),
strikeouts, walks and forced runners, and what becomes of a batted ball: home run, ground ball fielded
(:func:`field_ground_ball`) and thrown to a base, fly ball caught or falling for a hit, runners taking
bases against the throw, errors — with the same draws in the same order and the same arithmetic, so
its games are the engine's to the bit (``tests/batted_ball/test_game.py``). What it writes (box-score
counters, events of the play-by-play, pitch and ball-in-play rows) :mod:`.fast` turns into the
engine's box score, strings and tuples.

Layout. Sides are 0 (away) and 1 (home); a lineup slot or a base is -1 when empty. Per side: ``bat``
(9 x :data:`BAT_COLS`), ``fld`` (4 x 9: fielders' speed, reaction, arm, glove), the team's pitchers
(``ptab`` kinds x 9 and ``pf`` :data:`PF_COLS` per pitcher, ``nk`` kinds each), ``bullpen`` (indices;
the closer apart), and the counters ``ss`` (:data:`SS_COLS`), ``bst`` (9 x ``BAT_FIELDS``), ``pst``
(pitchers x ``PIT_FIELDS``), ``order`` (pitchers in order of appearance), ``line`` (runs an inning).

Numba's cache would keep :func:`play_game` compiled with the kernels it calls (:mod:`.kernels`,
:mod:`.fielding`, ``physics.kernels``) as they were, since it checks a function against its own file
only: ``perfkit.numba_cache.depend_on`` keys this module's cache entries on those files too, so an edit
there compiles it again.
"""

import math

import numpy as np
from numba import njit

from perfkit import numba_cache

from ..physics import constants
from ..physics import kernels as physics_kernels
from ..physics.kernels import fence_at
from . import fielding
from . import kernels as gk
from .fielding import field_ground_ball

# play_game holds the compiled code of every kernel it calls: its Numba cache entries depend on their files
numba_cache.depend_on(
    __file__, [gk.__file__, fielding.__file__, physics_kernels.__file__, constants.__file__]
)

# Per-batter columns: eye, contact, power, launch deg, bats (0 R, 1 L, 2 S), sprint speed ft/s.
BAT_COLS = 6
# Pitcher facts: pa_pitches' seven (total usage, release x y z, control, stuff, stamina), throws R, starter.
PF_COLS = 9
# Side counters.
SS_COLS = 11
SLOT, PIT, PC, RUNS, HITS, ERRORS, LOB, CLOSER, NBP, NLINE, NPIT = range(SS_COLS)
# Game counters (``gs``).
GS_COLS = 16
(
    INNING,
    OUTS,
    B1,
    B2,
    B3,
    PA_COUNT,
    TOTAL_PITCHES,
    BATTED_BALLS,
    FIELDER,
    N_EVENTS,
    N_PITCHES,
    N_BIP,
    OVERFLOW,
    RECORD,
    N_PA,
    PITCH_KEY,
) = range(GS_COLS)
# BAT_FIELDS ("PA", "AB", "R", "H", "2B", "3B", "HR", "RBI", "BB", "SO", "HBP", "SF") and
# PIT_FIELDS ("outs", "BF", "H", "R", "BB", "SO", "HR", "HBP", "pitches") columns.
PA_, AB, R, H, D2, D3, HR_, RBI, BB, SO, HBP_, SF_ = range(12)
P_OUTS, P_BF, P_H, P_R, P_BB, P_SO, P_HR, P_HBP, P_PITCHES = range(9)
# Results of a plate appearance (engine's strings; OUTCOMES names them for the ball-in-play table).
RESULTS = ("HR", "1B", "2B", "3B", "out", "SF", "DP", "FC", "ROE", "foul", "K", "BB", "HBP")
R_HR, R_1B, R_2B, R_3B, R_OUT, R_SF, R_DP, R_FC, R_ROE, R_FOUL, R_K, R_BB, R_HBP = range(13)
# Play-by-play events (columns: code, batting side, slot, fielder, number, distance).
EV_COLS = 6
(
    E_TOP,
    E_BOTTOM,
    E_HR,
    E_K_LOOKING,
    E_K_SWINGING,
    E_BB,
    E_HBP,
    E_FOUL_OUT,
    E_HIT,
    E_SF,
    E_FLY_OUT,
    E_ROE,
    E_DP,
    E_FC,
    E_GROUND_OUT,
    E_INFIELD_HIT,
) = range(16)
# Pitch rows: inning, top, pa index, pitch index, pitch of pa, batting side, slot, hand (1 R), pitcher,
# balls, strikes, outs, kind, speed, plate x, plate z, distance out of the zone, description (the
# kernels' row codes; an in-play row becomes FOUL_FLY or HIT_INTO_PLAY).
PITCH_COLS = 18
FOUL_FLY, HIT_INTO_PLAY = 6, 7
# Ball-in-play rows: inning, top, pa index, pitch index, batting side, slot, hand (1 R), pitcher, EV, LA,
# spray, backspin, sidespin, landing x, y, distance, hang time, apex, fielder (-1 none), result.
BIP_COLS = 20
# Tuning constants the kernel reads (``tn``), in this order, after :data:`kernels.PARAMS` 's.
TUNE = (
    "of_throw_fts",
    "throw_fts",
    "of_transfer_s",
    "if_transfer_s",
    "catch_softness_s",
    "wall_catch",
    "error_rate",
    "if_reach_ft",
    "of_roll_keep",
    "of_roll_decel",
    "of_pickup_s",
    "gb_keep",
    "gb_decel",
    "dp_pivot_s",
)
_OFT, _THR, _OFX, _IFX, _SOFT, _WALL, _ERR, _REACH, _OFK, _OFD, _PICK, _GBK, _GBD, _DPP = range(len(TUNE))
_BASE_X = np.array((0.0, 63.64, 0.0, -63.64))
_BASE_Y = np.array((0.0, 63.64, 127.28, 63.64))
BLOCK = 2048
_RAD2DEG = 180.0 / math.pi


# ------------------------------------------------------------------------------- Python's arithmetic
@njit(cache=True, nogil=True, error_model="numpy")
def _split(x):
    t = x * 134217729.0  # Veltkamp: 2 ** 27 + 1
    hi = t - (t - x)
    return hi, x - hi


@njit(cache=True, nogil=True, error_model="numpy")
def _dl_mul(x, y):
    xh, xl = _split(x)
    yh, yl = _split(y)
    p = xh * yh
    q = xh * yl + xl * yh
    z = p + q
    return z, p - z + q + xl * yl


@njit(cache=True, nogil=True, error_model="numpy")
def py_hypot(x, y):
    """CPython 3.11's ``math.hypot(x, y)`` (``vector_norm``: exact squares, compensated sums and a
    correction step); libm's ``hypot`` differs from it in the last bit for ~0.6 % of inputs."""
    x = abs(x)
    y = abs(y)
    mx = y if y > x else x
    if math.isinf(mx):
        return mx
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if mx == 0.0:
        return mx
    _, e = math.frexp(mx)
    scale = math.ldexp(1.0, -e)
    csum = 1.0
    frac1 = 0.0
    frac2 = 0.0
    for v in (x, y):
        v *= scale
        ph, pl = _dl_mul(v, v)
        s = csum + ph
        frac2 += (csum - s) + ph
        csum = s
        frac1 += pl
    h = math.sqrt(csum - 1.0 + (frac1 + frac2))
    ph, pl = _dl_mul(-h, h)
    s = csum + ph
    frac2 += (csum - s) + ph
    csum = s
    frac1 += pl
    h += (csum - 1.0 + (frac1 + frac2)) / (2.0 * h)
    return h / scale


@njit(cache=True, nogil=True, error_model="numpy")
def _bearing(x, y):
    """``math.degrees(math.atan2(x, y))`` as CPython computes it."""
    return math.atan2(x, y) * _RAD2DEG


# ---------------------------------------------------------------------------------------- draws
@njit(cache=True, nogil=True, error_model="numpy")
def refill(buf, left, rng, normal):
    """A new block in front of the ``left`` values not yet taken (taken after them): the engine's
    ``Dice`` draws it when its last value is gone, and the stream is the same."""
    buf[BLOCK : BLOCK + left] = buf[:left]
    if normal:
        buf[:BLOCK] = rng.standard_normal(BLOCK)
    else:
        buf[:BLOCK] = rng.random(BLOCK)
    return left + BLOCK


@njit(cache=True, nogil=True, error_model="numpy")
def _u(ub, ist, rng):
    if ist[gk.U_LEFT] == 0:
        ist[gk.U_LEFT] = refill(ub, 0, rng, False)
    ist[gk.U_LEFT] -= 1
    return ub[ist[gk.U_LEFT]]


# ------------------------------------------------------------------------------------ logging
@njit(cache=True, nogil=True, error_model="numpy")
def _event(gs, ev, code, side, slot, fielder, number, dist):
    i = gs[N_EVENTS]
    if i >= ev.shape[0]:
        gs[OVERFLOW] = 1
        return
    ev[i, 0] = code
    ev[i, 1] = side
    ev[i, 2] = slot
    ev[i, 3] = fielder
    ev[i, 4] = number
    ev[i, 5] = dist
    gs[N_EVENTS] = i + 1


# ----------------------------------------------------------------------------- base running
@njit(cache=True, nogil=True, error_model="numpy")
def _out(gs, ss, pst, fs, n):
    gs[OUTS] += n
    pst[fs, ss[fs, PIT], P_OUTS] += n


@njit(cache=True, nogil=True, error_model="numpy")
def _score(ss, bst, pst, bs, fs, scored, n):
    for i in range(n):
        bst[bs, scored[i], R] += 1
    ss[bs, RUNS] += n
    pst[fs, ss[fs, PIT], P_R] += n
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def _runner_time(bat, bs, slot, bases, start):
    v = bat[bs, slot, 5]
    return start + 90.0 * bases / v + 0.2 * max(0, bases - 1)


@njit(cache=True, nogil=True, error_model="numpy")
def _throw_time(fld, tn, fs, f, x, y, base):
    dist = py_hypot(_BASE_X[base] - x, _BASE_Y[base] - y)
    speed = (tn[_OFT] if f >= 6 else tn[_THR]) * fld[fs, 2, f]
    if dist > 200.0:  # relay
        speed *= 0.9
    return (tn[_OFX] if f >= 6 else tn[_IFX]) + dist / speed


@njit(cache=True, nogil=True, error_model="numpy")
def _force_advance(gs, ss, bst, pst, bs):
    """Batter to first; runners move up only when forced. Returns runs scored."""
    scored = np.empty(4, np.int64)
    n = 0
    if gs[B1] != -1:
        if gs[B2] != -1:
            if gs[B3] != -1:
                scored[n] = gs[B3]
                n += 1
            gs[B3] = gs[B2]
        gs[B2] = gs[B1]
    gs[B1] = ss[bs, SLOT]
    return _score(ss, bst, pst, bs, 1 - bs, scored, n)


@njit(cache=True, nogil=True, error_model="numpy")
def _advance_on_hit(gs, ss, bat, fld, tn, bs, batter_bases, f, t_ret, x, y, start, scored):
    """The engine's ``_advance_on_hit``: moves the runners, writes the slots that scored to ``scored``
    and returns how many."""
    fs = 1 - bs
    mt = np.zeros(4, np.int64)
    prev = batter_bases
    for c in (1, 2, 3):
        if gs[B1 + c - 1] != -1:
            mt[c] = max(c, prev + 1) if prev >= c else c
            prev = mt[c]
    new = np.full(3, -1, np.int64)
    n = 0
    ahead = 4
    for c in (3, 2, 1):
        slot = gs[B1 + c - 1]
        if slot == -1:
            continue
        cap = 4 if ahead == 4 else ahead - 1
        final = min(mt[c], cap)
        for target in range(final + 1, cap + 1):
            t_run = _runner_time(bat, bs, slot, target - c, start)
            if t_run + 0.3 < t_ret + _throw_time(fld, tn, fs, f, x, y, target % 4):
                final = target
            else:
                break
        if final >= 4:
            scored[n] = slot
            n += 1
        else:
            new[final - 1] = slot
            ahead = final
    if batter_bases >= 4:
        scored[n] = ss[bs, SLOT]
        n += 1
    else:
        new[batter_bases - 1] = ss[bs, SLOT]
    gs[B1] = new[0]
    gs[B2] = new[1]
    gs[B3] = new[2]
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def _credit_hit(ss, bst, pst, bs, kind, scored, n):
    fs = 1 - bs
    s = ss[bs, SLOT]
    bst[bs, s, AB] += 1
    bst[bs, s, H] += 1
    if kind == R_2B:
        bst[bs, s, D2] += 1
    elif kind == R_3B:
        bst[bs, s, D3] += 1
    elif kind == R_HR:
        bst[bs, s, HR_] += 1
    ss[bs, HITS] += 1
    p = ss[fs, PIT]
    pst[fs, p, P_H] += 1
    if kind == R_HR:
        pst[fs, p, P_HR] += 1
    bst[bs, s, RBI] += _score(ss, bst, pst, bs, fs, scored, n)


@njit(cache=True, nogil=True, error_model="numpy")
def _hit(gs, ss, bat, fld, bst, pst, tn, ev, bs, f, t_ret, x, y):
    gs[FIELDER] = f
    bases = 1
    for k in (2, 3):
        t_run = _runner_time(bat, bs, ss[bs, SLOT], k, 0.85)
        if t_run + 0.1 < t_ret + _throw_time(fld, tn, 1 - bs, f, x, y, k):
            bases = k
        else:
            break
    start = 0.6 if gs[OUTS] == 2 else 0.2
    scored = np.empty(4, np.int64)
    n = _advance_on_hit(gs, ss, bat, fld, tn, bs, bases, f, t_ret, x, y, start, scored)
    kind = (R_1B, R_2B, R_3B)[bases - 1]
    _credit_hit(ss, bst, pst, bs, kind, scored, n)
    _event(gs, ev, E_HIT, bs, ss[bs, SLOT], f, bases * 10 + n, 0.0)
    return kind


@njit(cache=True, nogil=True, error_model="numpy")
def _reach_on_error(gs, ss, bst, pst, ev, bs):
    fs = 1 - bs
    s = ss[bs, SLOT]
    bst[bs, s, AB] += 1
    ss[fs, ERRORS] += 1
    scored = np.empty(4, np.int64)
    n = 0
    if gs[B3] != -1:
        scored[0] = gs[B3]
        n = 1
    gs[B3] = gs[B2]
    gs[B2] = gs[B1]
    gs[B1] = s
    _score(ss, bst, pst, bs, fs, scored, n)
    _event(gs, ev, E_ROE, bs, s, -1, 0, 0.0)
    return R_ROE


@njit(cache=True, nogil=True, error_model="numpy")
def _fly_out(gs, ss, bat, fld, bst, pst, tn, ev, bs, f, x, y, hang):
    fs = 1 - bs
    s = ss[bs, SLOT]
    _out(gs, ss, pst, fs, 1)
    scored = np.empty(4, np.int64)
    n = 0
    if gs[OUTS] < 3:
        if gs[B3] != -1 and f >= 6:
            t_run = hang + _runner_time(bat, bs, gs[B3], 1, 0.25)
            if t_run + 0.2 < hang + _throw_time(fld, tn, fs, f, x, y, 0):
                scored[0] = gs[B3]
                n = 1
                gs[B3] = -1
        if gs[B2] != -1 and gs[B3] == -1 and f >= 6:
            t_run = hang + _runner_time(bat, bs, gs[B2], 1, 0.25)
            if t_run + 0.5 < hang + _throw_time(fld, tn, fs, f, x, y, 3):
                gs[B3] = gs[B2]
                gs[B2] = -1
    if n:
        bst[bs, s, SF_] += 1
        bst[bs, s, RBI] += _score(ss, bst, pst, bs, fs, scored, n)
        _event(gs, ev, E_SF, bs, s, f, 0, 0.0)
        return R_SF
    bst[bs, s, AB] += 1
    _event(gs, ev, E_FLY_OUT, bs, s, f, 0, 0.0)
    return R_OUT


@njit(cache=True, nogil=True, error_model="numpy")
def _air_ball(
    gs, ss, bat, fld, bst, pst, tn, ev, fxy, fence_dist, fence_height, ub, ist, rng, bs, r, dist, fair, la
):
    fs = 1 - bs
    hang, lx, ly, apex, lvx, lvy, wall_z = r[0], r[1], r[2], r[3], r[4], r[5], r[7]
    if dist > 0:
        ux = lx / dist
        uy = ly / dist
    else:
        ux = 0.0
        uy = 1.0
    best_f = -1
    best_margin = -1e9
    for f in range(9):
        fx = fxy[f, 0]
        fy = fxy[f, 1]
        along = fx * ux + fy * uy
        if la < 20.0 and 0.0 < along < dist and (f == 2 or f == 3 or f == 4 or f == 5 or f == 0):
            # A liner past an infielder: catchable where it passes him below his reach.
            u = along / dist
            z_pass = 3.0 * (1.0 - u) + 4.0 * (apex - 1.5) * u * (1.0 - u)
            if z_pass < 8.5:
                lateral = abs(fx * uy - fy * ux)
                margin = hang * u - fld[fs, 1, f] - gk._max(0.0, lateral - 2.5) / fld[fs, 0, f]
                if margin > best_margin:
                    best_f = f
                    best_margin = margin
            continue
        run = py_hypot(fx - lx, fy - ly)
        margin = hang - fld[fs, 1, f] - run / fld[fs, 0, f]
        if margin > best_margin:
            best_f = f
            best_margin = margin
    off_wall = not math.isnan(wall_z)
    p_catch = gk._logistic(best_margin / tn[_SOFT]) * (tn[_WALL] if off_wall else 1.0)
    if _u(ub, ist, rng) < p_catch:
        gs[FIELDER] = best_f
        if _u(ub, ist, rng) < tn[_ERR] * (1.0 - 0.3 * fld[fs, 3, best_f]) * 0.6:
            return _reach_on_error(gs, ss, bst, pst, ev, bs)
        if not fair:
            bst[bs, ss[bs, SLOT], AB] += 1
            _out(gs, ss, pst, fs, 1)
            _event(gs, ev, E_FOUL_OUT, bs, ss[bs, SLOT], best_f, 0, 0.0)
            return R_OUT
        return _fly_out(gs, ss, bat, fld, bst, pst, tn, ev, bs, best_f, lx, ly, hang)
    if not fair:
        return R_FOUL
    # A hit: the ball rolls on from where it lands (or drops off the wall) until an outfielder gets to it.
    fd = fence_at(_bearing(lx, ly), fence_dist, fence_height)[0]
    if off_wall:
        lx, ly = lx * (fd - 8.0) / dist, ly * (fd - 8.0) / dist
        lvx, lvy, keep = -0.1 * lvx, -0.1 * lvy, 1.0
    else:
        keep = tn[_OFK]
    f, t_ret, rx, ry = field_ground_ball(
        lx,
        ly,
        hang,
        lvx,
        lvy,
        fxy[6:, 0],
        fxy[6:, 1],
        fld[fs, 0, 6:],
        fld[fs, 1, 6:],
        tn[_REACH],
        keep,
        tn[_OFD],
        0.05,
        fd - 3.0,
    )
    return _hit(gs, ss, bat, fld, bst, pst, tn, ev, bs, f + 6, t_ret + tn[_PICK], rx, ry)


@njit(cache=True, nogil=True, error_model="numpy")
def _ground_ball(gs, ss, bat, fld, bst, pst, tn, ev, fxy, fence_dist, fence_height, ub, ist, rng, bs, r):
    fs = 1 - bs
    s = ss[bs, SLOT]
    hang, lx, ly, lvx, lvy = r[0], r[1], r[2], r[4], r[5]
    f, t_f, bx, by = field_ground_ball(
        lx,
        ly,
        hang,
        lvx,
        lvy,
        fxy[:, 0],
        fxy[:, 1],
        fld[fs, 0],
        fld[fs, 1],
        tn[_REACH],
        tn[_GBK],
        tn[_GBD],
        0.02,
        fence_at(_bearing(lx, ly), fence_dist, fence_height)[0] - 3.0,
    )
    gs[FIELDER] = f
    if f >= 6:  # through the infield
        return _hit(gs, ss, bat, fld, bst, pst, tn, ev, bs, f, t_f + 0.3, bx, by)
    if _u(ub, ist, rng) < tn[_ERR] * (1.0 - 0.3 * fld[fs, 3, f]):
        return _reach_on_error(gs, ss, bst, pst, ev, bs)
    t_batter = _runner_time(bat, bs, s, 1, 1.0)
    t_first = t_f + _throw_time(fld, tn, fs, f, bx, by, 1)
    scored = np.empty(4, np.int64)
    if gs[B1] != -1 and gs[OUTS] < 2:
        t_second = t_f + _throw_time(fld, tn, fs, f, bx, by, 2)
        if t_second < _runner_time(bat, bs, gs[B1], 1, 0.3) + 0.1:
            # Force at second; turn two if the relay beats the batter.
            dp = t_second + tn[_DPP] + 90.0 / tn[_THR] < t_batter
            n = 0
            lead0 = gs[B2]
            lead1 = gs[B3]
            _out(gs, ss, pst, fs, 2 if dp else 1)
            if gs[OUTS] < 3:
                if lead1 != -1 and (lead0 != -1 or _u(ub, ist, rng) < 0.5):
                    scored[0] = lead1
                    n = 1
                    lead1 = -1
                if lead0 != -1 and lead1 == -1:
                    lead0, lead1 = -1, lead0
                gs[B1] = -1 if dp else s
                gs[B2] = lead0
                gs[B3] = lead1
                if n and not dp:
                    bst[bs, s, RBI] += _score(ss, bst, pst, bs, fs, scored, n)
                elif n:
                    _score(ss, bst, pst, bs, fs, scored, n)
            else:
                gs[B1] = gs[B2] = gs[B3] = -1
            bst[bs, s, AB] += 1
            _event(gs, ev, E_DP if dp else E_FC, bs, s, f, 0, 0.0)
            return R_DP if dp else R_FC
    if t_first < t_batter:
        bst[bs, s, AB] += 1
        _out(gs, ss, pst, fs, 1)
        if gs[OUTS] < 3:
            n = 0
            if gs[B3] != -1 and not (f == 0 or f == 1 or f == 2 or f == 4) and _u(ub, ist, rng) < 0.65:
                scored[0] = gs[B3]
                n = 1
                gs[B3] = -1
            if gs[B2] != -1 and gs[B3] == -1 and (bx > 0 or _u(ub, ist, rng) < 0.35):
                gs[B3] = gs[B2]
                gs[B2] = -1
            if gs[B1] != -1 and gs[B2] == -1:
                gs[B2] = gs[B1]
                gs[B1] = -1
            if n:
                bst[bs, s, RBI] += _score(ss, bst, pst, bs, fs, scored, n)
        _event(gs, ev, E_GROUND_OUT, bs, s, f, 0, 0.0)
        return R_OUT
    # Infield hit.
    n = _advance_on_hit(gs, ss, bat, fld, tn, bs, 1, f, t_f, bx, by, 0.3, scored)
    _credit_hit(ss, bst, pst, bs, R_1B, scored, n)
    _event(gs, ev, E_INFIELD_HIT, bs, s, f, 0, 0.0)
    return R_1B


@njit(cache=True, nogil=True, error_model="numpy")
def _bip_outcome(gs, ss, bat, fld, bst, pst, tn, ev, fxy, fence_dist, fence_height, ub, ist, rng, bs, la, r):
    """The engine's ``_bip_outcome`` without the logging (the caller writes the row)."""
    lx, ly, wall_z, wall_h, wall_b = r[1], r[2], r[7], r[8], r[9]
    gs[BATTED_BALLS] += 1
    bearing = _bearing(lx, ly)
    dist = py_hypot(lx, ly)
    fair = abs(bearing) <= 45.0
    gs[FIELDER] = -1
    if not math.isnan(wall_z) and abs(wall_b) <= 45.0 and wall_z > wall_h:
        scored = np.empty(4, np.int64)
        n = 0
        for b in (B1, B2, B3):
            if gs[b] != -1:
                scored[n] = gs[b]
                n += 1
        scored[n] = ss[bs, SLOT]
        n += 1
        gs[B1] = gs[B2] = gs[B3] = -1
        _credit_hit(ss, bst, pst, bs, R_HR, scored, n)
        _event(gs, ev, E_HR, bs, ss[bs, SLOT], -1, 0, dist)
        return R_HR
    if la < 10.0 and dist < 160.0:
        if fair:
            return _ground_ball(
                gs, ss, bat, fld, bst, pst, tn, ev, fxy, fence_dist, fence_height, ub, ist, rng, bs, r
            )
        return R_FOUL
    return _air_ball(
        gs, ss, bat, fld, bst, pst, tn, ev, fxy, fence_dist, fence_height, ub, ist, rng, bs, r, dist, fair, la
    )


# ------------------------------------------------------------------------------ plate appearance
@njit(cache=True, nogil=True, error_model="numpy")
def _plate_appearance(
    gs, ss, bat, fld, bst, pst, ptab, pf, nk, bfa, par, tn, ev, fxy, fence_dist, fence_height, path,
    ub, nb, ist, rng, rows, bip, prow, brow, bs
):  # fmt: skip
    fs = 1 - bs
    s = ss[bs, SLOT]
    p = ss[fs, PIT]
    bats = bat[bs, s, 4]
    right = bats == 0 or (bats == 2 and pf[fs, p, 7] == 0.0)
    pst[fs, p, P_BF] += 1
    bst[bs, s, PA_] += 1
    gs[PA_COUNT] += 1
    ist[gk.BALLS] = 0
    ist[gk.STRIKES] = 0
    gs[N_PA] = 0
    top = 1 if bs == 0 else 0
    while True:
        ist[gk.PITCH_COUNT] = ss[fs, PC]
        ist[gk.N_ROWS] = 0
        code = gk.pa_pitches(
            ub, nb, ist, ptab[fs, p, : nk[fs, p]], pf[fs, p], bfa[bs, s, 0 if right else 1], par,
            fence_dist, fence_height, path, rows, bip
        )  # fmt: skip
        n = ist[gk.PITCH_COUNT] - ss[fs, PC]
        ss[fs, PC] += n
        pst[fs, p, P_PITCHES] += n
        first = gs[TOTAL_PITCHES]
        gs[TOTAL_PITCHES] += n
        if gs[RECORD]:
            for i in range(ist[gk.N_ROWS]):
                j = gs[N_PITCHES]
                if j >= prow.shape[0]:
                    gs[OVERFLOW] = 1
                    break
                gs[N_PA] += 1
                gs[PITCH_KEY] = first + i + 1
                prow[j, 0] = gs[INNING]
                prow[j, 1] = top
                prow[j, 2] = gs[PA_COUNT]
                prow[j, 3] = first + i + 1
                prow[j, 4] = gs[N_PA]
                prow[j, 5] = bs
                prow[j, 6] = s
                prow[j, 7] = 1.0 if right else 0.0
                prow[j, 8] = p
                prow[j, 9] = rows[i, 5]
                prow[j, 10] = rows[i, 6]
                prow[j, 11] = gs[OUTS]
                prow[j, 12] = rows[i, 0]
                prow[j, 13] = rows[i, 1]
                prow[j, 14] = rows[i, 2]
                prow[j, 15] = rows[i, 3]
                prow[j, 16] = rows[i, 4]
                prow[j, 17] = rows[i, 7]
                gs[N_PITCHES] = j + 1
        if code == gk.NEED_U:
            ist[gk.U_LEFT] = refill(ub, ist[gk.U_LEFT], rng, False)
            continue
        if code == gk.NEED_N:
            ist[gk.N_LEFT] = refill(nb, ist[gk.N_LEFT], rng, True)
            continue
        if code == gk.ROWS_FULL:
            continue
        if code == gk.K_LOOKING or code == gk.K_SWINGING:
            bst[bs, s, AB] += 1
            bst[bs, s, SO] += 1
            pst[fs, p, P_SO] += 1
            _out(gs, ss, pst, fs, 1)
            _event(gs, ev, E_K_LOOKING if code == gk.K_LOOKING else E_K_SWINGING, bs, s, -1, 0, 0.0)
            return R_K
        if code == gk.WALK or code == gk.HBP:
            if code == gk.WALK:
                bst[bs, s, BB] += 1
                pst[fs, p, P_BB] += 1
            else:
                bst[bs, s, HBP_] += 1
                pst[fs, p, P_HBP] += 1
            bst[bs, s, RBI] += _force_advance(gs, ss, bst, pst, bs)
            _event(gs, ev, E_BB if code == gk.WALK else E_HBP, bs, s, -1, 0, 0.0)
            return R_BB if code == gk.WALK else R_HBP
        la = bip[1]
        result = _bip_outcome(
            gs, ss, bat, fld, bst, pst, tn, ev, fxy, fence_dist, fence_height, ub, ist, rng, bs, la, bip[5:]
        )
        if gs[RECORD]:
            j = gs[N_BIP]
            if j >= brow.shape[0]:
                gs[OVERFLOW] = 1
            else:
                brow[j, 0] = gs[INNING]
                brow[j, 1] = top
                brow[j, 2] = gs[PA_COUNT]
                brow[j, 3] = gs[PITCH_KEY]
                brow[j, 4] = bs
                brow[j, 5] = s
                brow[j, 6] = 1.0 if right else 0.0
                brow[j, 7] = p
                brow[j, 8:13] = bip[0:5]
                brow[j, 13] = bip[6]
                brow[j, 14] = bip[7]
                brow[j, 15] = py_hypot(bip[6], bip[7])
                brow[j, 16] = bip[5]
                brow[j, 17] = bip[8]
                brow[j, 18] = gs[FIELDER]
                brow[j, 19] = result
                gs[N_BIP] = j + 1
            if gs[N_PITCHES] > 0:
                prow[gs[N_PITCHES] - 1, 17] = FOUL_FLY if result == R_FOUL else HIT_INTO_PLAY
        if result == R_FOUL:
            if ist[gk.STRIKES] < 2:
                ist[gk.STRIKES] += 1
            continue
        return result


# ------------------------------------------------------------------------------------ innings
@njit(cache=True, nogil=True, error_model="numpy")
def _change_pitcher(ss, fs, new, order):
    ss[fs, PIT] = new
    ss[fs, PC] = 0
    for i in range(ss[fs, NPIT]):
        if order[fs, i] == new:
            return
    order[fs, ss[fs, NPIT]] = new
    ss[fs, NPIT] += 1


@njit(cache=True, nogil=True, error_model="numpy")
def _maybe_change_pitcher(gs, ss, pst, pf, bullpen, order, fs):
    """Closer for a save spot (9th or later, lead of 1-3, once a game); otherwise a reliever when the
    pitcher is past his pitch limit or a starter has given up six runs."""
    p = ss[fs, PIT]
    lead = ss[fs, RUNS] - ss[1 - fs, RUNS]
    if ss[fs, CLOSER] != -1 and gs[INNING] >= 9 and 0 < lead <= 3:
        _change_pitcher(ss, fs, ss[fs, CLOSER], order)
        ss[fs, CLOSER] = -1
        return
    if ss[fs, PC] >= pf[fs, p, 6] or (pf[fs, p, 8] == 1.0 and pst[fs, p, P_R] >= 6):
        if ss[fs, NBP] > 0:
            ss[fs, NBP] -= 1
            _change_pitcher(ss, fs, bullpen[fs, ss[fs, NBP]], order)
        elif ss[fs, CLOSER] != -1:
            _change_pitcher(ss, fs, ss[fs, CLOSER], order)
            ss[fs, CLOSER] = -1


@njit(cache=True, nogil=True, error_model="numpy")
def play_game(
    gs, ss, bat, fld, bst, pst, ptab, pf, nk, bfa, bullpen, order, line, par, tn, fxy,
    fence_dist, fence_height, path, ub, nb, ist, rng, ev, prow, brow, rows, bip
):  # fmt: skip
    """Play a game to the end (``Game.play``); every count lands in the arrays (see the module).
    ``rows``/``bip``: :func:`kernels.pa_pitches` 's scratch (a call returns when ``rows`` is full)."""
    while True:
        for bs in (0, 1):
            if bs == 1 and gs[INNING] >= 9 and ss[1, RUNS] > ss[0, RUNS]:
                break
            _event(gs, ev, E_TOP if bs == 0 else E_BOTTOM, bs, -1, -1, gs[INNING], 0.0)
            # ------------------------------------------------------------------ half inning
            fs = 1 - bs
            gs[OUTS] = 0
            gs[B1] = gs[B2] = gs[B3] = -1
            if gs[INNING] > 9:  # automatic runner: the batter before this inning's leadoff man
                gs[B2] = (ss[bs, SLOT] - 1) % 9
            runs_before = ss[bs, RUNS]
            _maybe_change_pitcher(gs, ss, pst, pf, bullpen, order, fs)
            while gs[OUTS] < 3:
                if ss[fs, PC] > pf[fs, ss[fs, PIT], 6] + 12:
                    _maybe_change_pitcher(gs, ss, pst, pf, bullpen, order, fs)
                _plate_appearance(
                    gs, ss, bat, fld, bst, pst, ptab, pf, nk, bfa, par, tn, ev, fxy, fence_dist,
                    fence_height, path, ub, nb, ist, rng, rows, bip, prow, brow, bs
                )  # fmt: skip
                ss[bs, SLOT] = (ss[bs, SLOT] + 1) % 9
                if bs == 1 and gs[INNING] >= 9 and ss[1, RUNS] > ss[0, RUNS]:
                    break  # walk-off
            if gs[OUTS] >= 3:
                for b in (B1, B2, B3):
                    if gs[b] != -1:
                        ss[bs, LOB] += 1
            if ss[bs, NLINE] < line.shape[1]:
                line[bs, ss[bs, NLINE]] = ss[bs, RUNS] - runs_before
                ss[bs, NLINE] += 1
            else:
                gs[OVERFLOW] = 1
        if gs[INNING] >= 9 and ss[1, RUNS] != ss[0, RUNS]:
            break
        gs[INNING] += 1
        if gs[INNING] > 40:  # a safety net no real game reaches
            break
