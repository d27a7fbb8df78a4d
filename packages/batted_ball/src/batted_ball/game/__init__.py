"""The game: teams from a seed, plate appearances pitch by pitch, fielding, base running, box scores."""

from .engine import TUNING, Game
from .players import Batter, Pitch, Pitcher, Team, find_team, generate_league, generate_team

__all__ = [
    "TUNING",
    "Batter",
    "Game",
    "Pitch",
    "Pitcher",
    "Team",
    "find_team",
    "generate_league",
    "generate_team",
]
