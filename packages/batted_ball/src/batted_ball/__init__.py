"""batted_ball: physics-first baseball simulation, from one trajectory to a parallel season."""

__version__ = "0.1.0"
