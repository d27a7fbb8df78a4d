"""The 30 MLB parks: elevation and outfield fence (distance and height by bearing).

Elevations are the ``Elevations`` table of Nathan's TrajectoryCalculator workbook (ft above sea
level). Fence distances (left-field line, left-centre, centre, right-centre, right-field line) and
wall heights (left, centre, right) are the parks' approximate published dimensions, rounded to the
foot; the fence between them is linear in bearing. They shape where balls leave the park, not any
reference check.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import BattedBallError

#: Bearing samples of a fence profile: -45 deg (left-field line) to +45 deg (right-field line).
FENCE_SAMPLES = 91
FENCE_BEARINGS_DEG = np.linspace(-45.0, 45.0, FENCE_SAMPLES)


@dataclass(frozen=True)
class Park:
    code: str  # Statcast/Retrosheet-style team code of the home team
    name: str
    elevation_ft: float
    fence_ft: tuple[float, float, float, float, float]  # LF line, LCF, CF, RCF, RF line
    wall_ft: tuple[float, float, float]  # LF, CF, RF
    roof: bool = False

    @cached_property
    def fence_profile(self) -> tuple[np.ndarray, np.ndarray]:
        """Fence distance and height (ft) at :data:`FENCE_BEARINGS_DEG`."""
        dist = np.interp(FENCE_BEARINGS_DEG, [-45.0, -22.5, 0.0, 22.5, 45.0], self.fence_ft)
        height = np.interp(FENCE_BEARINGS_DEG, [-45.0, 0.0, 45.0], self.wall_ft)
        return np.ascontiguousarray(dist), np.ascontiguousarray(height)


PARKS: dict[str, Park] = {
    p.code: p
    for p in (
        Park("LAA", "Angel Stadium", 151, (347, 390, 396, 370, 350), (8, 8, 18)),
        Park("AZ", "Chase Field", 1086, (330, 376, 407, 376, 334), (8, 25, 8), roof=True),
        Park("ATL", "Truist Park", 1001, (335, 385, 400, 375, 325), (6, 8, 16)),
        Park("BAL", "Oriole Park at Camden Yards", 33, (333, 384, 410, 373, 318), (13, 7, 21)),
        Park("BOS", "Fenway Park", 21, (310, 379, 390, 380, 302), (37, 17, 5)),
        Park("CWS", "Guaranteed Rate Field", 595, (330, 377, 400, 372, 335), (8, 8, 8)),
        Park("CHC", "Wrigley Field", 595, (355, 368, 400, 368, 353), (15, 11, 15)),
        Park("CIN", "Great American Ball Park", 535, (328, 379, 404, 370, 325), (12, 8, 8)),
        Park("CLE", "Progressive Field", 653, (325, 370, 400, 375, 325), (19, 9, 9)),
        Park("COL", "Coors Field", 5190, (347, 390, 415, 375, 350), (8, 8, 14)),
        Park("DET", "Comerica Park", 600, (345, 370, 412, 365, 330), (7, 9, 8)),
        Park("MIA", "loanDepot park", 10, (344, 386, 400, 387, 335), (7, 11, 11), roof=True),
        Park("HOU", "Minute Maid Park", 45, (315, 362, 409, 373, 326), (21, 10, 7), roof=True),
        Park("KC", "Kauffman Stadium", 865, (330, 387, 410, 387, 330), (8, 8, 8)),
        Park("LAD", "Dodger Stadium", 515, (330, 375, 395, 375, 330), (4, 8, 4)),
        Park("MIL", "American Family Field", 597, (344, 371, 400, 374, 345), (8, 8, 8), roof=True),
        Park("MIN", "Target Field", 815, (339, 377, 404, 367, 328), (8, 8, 23)),
        Park("NYY", "Yankee Stadium", 55, (318, 399, 408, 385, 314), (8, 8, 8)),
        Park("NYM", "Citi Field", 10, (335, 379, 408, 375, 330), (8, 8, 8)),
        Park("OAK", "Oakland Coliseum", 3, (330, 388, 400, 388, 330), (8, 8, 8)),
        Park("PHI", "Citizens Bank Park", 20, (329, 374, 401, 369, 330), (11, 6, 13)),
        Park("PIT", "PNC Park", 780, (325, 389, 399, 375, 320), (6, 10, 21)),
        Park("SD", "Petco Park", 23, (334, 390, 396, 391, 322), (8, 8, 8)),
        Park("SEA", "T-Mobile Park", 10, (331, 378, 401, 381, 326), (8, 8, 8), roof=True),
        Park("SF", "Oracle Park", 0, (339, 364, 391, 415, 309), (8, 8, 24)),
        Park("STL", "Busch Stadium", 460, (336, 375, 400, 375, 335), (8, 8, 8)),
        Park("TB", "Tropicana Field", 15, (315, 370, 404, 370, 322), (9, 9, 9), roof=True),
        Park("TEX", "Globe Life Field", 545, (329, 372, 407, 374, 326), (8, 8, 8), roof=True),
        Park("TOR", "Rogers Centre", 270, (328, 375, 400, 375, 328), (10, 10, 10), roof=True),
        Park("WSH", "Nationals Park", 35, (336, 377, 402, 370, 335), (8, 12, 14)),
    )
}

#: Statcast's older or alternative team codes.
ALIASES = {
    "ARI": "AZ",
    "CHW": "CWS",
    "KCR": "KC",
    "SDP": "SD",
    "SFG": "SF",
    "TBR": "TB",
    "WSN": "WSH",
    "ATH": "OAK",
}


#: The clubs that play in the parks: (city, nickname) by code, so that a team can be asked for as
#: ``Yankees`` or ``New York Yankees`` as well as ``NYY`` or ``Yankee Stadium``.
CLUBS = {
    "LAA": ("Los Angeles", "Angels"),
    "AZ": ("Arizona", "Diamondbacks"),
    "ATL": ("Atlanta", "Braves"),
    "BAL": ("Baltimore", "Orioles"),
    "BOS": ("Boston", "Red Sox"),
    "CWS": ("Chicago", "White Sox"),
    "CHC": ("Chicago", "Cubs"),
    "CIN": ("Cincinnati", "Reds"),
    "CLE": ("Cleveland", "Guardians"),
    "COL": ("Colorado", "Rockies"),
    "DET": ("Detroit", "Tigers"),
    "MIA": ("Miami", "Marlins"),
    "HOU": ("Houston", "Astros"),
    "KC": ("Kansas City", "Royals"),
    "LAD": ("Los Angeles", "Dodgers"),
    "MIL": ("Milwaukee", "Brewers"),
    "MIN": ("Minnesota", "Twins"),
    "NYY": ("New York", "Yankees"),
    "NYM": ("New York", "Mets"),
    "OAK": ("Oakland", "Athletics"),
    "PHI": ("Philadelphia", "Phillies"),
    "PIT": ("Pittsburgh", "Pirates"),
    "SD": ("San Diego", "Padres"),
    "SEA": ("Seattle", "Mariners"),
    "SF": ("San Francisco", "Giants"),
    "STL": ("St. Louis", "Cardinals"),
    "TB": ("Tampa Bay", "Rays"),
    "TEX": ("Texas", "Rangers"),
    "TOR": ("Toronto", "Blue Jays"),
    "WSH": ("Washington", "Nationals"),
}


def _names() -> dict[str, str]:
    """Every way of naming a park's code, upper case: code, older code, park, club, nickname."""
    names = {code: code for code in PARKS}
    names.update(ALIASES)
    for code, p in PARKS.items():
        city, nickname = CLUBS[code]
        names.update({p.name.upper(): code, f"{city} {nickname}".upper(): code, nickname.upper(): code})
    return names


_NAMES = _names()


def park_code(query: str) -> str | None:
    """The park code ``query`` names (any case: ``NYY``, ``ARI``, ``Yankee Stadium``, ``Yankees``,
    ``New York Yankees``), or None (also for anything that is not a string)."""
    return _NAMES.get(" ".join(query.split()).upper()) if isinstance(query, str) else None


def park(code: str) -> Park:
    """The park a code or name names, as :func:`park_code` reads it (any case); else ``BattedBallError``
    listing the codes."""
    found = park_code(code) if isinstance(code, str) else None
    if found is None:
        raise BattedBallError(f"{code!r} is not a park (codes: {', '.join(sorted(PARKS))})")
    return PARKS[found]
