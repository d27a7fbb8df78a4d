"""mbp10: MBP-10 futures ticks -> 5-second bars -> level episodes -> approach features -> setup vectors."""

__version__ = "0.1.0"
