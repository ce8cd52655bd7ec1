"""The list from the conversation index: every filter the platform cannot apply, exact counts,
keyset pages, freshness and refresh, "Save and next" within the list, and queue progress."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from conversations import client, index, queries, reviews
from conversations.models import (
    AuditRecord,
    IndexedConversation,
    IndexedEvaluation,
    SyncState,
)
from tests.helpers import calls_to, element, row_ids, text_of
from tests.index_helpers import NOW, indexed, review

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def listed(response):
    assert response.status_code == 200, response.content.decode()[:500]
    return row_ids(response.content.decode())


def summary(html):
    return text_of(element(html, "div", class_="list-summary"))


def load_more_link(html):
    found = re.search(r'hx-get="([^"]+)"\s+hx-target="#load-more"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def every_page(reviewer, path):
    """The ids of every page of a list, following "Load more" as htmx does."""
    first = reviewer.get(path).content.decode()
    ids, link = row_ids(first), load_more_link(first)
    while link:
        more = reviewer.get(link, headers=HTMX).content.decode()
        assert "<html" not in more
        ids, link = ids + row_ids(more), load_more_link(more)
    return ids


# Each filter


def test_a_review_state_is_answered_by_the_index_with_an_exact_count(as_role, emulator):
    for number in range(6):
        indexed(f"conv_{number}", hours_ago=number + 1)
    for conversation_id in ("conv_1", "conv_3", "conv_4"):
        review(conversation_id, status="flagged")
    response = as_role("Reviewer").get("/", {"review": "flagged"})
    assert listed(response) == ["conv_1", "conv_3", "conv_4"]
    assert summary(response.content.decode()).startswith("3 conversations")
    assert emulator.calls == []


def test_unreviewed_means_no_review_or_a_review_still_unreviewed(as_role, emulator):
    for number in range(4):
        indexed(f"conv_{number}", hours_ago=number + 1)
    review("conv_0", status="passed")
    review("conv_1", status="unreviewed", tags=["started on it"])
    response = as_role("Reviewer").get("/", {"review": "unreviewed"})
    assert listed(response) == ["conv_1", "conv_2", "conv_3"]


def test_assigned_to_me_finds_an_older_call_behind_more_than_a_thousand_newer_ones(
    as_role, emulator, django_user_model
):
    # The finding: "Assigned to me" searched the newest 1,000 and missed this one.
    IndexedConversation.objects.bulk_create(
        IndexedConversation(
            conversation_id=f"conv_new_{number:04d}",
            start_time=NOW - timedelta(minutes=number),
            indexed_at=NOW,
        )
        for number in range(1100)
    )
    indexed("conv_old", hours_ago=24 * 30)
    reviewer = as_role("Reviewer")
    review("conv_old", assignee=django_user_model.objects.get(username="reviewer-user"))
    review("conv_new_0005", assignee=None, status="flagged")
    response = reviewer.get("/", {"assigned": "me"})
    assert listed(response) == ["conv_old"]
    assert summary(response.content.decode()).startswith("1 conversation ")
    assert emulator.calls == []


def test_a_tag_filter_finds_the_conversations_whose_review_carries_the_tag(as_role, emulator):
    for number in range(4):
        indexed(f"conv_{number}", hours_ago=number + 1)
    review("conv_0", tags=["refund", "billing"])
    review("conv_2", tags=["billing"])
    review("conv_3", tags=["refunds"])
    response = as_role("Reviewer").get("/", {"tag": "billing"})
    assert listed(response) == ["conv_0", "conv_2"]


def test_dates_are_whole_days_in_the_viewers_time_zone(as_role, emulator):
    # 2 March in Tokyo (UTC+9) is from 15:00 UTC on 1 March to 15:00 UTC on 2 March.
    indexed("conv_tokyo_morning", start_time=datetime(2026, 3, 1, 15, 30, tzinfo=UTC))
    indexed("conv_before", start_time=datetime(2026, 3, 1, 14, 59, tzinfo=UTC))
    indexed("conv_after", start_time=datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    reviewer = as_role("Reviewer")
    day = {"since": "2026-03-02", "until": "2026-03-02"}
    assert listed(reviewer.get("/", day)) == ["conv_after"]
    reviewer.cookies["tz"] = "Asia%2FTokyo"
    assert listed(reviewer.get("/", day)) == ["conv_tokyo_morning"]
    assert listed(reviewer.get("/", {"until": "2026-03-01"})) == ["conv_before"]


def test_a_duration_range_is_in_minutes_with_both_bounds_included(as_role, emulator):
    for seconds in (29, 30, 90, 120, 121):
        indexed(f"conv_{seconds}", duration=float(seconds), hours_ago=seconds / 1000)
    indexed("conv_unknown", duration=None)
    reviewer = as_role("Reviewer")
    response = reviewer.get("/", {"min_minutes": "0.5", "max_minutes": "2"})
    assert listed(response) == ["conv_30", "conv_90", "conv_120"]
    assert listed(reviewer.get("/", {"min_minutes": "2"})) == ["conv_120", "conv_121"]


def test_an_outcome_filter_counts_no_verdict_as_unknown(as_role, emulator):
    indexed("conv_success", outcome="success", hours_ago=1)
    indexed("conv_failure", outcome="failure", hours_ago=2)
    indexed("conv_unknown", outcome="unknown", hours_ago=3)
    indexed("conv_none", outcome="", hours_ago=4)
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"outcome": "failure"})) == ["conv_failure"]
    assert listed(reviewer.get("/", {"outcome": "unknown"})) == ["conv_unknown", "conv_none"]


def test_an_evaluation_filter_selects_by_criterion_and_result(as_role, emulator):
    indexed("conv_a", hours_ago=1, evaluations={"politeness": "failure", "resolved": "success"})
    indexed("conv_b", hours_ago=2, evaluations={"politeness": "success"})
    indexed("conv_c", hours_ago=3, evaluations={"resolved": "failure"})
    reviewer = as_role("Reviewer")
    both = {"criterion": "politeness", "result": "failure"}
    assert listed(reviewer.get("/", both)) == ["conv_a"]
    assert listed(reviewer.get("/", {"criterion": "politeness"})) == ["conv_a", "conv_b"]
    # A result alone: any criterion with that result.
    assert listed(reviewer.get("/", {"result": "failure"})) == ["conv_a", "conv_c"]


def test_a_collected_data_filter_selects_by_key_and_value(as_role, emulator):
    indexed("conv_a", hours_ago=1, values={"refund": "true", "order": "A-1"})
    indexed("conv_b", hours_ago=2, values={"refund": "false"})
    indexed("conv_c", hours_ago=3)
    reviewer = as_role("Reviewer")
    both = {"data_key": "refund", "data_value": "true"}
    assert listed(reviewer.get("/", both)) == ["conv_a"]
    assert listed(reviewer.get("/", {"data_key": "refund"})) == ["conv_a", "conv_b"]


def test_the_index_holds_what_the_platform_said_of_each_conversation(as_role, emulator):
    ids = emulator.conversation_ids()[:12]
    for conversation_id in ids:
        index.store(client.get_conversation(conversation_id, cached=False))
    failed = [
        cid
        for cid in ids
        if (emulator.raw(cid).get("analysis") or {}).get("evaluation_criteria_results", {})
    ]
    assert failed, "the seeded conversations have evaluation results"
    criterion = IndexedEvaluation.objects.values_list("criterion", flat=True).first()
    expected = list(
        IndexedEvaluation.objects.filter(criterion=criterion)
        .order_by("-conversation__start_time", "-conversation_id")
        .values_list("conversation_id", flat=True)
    )
    emulator.clear_calls()
    response = as_role("Reviewer").get("/", {"criterion": criterion})
    assert listed(response) == expected
    assert emulator.calls == []


def test_filters_combine_with_each_other_and_with_the_agent(as_role, emulator):
    # The example: the failed calls of the last 7 days that were flagged.
    indexed("conv_hit", outcome="failure", hours_ago=24)
    indexed("conv_other_agent", outcome="failure", hours_ago=25, agent_id="agent_2")
    indexed("conv_success", outcome="success", hours_ago=26)
    indexed("conv_too_old", outcome="failure", hours_ago=24 * 9)
    indexed("conv_not_flagged", outcome="failure", hours_ago=27)
    for conversation_id in ("conv_hit", "conv_other_agent", "conv_success", "conv_too_old"):
        review(conversation_id, status="flagged")
    since = timezone.localdate() - timedelta(days=6)
    params = {"review": "flagged", "outcome": "failure", "since": since.isoformat()}
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", params)) == ["conv_hit", "conv_other_agent"]
    assert listed(reviewer.get("/", {**params, "agent": "agent_1"})) == ["conv_hit"]


def test_a_conversation_deleted_through_the_dashboard_is_neither_listed_nor_counted(
    as_role, emulator
):
    for number in range(3):
        indexed(f"conv_{number}", hours_ago=number + 1, outcome="failure")
    AuditRecord.objects.create(conversation_id="conv_1", outcome="deleted", username="x")
    AuditRecord.objects.create(conversation_id="conv_2", outcome="found_gone", username="worker")
    response = as_role("Reviewer").get("/", {"outcome": "failure"})
    assert listed(response) == ["conv_0"]
    assert summary(response.content.decode()).startswith("1 conversation ")


# Pages and order


def test_load_more_follows_a_keyset_across_ties_in_start_time(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 3
    same = NOW - timedelta(hours=2)
    for name in "abcdefg":
        indexed(f"conv_tie_{name}", start_time=same, outcome="failure")
    indexed("conv_newer", hours_ago=1, outcome="failure")
    indexed("conv_older", hours_ago=3, outcome="failure")
    indexed("conv_no_start", start_time=None, outcome="failure")
    expected = ["conv_newer", *(f"conv_tie_{n}" for n in "gfedcba"), "conv_older", "conv_no_start"]
    assert every_page(as_role("Reviewer"), "/?outcome=failure") == expected
    assert emulator.calls == []


def test_an_indexed_page_costs_the_same_queries_whatever_its_number_of_rows(as_role, emulator):
    for number in range(3):
        indexed(f"conv_{number}", hours_ago=number + 1, outcome="failure")
    reviewer = as_role("Reviewer")
    reviewer.get("/", {"outcome": "failure"})
    with CaptureQueriesContext(connection) as few:
        reviewer.get("/", {"outcome": "failure"})
    for number in range(3, 30):
        indexed(f"conv_{number}", hours_ago=number + 1, outcome="failure")
        review(f"conv_{number}", status="passed", tags=["a"])
    with CaptureQueriesContext(connection) as many:
        assert len(listed(reviewer.get("/", {"outcome": "failure"}))) == 30
    assert len(many) == len(few)


def test_load_more_is_a_plain_link_without_javascript(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 2
    for number in range(3):
        indexed(f"conv_{number}", hours_ago=number + 1, outcome="failure")
    reviewer = as_role("Reviewer")
    first = reviewer.get("/", {"outcome": "failure"}).content.decode()
    href = re.search(r'<a href="(\?[^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    assert "outcome=failure" in href
    page = reviewer.get("/" + href).content.decode()
    assert "<html" in page
    assert row_ids(page) == ["conv_2"]


def test_the_list_sorts_by_duration_across_pages(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 2
    for number, seconds in enumerate((30, 300, 30, 45, None)):
        indexed(f"conv_{number}", duration=seconds, hours_ago=number + 1, outcome="failure")
    reviewer = as_role("Reviewer")
    longest = every_page(reviewer, "/?outcome=failure&sort=longest")
    assert longest == ["conv_1", "conv_3", "conv_2", "conv_0", "conv_4"]
    shortest = every_page(reviewer, "/?outcome=failure&sort=shortest")
    assert shortest == ["conv_0", "conv_2", "conv_3", "conv_1", "conv_4"]


def test_a_sort_alone_is_answered_by_the_index(as_role, emulator):
    indexed("conv_short", duration=10.0, hours_ago=1)
    indexed("conv_long", duration=600.0, hours_ago=2)
    assert listed(as_role("Reviewer").get("/", {"sort": "longest"})) == ["conv_long", "conv_short"]
    assert emulator.calls == []


@pytest.mark.parametrize(
    "cursor",
    ["ix.garbage", "ix.WyJuZXdlc3QiLCAxLCAiYSJd", "ix." + "A" * 2000, "ix.bnVsbA"],
)
def test_a_made_up_index_page_link_is_a_bad_link(as_role, emulator, cursor):
    indexed("conv_0", outcome="failure")
    response = as_role("Reviewer").get("/", {"outcome": "failure", "cursor": cursor})
    assert response.status_code == 400
    assert "page link is not valid" in response.content.decode()


def test_a_page_link_of_another_sort_is_a_bad_link(as_role, emulator):
    row = IndexedConversation.objects.get(pk=indexed("conv_0"))
    cursor = queries.make_cursor("longest", row)
    response = as_role("Reviewer").get("/", {"outcome": "success", "cursor": cursor})
    assert response.status_code == 400


# The list as it was


def test_the_agent_only_list_is_one_platform_call_and_no_index_query(as_role, emulator):
    indexed("conv_0")
    agent_id, _ = emulator.agents[1]
    reviewer = as_role("Reviewer")
    # The filter form's choices are read once a minute, not per page.
    queries.criteria(), queries.data_keys()
    with CaptureQueriesContext(connection) as captured:
        response = reviewer.get("/", {"agent": agent_id})
    assert listed(response) == emulator.conversation_ids(agent_id)[: len(listed(response))]
    assert [call.endpoint for call in emulator.calls] == ["list"]
    assert not [q for q in captured.captured_queries if "indexed" in q["sql"].lower()]
    assert "list-summary" not in response.content.decode()


def test_with_the_index_turned_off_a_filter_searches_the_platform_and_says_so(
    as_role, emulator, settings
):
    settings.INDEX_ENABLED = False
    first = emulator.conversation_ids()[4]
    indexed(first)
    review(first, status="flagged")
    response = as_role("Reviewer").get("/", {"review": "flagged"})
    html = response.content.decode()
    assert listed(response) == [first]
    assert calls_to(emulator, "list") > 0
    assert "The conversation index is turned off or not filled yet" in html


def test_with_the_index_empty_a_filter_searches_the_platform(as_role, emulator):
    first = emulator.conversation_ids()[4]
    review(first, status="flagged")
    response = as_role("Reviewer").get("/", {"review": "flagged"})
    assert listed(response) == [first]
    assert calls_to(emulator, "list") > 0


def test_without_the_index_a_search_applies_dates_and_names_what_it_cannot(as_role, emulator):
    newest = emulator.conversation_ids()[0]
    day = client.get_conversation(newest).start_time.astimezone(UTC).date().isoformat()
    html = (
        as_role("Reviewer")
        .get("/", {"since": day, "until": day, "criterion": "politeness"})
        .content.decode()
    )
    assert newest in row_ids(html)
    assert "Not applied without the index: evaluation criterion." in html


# Freshness


def test_an_indexed_list_says_how_fresh_the_index_is(as_role, emulator):
    indexed("conv_0", outcome="failure")
    SyncState.objects.create(name="head", finished=True)
    SyncState.objects.filter(name="head").update(updated_at=timezone.now() - timedelta(seconds=12))
    SyncState.objects.create(name="backfill", finished=True)
    html = as_role("Reviewer").get("/", {"outcome": "failure"}).content.decode()
    assert "as of 12 s ago" in summary(html)
    assert "still being indexed" not in html


def test_an_index_still_reading_the_history_says_so(as_role, emulator):
    indexed("conv_0", outcome="failure")
    html = as_role("Reviewer").get("/", {"outcome": "failure"}).content.decode()
    assert "Indexed 1 conversation; the older history has not been walked yet." in html


def backfill_under_way(*, walked, minutes, reached_days_ago):
    """A backfill that began `minutes` ago and has walked back to `reached_days_ago`."""
    now = timezone.now()
    reached = (now - timedelta(days=reached_days_ago)).isoformat()
    SyncState.objects.create(
        name="backfill",
        seen=walked,
        started_at=now - timedelta(minutes=minutes),
        cursor=f'{{"cursor": "c", "reached": "{reached}"}}',
    )


def test_a_bounded_backfill_says_how_many_are_indexed_and_how_long_is_left(
    as_role, emulator, settings
):
    settings.SYNC_BACKFILL_DAYS = 30
    for number in range(3):
        indexed(f"conv_{number}", outcome="failure")
    # Ten days of thirty walked in ten minutes: twenty days, about twenty minutes, are left.
    backfill_under_way(walked=2000, minutes=10, reached_days_ago=10)
    html = as_role("Reviewer").get("/", {"outcome": "failure"}).content.decode()
    progress = text_of(element(html, "p", id="index-progress"))
    assert "Indexed 3 conversations; about 20 min to go." in progress


def test_an_unbounded_backfill_says_how_fast_it_goes(as_role, emulator, settings):
    settings.SYNC_BACKFILL_DAYS = 0
    indexed("conv_0", outcome="failure")
    backfill_under_way(walked=12000, minutes=10, reached_days_ago=40)
    html = as_role("Reviewer").get("/", {"outcome": "failure"}).content.decode()
    assert "older ones are still being indexed, about 1,200 a minute" in html


def test_a_finished_backfill_shows_no_progress(as_role, emulator):
    indexed("conv_0", outcome="failure")
    SyncState.objects.create(name="backfill", finished=True, seen=1)
    html = as_role("Reviewer").get("/", {"outcome": "failure"}).content.decode()
    assert 'id="index-progress"' not in html


@pytest.fixture
def tasks_run_at_once():
    """Huey runs each task when it is queued, in the test's thread."""
    HUEY.immediate = True
    yield
    HUEY.immediate = False


def test_refresh_asks_the_worker_for_the_newest_conversations(as_role, emulator, tasks_run_at_once):
    indexed("conv_0", outcome="failure")
    newest = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post("/index/refresh", {"list_query": "outcome=failure"})
    assert response.status_code == 302
    assert response["Location"] == "/?outcome=failure"
    assert IndexedConversation.objects.filter(pk=newest, detailed=True).exists()
    assert SyncState.objects.filter(name="head").exists()


def test_refresh_asked_again_at_once_is_the_same_refresh(
    as_role, emulator, tasks_run_at_once, nothing_cached
):
    indexed("conv_0", outcome="failure")
    reviewer = as_role("Reviewer")
    reviewer.post("/index/refresh", {"list_query": ""})
    emulator.clear_calls()
    again = reviewer.post("/index/refresh", {"list_query": "outcome=failure"})
    assert again["Location"] == "/?outcome=failure"
    assert emulator.calls == []
    assert "on their way" in reviewer.get(again["Location"]).content.decode()


def test_refresh_is_a_post(as_role, emulator):
    assert as_role("Reviewer").get("/index/refresh").status_code == 405


# Save and next, and progress


def save_and_next(reviewer, conversation_id, list_query, status="passed"):
    response = reviewer.post(
        f"/conversations/{conversation_id}/review",
        {"status": status, "next": "1", "list_query": list_query},
    )
    assert response.status_code == 302
    return response["Location"]


def test_save_and_next_from_the_flagged_list_stays_in_it(as_role, emulator):
    for number in range(5):
        indexed(f"conv_{number}", hours_ago=number + 1)
    for conversation_id in ("conv_0", "conv_2", "conv_4"):
        review(conversation_id, status="flagged")
    reviewer = as_role("Reviewer")
    # conv_1, unreviewed and next in time, is not in the Flagged list.
    location = save_and_next(reviewer, "conv_0", "review=flagged")
    assert location == "/conversations/conv_2/?review=flagged"
    assert save_and_next(reviewer, "conv_2", "review=flagged", "flagged").startswith(
        "/conversations/conv_4/"
    )


def test_save_and_next_at_the_end_of_the_flagged_list_says_nothing_is_left(as_role, emulator):
    indexed("conv_0", hours_ago=1)
    indexed("conv_1", hours_ago=2)
    review("conv_0", status="flagged")
    review("conv_1", status="flagged")
    location = save_and_next(as_role("Reviewer"), "conv_1", "review=flagged")
    assert location == "/?review=flagged"


def test_save_and_next_in_the_unreviewed_list_comes_back_for_one_skipped(as_role, emulator):
    # Conversations the platform has: a first review is saved only for one it knows.
    ids = emulator.conversation_ids()[:3]
    for number, conversation_id in enumerate(ids):
        indexed(conversation_id, hours_ago=number + 1, outcome="failure")
    reviewer = as_role("Reviewer")
    query = "review=unreviewed&outcome=failure"
    assert save_and_next(reviewer, ids[1], query).startswith(f"/conversations/{ids[2]}/")
    assert save_and_next(reviewer, ids[2], query).startswith(f"/conversations/{ids[0]}/")


def test_save_and_next_in_a_queue_opens_the_next_unreviewed_of_it(as_role, emulator):
    ids = emulator.conversation_ids()[:4]
    for number, conversation_id in enumerate(ids):
        indexed(conversation_id, hours_ago=number + 1, outcome="failure")
    indexed("conv_success", hours_ago=2.5, outcome="success")
    review(ids[1], status="passed")
    location = save_and_next(as_role("Reviewer"), ids[0], "outcome=failure")
    assert location == f"/conversations/{ids[2]}/?outcome=failure"


def test_a_queue_shows_its_progress_on_the_list(as_role, emulator):
    for number in range(5):
        indexed(f"conv_{number}", hours_ago=number + 1, outcome="failure")
    indexed("conv_success", outcome="success")
    review("conv_0", status="passed")
    review("conv_3", status="flagged")
    review("conv_4", status="unreviewed")
    reviewer = as_role("Reviewer")
    failed = summary(reviewer.get("/", {"outcome": "failure"}).content.decode())
    assert failed.startswith("5 conversations · 2 of 5 reviewed")
    left = reviewer.get("/", {"outcome": "failure", "review": "unreviewed"}).content.decode()
    assert summary(left).startswith("3 conversations · 2 of 5 reviewed")
    flagged = summary(reviewer.get("/", {"review": "flagged"}).content.decode())
    assert flagged.startswith("1 conversation From")


def test_the_conversation_page_opened_from_a_list_shows_its_place_and_progress(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    for conversation_id in ids:
        index.store(client.get_conversation(conversation_id))
    review(ids[0], status="passed")
    html = as_role("Reviewer").get(f"/conversations/{ids[2]}/?review=unreviewed").content.decode()
    place = text_of(element(html, "p", class_="list-place muted small"))
    assert place == "Conversation 2 of 2 in this list · 1 of 3 reviewed"


def test_the_conversation_page_opened_from_the_agent_list_shows_no_place(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    index.store(client.get_conversation(conversation_id))
    agent = client.get_conversation(conversation_id).agent_id
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/?agent={agent}")
    assert "list-place" not in html.content.decode()


# The filter form and the URL


def test_every_filter_round_trips_through_the_url(rf):
    query = (
        "agent=agent_1&review=flagged&assigned=me&tag=refund&since=2026-03-01&until=2026-03-07"
        "&min_minutes=0.5&max_minutes=10&outcome=failure&criterion=politeness&result=failure"
        "&data_key=refund&data_value=true&sort=longest"
    )
    review_filter = reviews.ReviewFilter.from_query(rf.get("/?" + query).GET, agent_id="agent_1")
    assert review_filter.query_string() == query
    assert review_filter.local


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "2026-02-31"),
        ("until", "yesterday"),
        ("since", "0001-01-01"),
        ("until", "9999-12-31"),
        ("min_minutes", "-1"),
        ("max_minutes", "NaN"),
        ("max_minutes", "1e400"),
        ("outcome", "maybe"),
        ("result", "perhaps"),
        ("sort", "newest"),
        ("sort", "random"),
        ("criterion", " \x00 "),
    ],
)
def test_an_unreadable_filter_is_ignored(rf, name, value):
    review_filter = reviews.ReviewFilter.from_query(rf.get("/", {name: value}).GET)
    assert review_filter.query_string() == ""
    assert not review_filter.local


def test_the_form_offers_the_indexed_criteria_and_keys_and_keeps_the_values(as_role, emulator):
    indexed("conv_0", evaluations={"politeness": "success"}, values={"refund": "true"})
    params = {"criterion": "politeness", "min_minutes": "1.5", "sort": "shortest"}
    html = as_role("Reviewer").get("/", params).content.decode()
    assert '<option value="politeness">' in element(html, "datalist", id="criterion-options")
    assert '<option value="refund">' in element(html, "datalist", id="data-key-options")
    assert 'value="1.5"' in element(html, "input", name="min_minutes")
    assert 'value="shortest" selected' in element(html, "select", name="sort")
    assert "open" in element(html, "details", class_="more-filters").split(">")[0]
