"""Scores in the list: the scorecard, total, criterion and disagreement filters, the score
sorts with their keyset pages, the Score column, and the form that offers them."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import queries, reviews
from conversations.models import AuditRecord
from tests.helpers import element, row_ids, row_of, text_of
from tests.index_helpers import indexed
from tests.score_helpers import scorecard, scored

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def calls(count):
    """`count` indexed calls, conv_0 the newest."""
    return [indexed(f"conv_{number}", hours_ago=number + 1) for number in range(count)]


def listed(response):
    assert response.status_code == 200, response.content.decode()[:500]
    return row_ids(response.content.decode())


def load_more_link(html):
    found = re.search(r'hx-get="([^"]+)"\s+hx-target="#load-more"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def every_page(reviewer, params):
    """The ids of every page of a list, following "Load more" as htmx does."""
    first = reviewer.get("/", params).content.decode()
    ids, link = row_ids(first), load_more_link(first)
    while link:
        more = reviewer.get(link, headers=HTMX).content.decode()
        ids, link = ids + row_ids(more), load_more_link(more)
    return ids


# Filters


def test_a_scorecard_filter_lists_the_calls_with_a_current_score_on_it(as_role, emulator):
    calls(4)
    sales, support = scorecard("Sales"), scorecard("Support")
    scored("conv_0", sales, 80)
    scored("conv_1", support, 90)
    scored("conv_2", sales, 70, current=False)
    scored("conv_3", sales, None)
    assert listed(as_role("Reviewer").get("/", {"scorecard": sales.pk})) == ["conv_0", "conv_3"]
    assert emulator.calls == []


def test_score_bounds_include_both_ends(as_role, emulator):
    calls(5)
    card = scorecard()
    for number, total in enumerate((59.9, 60, 75, 80, 80.1)):
        scored(f"conv_{number}", card, total)
    response = as_role("Reviewer").get("/", {"score_min": "60", "score_max": "80"})
    assert listed(response) == ["conv_1", "conv_2", "conv_3"]


def test_a_call_whose_every_criterion_was_not_applicable_has_no_total_to_bound(as_role, emulator):
    calls(2)
    card = scorecard()
    scored("conv_0", card, None, answers={"greeting": "na"})
    scored("conv_1", card, 0, auto_failed=True)
    assert listed(as_role("Reviewer").get("/", {"score_max": "50"})) == ["conv_1"]


def test_score_bounds_and_an_answer_must_hold_for_the_same_current_score(as_role, emulator):
    calls(2)
    sales, support = scorecard("Sales"), scorecard("Support")
    # conv_0's high total and its failed greeting are on two scorecards.
    scored("conv_0", sales, 90, answers={"greeting": "pass"})
    scored("conv_0", support, 40, answers={"greeting": "fail"})
    scored("conv_1", support, 95, answers={"greeting": "fail"})
    params = {"score_min": "80", "qa_criterion": "greeting", "qa_value": "fail"}
    assert listed(as_role("Reviewer").get("/", params)) == ["conv_1"]


def test_a_criterion_with_a_value_lists_the_calls_whose_current_score_answered_that(
    as_role, emulator
):
    calls(4)
    card = scorecard(criteria=("greeting", "tone"), scale=("tone",))
    scored("conv_0", card, 50, answers={"greeting": "fail", "tone": "4"})
    scored("conv_1", card, 100, answers={"greeting": "pass", "tone": "4"})
    scored("conv_2", card, 20, answers={"greeting": "fail"}, current=False)
    scored("conv_3", card, 75, answers={"tone": "2"})
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"qa_criterion": "greeting", "qa_value": "fail"})) == ["conv_0"]
    assert listed(reviewer.get("/", {"qa_criterion": "tone", "qa_value": "4"})) == [
        "conv_0",
        "conv_1",
    ]


def test_a_criterion_alone_lists_the_calls_scored_on_it_and_a_value_alone_any_such_answer(
    as_role, emulator
):
    calls(3)
    card = scorecard(criteria=("greeting", "tone"), scale=("tone",))
    scored("conv_0", card, 50, answers={"greeting": "fail"})
    scored("conv_1", card, 100, answers={"tone": "5"})
    scored("conv_2", card, 100, answers={"tone": "na"})
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"qa_criterion": "tone"})) == ["conv_1", "conv_2"]
    assert listed(reviewer.get("/", {"qa_value": "na"})) == ["conv_2"]


def test_disagree_lists_the_calls_where_the_human_and_the_platform_verdicts_differ(
    as_role, emulator
):
    card = scorecard(
        criteria=("greeting", "tone"), scale=("tone",), linked={"greeting": "g", "tone": "g"}
    )
    cases = [
        ("greeting", "pass", "failure", True),
        ("greeting", "fail", "success", True),
        ("greeting", "pass", "success", False),
        ("greeting", "fail", "failure", False),
        ("greeting", "na", "failure", False),
        ("greeting", "fail", "unknown", False),
        ("tone", "5", "failure", True),
        ("tone", "2", "success", True),
        ("tone", "3", "failure", False),
        ("tone", "4", "success", False),
    ]
    for number, (key, value, result, _) in enumerate(cases):
        indexed(f"conv_{number}", hours_ago=number + 1, evaluations={"g": result, "other": "x"})
        scored(f"conv_{number}", card, 50, answers={key: value})
    expected = [f"conv_{number}" for number, case in enumerate(cases) if case[3]]
    assert listed(as_role("Lead").get("/", {"disagree": "g"})) == expected


def test_disagree_compares_only_the_criteria_linked_to_that_platform_criterion(as_role, emulator):
    card = scorecard(linked={"greeting": "g"})
    indexed("conv_0", evaluations={"g": "success", "e": "failure"})
    scored("conv_0", card, 50, answers={"greeting": "pass", "empathy": "pass"})
    indexed("conv_1", hours_ago=2, evaluations={"g": "failure"})
    scored("conv_1", card, 50, answers={"greeting": "pass"}, current=False)
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"disagree": "e"})) == []
    assert listed(reviewer.get("/", {"disagree": "g"})) == []


@pytest.mark.parametrize(
    "params",
    [
        {"scorecard": "sales"},
        {"scorecard": "-1"},
        {"scorecard": "١"},
        {"score_min": "101"},
        {"score_min": "-5"},
        {"score_max": "nan"},
        {"score_max": "eighty"},
        {"qa_value": "maybe"},
        {"qa_criterion": " \x00 "},
        {"sort": "criterion_best"},
    ],
)
def test_a_score_filter_it_cannot_read_is_ignored(as_role, emulator, params):
    calls(2)
    card = scorecard()
    scored("conv_1", card, 100, answers={"greeting": "pass"})
    response = as_role("Reviewer").get("/", {"review": "unreviewed", **params})
    assert listed(response) == ["conv_0", "conv_1"]


def test_a_criterion_order_without_a_criterion_is_the_default_order():
    review_filter = reviews.ReviewFilter.from_query({"sort": "criterion_worst"})
    assert review_filter.sort is None
    kept = reviews.ReviewFilter.from_query({"sort": "criterion_worst", "qa_criterion": "tone"})
    assert kept.sort == "criterion_worst"
    assert kept.params == {"qa_criterion": "tone", "sort": "criterion_worst"}


def test_a_score_filter_is_written_back_as_it_was_read():
    params = {
        "scorecard": "12",
        "score_min": "62.5",
        "score_max": "100",
        "qa_criterion": "greeting",
        "qa_value": "3",
        "disagree": "resolved",
        "sort": "score_low",
    }
    review_filter = reviews.ReviewFilter.from_query(params)
    assert review_filter.scorecard == 12
    assert review_filter.score_min == 62.5
    assert review_filter.params == params
    assert review_filter.more_filters


def test_a_deleted_conversation_is_never_listed_whatever_its_score(as_role, emulator):
    calls(3)
    card = scorecard()
    for conversation_id in ("conv_0", "conv_1", "conv_2"):
        scored(conversation_id, card, 90)
    AuditRecord.objects.create(conversation_id="conv_1", outcome="deleted", username="x")
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"scorecard": card.pk})) == ["conv_0", "conv_2"]
    # Equal totals, highest first: by id, the other way round too.
    assert listed(reviewer.get("/", {"sort": "score_high"})) == ["conv_2", "conv_0"]


def test_without_the_index_the_list_says_it_could_not_apply_the_score_filters(
    as_role, emulator, settings
):
    settings.INDEX_ENABLED = False
    card = scorecard()
    response = as_role("Reviewer").get("/", {"scorecard": card.pk, "score_min": "50"})
    summary = text_of(element(response.content.decode(), "p", class_="list-summary muted small"))
    assert "Not applied without the index: scorecard, score." in summary


# Sorts


def test_highest_and_lowest_score_first_put_the_unscored_last_either_way(as_role, emulator):
    calls(5)
    card = scorecard()
    scored("conv_0", card, 40)
    scored("conv_1", card, 90)
    scored("conv_3", card, 0, auto_failed=True)
    scored("conv_4", card, None)
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"sort": "score_high"})) == [
        "conv_1",
        "conv_0",
        "conv_3",
        "conv_4",
        "conv_2",
    ]
    assert listed(reviewer.get("/", {"sort": "score_low"})) == [
        "conv_3",
        "conv_0",
        "conv_1",
        "conv_2",
        "conv_4",
    ]


def test_with_several_scorecards_a_call_sorts_by_its_highest_or_by_the_filtered_ones_total(
    as_role, emulator
):
    calls(2)
    sales, support = scorecard("Sales"), scorecard("Support")
    scored("conv_0", sales, 50)
    scored("conv_0", support, 95)
    scored("conv_1", sales, 80)
    scored("conv_1", support, 10)
    reviewer = as_role("Reviewer")
    assert listed(reviewer.get("/", {"sort": "score_high"})) == ["conv_0", "conv_1"]
    filtered = {"sort": "score_high", "scorecard": sales.pk}
    assert listed(reviewer.get("/", filtered)) == ["conv_1", "conv_0"]


def test_a_criterion_sorts_by_its_points_best_or_worst_first(as_role, emulator):
    calls(4)
    card = scorecard(criteria=("greeting", "tone"), scale=("tone",))
    scored("conv_0", card, 50, answers={"tone": "2"})
    scored("conv_1", card, 50, answers={"tone": "5"})
    scored("conv_2", card, 50, answers={"greeting": "pass"})
    scored("conv_3", card, 50, answers={"tone": "na"})
    reviewer = as_role("Reviewer")
    best = listed(reviewer.get("/", {"qa_criterion": "tone", "sort": "criterion_best"}))
    worst = listed(reviewer.get("/", {"qa_criterion": "tone", "sort": "criterion_worst"}))
    # Filtered by the criterion, conv_2 is out; conv_3's "na" has no points: last.
    assert best == ["conv_1", "conv_0", "conv_3"]
    assert worst == ["conv_0", "conv_1", "conv_3"]


@pytest.mark.parametrize("sort", ["score_high", "score_low"])
def test_the_pages_of_a_score_sort_follow_each_other_without_a_gap_or_a_repeat(
    as_role, emulator, settings, sort
):
    settings.XUNA_PAGE_SIZE = 2
    ids = calls(9)
    card = scorecard()
    # Ties across a page's end, and unscored calls after the scored ones.
    for conversation_id, total in zip(ids, (70, 70, 70, 55.5, 90, 70), strict=False):
        scored(conversation_id, card, total)
    reviewer = as_role("Reviewer")
    pages = every_page(reviewer, {"sort": sort})
    # By total (70 four times: by id), then the unscored by id; the same way round.
    expected = {
        "score_high": "conv_4 conv_5 conv_2 conv_1 conv_0 conv_3 conv_8 conv_7 conv_6",
        "score_low": "conv_3 conv_0 conv_1 conv_2 conv_5 conv_4 conv_6 conv_7 conv_8",
    }
    assert pages == expected[sort].split()


def test_a_page_link_of_one_score_sort_is_refused_by_another(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 1
    calls(2)
    scored("conv_0", scorecard(), 50)
    reviewer = as_role("Reviewer")
    link = load_more_link(reviewer.get("/", {"sort": "score_high"}).content.decode())
    assert "sort=score_high" in link
    assert reviewer.get(link.replace("score_high", "score_low"), headers=HTMX).status_code == 400


def test_save_and_next_and_the_place_in_the_list_follow_a_score_sort(make_user, emulator):
    calls(4)
    card = scorecard()
    for conversation_id, total in (("conv_0", 30), ("conv_1", 90), ("conv_2", 60)):
        scored(conversation_id, card, total)
    user = make_user("Reviewer")
    review_filter = reviews.ReviewFilter.from_query({"sort": "score_high"})
    assert queries.next_after(review_filter, user, "conv_1", wrap=False) == "conv_2"
    assert queries.next_after(review_filter, user, "conv_0", wrap=False) == "conv_3"
    assert queries.next_after(review_filter, user, "conv_3", wrap=False) is None
    assert queries.place(review_filter, user, "conv_0").number == 3
    assert queries.place(review_filter, user, "conv_3").number == 4


def test_selecting_a_whole_filter_keeps_the_score_order(make_user, emulator):
    from conversations import jobs

    calls(3)
    card = scorecard()
    scored("conv_2", card, 99)
    scored("conv_0", card, 10)
    review_filter = reviews.ReviewFilter.from_query({"sort": "score_high", "score_min": "0"})
    assert jobs.filter_ids(review_filter, make_user("Lead")) == ["conv_2", "conv_0"]
    assert jobs.describe_filter(review_filter) == "score at least (%) 0"


# The Score column and the form


def test_the_score_column_shows_the_current_total_and_an_auto_fail(as_role, emulator):
    calls(4)
    sales, support = scorecard("Sales"), scorecard("Support")
    scored("conv_0", sales, 84.6)
    scored("conv_1", sales, 0, auto_failed=True)
    scored("conv_2", sales, 40, current=False)
    scored("conv_3", sales, 70)
    scored("conv_3", support, 95)
    html = as_role("Reviewer").get("/", {"review": "unreviewed"}).content.decode()
    assert '<th scope="col" class="num">Score</th>' in html
    assert '<td class="num" data-label="Score"><span class="score">85%</span></td>' in row_of(
        html, "conv_0"
    )
    assert text_of(row_of(html, "conv_1")).count("0% auto-fail") == 1
    assert '<td class="num" data-label="Score"></td>' in row_of(html, "conv_2")
    assert "95% Support 70% Sales" in text_of(row_of(html, "conv_3"))


def test_the_score_column_costs_one_query_a_page_not_one_a_row(as_role, emulator, settings):
    card = scorecard()
    for number, conversation_id in enumerate(calls(8)):
        scored(conversation_id, card, number * 10)
    reviewer = as_role("Reviewer")
    reviewer.get("/", {"review": "unreviewed"})
    counted = []
    # Both pages end before the list does: the same queries but for the rows.
    for size in (2, 7):
        settings.XUNA_PAGE_SIZE = size
        with CaptureQueriesContext(connection) as captured:
            assert len(listed(reviewer.get("/", {"review": "unreviewed"}))) == size
        counted.append(len(captured))
    assert counted[0] == counted[1]
    # The scores of the page in one query (and, apart, the calls the viewer scores blind).
    score_queries = [q for q in captured if q["sql"].startswith('SELECT "conversations_score"')]
    assert len(score_queries) == 1


def test_the_form_offers_the_active_scorecards_their_criteria_and_the_criterion_orders(
    as_role, emulator
):
    calls(1)
    scorecard("Sales <b>", criteria=("greeting",))
    old = scorecard("Archived", criteria=("retired",))
    old.active = False
    old.save()
    reviewer = as_role("Reviewer")
    html = reviewer.get("/").content.decode()
    form = element(html, "details", class_="more-filters")
    assert "Sales &lt;b&gt;" in form
    assert '<option value="greeting">Greeting</option>' in form
    assert "Archived" not in form
    assert "retired" not in form
    assert "Highest score first" in form
    assert "Criterion: best first" not in form
    chosen = reviewer.get("/", {"qa_criterion": "greeting", "sort": "criterion_best"})
    chosen_form = element(chosen.content.decode(), "details", class_="more-filters")
    assert '<option value="criterion_best" selected>Criterion: best first</option>' in chosen_form
    assert '<option value="greeting" selected>Greeting</option>' in chosen_form


def test_the_analytics_page_names_the_score_filters_of_its_list(as_role, emulator):
    calls(1)
    card = scorecard()
    params = {"scorecard": card.pk, "score_min": "50", "qa_criterion": "greeting"}
    html = as_role("Lead").get("/analytics/", {**params, "disagree": "resolved"}).content.decode()
    for shown in (
        f"Scorecard: <bdi>{card.pk}</bdi>",
        "Score at least (%): <bdi>50</bdi>",
        "Scorecard criterion: <bdi>greeting</bdi>",
        "Disagrees with the platform on: <bdi>resolved</bdi>",
    ):
        assert shown in html
