"""A reviewer's and an admin's day, in a real browser."""

import datetime
import re
import zoneinfo

import pytest
from playwright.sync_api import expect

from conversations.models import AuditRecord
from tests.helpers import first_with_audio, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_sees_when_calls_started_in_their_browsers_time_zone(page, login, emulator):
    # Set before the first page, so our script sees the zone as a reviewer's browser would.
    page.context.new_cdp_session(page).send(
        "Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"}
    )
    login("Reviewer")
    # The first page tells the server the zone (in a cookie); the next one is rendered in it.
    wait_until(page, "document.cookie.includes('tz=')")
    page.reload()
    first = emulator.conversation_ids()[0]
    utc = emulator.raw(first)["metadata"]["start_time"].replace("Z", "+00:00")
    tokyo = datetime.datetime.fromisoformat(utc).astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    started = page.locator(f"#row-{first} time")
    expect(started).to_have_attribute("datetime", tokyo.isoformat())
    expect(started).to_have_text(f"{tokyo:%Y-%m-%d %H:%M}")


def test_a_reviewer_filters_by_agent_and_loads_more(login, emulator, settings, screenshot):
    settings.XUNA_PAGE_SIZE = 10
    page = login("Reviewer")
    expect(page.locator("tbody#rows tr[id^=row-]")).to_have_count(10)
    screenshot(page, "list")
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("tbody#rows tr[id^=row-]")).to_have_count(20)

    agent_id, _ = emulator.agents[0]
    page.get_by_label("Agent").fill(agent_id)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"[?&]agent={agent_id}"))
    shown = page.locator("tbody#rows tr[id^=row-]").evaluate_all("rows => rows.map(r => r.id)")
    assert shown == [f"row-{cid}" for cid in emulator.conversation_ids(agent_id)[:10]]
    page.go_back()
    # Back shows the list as it was left: with the rows "Load more" added (?shown=20).
    expect(page.locator("tbody#rows tr[id^=row-]")).to_have_count(20)


def test_a_reviewer_plays_audio_and_seeks_from_a_turn(login, live_server, emulator, screenshot):
    conversation_id = first_with_audio(emulator)
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{conversation_id}/")
    calls = [(c.method, c.path) for c in emulator.calls]
    assert page.locator(".turn").count() > 0, f"{conversation_id} not shown; emulator saw {calls}"
    screenshot(page, "detail")
    player = page.locator("#player")
    player.evaluate("audio => audio.play()")
    wait_until(page, "document.getElementById('player').currentTime > 0.5")

    last_turn = page.locator("[data-seek]").last
    target = float(last_turn.get_attribute("data-seek"))
    last_turn.click()
    wait_until(page, f"Math.abs(document.getElementById('player').currentTime - {target}) < 1.5")
    expect(page.locator(".turn.current")).to_have_count(1)

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press(" ")
    wait_until(page, "document.getElementById('player').paused")


def test_an_admin_cancels_then_confirms_a_deletion(login, live_server, emulator):
    page = login("Admin")
    conversation_id = emulator.conversation_ids()[0]
    row = page.locator(f"#row-{conversation_id}")
    row.get_by_role("link", name=re.compile("Delete")).click()
    dialog = page.locator("dialog#delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert conversation_id in emulator.conversation_ids()

    row.get_by_role("link", name=re.compile("Delete")).click()
    expect(page.locator("dialog#delete-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#delete-dialog")).to_have_count(0)

    row.get_by_role("link", name=re.compile("Delete")).click()
    dialog = page.locator("dialog#delete-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("recording holds card details")
    dialog.get_by_role("button", name="Delete permanently").dblclick()
    expect(row).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("deleted permanently")
    assert conversation_id not in emulator.conversation_ids()
    # The attempt, written before the platform was asked, and its outcome.
    assert AuditRecord.objects.filter(conversation_id=conversation_id).count() == 2

    page.goto(f"{live_server.url}/audit/")
    expect(page.locator("table.audit")).to_contain_text(conversation_id)
    expect(page.locator("table.audit")).to_contain_text("recording holds card details")


def test_an_admin_deletes_from_the_conversation_page(login, live_server, emulator):
    page = login("Admin")
    conversation_id = emulator.conversation_ids()[1]
    page.goto(f"{live_server.url}/conversations/{conversation_id}/")
    page.get_by_role("link", name="Delete…").click()
    dialog = page.locator("dialog")
    # Without a reason the browser keeps the dialog open and asks for one.
    dialog.get_by_role("button", name="Delete permanently").click()
    expect(dialog.get_by_label("Reason")).to_be_focused()
    assert conversation_id in emulator.conversation_ids()
    dialog.get_by_label("Reason").fill("caller asked")
    dialog.get_by_role("button", name="Delete permanently").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("#toasts")).to_contain_text(conversation_id)
    assert conversation_id not in emulator.conversation_ids()


def test_a_reviewer_sees_no_delete_button(login, live_server, emulator):
    page = login("Reviewer")
    expect(page.get_by_role("link", name=re.compile("Delete"))).to_have_count(0)
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    expect(page.get_by_role("link", name=re.compile("Delete"))).to_have_count(0)
