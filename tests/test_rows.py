"""The list's rows (conversations/templatetags/rows.py): times, links, review cells, escaping."""

import datetime
import re
import zoneinfo
from urllib.parse import quote

import pytest

from conversations import reviews

pytestmark = pytest.mark.django_db


def row_of(html, conversation_id):
    match = re.search(rf'<tr id="row-{conversation_id}">.*?</tr>', html, re.DOTALL)
    assert match, f"no row for {conversation_id}"
    return match.group(0)


def started_at(emulator, conversation_id):
    text = emulator.raw(conversation_id)["metadata"]["start_time"]
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "UTC"])
def test_a_row_shows_when_the_call_started_in_the_viewers_time_zone(as_role, emulator, zone):
    client = as_role("Reviewer")
    client.cookies["tz"] = quote(zone, safe="")  # as app.js writes it: "Asia%2FKolkata"
    first = emulator.conversation_ids()[0]
    local = started_at(emulator, first).astimezone(zoneinfo.ZoneInfo(zone))
    row = row_of(client.get("/").content.decode(), first)
    assert f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M}</time>' in row


@pytest.mark.parametrize(
    "cookie",
    [
        "Mars%2FOlympus_Mons",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Flocaltime",
        "Europe",
        "America%2FNew_York%2F",
        "UTC%00",
        "%ZZ",
        "%FF",
        "x" * 80,
    ],
)
def test_an_unknown_time_zone_cookie_shows_times_in_utc(as_role, emulator, cookie):
    client = as_role("Reviewer")
    client.cookies["tz"] = cookie
    first = emulator.conversation_ids()[0]
    utc = started_at(emulator, first).astimezone(datetime.UTC)
    row = row_of(client.get("/").content.decode(), first)
    assert f'<time datetime="{utc.isoformat()}">' in row


def test_a_row_links_to_its_conversation_keeping_the_list_filters(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    first = emulator.conversation_ids(agent_id)[0]
    reviewer = as_role("Reviewer")
    html = reviewer.get("/", {"agent": agent_id}).content.decode()
    assert f'<a href="/conversations/{first}/?agent={agent_id}">' in row_of(html, first)
    html = reviewer.get("/").content.decode()
    assert f'<a href="/conversations/{first}/">' in row_of(html, first)


def test_review_cells_show_status_assignee_and_tags_with_markup_as_text(
    as_role, emulator, make_user
):
    lead = make_user("Lead", username="lena")
    rita = make_user("Reviewer", username="rita")
    first = emulator.conversation_ids()[0]
    reviews.save_review(
        conversation_id=first,
        user=lead,
        status="follow_up",
        assignee=rita,
        tags=["<b>loud</b>", 'a"b'],
    )
    row = row_of(as_role("Admin").get("/").content.decode(), first)
    assert '<span class="review follow_up">Needs follow-up</span>' in row
    assert f'<td id="assignee-{first}">rita</td>' in row
    assert (
        f'<td id="tags-{first}"><span class="tag">&lt;b&gt;loud&lt;/b&gt;</span> '
        '<span class="tag">a&quot;b</span> </td>'
    ) in row
    assert "<b>" not in row


def test_an_unreviewed_row_says_so_and_offers_delete_only_to_those_who_may(as_role, emulator):
    first = emulator.conversation_ids()[0]
    reviewer_row = row_of(as_role("Reviewer").get("/").content.decode(), first)
    assert '<span class="review unreviewed">Unreviewed</span>' in reviewer_row
    assert f'<td id="assignee-{first}"></td>' in reviewer_row
    assert "Delete" not in reviewer_row
    admin_row = row_of(as_role("Admin").get("/").content.decode(), first)
    assert f'hx-get="/conversations/{first}/delete?from=list"' in admin_row
