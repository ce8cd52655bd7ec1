"""Fixtures of the adversarial suite: an https host to catch what leaks.

The plain-http `trap`, `nothing_cached`, `quick_password_hashing` and the summary of what
the suite tried are shared with the resilience suite: they are in tests/conftest.py.
"""

import pytest

from tests.security.trap import Trap, self_signed_certificate


@pytest.fixture(autouse=True)
def every_attack_starts_cold(nothing_cached, quick_password_hashing):
    """Every attack starts with an empty cache (a page cached earlier would hide a platform
    call) and leaves no hostile agent name or page behind for the tests that follow."""


@pytest.fixture(scope="session")
def localhost_certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_trap(localhost_certificate):
    """An https host other than the platform (`localhost`, while the platform is 127.0.0.1)."""
    pem, _ = localhost_certificate
    with Trap(host="localhost", certificate=pem) as server:
        yield server
