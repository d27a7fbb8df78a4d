"""Atmosphere and simulation modes: air density from weather and altitude, wind, time steps."""

import enum
import math
from dataclasses import dataclass

from ..errors import BattedBallError
from .constants import (
    BALL_CIRCUMFERENCE_IN,
    BALL_MASS_OZ,
    BETA_PER_M,
    C0_PREFACTOR,
    FT_PER_M,
    KG_M3_TO_LB_FT3,
    MPH_TO_FTS,
    RHO_STP_KG_M3,
    STANDARD_PRESSURE_INHG,
)

#: Shortest spin-decay time constant accepted: far below any measured one (tens of seconds), and long
#: enough that the decay rate stays a finite number.
MIN_SPIN_DECAY_S = 0.01


class SimulationMode(enum.Enum):
    """RK4 time step per mode; the landing is interpolated inside the last step in every mode."""

    ACCURATE = 0.001
    FAST = 0.002
    ULTRA_FAST = 0.005
    EXTREME = 0.010

    @property
    def dt_s(self) -> float:
        return self.value

    @classmethod
    def parse(cls, name: "str | SimulationMode") -> "SimulationMode":
        if isinstance(name, SimulationMode):
            return name
        try:
            return cls[str(name).strip().upper().replace("-", "_")]
        except KeyError:
            valid = ", ".join(m.name.lower() for m in cls)
            raise BattedBallError(f"unknown mode {name!r} (expected one of: {valid})") from None


def saturation_vapour_pressure_mmhg(temp_c: float) -> float:
    """Saturation vapour pressure over water, mm Hg (sheet cell D20)."""
    return 4.5841 * math.exp((18.687 - temp_c / 234.5) * temp_c / (257.14 + temp_c))


def air_density_kg_m3(
    temp_f: float = 70.0,
    elevation_ft: float = 0.0,
    humidity_pct: float = 50.0,
    pressure_inhg: float = STANDARD_PRESSURE_INHG,
) -> float:
    """Air density (kg/m^3) as Nathan's sheet computes it (cell D2).

    ``pressure_inhg`` is the barometer reading corrected to sea level (what weather reports give);
    the altitude enters through ``exp(-beta * elevation)``. The weather is checked as for an
    :class:`Environment` (a NaN, or -500 F, raises :class:`BattedBallError` instead of a density).
    """
    env = Environment(
        temp_f=temp_f, elevation_ft=elevation_ft, humidity_pct=humidity_pct, pressure_inhg=pressure_inhg
    )
    return env.air_density_kg_m3


def _air_density_kg_m3(
    temp_f: float, elevation_ft: float, humidity_pct: float, pressure_inhg: float
) -> float:
    """:func:`air_density_kg_m3` of weather already checked (an :class:`Environment`'s)."""
    temp_c = (temp_f - 32.0) * 5.0 / 9.0
    pressure_mmhg = pressure_inhg * 1000.0 / 39.37
    svp = saturation_vapour_pressure_mmhg(temp_c)
    elev_m = elevation_ft / FT_PER_M
    return (
        RHO_STP_KG_M3
        * (273.0 / (temp_c + 273.0))
        * (pressure_mmhg * math.exp(-BETA_PER_M * elev_m) - 0.3783 * humidity_pct * svp / 100.0)
        / 760.0
    )


@dataclass(frozen=True)
class Environment:
    """Weather, altitude and wind for a flight.

    ``wind_dir_deg`` is where the wind blows *toward*: 0 = straight out to centre field, +90 = toward
    the right-field side (+x), 180 = straight in (the sheet's ``phiwind``). The wind acts above
    ``wind_height_ft`` (sheet ``hwind``). ``spin_decay_tau_s`` is the spin-decay time constant at
    100 mph (sheet ``tau``; it scales as 100 mph / speed); ``None`` means no decay.
    """

    temp_f: float = 70.0
    elevation_ft: float = 0.0
    humidity_pct: float = 50.0
    pressure_inhg: float = STANDARD_PRESSURE_INHG
    wind_mph: float = 0.0
    wind_dir_deg: float = 0.0
    wind_height_ft: float = 0.0
    spin_decay_tau_s: float | None = None

    def __post_init__(self) -> None:
        names = (
            "temp_f",
            "elevation_ft",
            "humidity_pct",
            "pressure_inhg",
            "wind_mph",
            "wind_dir_deg",
            "wind_height_ft",
        )
        for name in (*names, "spin_decay_tau_s"):
            value = getattr(self, name)
            if value is None and name == "spin_decay_tau_s":
                continue
            try:  # a str, None, a list or an array of several values: TypeError
                finite = math.isfinite(value)
            except TypeError:
                raise BattedBallError(f"{name} must be a number, got {value!r}") from None
            if name in names and not finite:
                raise BattedBallError(f"{name} must be a finite number, got {value!r}")
        # The messages are formatted only for a value out of range (a game builds an Environment).
        checks = (
            (-40.0 <= self.temp_f <= 130.0, lambda: f"temperature {self.temp_f} F is outside -40..130 F"),
            (
                -1500.0 <= self.elevation_ft <= 15000.0,
                lambda: f"elevation {self.elevation_ft} ft is outside -1500..15000 ft",
            ),
            (
                0.0 <= self.humidity_pct <= 100.0,
                lambda: f"relative humidity {self.humidity_pct} % is outside 0..100 %",
            ),
            (
                20.0 <= self.pressure_inhg <= 35.0,
                lambda: f"pressure {self.pressure_inhg} inHg is outside 20..35 inHg",
            ),
            (0.0 <= self.wind_mph <= 60.0, lambda: f"wind speed {self.wind_mph} mph is outside 0..60 mph"),
            (  # a direction, as the spin axis: a larger number is no direction more, only lost precision
                -360.0 <= self.wind_dir_deg <= 360.0,
                lambda: f"wind direction {self.wind_dir_deg:g} deg is outside -360..360 deg",
            ),
            (
                self.spin_decay_tau_s is None or MIN_SPIN_DECAY_S <= self.spin_decay_tau_s < math.inf,
                lambda: (
                    f"spin decay time constant {self.spin_decay_tau_s} s must be at least {MIN_SPIN_DECAY_S} s"
                ),
            ),
        )
        for ok, message in checks:
            if not ok:
                raise BattedBallError(message())

    @property
    def air_density_kg_m3(self) -> float:
        return _air_density_kg_m3(self.temp_f, self.elevation_ft, self.humidity_pct, self.pressure_inhg)

    @property
    def c0(self) -> float:
        """``0.5 rho A / m`` in 1/ft: drag acceleration = c0 * Cd * v^2 (sheet cell D4)."""
        rho_lb_ft3 = self.air_density_kg_m3 * KG_M3_TO_LB_FT3
        return C0_PREFACTOR * rho_lb_ft3 * (5.125 / BALL_MASS_OZ) * (BALL_CIRCUMFERENCE_IN / 9.125) ** 2

    @property
    def wind_xy_fts(self) -> tuple[float, float]:
        phi = math.radians(self.wind_dir_deg)
        speed = self.wind_mph * MPH_TO_FTS
        return speed * math.sin(phi), speed * math.cos(phi)

    @property
    def inv_tau(self) -> float:
        """``1 / (146.7 ft/s * tau)``, the kernels' spin-decay rate per ft/s of speed; 0 for no decay."""
        if self.spin_decay_tau_s is None:
            return 0.0
        return 1.0 / (100.0 * MPH_TO_FTS * self.spin_decay_tau_s)
