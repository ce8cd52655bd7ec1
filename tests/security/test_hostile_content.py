"""Whatever the platform sends is shown as inert text, and the page keeps its shape."""

from urllib.parse import quote

import pytest

from conversations.models import AuditRecord
from tests.security import hostile
from tests.security.markup import Page, inline_code
from tests.security.tally import COUNTS, send

# A bulk deletion is a job: Huey runs it when it is queued, so its records are there to check.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_run_at_once")]

# What must show as text, character for character (NUL and friends are left to the browser).
SHOWN_AS_TEXT = [
    hostile.MARKUP,
    hostile.BREAKOUT,
    hostile.SCRIPT_URL,
    hostile.LONG_WORD,
    hostile.RIGHT_TO_LEFT,
    hostile.TEMPLATE,
]


@pytest.fixture
def pair(emulator):
    return hostile.add_pair(emulator)


def text_of(html):
    return "".join(Page(html).text)


@pytest.mark.parametrize("role", ["Reviewer", "Admin"])
def test_the_conversation_page_shows_hostile_content_as_text_in_the_same_layout(
    as_role, pair, role
):
    user = as_role(role)
    hostile_id, twin_id = pair
    attacked = send(user, "GET", f"/conversations/{hostile_id}/")
    twin = send(user, "GET", f"/conversations/{twin_id}/")
    COUNTS["hostile"] += len(hostile.HOSTILE_TEXTS)
    assert attacked.status_code == twin.status_code == 200
    html = attacked.content.decode()
    assert inline_code(html) == []
    assert Page(html).tags() == Page(twin.content.decode()).tags()
    for value in SHOWN_AS_TEXT:
        assert value in text_of(html)
    assert "alert(1)>" not in html.replace("&gt;", "")  # no unescaped markup at all


def test_the_list_shows_a_hostile_agent_name_and_status_as_text(as_role, pair):
    html = send(as_role("Admin"), "GET", "/").content.decode()
    assert f"row-{pair[0]}" in html
    assert inline_code(html) == []
    assert hostile.MARKUP + hostile.RIGHT_TO_LEFT in text_of(html)
    assert hostile.BREAKOUT in text_of(html)


@pytest.mark.parametrize("htmx", [False, True])
def test_the_delete_confirmation_shows_hostile_content_as_text(as_role, pair, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = send(as_role("Admin"), "GET", f"/conversations/{pair[0]}/delete", headers=headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert inline_code(html) == []
    assert hostile.MARKUP in text_of(html)


def test_a_hostile_agent_id_from_the_platform_stays_inside_its_link(as_role, emulator):
    raw = hostile.conversation("conv_agentid", None)
    raw["agent_id"] = hostile.BREAKOUT
    emulator.add_conversation(raw)
    html = send(as_role("Reviewer"), "GET", "/conversations/conv_agentid/").content.decode()
    assert inline_code(html) == []
    links = [a.get("href", "") for tag, a in Page(html).elements if tag == "a"]
    assert "/?agent=%22%27%3E%3Csvg%20onload%3Dalert%282%29%3E" in links


def test_a_five_megabyte_transcript_is_shown_whole(as_role, emulator):
    turn_text = (hostile.MARKUP + " words ") * 40  # about 2.5 KB
    turns = [
        {"speaker": "agent" if n % 2 else "user", "text": turn_text, "timestamp": n}
        for n in range(2_000)
    ]
    emulator.add_conversation(
        {
            "conversation_id": "conv_huge",
            "agent_id": "agent_x",
            "metadata": {"start_time": 1_762_000_000, "duration": 2_000},
            "transcript": turns,
        }
    )
    COUNTS["hostile"] += 1
    response = send(as_role("Reviewer"), "GET", "/conversations/conv_huge/")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(html) > 5_000_000
    assert html.count('<li class="turn') == 2_000
    assert "<script>alert" not in html
    assert html.rstrip().endswith("</html>")


def every_page_of(user, emulator, build):
    """Plant two copies of a conversation and ask each page that shows or deletes one.

    No page may answer 500, and each deletion is audited. Returns {page: status}; the first
    copy is deleted through its own page, the second in bulk.
    """
    shown, bulk = "conv_extreme", "conv_extreme_bulk"
    for conversation_id in (shown, bulk):
        emulator.add_conversation(build(conversation_id))
    COUNTS["hostile"] += 1
    detail = f"/conversations/{shown}/"
    responses = {
        "list": send(user, "GET", f"/?agent={hostile.AGENT_ID}"),
        "detail": send(user, "GET", detail),
        "delete page": send(user, "GET", f"{detail}delete"),
        "delete dialog": send(user, "GET", f"{detail}delete", headers={"HX-Request": "true"}),
        "delete": send(user, "POST", f"{detail}delete", data={"reason": "hostile data"}),
        "bulk delete": send(
            user, "POST", "/bulk/delete", data={"ids": [bulk], "reason": "hostile data"}
        ),
    }
    statuses = {page: response.status_code for page, response in responses.items()}
    assert 500 not in statuses.values(), statuses
    assert f"row-{shown}" in responses["list"].content.decode()
    assert AuditRecord.objects.filter(conversation_id=shown).exists()
    assert AuditRecord.objects.filter(conversation_id=bulk).exists()
    return statuses


@pytest.mark.parametrize("name", sorted(hostile.EXTREME_TIMES))
def test_a_date_no_time_zone_can_show_breaks_no_page_and_its_deletion_is_audited(
    as_role, emulator, name
):
    metadata, zone = hostile.EXTREME_TIMES[name]
    admin = as_role("Admin")
    admin.cookies["tz"] = quote(zone, safe="")
    statuses = every_page_of(admin, emulator, lambda cid: hostile.dated(cid, metadata))
    assert statuses["list"] == statuses["detail"] == statuses["delete dialog"] == 200


def test_data_nested_hundreds_of_levels_deep_breaks_no_page_and_its_deletion_is_audited(
    as_role, emulator
):
    statuses = every_page_of(as_role("Admin"), emulator, hostile.deep)
    assert statuses["list"] == statuses["detail"] == statuses["delete dialog"] == 200
