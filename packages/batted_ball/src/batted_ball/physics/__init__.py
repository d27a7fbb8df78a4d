"""Alan Nathan's baseball trajectory model: batted balls and pitches, Numba-fast with a reference twin."""

from .constants import CD0, CD_SPIN, CL0, CL1, CL2
from .environment import Environment, SimulationMode, air_density_kg_m3
from .flight import (
    BattedBallResult,
    FlightArgs,
    PitchResult,
    aim_pitch,
    batted_ball_state,
    simulate_batted_ball,
    simulate_batted_balls,
    simulate_pitch,
    statcast_average_spin_rpm,
)

__all__ = [
    "CD0",
    "CD_SPIN",
    "CL0",
    "CL1",
    "CL2",
    "BattedBallResult",
    "Environment",
    "FlightArgs",
    "PitchResult",
    "SimulationMode",
    "aim_pitch",
    "air_density_kg_m3",
    "batted_ball_state",
    "simulate_batted_ball",
    "simulate_batted_balls",
    "simulate_pitch",
    "statcast_average_spin_rpm",
]
