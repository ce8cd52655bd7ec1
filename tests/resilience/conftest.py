"""Fixtures of the resilience suite: the platform's stand-in with a short deadline.

`trap`, `nothing_cached`, `quick_password_hashing` and the summary of what the suite tried
are shared with the security suite: they are in tests/conftest.py.
"""

import pytest

from tests.helpers import DEADLINE


@pytest.fixture(autouse=True)
def every_fault_starts_cold(nothing_cached):
    """A page cached by an earlier test would answer in place of the failing platform."""


@pytest.fixture
def platform(emulator, settings, quick_password_hashing):
    settings.XUNA_API_TIMEOUT = DEADLINE
    return emulator
