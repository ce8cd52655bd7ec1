"""`manage.py seed_demo`: the demo workspace's scorecard, scores and calibration round."""

import io

import pytest
from django.core.management import call_command

from conversations import calibration
from conversations.models import CalibrationRound, Review, Score, Scorecard
from tests.helpers import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def admin(django_user_model):
    return django_user_model.objects.create_superuser("admin", password="not-used")


def seed():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_gets_a_scorecard_linked_to_the_platforms_criteria(emulator):
    seed()
    scorecard = Scorecard.objects.get()
    criteria = list(scorecard.versions.get().criteria.all())
    linked = {c.platform_criterion for c in criteria} - {""}
    assert linked == {"identity_verified", "polite_and_professional", "issue_resolved"}
    assert any(c.auto_fail for c in criteria)
    assert any(c.kind == "scale" for c in criteria)


def test_the_demo_has_scored_calls_with_their_verdicts(emulator):
    seed()
    scores = Score.objects.filter(kind=Score.Kind.REVIEW)
    assert scores.count() == 24
    assert set(scores.values_list("username", flat=True)) == {"ana", "ben"}
    assert scores.filter(current=True).count() == 24
    verdicts = set(Review.objects.values_list("status", flat=True))
    assert verdicts <= {"passed", "flagged"}
    assert verdicts


def test_the_demo_round_waits_for_the_admins_blind_scores(emulator, admin):
    seed()
    demo_round = CalibrationRound.objects.get(closed_at=None)
    assert demo_round.calls.count() == 5
    assert set(demo_round.reviewers.values_list("username", flat=True)) == {"ana", "ben", "admin"}
    assert demo_round.scores.filter(kind=Score.Kind.CALIBRATION).count() == 10
    call = demo_round.calls.first().conversation_id
    assert calibration.is_blind(admin, call)


def test_seeding_twice_seeds_once(emulator):
    seed()
    assert seed() == ""
    assert Scorecard.objects.count() == 1
    assert Score.objects.filter(kind=Score.Kind.REVIEW).count() == 24


def test_an_unreachable_platform_leaves_the_demo_unseeded_and_says_why(settings):
    settings.XUNA_API_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    settings.XUNA_API_KEY = "key"
    assert "not seeded" in seed()
    assert not Scorecard.objects.exists()


def test_without_an_administrator_nothing_is_seeded(emulator, admin):
    admin.delete()
    assert "no administrator" in seed()
    assert not Scorecard.objects.exists()


def test_last_weeks_demo_round_is_settled_and_closed(emulator, admin):
    seed()
    past = CalibrationRound.objects.exclude(closed_at=None).get()
    assert set(past.reviewers.values_list("username", flat=True)) == {"ana", "ben"}
    assert past.scores.filter(kind=Score.Kind.CALIBRATION).count() == 10
    agreed = past.scores.filter(kind=Score.Kind.AGREED)
    assert agreed.count() == 5
    assert all(score.current for score in agreed)
    assert calibration.agreement_per_criterion(past.scores.all())
    # The administrator is blind on this week's calls only, so last week's figures show.
    waiting = CalibrationRound.objects.get(closed_at=None).calls
    assert calibration.blind_ids(admin) == set(waiting.values_list("conversation_id", flat=True))
