"""Fixtures of the resilience suite: the platform's stand-in with a short deadline."""

import pytest
from django.core.cache import cache

from tests.security import tally
from tests.security.trap import Trap

# Seconds: the deadline of one platform call in these tests, short to keep the run short.
DEADLINE = 1.5


def pytest_terminal_summary(terminalreporter):
    tally.report(terminalreporter)


@pytest.fixture(autouse=True)
def nothing_cached():
    """A page cached by an earlier test would answer in place of the failing platform."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def platform(emulator, settings):
    settings.XUNA_API_TIMEOUT = DEADLINE
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return emulator


@pytest.fixture
def trap():
    with Trap() as server:
        yield server
