"""Physical constants of Alan Nathan's trajectory model, each with its source.

Unless stated otherwise the source is Nathan's TrajectoryCalculator spreadsheet
("TrajectoryCalculator-new-3D-June2026.xlsx", sheets BattedBallTrajectory-1 and
PitchedBallTrajectory), whose cell formulas this package reproduces; cell names are given.
"""

import math

#: Ball mass, oz (sheet cell B1 "mass"; MLB rule 3.01: 5 to 5.25 oz).
BALL_MASS_OZ = 5.125
#: Ball circumference, inches (sheet cell B2 "circ"; MLB rule 3.01: 9 to 9.25 in).
BALL_CIRCUMFERENCE_IN = 9.125
#: Ball radius, ft: circ / (2 pi) / 12 (sheet cell D14 "romega" = (circ/2/PI())*omega/12).
BALL_RADIUS_FT = BALL_CIRCUMFERENCE_IN / (2.0 * math.pi) / 12.0

#: Drag coefficient Cd = CD0 + CD_SPIN * spin_rpm / 1000 (sheet cells G2 "cd0", G3 "cdspin").
CD0 = 0.3008
CD_SPIN = 0.0292
#: Lift coefficient CL = CL2 * S / (CL0 + CL1 * S), S = r omega / v (sheet cells G6-G8 "cl0", "cl1", "cl2").
CL0 = 0.583
CL1 = 2.333
CL2 = 1.120

#: 0.5 * A / m for the standard ball, ft^2/lb: c0 = C0_PREFACTOR * rho[lb/ft^3] (sheet cell D4
#: "c0" = 0.07182*rho*(5.125/mass)*(circ/9.125)^2); acceleration = c0 * Cd * v^2.
C0_PREFACTOR = 0.07182

#: Standard gravity, ft/s^2 (sheet column AD: az = ... - 32.174).
GRAVITY_FT_S2 = 32.174
#: mph -> ft/s as the sheet converts (cell D6: v0*1.467; exact value 1.46667).
MPH_TO_FTS = 1.467
RPM_TO_RAD_S = math.pi / 30.0
RAD_S_TO_RPM = 30.0 / math.pi

#: Air density (sheet cell D2): rho[kg/m^3] = 1.2929 * (273/(T_C+273)) *
#: (P_mmHg * exp(-BETA * elev_m) - 0.3783 * RH * SVP / 100) / 760, with the saturation vapour
#: pressure SVP[mmHg] = 4.5841 * exp((18.687 - T_C/234.5) * T_C / (257.14 + T_C)) (cell D20, a
#: Buck-type formula) and BETA the exponential decrease of pressure with altitude (cell D5).
RHO_STP_KG_M3 = 1.2929
BETA_PER_M = 1.217e-4
#: kg/m^3 -> lb/ft^3 (sheet cell D1: D2*0.06261).
KG_M3_TO_LB_FT3 = 0.06261
#: Default barometric pressure (sheet cell B21), inches of mercury, "sea-level" reading.
STANDARD_PRESSURE_INHG = 29.92
FT_PER_M = 3.2808

#: Front edge of home plate, ft from the point of home plate (17 in): where a pitch "arrives"
#: (PitchedBallTrajectory cell AE33: crossing of y = 17/12).
PLATE_FRONT_Y_FT = 17.0 / 12.0
#: Pitching rubber to the point of home plate, ft (MLB rule 2.01).
RUBBER_TO_PLATE_FT = 60.5

#: Foul lines are at +-45 degrees from the centre-field direction.
FOUL_LINE_DEG = 45.0
