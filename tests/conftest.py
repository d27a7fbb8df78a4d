"""Shared test fixtures: the shipped ``fixtures/`` folder, and the reference data that cannot be shipped.

``fixtures/`` (in the checkout, licence-clean, see ``fixtures/README.md``) is always there: a test that
needs a Databento DBN sample or the RFC 8439 / Wycheproof vectors reads it from ``FIXTURES`` (or the
``fixtures`` fixture) and never skips. ``../shared/data`` beside the checkout holds what its licence keeps
out of the project (CME-derived ES files, Statcast, the Nathan workbook, Retrosheet); tests that need it
ask for ``shared_data`` and skip with the reason when it is absent, as on a user's fresh clone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_configure(config):
    """pytest started in the background by a non-interactive shell inherits SIGINT ignored, and so would every
    command a test starts (the Ctrl-C tests would see their command ignore it). Python's own handler
    instead: ``exec`` resets a handler, unlike an ignored signal, to the default in the children."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The checkout's ``fixtures/`` folder (same sub-paths as ``../shared/data``: ``mbp10/databento/``, ``qyn1/``)."""
    if not FIXTURES.is_dir():  # a broken checkout, not a reason to skip
        raise FileNotFoundError(f"{FIXTURES} is missing; it is part of the repository")
    return FIXTURES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not available: {SHARED_DATA} is absent (a fresh clone has no ../shared)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """A CLI run in-process (click's CliRunner) that reports an interrupt ignores further signals, and that
    disposition would be inherited by every subprocess a later test starts in the same worker (a Ctrl-C
    test would then see its command ignore SIGINT). Put the handlers back after every test."""
    import signal

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
    from perfkit import interrupts

    interrupts._received.clear()
