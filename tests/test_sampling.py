"""Sampled review queues: the draw (rule, minimum, always-include rules, seed, cap), a queue
drawn from the index and handed out, progress, walking it, and its pages."""

import random
import re
import zoneinfo
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from conversations import reviews, sampling
from conversations.models import AuditRecord, QueueItem, Review, ReviewQueue
from conversations.sampling import Candidate, Plan, Rule, draw
from tests.helpers import element, text_of
from tests.index_helpers import indexed, review

DAY = date(2026, 11, 2)


def calls(agent, count, *, day=DAY, prefix=None, meets=()):
    """`count` candidates of one agent on one day."""
    prefix = prefix or f"{agent}-{day.isoformat()}"
    return [
        Candidate(f"{prefix}-{number:03}", agent, day, frozenset(meets)) for number in range(count)
    ]


def per_group(sample, candidates):
    """How many of the sample each (agent, day) has."""
    by_id = {c.conversation_id: c for c in candidates}
    counts = {}
    for conversation_id, _ in sample:
        key = (by_id[conversation_id].agent_id, by_id[conversation_id].day)
        counts[key] = counts.get(key, 0) + 1
    return counts


# The draw


def test_a_percentage_is_taken_of_each_agents_calls_per_day_rounded_up():
    other_day = DAY + timedelta(days=1)
    candidates = calls("ann", 20) + calls("ann", 3, day=other_day) + calls("bob", 7)
    sample = draw(candidates, Rule(percent=10), seed=1)
    assert per_group(sample, candidates) == {
        ("ann", DAY): 2,
        ("ann", other_day): 1,
        ("bob", DAY): 1,
    }
    assert {reason for _, reason in sample} == {"sampled"}


def test_a_number_is_taken_of_each_agents_calls_per_day_or_all_of_a_smaller_day():
    other_day = DAY + timedelta(days=1)
    candidates = calls("ann", 9) + calls("ann", 1, day=other_day) + calls("bob", 4)
    sample = draw(candidates, Rule(number=3), seed=1)
    assert per_group(sample, candidates) == {
        ("ann", DAY): 3,
        ("ann", other_day): 1,
        ("bob", DAY): 3,
    }


def test_an_agent_below_the_minimum_is_topped_up_from_its_other_calls():
    candidates = calls("ann", 30) + calls("bob", 2)
    sample = dict(draw(candidates, Rule(percent=10, minimum=5), seed=4))
    ann = [reason for cid, reason in sample.items() if cid.startswith("ann")]
    bob = [reason for cid, reason in sample.items() if cid.startswith("bob")]
    assert sorted(ann) == ["minimum", "minimum", "sampled", "sampled", "sampled"]
    # Bob has two calls: both, and no more.
    assert sorted(bob) == ["minimum", "sampled"]


def test_every_call_meeting_an_always_include_rule_is_added_with_the_rules_name():
    candidates = (
        calls("ann", 10, prefix="plain")
        + calls("ann", 3, prefix="failed", meets={"failed"})
        + calls("ann", 2, prefix="flagged", meets={"flagged", "criterion"})
    )
    rule = Rule(number=1, always=("failed", "flagged"))
    sample = dict(draw(candidates, rule, seed=2))
    for conversation_id in [c.conversation_id for c in candidates[10:]]:
        assert conversation_id in sample
        assert sample[conversation_id] in ("sampled", conversation_id.split("-")[0])
    assert len(sample) == 6


def test_an_always_include_rule_left_unticked_adds_nothing():
    candidates = calls("ann", 10, prefix="plain") + calls("ann", 5, prefix="f", meets={"failed"})
    assert len(draw(candidates, Rule(number=1), seed=2)) == 1


def test_the_same_seed_draws_the_same_sample_from_the_candidates_in_any_order():
    candidates = calls("ann", 50) + calls("bob", 40) + calls("cy", 5, day=DAY - timedelta(days=3))
    rule = Rule(percent=20, minimum=12)
    shuffled = list(candidates)
    random.Random(7).shuffle(shuffled)
    assert draw(candidates, rule, seed=8121) == draw(shuffled, rule, seed=8121)


def test_another_seed_draws_another_sample():
    candidates = calls("ann", 100) + calls("bob", 100)
    rule = Rule(percent=10)
    assert {c for c, _ in draw(candidates, rule, seed=1)} != {
        c for c, _ in draw(candidates, rule, seed=2)
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"percent": 0}, "A percentage is from 1 to 100"),
        ({"percent": 101}, "A percentage is from 1 to 100"),
        ({"percent": 10, "number": 3}, "not both or neither"),
        ({}, "not both or neither"),
        ({"number": 1, "minimum": -1}, "A minimum per agent is from 0"),
        ({"number": 1, "always": ("criterion",)}, "Choose the evaluation criterion"),
        ({"number": 1, "always": ("everything",)}, "Not an “always include” rule"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        Rule(**fields)


def test_a_rule_says_in_words_how_it_draws():
    rule = Rule(percent=10, minimum=2, always=("failed", "criterion"), criterion="Greeting")
    assert rule.words() == (
        "10% of each agent's calls per day, at least 2 per agent, plus every failed call and"
        " every call that failed the evaluation criterion “Greeting”"
    )
    assert Rule.from_json(rule.as_json()) == rule


# A queue drawn from the index


@pytest.fixture
def people(make_user):
    return {
        "lead": make_user("Lead", "lead"),
        "ann": make_user("Reviewer", "ann"),
        "bob": make_user("Reviewer", "bob"),
        "cy": make_user("Reviewer", "cy"),
    }


def fill_index(count=12, **fields):
    """`count` calls of agent_1 over the last hours, and 4 of agent_2."""
    ids = [indexed(f"conv_{n:02}", hours_ago=n + 1, **fields) for n in range(count)]
    ids += [indexed(f"other_{n}", hours_ago=n + 1, agent_id="agent_2") for n in range(4)]
    return ids


def new_queue(user, review_filter=None, *, rule=None, reviewers=(), seed=5, **plan):
    plan.setdefault("assignment", "round_robin" if reviewers else "claim")
    return sampling.create_queue(
        user=user,
        review_filter=review_filter or reviews.ReviewFilter(),
        plan=Plan(name="Week 48", rule=rule or Rule(number=3), reviewers=reviewers, **plan),
        seed=seed,
    )


def item_ids(queue):
    return list(queue.items.order_by("position").values_list("conversation_id", flat=True))


@pytest.mark.django_db
def test_a_queue_is_drawn_from_the_lists_filters_and_says_how(people):
    fill_index()
    review_filter = reviews.ReviewFilter(agent_id="agent_1")
    queue = new_queue(people["lead"], review_filter, rule=Rule(percent=50, minimum=8), seed=99)
    ids = item_ids(queue)
    assert len(ids) == 8
    assert all(cid.startswith("conv_") for cid in ids)
    assert queue.matched == 12
    assert queue.filter_query == "agent=agent_1"
    assert queue.description == (
        "50% of each agent's calls per day, at least 8 per agent: 8 of 12 calls matching"
        " agent=agent_1; seed 99, days in UTC"
    )


@pytest.mark.django_db
def test_drawing_again_with_the_stored_seed_gives_the_same_calls(people):
    fill_index()
    queue = new_queue(people["lead"], rule=Rule(percent=30, minimum=2), seed=None)
    stored = ReviewQueue.objects.get(pk=queue.pk)
    again = sampling.redraw(stored, reviews.ReviewFilter(), people["lead"])
    assert [cid for cid, _ in again] == item_ids(queue)
    assert stored.seed > 0


@pytest.mark.django_db
def test_always_include_rules_read_the_outcome_the_review_and_the_evaluation(people):
    third = {"agent_id": "agent_3", "hours_ago": 1}
    for number in range(20):
        indexed(f"plain_{number:02}", **third)
    indexed("failed_call", outcome="failure", **third)
    review(indexed("flagged_call", **third), status="flagged")
    indexed("greeting_failed", evaluations={"Greeting": "failure"}, **third)
    indexed("greeting_passed", evaluations={"Greeting": "success"}, **third)
    rule = Rule(number=1, always=("failed", "flagged", "criterion"), criterion="Greeting")
    reasons = dict(
        new_queue(people["lead"], rule=rule).items.values_list("conversation_id", "reason")
    )
    assert len(reasons) == 4
    assert reasons["failed_call"] == "failed"
    assert reasons["flagged_call"] == "flagged"
    assert reasons["greeting_failed"] == "criterion"
    assert "greeting_passed" not in reasons


@pytest.mark.django_db
def test_a_call_whose_deletion_is_under_way_is_left_out(people):
    fill_index(count=3)
    AuditRecord.objects.create(conversation_id="conv_01", outcome="attempted", username="x")
    queue = new_queue(
        people["lead"], reviews.ReviewFilter(agent_id="agent_1"), rule=Rule(percent=100)
    )
    assert sorted(item_ids(queue)) == ["conv_00", "conv_02"]
    assert ": 2 of 3 calls" in queue.description


@pytest.mark.django_db
def test_a_rule_drawing_more_than_a_queue_holds_is_refused(people, monkeypatch):
    fill_index()
    monkeypatch.setattr(sampling, "QUEUE_MAX", 5)
    with pytest.raises(sampling.SampleTooLarge, match="draws 6 calls from 16"):
        new_queue(people["lead"], rule=Rule(number=3))
    assert not ReviewQueue.objects.exists()


@pytest.mark.django_db
def test_without_the_index_no_queue_is_drawn(people):
    with pytest.raises(sampling.NoIndex):
        new_queue(people["lead"])


@pytest.mark.django_db
def test_round_robin_hands_the_calls_out_in_turn_over_the_chosen_reviewers(people):
    fill_index()
    queue = new_queue(people["lead"], rule=Rule(number=5), reviewers=(people["ann"], people["bob"]))
    owners = list(queue.items.order_by("position").values_list("reviewer__username", flat=True))
    assert len(owners) == 9
    assert owners[0::2] == [owners[0]] * 5
    assert owners[1::2] == [owners[1]] * 4
    assert {owners[0], owners[1]} == {"ann", "bob"}


@pytest.mark.django_db
def test_a_claim_queue_leaves_every_call_to_be_claimed(people):
    fill_index()
    queue = new_queue(people["lead"], assignment="claim")
    assert queue.items.count() == 6
    assert not queue.items.filter(reviewer__isnull=False).exists()


@pytest.mark.django_db
def test_round_robin_without_reviewers_is_refused(people):
    fill_index()
    with pytest.raises(ValueError, match="at least one reviewer"):
        new_queue(people["lead"], assignment="round_robin")


# Progress and walking a queue


@pytest.mark.django_db
def test_progress_counts_one_reviewers_calls_or_everyones(people):
    fill_index()
    ann, bob = people["ann"], people["bob"]
    queue = new_queue(people["lead"], rule=Rule(number=2), reviewers=(ann, bob))
    first_of_ann = queue.items.filter(reviewer=ann).first()
    sampling.mark_done(user=ann, conversation_id=first_of_ann.conversation_id)
    assert sampling.progress(queue, ann) == sampling.Progress(1, 2)
    assert sampling.progress(queue, bob) == sampling.Progress(0, 2)
    assert sampling.progress(queue) == sampling.Progress(1, 4)
    assert sampling.reviewer_progress(queue) == [
        sampling.ReviewerProgress("ann", 1, 2),
        sampling.ReviewerProgress("bob", 0, 2),
    ]


@pytest.mark.django_db
def test_next_in_queue_walks_a_reviewers_own_calls_in_order(people):
    fill_index()
    ann = people["ann"]
    queue = new_queue(people["lead"], rule=Rule(number=2), reviewers=(ann,))
    ids = item_ids(queue)
    assert sampling.next_in_queue(queue_id=queue.pk, user=ann) == (
        f"/conversations/{ids[0]}/?queue={queue.pk}"
    )
    sampling.mark_done(user=ann, conversation_id=ids[0])
    assert ids[1] in sampling.next_in_queue(queue_id=queue.pk, user=ann, current_id=ids[0])
    for conversation_id in ids[1:]:
        sampling.mark_done(user=ann, conversation_id=conversation_id)
    assert sampling.next_in_queue(queue_id=queue.pk, user=ann) is None


@pytest.mark.django_db
def test_someone_outside_a_round_robin_queue_gets_nothing_from_it(people):
    fill_index()
    queue = new_queue(people["lead"], reviewers=(people["ann"],))
    assert sampling.next_in_queue(queue_id=queue.pk, user=people["bob"]) is None
    assert not queue.items.filter(reviewer=people["bob"]).exists()


@pytest.mark.django_db
def test_two_reviewers_claiming_never_get_the_same_call(people, monkeypatch):
    fill_index()
    ann, bob = people["ann"], people["bob"]
    queue = new_queue(people["lead"], assignment="claim")
    first = queue.items.get(position=0)

    class RivalFirst:
        """Bob claims the first free call between Ann's read of it and her claim."""

        @staticmethod
        def atomic():
            QueueItem.objects.filter(pk=first.pk, reviewer__isnull=True).update(reviewer=bob)
            return transaction.atomic()

    monkeypatch.setattr(sampling, "transaction", RivalFirst)
    anns = sampling.next_in_queue(queue_id=queue.pk, user=ann)
    assert first.conversation_id not in anns
    assert queue.items.get(position=1).reviewer == ann
    assert queue.items.get(position=0).reviewer == bob


@pytest.mark.django_db
def test_a_claim_queue_with_chosen_reviewers_is_theirs_alone(people):
    fill_index()
    queue = new_queue(people["lead"], assignment="claim", reviewers=(people["ann"],))
    assert sampling.next_in_queue(queue_id=queue.pk, user=people["bob"]) is None
    assert sampling.next_in_queue(queue_id=queue.pk, user=people["ann"]) is not None


@pytest.mark.django_db
def test_a_closed_queue_gives_no_next_call(people):
    fill_index()
    queue = new_queue(people["lead"], reviewers=(people["ann"],))
    ReviewQueue.objects.filter(pk=queue.pk).update(closed_at=queue.created_at)
    assert sampling.next_in_queue(queue_id=queue.pk, user=people["ann"]) is None


# The pages


def login(client, user):
    client.force_login(user)
    return client


QUEUE_FORM = {
    "name": "Billing, week 48",
    "share": "percent",
    "amount": "50",
    "minimum": "",
    "assignment": "round_robin",
    "reviewers": ["ann", "bob"],
    "list_query": "agent=agent_1",
}


@pytest.mark.django_db
def test_a_lead_draws_a_queue_from_the_lists_filters(client, people):
    fill_index()
    page = login(client, people["lead"]).get("/queues/new", {"agent": "agent_1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "agent_1" in text_of(html)
    assert "12 calls match" in text_of(html)
    assert 'name="list_query" value="agent=agent_1"' in html
    response = client.post("/queues/new", QUEUE_FORM)
    queue = ReviewQueue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/queues/{queue.pk}/"
    assert queue.items.count() == 6
    assert queue.filter_query == "agent=agent_1"
    assert set(queue.reviewers.values_list("username", flat=True)) == {"ann", "bob"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "150"}, "A percentage is from 1 to 100."),
        ({"amount": "ten"}, "Enter a whole number."),
        ({"reviewers": []}, "Choose at least one reviewer"),
        ({"reviewers": ["lead", "nobody"]}, "Only people with a review role"),
        ({"always": ["criterion"]}, "Choose the evaluation criterion"),
        ({"assignment": "lottery"}, "Select a valid choice"),
        ({"name": ""}, "This field is required."),
    ],
)
@pytest.mark.django_db
def test_a_queue_form_with_bad_input_is_shown_again_with_why(client, people, change, message):
    fill_index()
    response = login(client, people["lead"]).post("/queues/new", {**QUEUE_FORM, **change})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ReviewQueue.objects.exists()


@pytest.mark.django_db
def test_a_queue_too_large_is_refused_with_the_limit(client, people, monkeypatch):
    fill_index()
    monkeypatch.setattr(sampling, "QUEUE_MAX", 3)
    response = login(client, people["lead"]).post("/queues/new", QUEUE_FORM)
    assert response.status_code == 400
    assert "a queue holds at most 3" in response.content.decode()


@pytest.mark.django_db
def test_without_the_index_the_form_says_why_and_draws_nothing(client, people):
    page = login(client, people["lead"]).get("/queues/new")
    assert "turned off or still empty" in page.content.decode()
    assert 'action="/queues/new"' not in page.content.decode()
    assert client.post("/queues/new", QUEUE_FORM).status_code == 400


@pytest.mark.django_db
def test_a_reviewer_may_not_draw_or_close_a_queue(client, people):
    fill_index()
    queue = new_queue(people["lead"], reviewers=(people["ann"],))
    login(client, people["ann"])
    assert client.get("/queues/new").status_code == 403
    assert client.post("/queues/new", QUEUE_FORM).status_code == 403
    assert client.post(f"/queues/{queue.pk}/close").status_code == 403
    assert ReviewQueue.objects.get().closed_at is None


@pytest.mark.django_db
def test_someone_who_may_not_review_sees_no_queues(client, make_user):
    login(client, make_user(None, "visitor"))
    assert client.get("/queues/").status_code == 403


@pytest.mark.django_db
def test_a_reviewer_sees_only_the_queues_they_work_in_with_their_progress(client, people):
    fill_index()
    ann, bob = people["ann"], people["bob"]
    theirs = new_queue(people["lead"], rule=Rule(number=2), reviewers=(ann, bob))
    other = new_queue(people["lead"], reviewers=(bob,), seed=6)
    sampling.mark_done(
        user=ann, conversation_id=theirs.items.filter(reviewer=ann)[0].conversation_id
    )
    html = login(client, ann).get("/queues/").content.decode()
    assert f"/queues/{theirs.pk}/" in html
    assert f"/queues/{other.pk}/" not in html
    assert "1 of 2" in text_of(html)
    assert "Continue" in html
    assert client.get(f"/queues/{other.pk}/").status_code == 403


@pytest.mark.django_db
def test_a_lead_sees_every_queue_with_everyones_progress(client, people):
    fill_index()
    new_queue(people["lead"], rule=Rule(number=2), reviewers=(people["ann"], people["bob"]))
    html = login(client, people["lead"]).get("/queues/").content.decode()
    assert "0 of 4" in text_of(html)
    assert "New queue" in html


@pytest.mark.django_db
def test_a_reviewer_sees_only_their_own_calls_of_a_queue(client, people):
    fill_index()
    ann = people["ann"]
    queue = new_queue(people["lead"], rule=Rule(number=2), reviewers=(ann, people["bob"]))
    html = login(client, ann).get(f"/queues/{queue.pk}/").content.decode()
    shown = re.findall(r'href="/conversations/([^/]+)/\?queue=', html)
    assert sorted(shown) == sorted(
        queue.items.filter(reviewer=ann).values_list("conversation_id", flat=True)
    )
    assert "seed 5" in html


@pytest.mark.django_db
def test_start_claims_a_call_with_a_post_and_opens_it_in_the_queue(client, people):
    fill_index()
    queue = new_queue(people["lead"], assignment="claim")
    login(client, people["cy"])
    assert client.get(f"/queues/{queue.pk}/next").status_code == 405
    response = client.post(f"/queues/{queue.pk}/next")
    first = queue.items.get(position=0)
    assert response["Location"] == f"/conversations/{first.conversation_id}/?queue={queue.pk}"
    assert first.__class__.objects.get(pk=first.pk).reviewer == people["cy"]


@pytest.mark.django_db
def test_a_lead_closes_a_queue_and_it_leaves_the_reviewers_list(client, people):
    fill_index()
    queue = new_queue(people["lead"], reviewers=(people["ann"],))
    response = login(client, people["lead"]).post(f"/queues/{queue.pk}/close")
    assert response.status_code == 302
    assert ReviewQueue.objects.get().closed_at is not None
    assert (
        f"/queues/{queue.pk}/" not in login(client, people["ann"]).get("/queues/").content.decode()
    )


# The conversation page in a queue, and "Save and next"


def emulator_queue(emulator, lead, reviewer, count=3):
    ids = emulator.conversation_ids()[:count]
    for number, conversation_id in enumerate(ids):
        indexed(conversation_id, hours_ago=number + 1)
    return new_queue(lead, rule=Rule(percent=100), reviewers=(reviewer,)), ids


@pytest.mark.django_db
def test_a_conversation_opened_from_a_queue_shows_the_queue_bar(client, people, emulator):
    queue, _ = emulator_queue(emulator, people["lead"], people["ann"])
    first = queue.items.get(position=0).conversation_id
    html = (
        login(client, people["ann"])
        .get(f"/conversations/{first}/?queue={queue.pk}")
        .content.decode()
    )
    assert text_of(element(html, "nav", class_="queue-bar")) == (
        "Queue Week 48 : 0 of 3 done Next in queue"
    )
    assert f'<input type="hidden" name="queue" value="{queue.pk}">' in html


@pytest.mark.django_db
def test_a_queue_that_is_not_yours_shows_no_bar(client, people, emulator):
    queue, ids = emulator_queue(emulator, people["lead"], people["ann"])
    html = (
        login(client, people["bob"])
        .get(f"/conversations/{ids[0]}/?queue={queue.pk}")
        .content.decode()
    )
    assert "Next in queue" not in html
    assert 'name="queue"' not in html


@pytest.mark.django_db
def test_save_and_next_in_a_queue_marks_the_call_done_and_walks_the_queue(client, people, emulator):
    queue, _ = emulator_queue(emulator, people["lead"], people["ann"], count=2)
    first, second = item_ids(queue)
    login(client, people["ann"])
    response = client.post(
        f"/conversations/{first}/review",
        {"status": "passed", "status_was": "unreviewed", "next": "1", "queue": queue.pk},
    )
    assert response["Location"] == f"/conversations/{second}/?queue={queue.pk}"
    assert sampling.progress(queue, people["ann"]) == sampling.Progress(1, 2)
    response = client.post(
        f"/conversations/{second}/review",
        {"status": "flagged", "status_was": "unreviewed", "next": "1", "queue": queue.pk},
    )
    assert response["Location"] == f"/queues/{queue.pk}/"
    assert sampling.progress(queue, people["ann"]) == sampling.Progress(2, 2)


@pytest.mark.django_db
def test_a_save_that_leaves_the_call_unreviewed_does_not_mark_it_done(client, people, emulator):
    queue, _ = emulator_queue(emulator, people["lead"], people["ann"])
    first = item_ids(queue)[0]
    login(client, people["ann"]).post(
        f"/conversations/{first}/review", {"tags": "listening", "tags_was": "", "queue": queue.pk}
    )
    assert Review.objects.get(conversation_id=first).tags == ["listening"]
    assert sampling.progress(queue, people["ann"]).done == 0


@pytest.mark.django_db
def test_a_queue_that_is_not_a_number_is_refused(client, people, emulator):
    _, ids = emulator_queue(emulator, people["lead"], people["ann"])
    response = login(client, people["ann"]).post(
        f"/conversations/{ids[0]}/review", {"status": "passed", "queue": "first"}
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_list_offers_a_lead_to_sample_a_queue_from_it(client, people, emulator):
    agent_id = emulator.raw(emulator.conversation_ids()[0])["agent_id"]
    html = login(client, people["lead"]).get("/", {"agent": agent_id}).content.decode()
    assert f'href="/queues/new?agent={agent_id}"' in html
    html = login(client, people["ann"]).get("/", {"agent": agent_id}).content.decode()
    assert "/queues/new" not in html
    assert 'href="/queues/"' in html


@pytest.mark.django_db
def test_a_lead_sees_how_a_queue_was_drawn_and_every_call_with_its_agent_and_reason(client, people):
    third = {"agent_id": "agent_3", "agent_name": "Refunds", "hours_ago": 1}
    for number in range(20):
        indexed(f"plain_{number:02}", **third)
    indexed("failed_call", outcome="failure", **third)
    rule = Rule(number=1, always=("failed",))
    queue = new_queue(people["lead"], rule=rule, reviewers=(people["ann"], people["bob"]))
    html = login(client, people["lead"]).get(f"/queues/{queue.pk}/").content.decode()
    rows = [text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[-1], re.S)]
    assert len(rows) == 2
    assert rows[0].startswith("1 plain_")
    assert rows[0].endswith("Refunds Sampled ann to do")
    assert rows[1] == "2 failed_call Refunds Failed call bob to do"
    assert "plus every failed call: 2 of 21 calls in the whole list; seed 5" in text_of(html)
    assert "Close the queue" in html
    assert "ann 0 1 bob 0 1" in text_of(html)


@pytest.mark.django_db
def test_a_call_opened_from_a_queue_is_scored_on_the_queues_scorecard(client, people, emulator):
    from conversations import scorecards

    made = [
        scorecards.create_scorecard(
            user=None,
            definition=scorecards.Definition(
                name=name, criteria=[scorecards.CriterionSpec(name="Greets the caller")]
            ),
        ).scorecard
        for name in ("A general one", "The queue's own")
    ]
    ids = emulator.conversation_ids()[:2]
    for number, conversation_id in enumerate(ids):
        indexed(conversation_id, hours_ago=number + 1)
    queue = new_queue(
        people["lead"], rule=Rule(percent=100), reviewers=(people["ann"],), scorecard=made[1]
    )
    own = f'<option value="{made[1].pk}" selected>The queue&#x27;s own</option>'
    opened = login(client, people["ann"]).get(f"/conversations/{ids[0]}/?queue={queue.pk}")
    assert own in opened.content.decode()
    # Opened from elsewhere, the first scorecard offered is chosen.
    assert own not in client.get(f"/conversations/{ids[0]}/").content.decode()


@pytest.mark.django_db
def test_a_queue_is_drawn_again_the_same_from_another_time_zone(people):
    # Found: the days that group the calls were the viewer's, so drawing again elsewhere
    # grouped them otherwise. The lead's zone is kept with the rule.
    for number in range(30):
        indexed(f"conv_{number:02}", hours_ago=number * 1.7)
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Kiritimati")):
        queue = new_queue(people["lead"], rule=Rule(number=1), seed=3)
    assert queue.rule["zone"] == "Pacific/Kiritimati"
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Pago_Pago")):
        again = sampling.redraw(queue, reviews.ReviewFilter(), people["lead"])
    assert [cid for cid, _ in again] == item_ids(queue)


@pytest.mark.django_db
def test_scoring_a_call_claims_nothing_from_a_queue_one_is_not_part_of(people):
    # Found: any review score took the free item in every open claim queue.
    indexed("conv_a")
    queue = new_queue(people["lead"], rule=Rule(percent=100), assignment="claim")
    queue.reviewers.set([people["ann"]])
    sampling.mark_done(user=people["bob"], conversation_id="conv_a")
    item = queue.items.get()
    assert (item.reviewer, item.done_at) == (None, None)
    sampling.mark_done(user=people["ann"], conversation_id="conv_a")
    item.refresh_from_db()
    assert item.reviewer == people["ann"]
    assert item.done_at is not None


@pytest.mark.django_db
def test_next_in_queue_ignores_a_current_call_that_is_not_an_id(client, people, emulator):
    # Found: a NUL in `current` reached PostgreSQL (a 500).
    queue, _ = emulator_queue(emulator, people["lead"], people["ann"])
    response = login(client, people["ann"]).post(
        f"/queues/{queue.pk}/next", {"current": "conv_\x00<b>"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/conversations/")
