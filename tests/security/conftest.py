"""Fixtures of the adversarial suite: another host to catch what leaks, and the summary."""

import pytest
from django.core.cache import cache

from tests.security import tally
from tests.security.trap import Trap, self_signed_certificate


def pytest_terminal_summary(terminalreporter):
    tally.report(terminalreporter)


@pytest.fixture(autouse=True)
def nothing_cached():
    """Every attack starts cold (a page cached earlier would hide a platform call) and leaves
    no hostile agent name or page behind for the tests that follow."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    """The suite logs in and fails to log in hundreds of times; the hash's strength is not
    what it tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def trap():
    """A plain-http host other than the platform, recording what it receives."""
    with Trap() as server:
        yield server


@pytest.fixture(scope="session")
def localhost_certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_trap(localhost_certificate):
    """An https host other than the platform (`localhost`, while the platform is 127.0.0.1)."""
    pem, _ = localhost_certificate
    with Trap(host="localhost", certificate=pem) as server:
        yield server
