"""The conversation list: one platform call per page, agent filter, load more, empty state."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import element, row_ids, row_of

pytestmark = pytest.mark.django_db


def add_call(emulator, **metadata):
    """A conversation that started three hours ago, newer than every seeded one."""
    started = timezone.now() - timedelta(hours=3, minutes=5)
    return emulator.add_conversation(
        {
            "conversation_id": "conv_newest",
            "agent_id": "agent_night",
            "metadata": {"start_time": started.isoformat(), **metadata},
            "transcript": [],
        }
    )


def test_it_redirects_anonymous_users_to_login(client, emulator):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert emulator.calls == []


def test_it_lists_the_newest_conversations_with_one_platform_call(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 50
    response = as_role("Reviewer").get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert row_ids(html) == emulator.conversation_ids()[:50]
    assert [c.endpoint for c in emulator.calls] == ["list"]


def test_a_row_shows_the_agents_name(as_role, emulator):
    conversation_id = add_call(emulator, agent_name="Night shift bot")
    row = row_of(as_role("Reviewer").get("/").content.decode(), conversation_id)
    assert '<td data-label="Agent">Night shift bot</td>' in row
    assert f'<a class="open" href="/conversations/{conversation_id}/"' in row


def test_a_row_shows_the_duration_in_minutes_and_seconds(as_role, emulator):
    conversation_id = add_call(emulator, duration=95)
    row = row_of(as_role("Reviewer").get("/").content.decode(), conversation_id)
    assert '<td class="num" data-label="Duration">1:35</td>' in row


def test_a_row_shows_how_long_ago_the_call_started(as_role, emulator):
    conversation_id = add_call(emulator)
    row = row_of(as_role("Reviewer").get("/").content.decode(), conversation_id)
    assert '<span class="muted small">3 h ago</span>' in row


def test_it_filters_by_agent_and_keeps_the_filter_in_the_url(as_role, emulator):
    agent_id, name = emulator.agents[1]
    response = as_role("Reviewer").get("/", {"agent": agent_id})
    ids = row_ids(response.content.decode())
    assert ids == emulator.conversation_ids(agent_id)[: len(ids)]
    assert emulator.calls[-1].query.get("agent_id") in (agent_id, [agent_id])
    # The box shows the agent's name, which the filter reads back as this agent.
    assert f'value="{name}"' in element(response.content.decode(), "input", name="agent")
    assert f"agent={agent_id}" in response.context["list_query"]


def test_it_accepts_a_known_agent_name_in_the_filter(as_role, emulator):
    reviewer = as_role("Reviewer")
    reviewer.get("/")  # the agents seen on the first page are remembered
    agent_id, name = next((a, n) for a, n in emulator.agents if n)
    response = reviewer.get("/", {"agent": name})
    assert response.status_code == 200
    assert set(row_ids(response.content.decode())) <= set(emulator.conversation_ids(agent_id))


def test_it_offers_configured_agent_names(as_role, emulator, settings):
    settings.XUNA_AGENT_NAMES = {"agent_configured": "Night shift bot"}
    html = as_role("Reviewer").get("/").content.decode()
    assert '<option value="Night shift bot">agent_configured</option>' in html


def test_load_more_returns_the_next_rows_as_a_fragment(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 20
    reviewer = as_role("Reviewer")
    first = reviewer.get("/").content.decode()
    cursor = re.search(r'hx-get="/\?cursor=([^"]+)"', first).group(1)
    more = reviewer.get(f"/?cursor={cursor}", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in more
    assert row_ids(more) == emulator.conversation_ids()[20:40]
    assert 'id="load-more"' in more


def test_load_more_is_a_plain_link_without_javascript(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 20
    reviewer = as_role("Reviewer")
    first = reviewer.get("/").content.decode()
    href = re.search(r'<a href="(\?cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    page = reviewer.get("/" + href).content.decode()
    assert "<html" in page
    assert row_ids(page) == emulator.conversation_ids()[20:40]


def test_an_empty_result_says_so_and_offers_to_clear_the_filter(as_role, emulator):
    html = as_role("Reviewer").get("/", {"agent": "agent_nobody"}).content.decode()
    assert "No conversations for agent agent_nobody" in html
    assert "Clear the filter" in html


@pytest.mark.parametrize("agent", ["..", "a/b", "//evil.example", "a?b", "x" * 10_000, "é"])
def test_a_hostile_agent_filter_is_refused_without_a_platform_call(as_role, emulator, agent):
    response = as_role("Reviewer").get("/", {"agent": agent})
    assert response.status_code == 400
    assert emulator.calls == []


@pytest.mark.parametrize("cursor", ["a b", "\x00", "x" * 5000, "é"])
def test_a_garbage_cursor_is_refused_without_a_platform_call(as_role, emulator, cursor):
    response = as_role("Reviewer").get("/", {"cursor": cursor})
    assert response.status_code == 400
    assert emulator.calls == []


def test_a_user_without_a_role_is_refused(as_role, emulator):
    response = as_role(None).get("/")
    assert response.status_code == 403
    assert emulator.calls == []


def test_only_admins_see_delete_controls_on_the_list(as_role, emulator):
    assert "Delete" not in as_role("Reviewer").get("/").content.decode()


def test_admins_see_delete_controls_on_the_list(as_role, emulator):
    assert 'aria-label="Delete conversation' in as_role("Admin").get("/").content.decode()
