"""The named validation checks: every one passes; the data-backed ones run when ../shared is there."""

import pytest
from batted_ball.validation import CHECKS, run_checks

ALWAYS = [n for n in CHECKS if n not in ("nathan_reference_cases", "statcast_distance_residual")]


def test_there_are_at_least_seven_checks_without_reference_files():
    assert len(ALWAYS) >= 7


@pytest.mark.parametrize("name", ALWAYS)
def test_embedded_check_passes(name):
    (check,) = run_checks(None, [name])
    assert check.passed, f"{check.name}: expected {check.expected}, got {check.got} ({check.tolerance})"


def test_data_checks_skip_without_data():
    for check in run_checks(None, ["nathan_reference_cases", "statcast_distance_residual"]):
        assert check.passed is None and "absent" in check.details


@pytest.mark.shared
@pytest.mark.parametrize("name", ["nathan_reference_cases", "statcast_distance_residual"])
def test_data_check_passes(bb_data, name):
    (check,) = run_checks(bb_data, [name])
    assert check.passed, f"{check.name}: expected {check.expected}, got {check.got} ({check.tolerance})"
