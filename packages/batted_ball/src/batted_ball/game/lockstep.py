"""Many games played together, their pitches flown side by side in SIMD lanes.

About 290 pitches a game fly ~200 RK4 steps each, and one core flies a single pitch at the latency of its
square roots and divisions. :func:`play_together` drives several games (:meth:`Game.play`), each until
it asks for a pitch; then all the pitches asked for go to :func:`kernels.pitch_lanes` in one call, which
flies them in lockstep (the loops across lanes vectorise; the pitches are about as long, so few lanes
idle). Fewer than :data:`MIN_LANES` pitches go one :func:`kernels.pitch` call each.

Batted balls are flown as they are asked for, one :func:`kernels.fly` call each. They last from under a
second (grounders) to seven (pop-ups), and once past the nearest fence every step of a ball looks up
the fence at its bearing, which does not vectorise; a pool of lanes refilled as balls land was tried
and measured slower than one call a ball (docs/batted_ball.md, "Seasons and parallelism").

The results are those of :meth:`Game.run` for every game, bit for bit, however the games are grouped:
each game draws only from its own generator, in its own order, and each lane does the arithmetic of
:func:`kernels.pitch` (tested).
"""

from collections.abc import Callable

import numpy as np

from ..physics import kernels
from .engine import PITCH, Game

#: Fewest pitches worth a lanes call: a call flies :data:`kernels.LANE_GROUP` (16) lanes at the cost of
#: about 7 single pitches (measured: 11 against 27 us a pitch with 16 to 48 lanes).
MIN_LANES = kernels.LANE_GROUP // 2


def _fly_pitches(games: list[Game], batch: list[tuple[int, tuple]]) -> list:
    """Kernel results for the pitches ``(game number, state)`` of ``batch``, in its order."""
    if len(batch) < MIN_LANES:
        return [kernels.pitch(*state, *games[i].pitch_args) for i, state in batch]
    args = games[batch[0][0]].pitch_args
    c0 = []
    for i, _ in batch:
        a = games[i].pitch_args
        # Lanes share everything but the air (c0), and fly no spin-free twin (the breaks).
        assert a[1:] == args[1:] and not a[-1]
        c0.append(a[0])
    out = np.empty((len(batch), len(kernels.PITCH_FIELDS)))
    kernels.pitch_lanes(np.array([state for _, state in batch]), np.array(c0), *args[1:-1], out)
    return out.tolist()


def play_together(games: list[Game], poll: Callable[[], None] | None = None) -> list[dict]:
    """Play ``games`` to the end together; their box scores in the same order.

    ``poll`` is called before each game starts and between rounds of pitches (a place to stop on an
    interrupt). A :class:`~.fast.KernelGame` asks for no flights (its kernel flies them): it plays to
    its end when started, so such games play one after the other.
    """
    plays = [g.play() for g in games]
    boxes: list[dict | None] = [None] * len(games)
    pitches: list[tuple[int, tuple]] = []

    def advance(i: int, result) -> None:
        """Send game ``i`` its last pitch's result; fly its batted balls until it asks for a pitch."""
        play, game = plays[i], games[i]
        try:
            kind, state = play.send(result)
            while kind != PITCH:
                kind, state = play.send(kernels.fly(*state, *game.fly_args))
        except StopIteration as stop:
            boxes[i] = stop.value
            return
        pitches.append((i, state))

    for i in range(len(games)):
        if poll is not None:  # a KernelGame plays to its end in advance(): stop between games
            poll()
        advance(i, None)
    while pitches:
        if poll is not None:
            poll()
        batch, pitches = pitches, []
        for (i, _), res in zip(batch, _fly_pitches(games, batch), strict=True):
            advance(i, res)
    return boxes
