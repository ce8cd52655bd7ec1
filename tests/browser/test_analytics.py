"""The analytics page in a real browser: a lead reaches a bar with the keyboard and opens the
calls it counts."""

import re
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from conversations import sync
from conversations.models import IndexedConversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAR = re.compile(r"(?P<day>.+): (?P<count>\d+) calls? of (?P<agent>.+)")
FOCUSED_BAR = """() => {
    const mark = document.activeElement.closest('#chart-calls a.mark');
    return mark ? mark.getAttribute('aria-label') : null;
}"""


def tab_to_a_bar(page, presses=300):
    """Press Tab until a bar of "Calls per day" that counts calls has the focus: its words."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        label = page.evaluate(FOCUSED_BAR)
        if label and BAR.fullmatch(label):
            return label
    pytest.fail(f"No bar of the calls chart was reached in {presses} presses of Tab.")


def test_a_lead_tabs_to_a_bar_presses_enter_and_lands_on_its_calls(
    login, live_server, emulator, screenshot
):
    sync.backfill(pages=100)
    page = login("Lead")
    page.goto(f"{live_server.url}/analytics/?range=30d")
    screenshot(page, "analytics")
    label = tab_to_a_bar(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?agent="))

    query = parse_qs(urlsplit(page.url).query)
    agent, day = query["agent"][0], date.fromisoformat(query["since"][0])
    assert query["until"] == [day.isoformat()]
    assert set(query) == {"agent", "since", "until"}
    zone = ZoneInfo(page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone"))
    start = datetime.combine(day, time.min, zone)
    expected = IndexedConversation.objects.filter(
        agent_id=agent, start_time__gte=start, start_time__lt=start + timedelta(days=1)
    )
    rows = page.locator("table.conversations tbody tr[id^=row-]")
    listed = {row_id.removeprefix("row-") for row_id in rows.evaluate_all("r => r.map(e => e.id)")}
    assert listed == set(expected.values_list("conversation_id", flat=True))
    assert len(listed) == int(BAR.fullmatch(label)["count"])
    assert {name for name in expected.values_list("agent_name", flat=True)} == {
        BAR.fullmatch(label)["agent"]
    }
