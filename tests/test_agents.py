"""Signed URLs and tokens for testing an agent: Admin only, server-side, never cached."""

import re

import pytest

from conversations import agents
from conversations import client as platform
from tests.helpers import EMULATOR_KEY, element

pytestmark = pytest.mark.django_db


def test_an_admin_gets_a_signed_url_as_json(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    response = as_role("Admin").get(f"/agents/{agent_id}/signed-url")
    assert response.status_code == 200
    assert response.json()["signed_url"].startswith("wss://")
    assert "no-store" in response["Cache-Control"]
    assert EMULATOR_KEY not in response.content.decode()


def test_an_admin_gets_a_token_as_json(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    response = as_role("Admin").get(f"/agents/{agent_id}/token")
    assert response.status_code == 200
    assert response.json()["token"]
    assert "no-store" in response["Cache-Control"]


def test_htmx_gets_the_credential_as_a_fragment(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    response = as_role("Admin").get(f"/agents/{agent_id}/token", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    field = element(html, "input", id="credential-value")
    assert re.search(r'value="[A-Za-z0-9_-]{20,}"', field)


@pytest.mark.parametrize("role", ["Reviewer", "Lead"])
def test_other_roles_are_refused_without_a_platform_call(as_role, emulator, role):
    agent_id, _ = emulator.agents[0]
    user_client = as_role(role)
    assert user_client.get(f"/agents/{agent_id}/token").status_code == 403
    assert user_client.get(f"/agents/{agent_id}/signed-url").status_code == 403
    assert emulator.calls == []


@pytest.mark.parametrize("role", ["Reviewer", "Lead"])
def test_other_roles_filtering_by_agent_see_no_agent_panel(as_role, emulator, role):
    agent_id, _ = emulator.agents[0]
    html = as_role(role).get("/", {"agent": agent_id}).content.decode()
    assert "/signed-url" not in html
    assert "short-lived" not in html


def test_the_agent_panel_shows_for_admins_filtering_by_agent(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    html = as_role("Admin").get("/", {"agent": agent_id}).content.decode()
    assert f"/agents/{agent_id}/signed-url" in html
    assert "short-lived" in html


def test_an_unknown_agent_is_a_clear_error(as_role, emulator):
    response = as_role("Admin").get("/agents/agent_unknown/token")
    assert response.status_code == 404
    assert "The platform has no agent with this id." in response.content.decode()


# The agent filter (agents.agent_filter): the list, the export and our own links read it.


@pytest.fixture
def named_agent(settings):
    settings.XUNA_AGENT_NAMES = {"agent_night": "Night shift bot"}
    return "agent_night"


def test_the_agent_filter_takes_a_known_agents_name_in_any_case(named_agent):
    assert agents.agent_filter("  night SHIFT bot ") == named_agent


def test_the_agent_filter_takes_a_pasted_id(named_agent):
    assert agents.agent_filter("agent_other") == "agent_other"


def test_the_agent_filter_refuses_what_is_neither_a_name_nor_an_id(named_agent):
    with pytest.raises(platform.InvalidIdentifier):
        agents.agent_filter("no such bot")


def test_the_agent_filter_of_our_own_link_drops_what_is_not_an_id(named_agent):
    assert agents.agent_filter("a/b", lenient=True) is None


def test_an_export_takes_the_agent_filter_by_name_like_the_list(as_role, emulator, settings):
    agent_id, _ = emulator.agents[0]
    settings.XUNA_AGENT_NAMES = {agent_id: "Night shift bot"}
    response = as_role("Lead").get("/export/", {"format": "jsonl", "agent": "night shift bot"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == len(emulator.conversation_ids(agent_id))
