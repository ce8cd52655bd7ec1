"""Shared fixtures: a real emulator over real sockets, users in each role, another host.

Constants and plain helpers that test modules share are in tests/helpers.py.
"""

import pytest
from django.core.cache import cache

from emulator.server import Emulator
from tests.helpers import EMULATOR_KEY, PASSWORD
from tests.security import tally
from tests.security.trap import Trap


@pytest.fixture(scope="session")
def emulator_server():
    server = Emulator(port=0, api_key=EMULATOR_KEY, seed=1, conversations=240)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server, settings):
    """The emulator with fresh seeded data, the dashboard pointed at it, an empty cache."""
    emulator_server.reset()
    # The seeded data is fresh: pages and conversations cached by an earlier test are not.
    cache.clear()
    settings.XUNA_API_BASE_URL = emulator_server.url
    settings.XUNA_API_KEY = EMULATOR_KEY
    settings.XUNA_API_KEY_HEADER = "xi-api-key"
    settings.XUNA_API_TIMEOUT = 3.0
    yield emulator_server
    emulator_server.clear_faults()


@pytest.fixture
def make_user(db, django_user_model):
    """A user in one of the roles (Reviewer, Lead, Admin), or in none."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from conversations.roles import sync_roles

    if not Group.objects.filter(name="Admin").exists():
        # A transactional test (browser, scale-out) flushed what the migrations created.
        ContentType.objects.clear_cache()
        create_permissions(apps.get_app_config("conversations"), verbosity=0)
        sync_roles(Group, Permission)

    def make(role=None, username=None):
        user = django_user_model.objects.create_user(
            username=username or f"{(role or 'nobody').lower()}-user", password=PASSWORD
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def as_role(make_user, client):
    """A Django test client logged in with the given role."""

    def login(role):
        client.force_login(make_user(role))
        return client

    return login


@pytest.fixture
def tasks_run_at_once():
    """Huey runs each task when it is queued, in the thread that queued it (the test's, or the
    live server's); a task scheduled ahead waits in Huey's schedule, where a test reads it."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture
def nothing_cached():
    """An empty cache before and after the test: a page cached earlier would answer in place of
    the platform (and hide a call), and a hostile agent name or page stays behind for no one."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def quick_password_hashing(settings):
    """A fast password hash, for suites that log in and fail to log in hundreds of times; the
    hash's strength is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def trap():
    """A plain-http host other than the platform, recording what it receives."""
    with Trap() as server:
        yield server


def pytest_terminal_summary(terminalreporter):
    """What the security and resilience suites tried, once at the end of a run."""
    tally.report(terminalreporter)


def pytest_collection_modifyitems(items):
    """Run browser tests last: their transactional database flush is then paid once."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
