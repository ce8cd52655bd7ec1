"""Give the demo workspace a QA manager's week to look at: a scorecard, reviewers' scores and
an open calibration round. Run by `make run` with the emulator (scripts/serve.py), once."""

import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.utils import timezone

from conversations import calibration, client, scorecards
from conversations.models import Scorecard, ScorecardCriterion

Kind = ScorecardCriterion.Kind
# The demo's reviewers; they have no password (an admin can give them one on the Team page).
REVIEWERS = ("ana", "ben")
SCORED = 24
CALIBRATED = 5
# How often a demo reviewer's verdict differs from the platform's, so that "human vs
# automatic" and the agreement figures have something to say.
DISAGREE = 0.1

CRITERIA = [
    scorecards.CriterionSpec(
        name="Verifies the customer's identity",
        description=(
            "Confirms the customer's email or order number before discussing the account. "
            "Discussing an account before that fails the whole call."
        ),
        weight=2,
        auto_fail=True,
        platform_criterion="identity_verified",
    ),
    scorecards.CriterionSpec(
        name="Polite and professional",
        description="Friendly tone, lets the customer finish, apologises where it is due.",
        weight=1,
        platform_criterion="polite_and_professional",
    ),
    scorecards.CriterionSpec(
        name="Resolves the issue",
        description="The customer confirms the problem is solved before the call ends.",
        weight=3,
        platform_criterion="issue_resolved",
    ),
    scorecards.CriterionSpec(
        name="Accurate information",
        kind=Kind.SCALE,
        description="1: wrong information given; 3: correct but incomplete; 5: correct, "
        "complete and clear.",
        weight=2,
    ),
    scorecards.CriterionSpec(
        name="Clear next steps",
        description="Ends by saying what happens next, and when.",
        weight=1,
    ),
]
DEFINITION = scorecards.Definition(
    name="Customer support call",
    description="The team's rubric for support calls; the demo's, to edit or copy.",
    criteria=CRITERIA,
    pass_mark=80,
)


class Command(BaseCommand):
    help = "Seed the demo workspace with a scorecard, scores and a calibration round, once."

    def handle(self, *args, **options):
        if Scorecard.objects.exists():
            return
        admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        if admin is None:
            # The round is the administrator's to settle (make run creates one first).
            self.stdout.write("The demo's scorecard was not seeded: there is no administrator.")
            return
        try:
            calls = done_calls(SCORED + 2 * CALIBRATED)
        except client.XunaError as exc:
            self.stdout.write(f"The demo's scorecard was not seeded: {exc}")
            return
        version = scorecards.create_scorecard(user=admin, definition=DEFINITION)
        people = [reviewer(name) for name in REVIEWERS]
        rng = random.Random(48)
        for number, conversation in enumerate(calls[:SCORED]):
            score_as(people[number % 2], conversation, version, rng)
        week = timezone.localdate().isocalendar().week
        # Last week's round, settled: its agreement is on the analytics page from the start.
        last = calls[SCORED + CALIBRATED :]
        past = start_round(admin, f"Calibration, week {week - 1}", people, last, (version, rng))
        for conversation in last:
            calibration.record_agreed(
                user=admin,
                calibration=past,
                conversation_id=conversation.id,
                answers=answers_for(conversation, version, rng),
            )
        calibration.close_round(calibration=past)
        # This week's, where the administrator has still to score blind.
        waiting = calls[SCORED : SCORED + CALIBRATED]
        reviewers = [*people, admin]
        now = start_round(admin, f"Calibration, week {week}", reviewers, waiting, (version, rng))
        self.stdout.write(
            f"Demo QA: the scorecard “{DEFINITION.name}”, {SCORED} calls scored by "
            f"{' and '.join(REVIEWERS)}, last week's calibration settled, and “{now.name}” "
            f"with {len(waiting)} calls waiting for your blind scores (Calibration)."
        )


def start_round(lead, name, reviewers, calls, scoring):
    """A round of these calls, scored by the demo's reviewers among `reviewers`; `scoring` is
    the scorecard version and the random source of their answers."""
    version, rng = scoring
    demo_round = calibration.create_round(
        user=lead,
        name=name,
        version=version,
        reviewers=reviewers,
        conversation_ids=[c.id for c in calls],
    )
    for person in reviewers:
        if person.username not in REVIEWERS:
            continue
        for conversation in calls:
            calibration.submit(
                user=person,
                calibration=demo_round,
                conversation_id=conversation.id,
                answers=answers_for(conversation, version, rng),
            )
    return demo_round


def done_calls(count):
    """The newest finished calls the platform has, read whole (for their evaluations)."""
    found, cursor = [], None
    while len(found) < count:
        page = client.list_conversations(cursor=cursor, page_size=50)
        found += [c.id for c in page.items if c.status == "done"]
        if not (page.has_more and page.next_cursor):
            break
        cursor = page.next_cursor
    return [client.get_conversation(conversation_id) for conversation_id in found[:count]]


def reviewer(username):
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(*Group.objects.filter(name="Reviewer"))
    return user


def score_as(user, conversation, version, rng):
    scorecards.save_score(
        conversation_id=conversation.id,
        version=version,
        user=user,
        answers=answers_for(conversation, version, rng),
    )


def answers_for(conversation, version, rng):
    """A plausible reviewer's answers: the platform's verdict where a criterion is linked to
    one (now and then not), a guess elsewhere."""
    platform = {e.criterion: e.result for e in conversation.evaluation}
    answers = {}
    for criterion in scorecards.criteria_of(version):
        if criterion.kind == Kind.SCALE:
            value = rng.choices("12345", weights=(1, 2, 4, 6, 5))[0]
        else:
            verdict = platform.get(criterion.platform_criterion)
            value = {"success": "pass", "failure": "fail"}.get(verdict) or rng.choices(
                ("pass", "fail", "na"), weights=(8, 1, 1)
            )[0]
            if value != "na" and rng.random() < DISAGREE:
                value = "fail" if value == "pass" else "pass"
        answers[criterion.key] = scorecards.Answer(value)
    return answers
