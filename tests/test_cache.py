"""The short cache of list pages and conversations (conversations/cache.py)."""

import runpy
import types
import uuid

import django.core.cache.backends.base
import django.core.cache.backends.locmem
import pytest
from django.core.cache import cache

from conversations import cache as response_cache
from conversations import client, reader
from emulator.server import Emulator
from tests.helpers import EMULATOR_KEY, calls_to, import_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory_cache(settings):
    """Django's memory cache, whatever REDIS_URL says: these tests read its clock or entries.

    A location of its own, so that nothing an earlier test stored is in it.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,
        }
    }


@pytest.fixture
def clock(monkeypatch, memory_cache):
    """The cache's clock, moved by hand: lifetimes are tested without waiting for them."""
    now = [1_000_000.0]
    fake = types.SimpleNamespace(time=lambda: now[0])
    monkeypatch.setattr(django.core.cache.backends.base, "time", fake)
    monkeypatch.setattr(django.core.cache.backends.locmem, "time", fake)
    return now


@pytest.fixture
def other_worker(settings):
    """Switch between two memory caches, as two gunicorn workers each have their own."""
    prefix = uuid.uuid4().hex

    def use(name):
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"{prefix}-{name}",
            }
        }

    return use


# Repeats within the lifetime -------------------------------------------------------------------


def test_a_repeated_list_page_within_its_lifetime_makes_no_upstream_call(as_role, emulator):
    reviewer = as_role("Reviewer")
    first = reviewer.get("/")
    second = reviewer.get("/")
    assert first.status_code == second.status_code == 200
    assert calls_to(emulator, "list") == 1
    first_id = emulator.conversation_ids()[0]
    assert first_id in first.content.decode()
    assert first_id in second.content.decode()


def test_a_repeated_conversation_page_within_its_lifetime_makes_no_upstream_call(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    for _ in range(3):
        assert reviewer.get(f"/conversations/{conversation_id}/").status_code == 200
    assert calls_to(emulator, "get") == 1


def test_each_page_of_the_list_and_each_filter_is_cached_apart(emulator):
    agent_id = emulator.agents[0][0]
    first = client.list_conversations(page_size=10)
    second = client.list_conversations(page_size=10, cursor=first.next_cursor)
    filtered = client.list_conversations(page_size=10, agent_id=agent_id)
    bigger = client.list_conversations(page_size=20)
    assert calls_to(emulator, "list") == 4
    assert not {c.id for c in first.items} & {c.id for c in second.items}
    assert {c.agent_id for c in filtered.items} == {agent_id}
    assert len(bigger.items) == 20
    # ...and each of them again comes from the cache.
    assert client.list_conversations(page_size=10, cursor=first.next_cursor) == second
    assert client.list_conversations(page_size=10, agent_id=agent_id) == filtered
    assert calls_to(emulator, "list") == 4


def test_a_cached_conversation_is_the_same_as_a_fetched_one(emulator, settings):
    conversation_id = emulator.conversation_ids()[0]
    cached_twice = [client.get_conversation(conversation_id) for _ in range(2)]
    settings.XUNA_CACHE = False
    assert cached_twice[0] == cached_twice[1] == client.get_conversation(conversation_id)


# Lifetimes and the off switch ------------------------------------------------------------------


def test_a_list_page_is_fetched_again_after_its_lifetime(emulator, settings, clock):
    settings.XUNA_CACHE_LIST_SECONDS = 30
    client.list_conversations(page_size=10)
    clock[0] += 29
    client.list_conversations(page_size=10)
    assert calls_to(emulator, "list") == 1
    clock[0] += 2
    client.list_conversations(page_size=10)
    assert calls_to(emulator, "list") == 2


def test_a_conversation_is_fetched_again_after_its_lifetime(emulator, settings, clock):
    settings.XUNA_CACHE_CONVERSATION_SECONDS = 60
    conversation_id = emulator.conversation_ids()[0]
    client.get_conversation(conversation_id)
    clock[0] += 59
    client.get_conversation(conversation_id)
    assert calls_to(emulator, "get") == 1
    clock[0] += 2
    client.get_conversation(conversation_id)
    assert calls_to(emulator, "get") == 2


def test_the_two_lifetimes_are_set_apart(emulator, settings, clock):
    settings.XUNA_CACHE_LIST_SECONDS = 5
    settings.XUNA_CACHE_CONVERSATION_SECONDS = 500
    conversation_id = emulator.conversation_ids()[0]
    client.list_conversations(page_size=10)
    client.get_conversation(conversation_id)
    clock[0] += 100
    client.list_conversations(page_size=10)
    client.get_conversation(conversation_id)
    assert (calls_to(emulator, "list"), calls_to(emulator, "get")) == (2, 1)


def test_with_the_cache_off_every_request_reaches_the_platform(as_role, emulator, settings):
    settings.XUNA_CACHE = False
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    for _ in range(3):
        reviewer.get("/")
        reviewer.get(f"/conversations/{conversation_id}/")
    assert (calls_to(emulator, "list"), calls_to(emulator, "get")) == (3, 3)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("XUNA_CACHE", "sometimes"),
        ("XUNA_CACHE_LIST_SECONDS", "0"),
        ("XUNA_CACHE_LIST_SECONDS", "half a minute"),
        ("XUNA_CACHE_CONVERSATION_SECONDS", "86400"),
        ("GUNICORN_THREADS", "0"),
        ("XUNA_API_POOL_SIZE", "many"),
    ],
)
def test_a_bad_cache_or_pool_setting_stops_start_up_naming_it(name, value):
    result = import_settings(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_the_connection_pool_follows_the_server_threads(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 50)
    monkeypatch.delenv("XUNA_API_POOL_SIZE", raising=False)
    monkeypatch.setenv("GUNICORN_THREADS", "12")
    assert runpy.run_path("dashboard/settings.py")["XUNA_API_POOL_SIZE"] == 12
    monkeypatch.setenv("XUNA_API_POOL_SIZE", "5")
    assert runpy.run_path("dashboard/settings.py")["XUNA_API_POOL_SIZE"] == 5


# What the keys hold, and whose data ------------------------------------------------------------


def test_no_cache_key_holds_the_api_key_or_the_platform_address(emulator, memory_cache):
    conversation_id = emulator.conversation_ids()[0]
    client.list_conversations(page_size=10)
    client.get_conversation(conversation_id)
    # LocMemCache keeps its entries in _cache; the keys are all this test needs to read.
    keys = list(cache._cache)
    assert len(keys) >= 3  # a list page, a conversation, the list generation
    assert not [key for key in keys if EMULATOR_KEY in key or emulator.url in key]


def test_another_api_key_never_reads_what_this_one_cached(emulator, settings):
    client.list_conversations(page_size=10)
    settings.XUNA_API_KEY = "another-workspace-key"
    # The emulator refuses that key: an answer from the cache would have hidden the refusal.
    with pytest.raises(client.AuthenticationFailed):
        client.list_conversations(page_size=10)
    assert [call.authorized for call in emulator.calls] == [True, False]


def test_another_platform_address_never_reads_what_this_one_cached(emulator, settings):
    with Emulator(port=0, api_key=EMULATOR_KEY, seed=2, conversations=20) as other:
        client.list_conversations(page_size=10)
        settings.XUNA_API_BASE_URL = other.url
        page = client.list_conversations(page_size=10)
        assert [call.endpoint for call in other.calls] == ["list"]
    assert {c.id for c in page.items} <= set(other.conversation_ids())


def test_every_role_that_may_see_the_list_sees_the_same_cached_page(as_role, emulator):
    # Keys carry no user: the view checks the permission before the client is called.
    pages = [as_role(role).get("/") for role in ("Reviewer", "Lead", "Admin")]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert calls_to(emulator, "list") == 1


def test_a_user_without_the_permission_gets_nothing_from_a_warm_cache(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    assert reviewer.get("/").status_code == 200
    assert reviewer.get(f"/conversations/{conversation_id}/").status_code == 200
    nobody = as_role(None)
    assert nobody.get("/").status_code == 403
    assert nobody.get(f"/conversations/{conversation_id}/").status_code == 403


# Deletion --------------------------------------------------------------------------------------


def listed(page, conversation_id):
    """Whether a list page offers the conversation (a toast may still name a deleted one)."""
    return f'href="/conversations/{conversation_id}/' in page.content.decode()


def delete(admin, conversation_id):
    response = admin.post(
        f"/conversations/{conversation_id}/delete", {"reason": "asked", "origin": "list"}
    )
    assert response.status_code == 302


def test_a_deletion_removes_the_conversation_from_cached_pages_at_once(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    admin = as_role("Admin")
    assert listed(admin.get("/"), conversation_id)
    assert admin.get(f"/conversations/{conversation_id}/").status_code == 200

    delete(admin, conversation_id)

    # Within both lifetimes: neither the pages nor the client's cache still offer it.
    assert not listed(admin.get("/"), conversation_id)
    assert admin.get(f"/conversations/{conversation_id}/").status_code == 404
    assert conversation_id not in {c.id for c in client.list_conversations(page_size=50).items}
    with pytest.raises(client.ConversationNotFound):
        client.get_conversation(conversation_id)


def test_a_deletion_invalidates_every_cached_list_page_not_only_the_first(emulator):
    first = client.list_conversations(page_size=10)
    second = client.list_conversations(page_size=10, cursor=first.next_cursor)
    victim = second.items[0].id
    client.delete_conversation(victim)
    again = client.list_conversations(page_size=10, cursor=first.next_cursor)
    assert victim not in {c.id for c in again.items}
    assert calls_to(emulator, "list") == 3


def test_a_deletion_hides_the_conversation_from_a_worker_whose_cache_still_holds_it(
    as_role, emulator, other_worker
):
    conversation_id = emulator.conversation_ids()[0]
    admin = as_role("Admin")
    other_worker("worker-b")
    assert listed(admin.get("/"), conversation_id)
    assert admin.get(f"/conversations/{conversation_id}/").status_code == 200

    other_worker("worker-a")
    delete(admin, conversation_id)

    other_worker("worker-b")
    # Worker B never heard of the deletion: its cache still returns the conversation...
    assert conversation_id in {c.id for c in client.list_conversations(page_size=50).items}
    assert client.get_conversation(conversation_id).id == conversation_id
    # ...and its pages still never show it: the audit log in the shared database decides.
    assert not listed(admin.get("/"), conversation_id)
    assert admin.get(f"/conversations/{conversation_id}/").status_code == 404


def test_a_conversation_gone_from_the_platform_leaves_the_cached_list(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    assert conversation_id in reviewer.get("/").content.decode()
    emulator.set_fault("get", "404", times=1)  # deleted elsewhere, say in the platform's UI
    assert reviewer.get(f"/conversations/{conversation_id}/").status_code == 404
    reviewer.get("/")
    assert calls_to(emulator, "list") == 2


def test_a_failed_deletion_still_refreshes_the_lists(emulator):
    # A timeout or a 5xx can come after the platform deleted it: the lists are read again.
    conversation_id = emulator.conversation_ids()[0]
    client.list_conversations(page_size=10)
    emulator.set_fault("delete", "500")
    with pytest.raises(client.UpstreamUnavailable):
        client.delete_conversation(conversation_id)
    client.list_conversations(page_size=10)
    assert calls_to(emulator, "list") == 2


def test_an_evicted_list_generation_never_brings_back_older_pages(emulator, memory_cache):
    victim = emulator.conversation_ids()[0]
    client.list_conversations(page_size=10)
    client.delete_conversation(victim)
    # The counter is lost (evicted, or a cache restarted) while older pages are still stored.
    generation_keys = [key for key in cache._cache if "list-generation" in key]
    assert len(generation_keys) == 1
    cache.delete(generation_keys[0].removeprefix(cache.make_key("")))
    assert not [key for key in cache._cache if "list-generation" in key]
    assert victim not in {c.id for c in client.list_conversations(page_size=10).items}


# Answers the reader could not fully read -------------------------------------------------------


def test_a_malformed_conversation_is_not_cached_so_the_next_call_sees_the_recovered_platform(
    emulator,
):
    conversation_id = next(i for i in emulator.conversation_ids() if emulator.raw(i).get("audio"))
    emulator.set_fault("get", "wrong_types", times=1)
    malformed = client.get_conversation(conversation_id)
    assert malformed.problems
    assert malformed.audio_url is None
    recovered = client.get_conversation(conversation_id)
    assert recovered.problems == ()
    assert recovered.audio_url == emulator.raw(conversation_id)["audio"]
    # The good answer is cached as usual.
    assert client.get_conversation(conversation_id) == recovered
    assert calls_to(emulator, "get") == 2


def test_a_malformed_list_page_is_not_cached_so_the_next_call_sees_the_recovered_platform(
    emulator,
):
    emulator.set_fault("list", "wrong_types", times=1)
    assert client.list_conversations(page_size=10).problems
    recovered = client.list_conversations(page_size=10)
    assert recovered.problems == ()
    assert [c.id for c in recovered.items] == emulator.conversation_ids()[:10]


def test_a_list_page_is_not_cached_when_only_one_of_its_items_was_unreadable(memory_cache):
    page = reader.parse_page({"conversations": [{"conversation_id": "conv_1", "status": 7}]})
    assert page.problems == ()
    assert page.items[0].problems
    loads = []
    for _ in range(2):
        response_cache.cached("a-page", 60, lambda: loads.append(page) or page)
    assert len(loads) == 2


# Audio -----------------------------------------------------------------------------------------


def test_audio_is_never_cached(as_role, emulator):
    conversation_id = next(i for i in emulator.conversation_ids() if emulator.raw(i).get("audio"))
    reviewer = as_role("Reviewer")
    for _ in range(2):
        response = reviewer.get(f"/conversations/{conversation_id}/audio")
        assert response.status_code == 200
        assert b"".join(response.streaming_content)[:4] == b"RIFF"
    assert calls_to(emulator, "audio") == 2
