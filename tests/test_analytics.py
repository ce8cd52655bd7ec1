"""The analytics page (conversations/analytics*.py): each figure against counts made here,
days in the viewer's zone, the list's filters, links to the list, CSV, refusals and input
that does not fit. The last test indexes the emulator's demo data and checks the page
against counts made straight from the emulator's generated records."""

import csv
import io
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import index, sync
from conversations.models import IndexedEvaluation, ReviewChange
from emulator.generate import content, generate
from tests.helpers import element, row_ids, text_of
from tests.index_helpers import indexed, review

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def today(zone=UTC):
    return timezone.now().astimezone(zone).date()


def at(days_ago, hour=12, zone=UTC, minute=0):
    """A moment of the viewer's day `days_ago` days before today."""
    day = today(zone) - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def day(days_ago, zone=UTC):
    return (today(zone) - timedelta(days=days_ago)).isoformat()


def call(conversation_id, days_ago, **fields):
    fields.setdefault("start_time", at(days_ago))
    return indexed(conversation_id, **fields)


def download(client, slug, params=None):
    response = client.get(f"/analytics/{slug}.csv", params or {})
    assert response.status_code == 200, response.content.decode()[:300]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def by_day(rows, column):
    return {row["Day"]: int(row[column]) for row in rows}


def page(client, params=None):
    response = client.get("/analytics/", params or {})
    assert response.status_code == 200, response.content.decode()[:300]
    return response.content.decode()


def marks(markup, slug):
    """(href or None, words) of each point of one chart, in order."""
    svg = element(element(markup, "figure", id=f"chart-{slug}"), "svg")
    return [
        (unescape(href) or None, unescape(label))
        for href, label in re.findall(
            r'<(?:a|g) class="mark[^"]*"(?: href="([^"]*)")?(?: tabindex="0" role="img")? '
            r'aria-label="([^"]*)"',
            svg,
        )
    ]


def verdict(conversation_id, username, label, when, field="status"):
    change = ReviewChange.objects.create(
        conversation_id=conversation_id,
        username=username,
        field=field,
        old_value="Unreviewed",
        new_value=label,
    )
    # changed_at is set when a change is recorded: moved here to the moment the test needs.
    ReviewChange.objects.filter(pk=change.pk).update(changed_at=when)


@pytest.fixture
def lead(as_role):
    return as_role("Lead")


# Calls per day, by agent


def test_calls_are_counted_per_day_and_agent(lead):
    call("conv_1", 1)
    call("conv_2", 1)
    call("conv_3", 3)
    call("conv_4", 1, agent_id="agent_2", agent_name="Support")
    call("conv_5", 10)  # before the last 7 days
    rows = download(lead, "calls")
    assert [row["Day"] for row in rows] == [day(n) for n in range(6, -1, -1)]
    assert by_day(rows, "Billing") == {**dict.fromkeys(map(day, range(7)), 0), day(1): 2, day(3): 1}
    assert by_day(rows, "Support")[day(1)] == 1
    assert by_day(rows, "All agents")[day(1)] == 3


def test_a_day_without_calls_is_a_zero_not_a_missing_day(lead):
    call("conv_1", 2)
    rows = download(lead, "calls", {"range": "30d"})
    assert len(rows) == 30
    assert by_day(rows, "All agents") == {**dict.fromkeys(map(day, range(30)), 0), day(2): 1}
    empty_day = marks(page(lead, {"range": "30d"}), "calls")[0]
    assert empty_day[1].endswith(": no calls")
    assert f"since={day(29)}&until={day(29)}" in empty_day[0]


def test_the_viewers_time_zone_decides_the_day(lead):
    # 08:30 in Tokyo is 23:30 the evening before in UTC.
    call("conv_1", 0, start_time=at(2, hour=8, minute=30, zone=TOKYO))
    lead.cookies["tz"] = "Asia%2FTokyo"
    in_tokyo = download(lead, "calls")
    assert by_day(in_tokyo, "All agents")[day(2, TOKYO)] == 1
    del lead.cookies["tz"]
    in_utc = download(lead, "calls", {"range": "custom", "since": day(5), "until": day(0)})
    utc_day = (at(2, hour=8, minute=30, zone=TOKYO).astimezone(UTC)).date().isoformat()
    assert by_day(in_utc, "All agents")[utc_day] == 1
    assert utc_day != day(2, TOKYO)


def test_the_last_24_hours_are_counted_hour_by_hour(lead):
    now = timezone.now()
    call("conv_1", 0, start_time=now)
    call("conv_2", 0, start_time=now - timedelta(hours=5))
    call("conv_3", 0, start_time=now - timedelta(hours=30))
    rows = download(lead, "calls", {"range": "24h"})
    assert len(rows) == 24
    assert list(rows[0]) == ["Hour", "Billing", "All agents"]
    assert sum(int(row["All agents"]) for row in rows) == 2
    assert int(rows[-1]["All agents"]) == 1


def test_beyond_six_agents_the_others_share_one_series(lead):
    for number in range(8):
        for extra in range(number + 1):
            call(f"conv_{number}_{extra}", 1, agent_id=f"agent_{number}", agent_name=f"A{number}")
    rows = download(lead, "calls")
    assert list(rows[0]) == [
        "Day",
        "A7",
        "A6",
        "A5",
        "A4",
        "A3",
        "A2",
        "Other agents",
        "All agents",
    ]
    assert by_day(rows, "Other agents")[day(1)] == 1 + 2
    other = [label for href, label in marks(page(lead), "calls") if "other agents" in label]
    assert other == [f"{day_words(1)}: 3 calls of other agents"]
    assert all(href is None for href, label in marks(page(lead), "calls") if label in other)


def day_words(days_ago, zone=UTC):
    """How a point names its day: Tuesday 3 March (with the year, when not this one's)."""
    moment = at(days_ago, zone=zone)
    return f"{moment:%A} {moment.day} {moment:%B}" + (
        "" if moment.year == today(zone).year else f" {moment.year}"
    )


# Success rate


def test_the_success_rate_is_successful_calls_among_all_with_counts(lead):
    for number, outcome in enumerate(["success", "success", "success", "failure", "unknown", ""]):
        call(f"conv_{number}", 1, outcome=outcome)
    row = next(row for row in download(lead, "success") if row["Day"] == day(1))
    assert row == {
        "Day": day(1),
        "Calls": "6",
        "Successful": "3",
        "Failed": "1",
        "Unknown": "2",
        "Success rate": "0.5",
    }
    empty = next(row for row in download(lead, "success") if row["Day"] == day(2))
    assert empty["Calls"] == "0"
    assert empty["Success rate"] == ""


# Durations


def test_durations_fall_in_bins_that_include_their_start(lead):
    for number, seconds in enumerate([30, 60, 119, 120, 1200, None]):
        call(f"conv_{number}", 1, duration=seconds)
    rows = download(lead, "durations")
    assert {row["Duration"]: int(row["Calls"]) for row in rows} == {
        "0–1 min": 1,
        "1–2 min": 2,
        "2–5 min": 1,
        "5–10 min": 0,
        "10–20 min": 0,
        "20+ min": 1,
    }
    html = page(lead)
    assert "1 call without a duration is not shown." in text_of(html)


def test_a_duration_bar_opens_exactly_its_calls_in_the_list(lead, emulator):
    for number, seconds in enumerate([30, 60, 119, 120, 1200]):
        call(f"conv_{number}", 1, duration=seconds)
    bars = dict((label, href) for href, label in marks(page(lead), "durations"))
    href = bars["2 calls lasted 1 to under 2 minutes"]
    assert sorted(row_ids(lead.get(href).content.decode())) == ["conv_1", "conv_2"]
    href = bars["1 call lasted 2 to under 5 minutes"]
    assert row_ids(lead.get(href).content.decode()) == ["conv_3"]


# Evaluation criteria


def test_a_criterions_pass_rate_counts_its_results_and_leaves_scores_out(lead):
    for number, result in enumerate(["success", "success", "failure", "unknown"]):
        call(f"conv_{number}", 1, evaluations={"polite": result})
    IndexedEvaluation.objects.create(conversation_id="conv_0", criterion="sentiment", score=0.4)
    rows = download(lead, "criteria")
    assert {row["Criterion"] for row in rows} == {"polite"}
    row = next(row for row in rows if row["Day"] == day(1))
    assert (row["Evaluated"], row["Passed"], row["Failed"], row["Unknown"]) == ("4", "2", "1", "1")
    assert row["Pass rate"] == "0.5"


def test_beyond_six_criteria_the_most_evaluated_are_drawn_and_the_page_says_so(lead):
    names = [f"criterion_{n}" for n in range(7)]
    for number in range(7):
        evaluated = dict.fromkeys(names[: number + 1], "success")
        call(f"conv_{number}", 1, evaluations=evaluated)
    rows = download(lead, "criteria")
    assert {row["Criterion"] for row in rows} == set(names[:6])
    assert "Only the 6 criteria evaluated most often are drawn." in page(lead)


def test_a_criterion_point_opens_the_days_calls_evaluated_on_it(lead, emulator):
    call("conv_1", 1, evaluations={"polite": "success"})
    call("conv_2", 1, evaluations={"polite": "failure"})
    call("conv_3", 1)
    point = next(m for m in marks(page(lead), "criteria") if "passed in" in m[1])
    assert (
        point[1]
        == f"{day_words(1)}: polite passed in 50% of 2 calls (1 passed, 1 failed, 0 unknown)"
    )
    assert sorted(row_ids(lead.get(point[0]).content.decode())) == ["conv_1", "conv_2"]


# Collected values


def test_the_most_common_key_is_shown_unless_another_is_chosen(lead):
    call("conv_1", 1, values={"refund": True, "plan": "gold"})
    call("conv_2", 1, values={"refund": True})
    call("conv_3", 1, values={"refund": False, "plan": "silver"})
    assert download(lead, "values") == [
        {"Value": "true", "Calls": "2"},
        {"Value": "false", "Calls": "1"},
    ]
    assert download(lead, "values", {"key": "plan"}) == [
        {"Value": "gold", "Calls": "1"},
        {"Value": "silver", "Calls": "1"},
    ]
    assert "Most frequent values of “refund”" in page(lead)


def test_a_value_bar_opens_the_calls_that_collected_it(lead, emulator):
    call("conv_1", 1, values={"plan": "gold"})
    call("conv_2", 2, values={"plan": "gold"})
    call("conv_3", 1, values={"plan": "silver"})
    href, label = marks(page(lead, {"key": "plan"}), "values")[0]
    assert label == "2 calls collected plan = gold"
    assert sorted(row_ids(lead.get(href).content.decode())) == ["conv_1", "conv_2"]


def test_a_key_no_call_collected_is_said_not_drawn(lead):
    call("conv_1", 1, values={"plan": "gold"})
    html = page(lead, {"key": "nothing\x00 here" + "x" * 500})
    figure = element(html, "figure", id="chart-values")
    assert "No call of this range collected “nothing here" in text_of(figure)
    assert "<svg" not in figure


# Review work


def test_review_work_counts_verdicts_by_the_day_they_were_given(lead):
    for name in ("conv_a", "conv_b", "conv_c"):
        call(name, 5)
    call("conv_old_call", 40, start_time=at(40))
    verdict("conv_a", "ann", "Passed", at(1, hour=9))
    verdict("conv_a", "ann", "Flagged", at(1, hour=10))  # the same call again, the same day
    verdict("conv_b", "ann", "Flagged", at(1, hour=11))
    verdict("conv_c", "lee", "Needs follow-up", at(2))
    verdict("conv_old_call", "lee", "Passed", at(2, hour=13))  # an old call, reviewed now
    verdict("conv_c", "lee", "Unreviewed", at(2, hour=14))  # set back: no verdict
    verdict("conv_b", "lee", "lee", at(2), field="assignee")
    verdict("conv_b", "ann", "Passed", at(12))  # before the range
    rows = {row["Day"]: row for row in download(lead, "reviews")}
    assert rows[day(1)] == {"Day": day(1), "Reviewed": "2", "Flagged": "2", "Needs follow-up": "0"}
    assert rows[day(2)] == {"Day": day(2), "Reviewed": "2", "Flagged": "0", "Needs follow-up": "1"}
    assert rows[day(3)]["Reviewed"] == "0"


def test_each_reviewer_has_their_calls_and_median_time_from_a_calls_end(lead):
    call("conv_a", 3, duration=600)
    call("conv_b", 3, duration=600)
    call("conv_c", 3, duration=600)
    call("conv_d", 3, duration=None)
    end = at(3) + timedelta(seconds=600)
    verdict("conv_a", "ann", "Passed", end + timedelta(hours=1))
    verdict("conv_a", "ann", "Flagged", end + timedelta(hours=30))  # her first one counts
    verdict("conv_b", "ann", "Passed", end + timedelta(hours=3))
    verdict("conv_c", "lee", "Passed", end + timedelta(hours=2))
    verdict("conv_d", "lee", "Passed", end + timedelta(hours=2))  # no end: no time
    assert download(lead, "reviewers") == [
        {"Reviewer": "ann", "Calls reviewed": "2", "Median hours from call end to verdict": "2.0"},
        {"Reviewer": "lee", "Calls reviewed": "2", "Median hours from call end to verdict": "2.0"},
    ]
    labels = [label for _, label in marks(page(lead), "reviewers")]
    assert labels[0] == "ann: 2 calls reviewed, 2 h 0 min from a call's end to the verdict (median)"


def test_the_backlog_is_the_ranges_calls_without_a_verdict_and_those_assigned(lead, make_user):
    ann = make_user("Reviewer", username="ann")
    for name in ("conv_a", "conv_b", "conv_c", "conv_d"):
        call(name, 1)
    call("conv_old", 20)
    review("conv_a", status="passed")
    review("conv_b", status="unreviewed", assignee=ann)
    review("conv_c", status="flagged", assignee=ann)
    assert download(lead, "backlog") == [
        {"Review state": "Unreviewed", "Calls": "2"},
        {"Review state": "Assigned, not reviewed", "Calls": "1"},
    ]
    href, _ = marks(page(lead), "backlog")[0]
    assert sorted(row_ids(lead.get(href).content.decode())) == ["conv_b", "conv_d"]


# The list's filters, and links to the list


def test_the_lists_filters_apply_to_every_figure(lead):
    call("conv_1", 1, outcome="failure", evaluations={"polite": "failure"})
    call("conv_2", 1, outcome="success", evaluations={"polite": "success"})
    call("conv_3", 1, outcome="failure", agent_id="agent_2", agent_name="Support")
    verdict("conv_1", "ann", "Flagged", at(1))
    verdict("conv_2", "ann", "Passed", at(1))
    query = {"outcome": "failure", "agent": "agent_1"}
    assert by_day(download(lead, "calls", query), "All agents")[day(1)] == 1
    criteria = next(row for row in download(lead, "criteria", query) if row["Day"] == day(1))
    assert criteria["Failed"] == "1"
    assert criteria["Passed"] == "0"
    assert by_day(download(lead, "reviews", query), "Reviewed")[day(1)] == 1
    html = page(lead, query)
    assert "1 failed call of Billing" in html
    scope = text_of(element(html, "p", class_="analytics-scope"))
    assert "Agent: Billing" in scope
    assert "Outcome: failure" in scope


def test_the_lists_days_are_the_custom_range(lead):
    call("conv_1", 40)
    rows = download(lead, "calls", {"since": day(45), "until": day(35)})
    assert len(rows) == 11
    assert by_day(rows, "All agents")[day(40)] == 1
    html = page(lead, {"since": day(45), "until": day(35)})
    assert 'value="custom" selected' in html
    link = element(html, "a", href=f"/?since={day(45)}&until={day(35)}")
    assert text_of(link) == "Open these conversations in the list"


def test_a_bar_opens_the_list_of_its_agents_calls_that_day_with_the_pages_filters(lead, emulator):
    call("conv_1", 1, outcome="failure")
    call("conv_2", 1, outcome="failure")
    call("conv_3", 1, outcome="success")
    call("conv_4", 2, outcome="failure")
    call("conv_5", 1, outcome="failure", agent_id="agent_2", agent_name="Support")
    html = page(lead, {"outcome": "failure"})
    href, label = next(m for m in marks(html, "calls") if "Billing" in m[1] and m[0])
    assert label == f"{day_words(2)}: 1 failed call of Billing"
    bars = {label: href for href, label in marks(html, "calls")}
    href = bars[f"{day_words(1)}: 2 failed calls of Billing"]
    assert href == f"/?agent=agent_1&since={day(1)}&until={day(1)}&outcome=failure"
    assert sorted(row_ids(lead.get(href).content.decode())) == ["conv_1", "conv_2"]


# CSV and the chart agree; hostile data


def test_the_csv_holds_the_numbers_the_chart_draws(lead):
    for number in range(5):
        call(
            f"conv_{number}",
            number % 3,
            agent_id=f"agent_{number % 2}",
            agent_name=f"A{number % 2}",
        )
    drawn = {}
    for _, label in marks(page(lead), "calls"):
        found = re.fullmatch(r"(.+): (\d+) calls? of (A\d)", label)
        if found:
            drawn[(found[1], found[3])] = int(found[2])
    downloaded = {
        (day_words(days_ago), agent): int(row[agent])
        for days_ago in range(7)
        for row in download(lead, "calls")
        if row["Day"] == day(days_ago)
        for agent in ("A0", "A1")
        if int(row[agent])
    }
    assert drawn == downloaded
    assert sum(drawn.values()) == 5


def test_hostile_agent_names_and_values_are_escaped_in_the_svg_and_defused_in_the_csv(lead):
    name = '=HYPERLINK("http://x")<img src=x onerror=alert(1)>'
    call("conv_1", 1, agent_name=name, values={"note": "@SUM(1)<script>x</script>"})
    html = page(lead)
    assert "<img src=x" not in html
    assert "<script>x</script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'onerror=alert(1)>"' not in html
    header = list(download(lead, "calls")[0])
    assert header[1] == "'" + name
    assert download(lead, "values") == [{"Value": "'@SUM(1)<script>x</script>", "Calls": "1"}]


# Who may see it


def test_a_reviewer_may_not_see_analytics(as_role):
    reviewer = as_role("Reviewer")
    assert reviewer.get("/analytics/").status_code == 403
    assert reviewer.get("/analytics/calls.csv").status_code == 403
    assert "/analytics/" not in reviewer.get("/").content.decode()


def test_leads_and_admins_find_analytics_in_the_menu(client, make_user, emulator):
    for role in ("Lead", "Admin"):
        client.force_login(make_user(role))
        menu = element(client.get("/").content.decode(), "nav", aria_label="Main")
        assert text_of(element(menu, "a", href="/analytics/")) == "Analytics"


# When it cannot draw


def test_without_the_index_the_page_says_so_instead_of_failing(lead, settings):
    call("conv_1", 1)
    settings.INDEX_ENABLED = False
    html = page(lead)
    assert "turned off or still empty" in text_of(element(html, "p", class_="empty"))
    assert "<svg" not in html
    assert lead.get("/analytics/calls.csv").status_code == 404


def test_an_empty_index_gives_the_same_sentence(lead):
    assert "turned off or still empty" in page(lead)


def test_an_unknown_range_is_the_default_and_an_unknown_chart_is_not_found(lead):
    call("conv_1", 1)
    assert 'value="7d" selected' in page(lead, {"range": "forever"})
    assert lead.get("/analytics/nothing.csv").status_code == 404


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"range": "custom"}, "Choose the first day, the last day or both"),
        ({"since": "2026-03-10", "until": "2026-03-01"}, "comes before its first day"),
        ({"since": "2020-01-01", "until": "2026-01-01"}, "Choose at most 366 days"),
    ],
)
def test_a_range_that_cannot_be_drawn_is_a_400_that_says_why(lead, params, sentence):
    call("conv_1", 1)
    response = lead.get("/analytics/", params)
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert lead.get("/analytics/calls.csv", params).status_code == 400


def test_unreadable_days_minutes_and_ids_never_fail_the_page(lead):
    call("conv_1", 1)
    for params in (
        {"since": "yesterday", "until": "9999-99-99"},
        {"min_minutes": "-3", "max_minutes": "nan"},
        {"key": "\x00" * 10},
        {"range": ["24h", "30d"]},
        {"since": "8999-12-30"},
    ):
        assert lead.get("/analytics/", params).status_code == 200, params
    assert lead.get("/analytics/", {"agent": "not an id!"}).status_code == 400


def test_the_page_is_a_few_queries_whatever_the_number_of_calls(lead):
    for number in range(30):
        call(f"conv_{number}", number % 7, evaluations={"polite": "success"}, values={"k": 1})
    page(lead)  # the session, permissions and choices read once
    with CaptureQueriesContext(connection) as queries:
        page(lead)
    # The session, the user and their permissions, whether the index is on; eleven for the
    # figures; one for the calls the viewer is scoring blind (left out), one for reviewer
    # agreement and one for the criteria linked to the platform's.
    assert len(queries) <= 18, [q["sql"][:120] for q in queries]


# The emulator's demo data, indexed by the worker's own code


def test_the_pages_numbers_match_counts_made_from_the_emulators_generated_records(lead, emulator):
    sync.backfill(pages=100)
    zone = ZoneInfo("America/New_York")
    lead.cookies["tz"] = "America%2FNew_York"
    records = generate(emulator.seed, emulator.conversation_count, time.time())[1]
    assert {r.conversation_id for r in records} == set(emulator.conversation_ids())
    last = today(zone)
    first = last - timedelta(days=61)
    params = {"since": first.isoformat(), "until": last.isoformat()}

    calls, outcomes = defaultdict(Counter), defaultdict(Counter)
    bins, criteria, keys = Counter(), defaultdict(Counter), Counter()
    for record in records:
        started = datetime.fromtimestamp(record.start, zone).date().isoformat()
        calls[started][record.agent_name] += 1
        outcomes[started][record.call_successful or "unknown"] += 1
        bins[next(low for low, high in BINS if record.duration < high * 60)] += 1
        said = content(record)
        for name, (result, _) in said.evaluation.items():
            if result in ("success", "failure", "unknown"):
                criteria[(started, name)][result] += 1
        for key, (value, _) in said.collected.items():
            keys[(key, index.value_text(value))] += 1

    for row in download(lead, "calls", params):
        for agent, number in calls[row["Day"]].items():
            assert int(row[agent]) == number, (row["Day"], agent)
        assert int(row["All agents"]) == sum(calls[row["Day"]].values())
    assert sum(sum(c.values()) for c in calls.values()) == len(records)
    drawn = Counter()
    for _, label in marks(page(lead, params), "calls"):
        found = re.fullmatch(r"(.+): (\d+) calls? of (.+)", label)
        if found:
            drawn[(found[1], found[3])] += int(found[2])
    assert drawn == Counter(
        {
            (day_words((last - date.fromisoformat(started)).days, zone), agent): number
            for started, agents in calls.items()
            for agent, number in agents.items()
        }
    )

    for row in download(lead, "success", params):
        counted = outcomes[row["Day"]]
        assert (int(row["Successful"]), int(row["Failed"]), int(row["Unknown"])) == (
            counted["success"],
            counted["failure"],
            counted["unknown"],
        )

    assert {
        int(row["From (minutes)"]): int(row["Calls"]) for row in download(lead, "durations", params)
    } == {low: bins[low] for low, _ in BINS}

    assert {row["Criterion"] for row in download(lead, "criteria", params)} == {
        name for _, name in criteria
    }
    for row in download(lead, "criteria", params):
        counted = criteria[(row["Day"], row["Criterion"])]
        assert (int(row["Passed"]), int(row["Failed"]), int(row["Unknown"])) == (
            counted["success"],
            counted["failure"],
            counted["unknown"],
        ), (row["Day"], row["Criterion"])

    by_key = Counter()
    for (key, _), number in keys.items():
        by_key[key] += number
    common = min(by_key, key=lambda key: (-by_key[key], key))
    expected = sorted(
        ((text, number) for (key, text), number in keys.items() if key == common),
        key=lambda item: (-item[1], item[0]),
    )[:10]
    assert [(r["Value"], int(r["Calls"])) for r in download(lead, "values", params)] == expected


BINS = ((0, 1), (1, 2), (2, 5), (5, 10), (10, 20), (20, float("inf")))


def test_the_list_links_a_lead_to_analytics_with_its_filters(as_role, emulator):
    indexed("conv_link")
    html = as_role("Lead").get("/", {"outcome": "failure", "q": "refund"}).content.decode()
    assert '<a href="/analytics/?q=refund&amp;outcome=failure">Analytics for this list</a>' in html


def test_the_list_offers_no_analytics_to_a_reviewer(as_role, emulator):
    indexed("conv_link")
    assert "Analytics for this list" not in as_role("Reviewer").get("/").content.decode()
