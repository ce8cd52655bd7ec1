"""Signed URLs and tokens for testing an agent: Admin only, server-side, never cached."""

import pytest

from tests.conftest import EMULATOR_KEY

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
    assert 'id="credential-value"' in response.content.decode()


@pytest.mark.parametrize("role", ["Reviewer", "Lead"])
def test_other_roles_are_refused_without_a_platform_call(as_role, emulator, role):
    agent_id, _ = emulator.agents[0]
    user_client = as_role(role)
    assert user_client.get(f"/agents/{agent_id}/token").status_code == 403
    assert user_client.get(f"/agents/{agent_id}/signed-url").status_code == 403
    assert emulator.calls == []


def test_the_agent_panel_shows_for_admins_filtering_by_agent(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    html = as_role("Admin").get("/", {"agent": agent_id}).content.decode()
    assert f"/agents/{agent_id}/signed-url" in html
    assert "short-lived" in html


def test_an_unknown_agent_is_a_clear_error(as_role, emulator):
    response = as_role("Admin").get("/agents/agent_unknown/token")
    assert response.status_code == 404
    assert "agent" in response.content.decode().split("<main")[1]
