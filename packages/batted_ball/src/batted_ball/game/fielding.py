"""Numba kernel for fielding a ground ball: the first fielder who can get to the rolling ball.

Fielder order (index): 0 P, 1 C, 2 1B, 3 2B, 4 3B, 5 SS, 6 LF, 7 CF, 8 RF.
"""

import math

from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def field_ground_ball(lx, ly, t_land, vhx, vhy, fx, fy, speed, react, reach, keep, decel, step, max_r):
    """Earliest interception of a ground ball after its first landing.

    The ball leaves its landing point ``(lx, ly)`` at time ``t_land`` along its horizontal velocity
    ``(vhx, vhy)`` (ft/s) scaled by the bounce ``keep`` fraction, slowing at ``decel`` ft/s^2.
    Fielder ``f`` at ``(fx[f], fy[f])`` starts after ``react[f]`` s and runs at ``speed[f]`` ft/s; he
    fields the ball when he can be within ``reach`` ft of it. Time is scanned every ``step`` s. The
    ball stops at ``max_r`` ft from home (the outfield wall).

    Returns ``(fielder, time_s, x_ft, y_ft)``; when nobody reaches the ball while it rolls, the
    nearest fielder picks it up where it stopped, when he gets there.
    """
    vh = math.sqrt(vhx * vhx + vhy * vhy)
    if vh > 0.0:
        ux = vhx / vh
        uy = vhy / vh
    else:
        ux = 0.0
        uy = 1.0
    v0 = vh * keep
    t_stop = v0 / decel
    n = fx.shape[0]
    t = 0.0
    while True:
        tt = min(t, t_stop)
        s = v0 * tt - 0.5 * decel * tt * tt
        bx = lx + ux * s
        by = ly + uy * s
        now = t_land + t
        if bx * bx + by * by >= max_r * max_r:
            t_stop = min(t_stop, t)
        for f in range(n):
            dx = fx[f] - bx
            dy = fy[f] - by
            d = math.sqrt(dx * dx + dy * dy) - reach
            need = react[f] + (d / speed[f] if d > 0.0 else 0.0)
            if need <= now:
                return f, now, bx, by
        if t >= t_stop:
            best = 0
            best_t = 1e9
            for f in range(n):
                dx = fx[f] - bx
                dy = fy[f] - by
                need = react[f] + math.sqrt(dx * dx + dy * dy) / speed[f]
                if need < best_t:
                    best_t = need
                    best = f
            return best, max(best_t, now), bx, by
        t += step
