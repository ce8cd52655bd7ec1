"""The list's rows (conversations/templatetags/rows.py): times, links, review cells, escaping."""

import datetime
import re
import zoneinfo
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.utils import timezone

from conversations import client, reviews
from conversations.agents import agent_filter_text
from conversations.models import Review
from conversations.templatetags import rows
from tests.helpers import element, row_of, text_of

pytestmark = pytest.mark.django_db


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
    assert f'<a class="open" href="/conversations/{first}/?agent={agent_id}"' in row_of(html, first)
    html = reviewer.get("/").content.decode()
    assert f'<a class="open" href="/conversations/{first}/"' in row_of(html, first)


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
    assert f'<td id="assignee-{first}" data-label="Assignee">rita</td>' in row
    assert (
        f'<td id="tags-{first}" data-label="Tags"><span class="tag">&lt;b&gt;loud&lt;/b&gt;</span> '
        '<span class="tag">a&quot;b</span> </td>'
    ) in row
    assert "<b>" not in row


def test_an_unreviewed_row_says_so_and_offers_delete_only_to_those_who_may(as_role, emulator):
    first = emulator.conversation_ids()[0]
    reviewer_row = row_of(as_role("Reviewer").get("/").content.decode(), first)
    assert '<span class="review unreviewed">Unreviewed</span>' in reviewer_row
    assert f'<td id="assignee-{first}" data-label="Assignee"></td>' in reviewer_row
    assert "Delete" not in reviewer_row
    admin_row = row_of(as_role("Admin").get("/").content.decode(), first)
    assert f'hx-get="/conversations/{first}/delete?from=list"' in admin_row


NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def render_rows(*conversations, review=None, list_query="", can_delete=True, agents=None):
    """The rows tag itself, at a fixed time, for conversations built here."""
    items = [reviews.Row(conversation=c, review=review) for c in conversations]
    context = {"request": SimpleNamespace(user=AnonymousUser())}
    return rows.conversation_rows(context, items, agents or {}, list_query, can_delete)


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_a_row_is_exactly_the_markup_app_js_and_the_page_rely_on(fixed_now):
    conversation = client.Conversation(
        id="conv_1",
        agent_id="agent_1",
        status="done",
        start_time=NOW - datetime.timedelta(hours=3, minutes=20),
        duration=125.0,
        call_successful="success",
    )
    with timezone.override("Asia/Kolkata"):
        html = render_rows(
            conversation, list_query="agent=agent_1&status=done", agents={"agent_1": "Billing bot"}
        )
    assert html == (
        '<tr id="row-conv_1">\n'
        '  <td><input type="checkbox" name="ids" value="conv_1" form="bulk"'
        ' aria-label="Select conversation conv_1"></td>\n'
        '  <td data-label="Started"><a class="open"'
        ' href="/conversations/conv_1/?agent=agent_1&amp;status=done"'
        ' aria-label="Call with Billing bot, 2026-03-01 14:10, 2 min 5 s">'
        '<time datetime="2026-03-01T14:10:00+05:30">2026-03-01 14:10</time></a>'
        ' <span class="muted small">3 h ago</span></td>\n'
        '  <td data-label="Agent">Billing bot</td>\n'
        '  <td class="num" data-label="Duration">2:05</td>\n'
        '  <td data-label="Status">done</td>\n'
        '  <td data-label="Evaluation"><span class="badge success">success</span></td>\n'
        '  <td class="num" data-label="Score"></td>\n'
        '  <td id="review-conv_1" data-label="Review">'
        '<span class="review unreviewed">Unreviewed</span></td>\n'
        '<td id="assignee-conv_1" data-label="Assignee"></td>\n'
        '<td id="tags-conv_1" data-label="Tags"></td>\n'
        '  <td class="actions"><a class="danger small" href="/conversations/conv_1/delete"'
        ' hx-get="/conversations/conv_1/delete?from=list" hx-target="#dialog-slot"'
        ' aria-label="Delete conversation conv_1">Delete</a></td>\n'
        "</tr>\n"
    )


def test_a_row_without_a_start_time_or_outcome_says_unknown_and_leaves_the_badge_out(fixed_now):
    html = render_rows(client.Conversation(id="conv_1"), can_delete=False)
    assert (
        '<td data-label="Started"><a class="open" href="/conversations/conv_1/"'
        ' aria-label="Call with unknown agent, unknown"><span class="muted">unknown</span></a></td>'
    ) in html
    assert '<td data-label="Agent">unknown agent</td>' in html
    assert (
        '<td class="num" data-label="Duration">–</td>\n  <td data-label="Status">–</td>\n'
        '  <td data-label="Evaluation"></td>'
    ) in html
    assert "actions" not in html


def test_every_value_in_a_row_is_escaped_exactly_once(fixed_now, make_user):
    hostile = client.Conversation(
        id="conv_1",
        agent_id="agent_1",
        status='"><b>done</b>',
        start_time=NOW,
        call_successful='x" onmouseover="alert(1)',
    )
    review = Review(
        conversation_id="conv_1",
        status="<i>flagged</i>",
        assignee=make_user(username="<u>rita</u>"),
        tags=["Tom & Jerry", "&amp;"],
    )
    html = render_rows(
        hostile,
        review=review,
        list_query='agent=<a1>&q="x"',
        agents={"agent_1": "<script>alert('agent')</script>"},
    )
    for raw in ("<script", "<b>", "<i>", "<u>", '" onmouseover'):
        assert raw not in html
    assert "&lt;script&gt;alert(&#x27;agent&#x27;)&lt;/script&gt;" in html
    assert '<td data-label="Status">&quot;&gt;&lt;b&gt;done&lt;/b&gt;</td>' in html
    assert '<span class="badge x&quot; onmouseover=&quot;alert(1)">' in html
    assert '<span class="review &lt;i&gt;flagged&lt;/i&gt;">' in html
    assert '<td id="assignee-conv_1" data-label="Assignee">&lt;u&gt;rita&lt;/u&gt;</td>' in html
    assert '<span class="tag">Tom &amp; Jerry</span> <span class="tag">&amp;amp;</span> ' in html
    assert 'href="/conversations/conv_1/?agent=&lt;a1&gt;&amp;q=&quot;x&quot;"' in html


def test_the_review_cells_swapped_in_after_a_bulk_change_are_the_rows_own(fixed_now):
    in_row = render_rows(client.Conversation(id="conv_1"))
    cells = rows.review_cells(None, "conv_1")
    assert cells in in_row
    swapped = rows.review_cells(None, "conv_1", oob=True)
    assert swapped == cells.replace('conv_1" ', 'conv_1" hx-swap-oob="true" ')
    assert swapped.count('hx-swap-oob="true"') == 3


def test_the_deleted_fragment_removes_the_row_by_the_id_the_row_was_given(fixed_now):
    row_id = rows.row_dom_id("conv_1")
    assert render_rows(client.Conversation(id="conv_1")).startswith(f'<tr id="{row_id}">')
    html = render_to_string(
        "conversations/_deleted.html", {"conversation_ids": ["conv_1"], "message": "Deleted."}
    )
    assert f'<tr id="{row_id}" hx-swap-oob="delete"></tr>' in html


def test_a_rows_link_is_its_start_time_and_says_which_call_it_opens(fixed_now):
    conversation = client.Conversation(
        id="conv_1", agent_id="agent_1", start_time=NOW, duration=3725.0
    )
    html = render_rows(conversation, agents={"agent_1": "Support bot"})
    link = element(html, "a", class_="open")
    assert 'aria-label="Call with Support bot, 2026-03-01 12:00, 1 h 2 min"' in link
    # The visible text is part of the name, as speech input needs (WCAG 2.5.3).
    assert text_of(link) == "2026-03-01 12:00"
    assert '<td data-label="Agent">Support bot</td>' in html


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [
        (None, ""),
        (float("nan"), ""),
        (-1, ""),
        (0, ", 0 s"),
        (45.9, ", 45 s"),
        (125, ", 2 min 5 s"),
    ],
)
def test_a_calls_duration_is_named_in_words(seconds, spoken):
    assert rows.spoken_duration(seconds) == spoken


def test_every_cell_of_a_row_is_labelled_with_its_columns_name(as_role, emulator):
    html = as_role("Admin").get("/").content.decode()
    headers = re.findall(r'<th scope="col"(?: class="num")?>([^<]+)</th>', html)
    labels = re.findall(r'data-label="([^"]*)"', row_of(html, emulator.conversation_ids()[0]))
    assert labels == headers
    assert labels[:3] == ["Started", "Agent", "Duration"]


def test_the_agent_filter_shows_an_agents_name_that_names_it_alone():
    agents = {
        "agent_1": "Support bot",
        "agent_2": "Twin",
        "agent_3": "Twin",
        "agent_4": "",
        "agent_5": " Padded ",
    }
    assert agent_filter_text("agent_1", agents) == "Support bot"
    # Typed back in, "Twin" would name agent_3: agent_2 is shown by its id.
    assert agent_filter_text("agent_2", agents) == "agent_2"
    assert agent_filter_text("agent_3", agents) == "Twin"
    assert agent_filter_text("agent_4", agents) == "agent_4"
    # The box is read stripped: " Padded " would come back as "Padded", no agent's name.
    assert agent_filter_text("agent_5", agents) == "agent_5"
    assert agent_filter_text("agent_9", agents) == "agent_9"


def test_the_agent_filter_box_and_its_choices_show_names(as_role, emulator):
    agent_id, name = emulator.agents[0]
    reviewer = as_role("Reviewer")
    reviewer.get("/")  # the agents seen on the first page are remembered
    html = reviewer.get("/", {"agent": agent_id}).content.decode()
    assert f'value="{name}"' in element(html, "input", name="agent")
    assert f'<option value="{name}">{agent_id}</option>' in html
    # The name, sent back as the filter, filters by the same agent.
    again = reviewer.get("/", {"agent": name}).content.decode()
    assert set(re.findall(r'<tr id="row-(\w+)"', again)) <= set(emulator.conversation_ids(agent_id))
