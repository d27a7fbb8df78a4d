"""batted_ball: physics-first baseball simulation, from one trajectory to a parallel season.

``batted_ball.physics`` (Nathan's trajectory model, Numba kernels and a reference twin),
``batted_ball.validation`` (named checks against published numbers), ``batted_ball.game`` (plate
appearances pitch by pitch, fielding, base running, box scores) and ``batted_ball.season``
(per-game seeds, any executor, league line and calibration).
"""

__version__ = "0.1.0"
