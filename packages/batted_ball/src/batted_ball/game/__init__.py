"""The game: teams from a seed, plate appearances pitch by pitch, fielding, base running, box scores."""

from .engine import TUNING, Game
from .players import Batter, Pitch, Pitcher, Team, generate_league, generate_team, load_teams

__all__ = [
    "TUNING",
    "Batter",
    "Game",
    "Pitch",
    "Pitcher",
    "Team",
    "generate_league",
    "generate_team",
    "load_teams",
]
