"""Calibration rounds (conversations/calibration*.py): blind scores, the side-by-side view,
the agreed score, agreement per criterion, human against automatic on the analytics page,
permissions and refusals."""

import pytest

from conversations import calibration, scorecards
from conversations.models import (
    AuditRecord,
    CalibrationRound,
    Score,
    Scorecard,
    ScorecardCriterion,
    ScorecardVersion,
)
from conversations.scorecards import Answer
from tests.helpers import element, row_ids, row_of, text_of
from tests.index_helpers import indexed, review

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    """A lead and three reviewers with names no page shows by chance."""
    return {
        "lead": make_user("Lead", "lead-lin"),
        "ann": make_user("Reviewer", "ann-quill"),
        "bob": make_user("Reviewer", "bob-marsh"),
        "cy": make_user("Reviewer", "cy-ostrander"),
    }


@pytest.fixture
def version(people):
    """A scorecard: a pass/fail criterion linked to the platform's "greeting", a 1-5 scale
    linked to "tone", and an auto-fail pass/fail one."""
    scorecard = Scorecard.objects.create(name="Support calls")
    version = ScorecardVersion.objects.create(scorecard=scorecard, number=1, username="lead-lin")
    for position, (key, kind, platform, auto_fail) in enumerate(
        [
            ("greeting", "pass_fail", "greeting", False),
            ("tone", "scale", "tone", False),
            ("disclosure", "pass_fail", "", True),
        ]
    ):
        ScorecardCriterion.objects.create(
            version=version,
            position=position,
            key=key,
            name=key.capitalize(),
            kind=kind,
            platform_criterion=platform,
            auto_fail=auto_fail,
        )
    return version


def answers(greeting="pass", tone="4", disclosure="pass"):
    return {
        "greeting": Answer(greeting),
        "tone": Answer(tone),
        "disclosure": Answer(disclosure, "read out in full"),
    }


def form(round_, values, *, agreed=False):
    """A score form's POST data for a round (calibration.form_prefix)."""
    prefix = calibration.form_prefix(round_, agreed=agreed)
    return {f"{prefix}crit-{key}": value for key, value in values.items()}


def new_round(people, version, conversation_ids, reviewers=("ann", "bob")):
    return calibration.create_round(
        user=people["lead"],
        name="November calibration",
        version=version,
        reviewers=[people[name] for name in reviewers],
        conversation_ids=conversation_ids,
    )


def page_as(client, user, conversation_id):
    client.force_login(user)
    response = client.get(f"/conversations/{conversation_id}/")
    assert response.status_code == 200
    return response.content.decode()


def panel_of(html, round_):
    return element(html, "section", id=f"calibration-{round_.pk}")


# Blind scoring


def test_a_reviewer_does_not_see_others_scores_of_the_call_before_submitting(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    calibration.submit(
        user=people["ann"], calibration=round_, conversation_id=call, answers=answers()
    )
    # Someone else's review score of the same call is hidden too while bob is blind (the
    # call has a status already, so the score sets none and the review history is empty).
    review(call, status="passed")
    scorecards.save_score(
        conversation_id=call, version=version, user=people["cy"], answers=answers("fail")
    )
    html = page_as(client, people["bob"], call)
    panel = panel_of(html, round_)
    assert "Submit my calibration score" in panel
    assert "ann-quill" not in html
    assert "cy-ostrander" not in html
    assert "read out in full" not in html


def test_after_submitting_a_reviewer_sees_every_score_side_by_side_with_differences_marked(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    calibration.submit(
        user=people["ann"], calibration=round_, conversation_id=call, answers=answers()
    )
    client.force_login(people["bob"])
    response = client.post(
        f"/calibration/{round_.pk}/{call}/score",
        form(round_, {"greeting": "fail", "tone": "4", "disclosure": "pass"}),
    )
    assert response.status_code == 302
    panel = panel_of(page_as(client, people["bob"], call), round_)
    table = text_of(element(panel, "table", class_="side-by-side"))
    assert "Criterion ann-quill bob-marsh Agreed" in table
    assert "Greeting differ Pass Fail" in table
    assert "Tone 4 4" in table
    assert "reviewers differ on 1 criterion" in table
    assert "Submit my calibration score" not in panel
    assert "Record the agreed score" not in panel


def test_a_lead_sees_the_scores_side_by_side_and_the_agreed_score_form(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    calibration.submit(
        user=people["ann"], calibration=round_, conversation_id=call, answers=answers()
    )
    panel = panel_of(page_as(client, people["lead"], call), round_)
    table = text_of(element(panel, "table", class_="side-by-side"))
    assert "Greeting Pass not yet" in table
    assert "Record the agreed score" in panel
    assert "read out in full" in panel


def test_a_reviewer_outside_the_round_sees_no_calibration_panel(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    html = page_as(client, people["cy"], call)
    assert f'id="calibration-{round_.pk}"' not in html


def test_the_blind_score_is_saved_by_htmx_and_the_panel_answers_with_the_side_by_side(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    client.force_login(people["ann"])
    response = client.post(
        f"/calibration/{round_.pk}/{call}/score",
        form(round_, {"greeting": "pass", "tone": "5", "disclosure": "na"}),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<section id="calibration-{round_.pk}"' in html
    assert "<html" not in html
    assert "Saved." in html
    assert "Tone 5 not yet" in text_of(element(html, "table", class_="side-by-side"))
    score = Score.objects.get(kind="calibration", user=people["ann"])
    assert score.calibration == round_
    assert not score.current


def test_a_calibration_score_once_given_cannot_be_changed(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    calibration.submit(
        user=people["ann"], calibration=round_, conversation_id=call, answers=answers()
    )
    client.force_login(people["ann"])
    response = client.post(
        f"/calibration/{round_.pk}/{call}/score",
        form(round_, {"greeting": "fail", "tone": "1", "disclosure": "fail"}),
    )
    assert response.status_code == 409
    assert Score.objects.get(kind="calibration").answers.get(criterion__key="greeting").value == (
        "pass"
    )


def test_closing_a_round_refuses_blind_scores_and_ends_blindness(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    calibration.submit(
        user=people["ann"], calibration=round_, conversation_id=call, answers=answers()
    )
    assert calibration.is_blind(people["bob"], call)
    client.force_login(people["lead"])
    assert client.post(f"/calibration/{round_.pk}/close").status_code == 302
    assert not calibration.is_blind(people["bob"], call)
    client.force_login(people["bob"])
    response = client.post(f"/calibration/{round_.pk}/{call}/score", form(round_, {}))
    # The form is read first: an empty one is a 400; a complete one meets the closed round.
    assert response.status_code == 400
    complete = form(round_, {"greeting": "pass", "tone": "3", "disclosure": "pass"})
    assert client.post(f"/calibration/{round_.pk}/{call}/score", complete).status_code == 409
    assert "ann-quill" in page_as(client, people["bob"], call)


# The agreed score


def test_the_leads_agreed_score_becomes_the_calls_current_score(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    scorecards.save_score(
        conversation_id=call, version=version, user=people["cy"], answers=answers("fail")
    )
    client.force_login(people["lead"])
    response = client.post(
        f"/calibration/{round_.pk}/{call}/agreed",
        form(round_, {"greeting": "pass", "tone": "5", "disclosure": "pass"}, agreed=True),
    )
    assert response.status_code == 302
    current = Score.objects.get(conversation_id=call, current=True)
    assert current.kind == "agreed"
    assert current.calibration == round_
    assert current.total == 100.0
    table = text_of(element(panel_of(page_as(client, people["lead"], call), round_), "table"))
    assert "Greeting not yet not yet Pass" in table


def test_only_a_lead_records_the_agreed_score(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    client.force_login(people["ann"])
    values = {"greeting": "pass", "tone": "5", "disclosure": "pass"}
    response = client.post(
        f"/calibration/{round_.pk}/{call}/agreed", form(round_, values, agreed=True)
    )
    assert response.status_code == 403
    assert not Score.objects.exists()


# Permissions and refusals


def test_a_reviewer_cannot_start_a_round(client, people):
    client.force_login(people["ann"])
    assert client.get("/calibration/new").status_code == 403
    assert client.post("/calibration/new", {"name": "x"}).status_code == 403


def test_a_reviewer_outside_the_round_can_neither_score_nor_open_it(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    client.force_login(people["cy"])
    values = form(round_, {"greeting": "pass", "tone": "5", "disclosure": "pass"})
    assert client.post(f"/calibration/{round_.pk}/{call}/score", values).status_code == 403
    assert client.get(f"/calibration/{round_.pk}/").status_code == 403
    assert not Score.objects.exists()


def test_someone_without_a_review_role_cannot_see_calibration(client, make_user):
    client.force_login(make_user(None, "nobody-at-all"))
    assert client.get("/calibration/").status_code == 403


def test_an_incomplete_score_is_a_400_and_saves_nothing(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    client.force_login(people["ann"])
    response = client.post(
        f"/calibration/{round_.pk}/{call}/score",
        form(round_, {"greeting": "maybe", "tone": "9"}),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "Pick a value for: Disclosure" in response.content.decode()
    assert not Score.objects.exists()


def test_a_call_not_in_the_round_is_a_404(client, emulator, people, version):
    first, other = emulator.conversation_ids()[:2]
    round_ = new_round(people, version, [first])
    client.force_login(people["ann"])
    values = form(round_, {"greeting": "pass", "tone": "5", "disclosure": "pass"})
    assert client.post(f"/calibration/{round_.pk}/{other}/score", values).status_code == 404
    assert client.post(f"/calibration/{round_.pk}/bad id!/score", values).status_code in (400, 404)


def test_a_conversation_being_deleted_takes_no_calibration_score(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call])
    AuditRecord.objects.create(conversation_id=call, outcome="attempted", username="lead-lin")
    client.force_login(people["ann"])
    values = form(round_, {"greeting": "pass", "tone": "5", "disclosure": "pass"})
    assert client.post(f"/calibration/{round_.pk}/{call}/score", values).status_code == 410
    assert not Score.objects.exists()


def test_a_new_round_leaves_deleted_calls_out(people, version):
    AuditRecord.objects.create(conversation_id="conv_gone", outcome="deleted", username="x")
    round_ = new_round(people, version, ["conv_kept", "conv_gone", "conv_kept"])
    assert list(round_.calls.values_list("conversation_id", flat=True)) == ["conv_kept"]


# Rounds


def test_a_lead_starts_a_round_from_pasted_ids_and_the_lists_selection(client, people, version):
    client.force_login(people["lead"])
    carried = client.get("/calibration/new", {"ids": ["conv_a", "conv_b"]}).content.decode()
    assert "conv_a\nconv_b</textarea>" in carried
    response = client.post(
        "/calibration/new",
        {
            "name": "Week 48",
            "scorecard": version.scorecard.pk,
            "reviewers": ["ann-quill", "bob-marsh", "cy-ostrander"],
            "calls": "conv_a, conv_b\nconv_c",
        },
    )
    round_ = CalibrationRound.objects.get(name="Week 48")
    assert response.status_code == 302
    assert response["Location"] == f"/calibration/{round_.pk}/"
    assert round_.version == version
    assert round_.reviewers.count() == 3
    assert list(round_.calls.values_list("conversation_id", flat=True)) == [
        "conv_a",
        "conv_b",
        "conv_c",
    ]


@pytest.mark.parametrize(
    ("reviewers", "calls", "message"),
    [
        (["ann-quill"], "conv_a", "at least two reviewers"),
        (["ann-quill", "bob-marsh"], "conv_a not/an/id", "Not a conversation id: not/an/id"),
        (["ann-quill", "bob-marsh"], " , ", "Give at least one conversation id"),
    ],
)
def test_a_round_form_that_does_not_fit_is_a_400(
    client, people, version, reviewers, calls, message
):
    client.force_login(people["lead"])
    response = client.post(
        "/calibration/new",
        {"name": "Bad", "scorecard": version.scorecard.pk, "reviewers": reviewers, "calls": calls},
    )
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not CalibrationRound.objects.exists()


def test_a_reviewer_sees_their_rounds_with_their_progress(client, people, version):
    mine = new_round(people, version, ["conv_a", "conv_b"])
    other = new_round(people, version, ["conv_c"], reviewers=("bob", "cy"))
    calibration.submit(
        user=people["ann"], calibration=mine, conversation_id="conv_a", answers=answers()
    )
    client.force_login(people["ann"])
    html = client.get("/calibration/").content.decode()
    assert f"/calibration/{mine.pk}/" in html
    assert f"/calibration/{other.pk}/" not in html
    assert "1 of 2 scored" in html
    assert "New round" not in html
    assert '<a href="/calibration/">Calibration</a>' in html


def test_a_lead_sees_every_round_with_the_scores_given_of_those_asked_for(client, people, version):
    round_ = new_round(people, version, ["conv_a", "conv_b"])
    calibration.submit(
        user=people["bob"], calibration=round_, conversation_id="conv_b", answers=answers()
    )
    client.force_login(people["lead"])
    html = client.get("/calibration/").content.decode()
    assert "1 of 4" in text_of(element(html, "table", class_="calibration-rounds"))
    assert "New round" in html


def test_a_round_page_shows_who_scored_and_the_agreement_per_criterion(client, people, version):
    round_ = new_round(people, version, ["conv_a", "conv_b"])
    for name, tone in (("ann", "4"), ("bob", "5")):
        calibration.submit(
            user=people[name],
            calibration=round_,
            conversation_id="conv_a",
            answers=answers(tone=tone),
        )
    client.force_login(people["lead"])
    html = client.get(f"/calibration/{round_.pk}/").content.decode()
    calls = text_of(element(html, "table", class_="calibration-calls"))
    assert "conv_a scored scored –" in calls
    assert "conv_b not yet not yet –" in calls
    assert "You: " not in html  # the lead is not one of the reviewers
    agreement = text_of(element(html, "table", class_="agreement"))
    assert "Greeting 1 2 100 % not enough to tell" in agreement
    assert "Tone 1 2 0 %" in agreement


def test_a_reviewer_sees_no_agreement_figures_while_the_round_is_open(client, people, version):
    round_ = new_round(people, version, ["conv_a"])
    client.force_login(people["ann"])
    html = client.get(f"/calibration/{round_.pk}/").content.decode()
    assert 'class="agreement"' not in html
    assert "You: 0 of 1 scored" in text_of(html)


# Agreement per criterion


def scored(people, round_, conversation_id, by):
    """Each reviewer's calibration score of a call: {reviewer: greeting value}."""
    for name, greeting in by.items():
        calibration.submit(
            user=people[name],
            calibration=round_,
            conversation_id=conversation_id,
            answers=answers(greeting),
        )


def test_two_reviewers_agreement_is_percent_agreement_and_cohens_kappa(people, version):
    """Six calls: pass/pass 2, pass/fail 1, fail/pass 1, fail/fail 2. p-o = 4/6; each
    reviewer passed half, so p-e = 0.5; kappa = (4/6 - 0.5) / 0.5 = 1/3."""
    calls = [f"conv_{n}" for n in range(6)]
    round_ = new_round(people, version, calls)
    pattern = [("pass", "pass")] * 2 + [("pass", "fail"), ("fail", "pass")] + [("fail", "fail")] * 2
    for call, (ann, bob) in zip(calls, pattern, strict=True):
        scored(people, round_, call, {"ann": ann, "bob": bob})
    by_key = {a.key: a for a in calibration.agreement_per_criterion(round_.scores.all())}
    greeting = by_key["greeting"]
    assert (greeting.calls, greeting.reviewers, greeting.kind) == (6, 2, "Cohen's kappa")
    assert greeting.percent == pytest.approx(4 / 6)
    assert greeting.kappa == pytest.approx(1 / 3)
    assert greeting.reading == "fair"
    # Everyone gave the tone a 4: agreement is full, kappa undefined.
    assert by_key["tone"].percent == 1.0
    assert by_key["tone"].kappa is None


def test_three_reviewers_agreement_is_fleiss_kappa(people, version):
    """Two calls, three reviewers: all pass on one; pass, pass, fail on the other.
    P-bar = (1 + 1/3) / 2 = 2/3; p(pass) = 5/6, P-e = 26/36; kappa = (2/3 - 26/36) / (10/36)
    = -0.2."""
    round_ = new_round(people, version, ["conv_a", "conv_b"], reviewers=("ann", "bob", "cy"))
    scored(people, round_, "conv_a", {"ann": "pass", "bob": "pass", "cy": "pass"})
    scored(people, round_, "conv_b", {"ann": "pass", "bob": "pass", "cy": "fail"})
    greeting = calibration.agreement_per_criterion(round_.scores.all())[0]
    assert (greeting.key, greeting.kind, greeting.reviewers) == ("greeting", "Fleiss' kappa", 3)
    assert greeting.percent == pytest.approx(2 / 3)
    assert greeting.kappa == pytest.approx(-0.2)


def test_a_call_scored_by_one_reviewer_only_counts_for_nothing(people, version):
    round_ = new_round(people, version, ["conv_a", "conv_b"])
    scored(people, round_, "conv_a", {"ann": "pass", "bob": "fail"})
    scored(people, round_, "conv_b", {"ann": "pass"})
    greeting = calibration.agreement_per_criterion(round_.scores.all())[0]
    assert greeting.calls == 1
    assert greeting.percent == 0.0


# Human against automatic, on the analytics page


def current_score(people, version, conversation_id, greeting, tone="4"):
    scorecards.save_score(
        conversation_id=conversation_id,
        version=version,
        user=people["ann"],
        answers=answers(greeting, tone),
    )


def test_the_analytics_page_compares_the_platforms_verdicts_with_the_peoples(
    client, people, version
):
    indexed("conv_1", evaluations={"greeting": "success", "tone": "success"})
    indexed("conv_2", evaluations={"greeting": "failure", "tone": "success"})
    indexed("conv_3", evaluations={"greeting": "failure", "tone": "failure"})
    indexed("conv_4", evaluations={"greeting": "unknown", "tone": "failure"})
    indexed("conv_5", evaluations={"greeting": "failure"})
    current_score(people, version, "conv_1", "pass", tone="5")
    current_score(people, version, "conv_2", "pass", tone="3")  # a 3 is not compared
    current_score(people, version, "conv_3", "fail", tone="2")
    current_score(people, version, "conv_4", "fail", tone="4")  # unknown is not compared
    current_score(people, version, "conv_5", "na")  # N/A is not compared
    indexed("conv_6", evaluations={"greeting": "failure"})  # no score: not compared
    client.force_login(people["lead"])
    html = client.get("/analytics/").content.decode()
    table = element(html, "table", class_="human-vs-automatic")
    rows = text_of(table)
    # greeting: conv_1 match, conv_2 differ, conv_3 match.
    assert "greeting Greeting 3 67 % 0.40 fair 1 call differs" in rows
    # tone: conv_1 match, conv_3 match, conv_4 differ (4 is a pass against failure).
    assert "tone Tone 3 67 %" in rows
    assert "disagree=greeting" in table
    assert "<caption>" in table


def test_the_disagreement_link_keeps_the_pages_filters(client, people, version):
    indexed("conv_1", evaluations={"greeting": "success"}, agent_id="agent_9")
    current_score(people, version, "conv_1", "fail")
    client.force_login(people["lead"])
    html = client.get("/analytics/", {"agent": "agent_9"}).content.decode()
    table = element(html, "table", class_="human-vs-automatic")
    link = table.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert link.startswith("/?")
    assert "agent=agent_9" in link
    assert "since=" in link
    assert link.endswith("disagree=greeting")


def test_the_analytics_page_shows_reviewer_agreement_over_its_calls(client, people, version):
    indexed("conv_1")
    indexed("conv_2", agent_id="agent_other")
    round_ = new_round(people, version, ["conv_1", "conv_2"])
    scored(people, round_, "conv_1", {"ann": "pass", "bob": "pass"})
    scored(people, round_, "conv_2", {"ann": "pass", "bob": "fail"})
    client.force_login(people["lead"])
    everything = text_of(
        element(client.get("/analytics/").content.decode(), "table", class_="agreement")
    )
    assert "Greeting Support calls 2 2 50 %" in everything
    one_agent = client.get("/analytics/", {"agent": "agent_1"}).content.decode()
    assert "Greeting Support calls 1 2 100 %" in text_of(
        element(one_agent, "table", class_="agreement")
    )


# What a blind reviewer's own saves answer with


def test_a_blind_reviewer_sees_no_review_history_of_the_call(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    new_round(people, version, [call])
    scorecards.save_score(
        conversation_id=call, version=version, user=people["cy"], answers=answers("fail")
    )
    html = page_as(client, people["bob"], call)
    assert "cy-ostrander" not in html
    assert "history is hidden until you submit" in html
    # Once no longer blind, the history says who judged the call.
    assert "cy-ostrander" in page_as(client, people["lead"], call)


def test_a_review_saved_while_blind_answers_without_the_history(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    new_round(people, version, [call])
    scorecards.save_score(
        conversation_id=call, version=version, user=people["cy"], answers=answers("fail")
    )
    client.force_login(people["bob"])
    response = client.post(
        f"/conversations/{call}/review",
        {"tags": "calibrating", "tags_was": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "cy-ostrander" not in response.content.decode()


def test_a_review_score_saved_while_blind_answers_without_others_scores(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    new_round(people, version, [call])
    scorecards.save_score(
        conversation_id=call, version=version, user=people["cy"], answers=answers("fail")
    )
    client.force_login(people["bob"])
    fields = {f"crit-{key}": value for key, value in {"greeting": "pass", "tone": "3"}.items()}
    data = {"scorecard": version.scorecard.pk, "crit-disclosure": "pass", **fields}
    headers = {"HX-Request": "true"}
    saved = client.post(f"/conversations/{call}/score", data, headers=headers)
    refused = client.post(
        f"/conversations/{call}/score", {**data, "crit-tone": "9"}, headers=headers
    )
    assert saved.status_code == 200
    assert refused.status_code == 400
    for response in (saved, refused):
        assert "cy-ostrander" not in response.content.decode()


def test_a_lead_calibrates_a_call_from_its_page(client, emulator, people, version):
    call = emulator.conversation_ids()[0]
    link = element(page_as(client, people["lead"], call), "a", href=f"/calibration/new?ids={call}")
    assert "Calibrate this call" in link
    assert call in client.get(f"/calibration/new?ids={call}").content.decode()
    assert "/calibration/new" not in page_as(client, people["ann"], call)


def test_a_deletion_wipes_the_calls_scores_queue_places_and_calibration(
    emulator, people, version, make_user
):
    from conversations import deletion, reviews, sampling
    from conversations.models import CalibrationCall, QueueItem, ScoreAnswer

    call, other = emulator.conversation_ids()[:2]
    new_round(people, version, [call, other])
    for conversation_id in (call, other):
        scorecards.save_score(
            conversation_id=conversation_id, version=version, user=people["cy"], answers=answers()
        )
        indexed(conversation_id)
    queue = sampling.create_queue(
        user=people["lead"],
        review_filter=reviews.ReviewFilter(),
        plan=sampling.Plan(
            name="All", rule=sampling.Rule(percent=100), assignment="claim", reviewers=()
        ),
        seed=1,
    )
    assert queue.items.count() == 2
    result = deletion.delete_conversation(
        user=make_user("Admin", "root"), conversation_id=call, reason="asked"
    )
    assert result.done
    for model in (Score, CalibrationCall, QueueItem):
        assert not model.objects.filter(conversation_id=call).exists()
        assert model.objects.filter(conversation_id=other).exists()
    assert ScoreAnswer.objects.filter(score__conversation_id=other).exists()
    assert not ScoreAnswer.objects.filter(score__conversation_id=call).exists()


# Found in review: what else could tell a blind reviewer what others scored


def test_a_blind_reviewer_sees_no_score_in_the_list_nor_lists_by_score(
    client, emulator, people, version
):
    call, other = emulator.conversation_ids()[:2]
    for number, conversation_id in enumerate((call, other)):
        indexed(conversation_id, hours_ago=number + 1)
        scorecards.save_score(
            conversation_id=conversation_id,
            version=version,
            user=people["cy"],
            answers=answers(disclosure="fail"),
        )
    new_round(people, version, [call])
    client.force_login(people["bob"])
    page = client.get("/").content.decode()
    assert "auto-fail" not in row_of(page, call)
    assert "auto-fail" in row_of(page, other)
    for query in ("qa_criterion=disclosure&qa_value=fail", "sort=score_low", "score_max=10"):
        listed = row_ids(client.get(f"/?{query}").content.decode())
        assert call not in listed
        assert other in listed
    # The lead, who is not scoring it blind, sees it.
    client.force_login(people["lead"])
    assert call in row_ids(client.get("/?qa_criterion=disclosure&qa_value=fail").content.decode())


def test_a_removed_reviewer_still_counts_in_the_agreement(client, people, version):
    round_ = new_round(people, version, ["conv_a", "conv_b"])
    for call in ("conv_a", "conv_b"):
        scored(people, round_, call, {"ann": "pass", "bob": "fail"})
    people["ann"].delete()
    greeting = calibration.agreement_per_criterion(round_.scores.all())[0]
    assert (greeting.calls, greeting.reviewers, greeting.percent) == (2, 2, 0.0)
    client.force_login(people["lead"])
    assert client.get(f"/calibration/{round_.pk}/").status_code == 200


def test_a_lead_reviewing_in_a_round_records_no_agreed_score_and_sees_no_figures_before_scoring(
    client, emulator, people, version
):
    call = emulator.conversation_ids()[0]
    round_ = new_round(people, version, [call], reviewers=("ann", "lead"))
    scored(people, round_, call, {"ann": "fail"})
    client.force_login(people["lead"])
    refused = client.post(
        f"/calibration/{round_.pk}/{call}/agreed",
        form(round_, {"greeting": "pass", "tone": "4", "disclosure": "pass"}, agreed=True),
    )
    assert refused.status_code == 409
    assert not Score.objects.filter(kind=Score.Kind.AGREED).exists()
    assert 'class="agreement"' not in client.get(f"/calibration/{round_.pk}/").content.decode()
