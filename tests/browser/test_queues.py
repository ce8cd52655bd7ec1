"""A lead samples a review queue from a filtered list; a reviewer walks it with "Save and
next", in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD
from tests.index_helpers import indexed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_a_lead_samples_a_queue_and_a_reviewer_walks_it(login, live_server, emulator, make_user):
    agent_id, _ = emulator.agents[0]
    ids = emulator.conversation_ids(agent_id)[:3]
    # The index holds the agent's three calls (the worker would have written them).
    for number, conversation_id in enumerate(ids):
        indexed(conversation_id, agent_id=agent_id, hours_ago=number + 1)
    make_user("Reviewer", "rita")

    page = login("Lead")
    page.get_by_label("Agent").fill(agent_id)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"[?&]agent={agent_id}"))
    page.get_by_role("link", name="Sample a review queue from this list").click()
    expect(page.locator(".queue-scope")).to_contain_text("3 calls match")
    page.get_by_label("Name", exact=True).fill("Week 48")
    page.get_by_label("How many (percent, or calls)").fill("100")
    page.get_by_label("rita").check()
    page.get_by_role("button", name="Draw the queue").click()
    expect(page.locator("h1")).to_have_text("Week 48")
    expect(page.locator(".queue-items tbody tr")).to_have_count(3)
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "rita")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queues").click()
    expect(page.locator(".queues tbody tr")).to_contain_text("0 of 3")
    page.get_by_role("button", name="Start").click()
    for done in range(3):
        bar = page.locator(".queue-bar")
        expect(bar).to_contain_text(f"{done} of 3 done")
        page.locator("#review-panel input[name=status][value=passed]").check()
        page.locator("#review-panel").get_by_role("button", name="Save and next").click()
        if done < 2:
            expect(bar).to_contain_text(f"{done + 1} of 3 done")
    page.wait_for_url(re.compile(r"/queues/\d+/$"))
    expect(page.locator(".queue-progress")).to_contain_text("3 of 3 done")
    expect(page.get_by_role("button", name=re.compile("Start|Continue"))).to_have_count(0)
