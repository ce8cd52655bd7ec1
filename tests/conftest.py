"""Shared fixtures: a real emulator over real sockets, users in each role."""

import secrets

import pytest

from emulator.server import Emulator

# A new key each run: a stray client of another test run on this machine that happens to reach
# this run's emulator port is refused instead of changing its data.
EMULATOR_KEY = f"emulator-test-key-{secrets.token_hex(8)}"


@pytest.fixture(scope="session")
def emulator_server():
    server = Emulator(port=0, api_key=EMULATOR_KEY, seed=1, conversations=240)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server, settings):
    """The emulator with fresh seeded data, the dashboard pointed at it, an empty cache."""
    from django.core.cache import cache

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
            username=username or f"{(role or 'nobody').lower()}-user", password="a-long-pass-phrase"
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


def pytest_collection_modifyitems(items):
    """Run browser tests last: their transactional database flush is then paid once."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
