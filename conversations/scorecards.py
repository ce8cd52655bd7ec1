"""Scorecards: written rubrics, their versions, and the scores reviewers give with them.

A scorecard's criteria live in versions (models.ScorecardVersion): editing a scorecard makes a
new version, so a score already given keeps the criteria it was given against. A criterion
keeps its `key` from version to version, so lists, exports and agreement follow it.

A score's total is the weighted share of points over the criteria that apply:
sum(weight * points) / sum(weight of answered criteria) * 100, where pass is 1, fail 0, a
scale value v is (v - 1) / 4 and "not applicable" leaves the criterion out. A failed
auto-fail criterion (a 1 on a scale) makes the total 0: a compliance breach fails the call.
"""

import dataclasses
import math
import re

from django.db import connection, transaction
from django.http import QueryDict
from django.utils.text import slugify

from conversations import reviews, sampling
from conversations.models import (
    Review,
    ReviewQueue,
    Score,
    ScoreAnswer,
    Scorecard,
    ScorecardCriterion,
    ScorecardVersion,
)

Kind = ScorecardCriterion.Kind
NOT_APPLICABLE = "na"
# Each kind's values, as stored and as offered, with their labels and keys.
VALUES = {
    Kind.PASS_FAIL: (("pass", "Pass"), ("fail", "Fail"), (NOT_APPLICABLE, "N/A")),
    Kind.SCALE: (*((str(v), str(v)) for v in range(1, 6)), (NOT_APPLICABLE, "N/A")),
}
# The value of each kind that fails an auto-fail criterion.
FAILING = {Kind.PASS_FAIL: "fail", Kind.SCALE: "1"}
NOTE_MAX = 2000
NAME_MAX = 200
WEIGHT_MAX = 100


class InvalidAnswers(ValueError):
    """A score's form is incomplete or holds values its criteria do not take; the message
    says which."""


@dataclasses.dataclass(frozen=True)
class Answer:
    value: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class CriterionSpec:
    """A criterion as a lead defines it; `key` is that of the criterion it continues (None for
    a new one)."""

    name: str
    kind: str = Kind.PASS_FAIL
    weight: int = 1
    auto_fail: bool = False
    description: str = ""
    platform_criterion: str = ""
    key: str | None = None


def points(kind, value):
    """A value as a fraction of its criterion's weight; None for not applicable."""
    if value == NOT_APPLICABLE:
        return None
    if kind == Kind.SCALE:
        return (int(value) - 1) / 4
    return 1.0 if value == "pass" else 0.0


def fails(criterion, value):
    return criterion.auto_fail and FAILING[criterion.kind] == value


def total(criteria, answers):
    """(percent rounded to 1 decimal, or None when every criterion was not applicable;
    whether an auto-fail criterion failed) for answers by criterion key."""
    answered = [(c, answers[c.key].value) for c in criteria if c.key in answers]
    if any(fails(c, value) for c, value in answered):
        return 0.0, True
    weighted = [(c.weight, points(c.kind, value)) for c, value in answered]
    weighted = [(weight, share) for weight, share in weighted if share is not None]
    weights = sum(weight for weight, _ in weighted)
    if not weights:
        return None, False
    share = sum(weight * share for weight, share in weighted) / weights
    # Halves round up, as the panel's live total does (app.js), not to even as round() does.
    return math.floor(share * 1000 + 0.5) / 10, False


def passes(version, percent, auto_failed):
    """The verdict of a total: True pass, False fail, None when nothing applied."""
    if auto_failed:
        return False
    return None if percent is None else percent >= version.pass_mark


def current_version(scorecard):
    return scorecard.versions.order_by("-number").first()


def criteria_of(version):
    return list(version.criteria.order_by("position"))


def scorecards_for(agent_id):
    """The active scorecards for an agent's calls (a scorecard with no agents is for all)."""
    # Few scorecards exist; filtering here works alike on every database (JSON containment
    # is not one of SQLite's lookups).
    return [
        s
        for s in Scorecard.objects.filter(active=True)
        if not s.agent_ids or (agent_id and agent_id in s.agent_ids)
    ]


@dataclasses.dataclass(frozen=True)
class Definition:
    """A scorecard as a lead defines it: what applies to the scorecard itself (name, agents,
    whether it is offered) and what is versioned (pass mark and criteria)."""

    name: str
    criteria: list
    description: str = ""
    agent_ids: tuple = ()
    pass_mark: int = 80
    active: bool = True


@transaction.atomic
def create_scorecard(*, user, definition):
    """A new scorecard and its version 1."""
    scorecard = Scorecard.objects.create(
        name=definition.name,
        description=definition.description,
        agent_ids=list(definition.agent_ids),
        active=definition.active,
    )
    return add_version(
        scorecard, user=user, number=1, pass_mark=definition.pass_mark, criteria=definition.criteria
    )


@transaction.atomic
def edit_scorecard(*, user, scorecard, definition):
    """Save a scorecard's name, agents and state in place, and its pass mark and criteria as a
    new version when they changed; returns the (possibly unchanged) current version.

    A score already given keeps its version, so its total and answers never change.
    """
    scorecard = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    scorecard.name, scorecard.description = definition.name, definition.description
    scorecard.agent_ids, scorecard.active = list(definition.agent_ids), definition.active
    scorecard.save()
    latest = current_version(scorecard)
    known = {c.key for c in ScorecardCriterion.objects.filter(version__scorecard=scorecard)}
    wanted = [
        dataclasses.replace(c, key=c.key if c.key in known else None) for c in definition.criteria
    ]
    pass_mark = definition.pass_mark
    if latest and latest.pass_mark == pass_mark and specs_of(latest) == with_keys(wanted):
        return latest
    number = latest.number + 1 if latest else 1
    return add_version(scorecard, user=user, number=number, pass_mark=pass_mark, criteria=wanted)


def add_version(scorecard, *, user, number, pass_mark, criteria):
    version = ScorecardVersion.objects.create(
        scorecard=scorecard,
        number=number,
        pass_mark=pass_mark,
        user=user,
        username=user.get_username() if user else "",
    )
    ScorecardCriterion.objects.bulk_create(
        ScorecardCriterion(version=version, position=position, **dataclasses.asdict(spec))
        for position, spec in enumerate(with_keys(criteria))
    )
    return version


def with_keys(criteria):
    """The criteria with a key each: kept for an existing criterion, made from the name for a
    new one; unique within the version (a key sent twice is kept once)."""
    kept = set()
    for spec in criteria:
        if spec.key:
            kept.add(spec.key)
    taken, keyed = set(), []
    for spec in criteria:
        key = spec.key
        if not key or key in taken:
            base = slugify(spec.name)[:40] or "criterion"
            key, n = base, 1
            while key in taken or key in kept:
                n += 1
                key = f"{base}-{n}"
        taken.add(key)
        keyed.append(dataclasses.replace(spec, key=key))
    return keyed


def specs_of(version):
    """A version's criteria as CriterionSpecs, to compare with an edit."""
    fields = [f.name for f in dataclasses.fields(CriterionSpec)]
    return [
        CriterionSpec(**{name: getattr(c, name) for name in fields}) for c in criteria_of(version)
    ]


def field_names(criterion, prefix=""):
    """The form fields of a criterion's value and note."""
    return f"{prefix}crit-{criterion.key}", f"{prefix}note-{criterion.key}"


def read_answers(version, data, prefix=""):
    """The answers by criterion key from a form's data; InvalidAnswers says what is wrong."""
    answers, missing, bad, long_notes = {}, [], [], []
    for criterion in criteria_of(version):
        value_field, note_field = field_names(criterion, prefix)
        value = data.get(value_field, "").strip()
        note = data.get(note_field, "").replace("\x00", "").strip()
        if not value:
            missing.append(criterion.name)
        elif value not in dict(VALUES[criterion.kind]):
            bad.append(criterion.name)
        if len(note) > NOTE_MAX:
            long_notes.append(criterion.name)
        answers[criterion.key] = Answer(value, note)
    problems = []
    if missing:
        problems.append(f"Pick a value for: {', '.join(missing)}.")
    if bad:
        problems.append(f"Not a value these criteria take: {', '.join(bad)}.")
    if long_notes:
        problems.append(f"Notes are at most {NOTE_MAX} characters: {', '.join(long_notes)}.")
    if problems:
        raise InvalidAnswers(" ".join(problems))
    return answers


@transaction.atomic
def save_score(  # noqa: PLR0913 - the owner of a score is its kind and round (owner_of)
    *, conversation_id, version, user, answers, kind=Score.Kind.REVIEW, calibration=None
):
    """Store one person's score of a conversation (replacing theirs of the same kind) and
    return it; raises reviews.ConversationGone for a deleted conversation.

    A review score also gives an unreviewed conversation its verdict (Passed, or Flagged when
    it fails) and marks it done in the reviewer's sampled queues.
    """
    criteria = criteria_of(version)
    missing = [c.name for c in criteria if c.key not in answers]
    if missing:
        raise InvalidAnswers(f"Pick a value for: {', '.join(missing)}.")
    scorecard = version.scorecard
    lock_scores_of(conversation_id)
    if not reviews.writable_ids([conversation_id]):
        raise reviews.ConversationGone(conversation_id)
    percent, auto_failed = total(criteria, answers)
    score, _ = Score.objects.update_or_create(
        **owner_of(kind, conversation_id, scorecard, user, calibration),
        defaults={
            "version": version,
            "user": user,
            "username": user.get_username(),
            "total": percent,
            "auto_failed": auto_failed,
        },
    )
    score.answers.all().delete()
    ScoreAnswer.objects.bulk_create(
        ScoreAnswer(
            score=score,
            criterion=c,
            value=answers[c.key].value,
            points=points(c.kind, answers[c.key].value),
            note=answers[c.key].note,
        )
        for c in criteria
    )
    mark_current(conversation_id, scorecard)
    if kind == Score.Kind.REVIEW:
        give_verdict(conversation_id, user, passes(version, percent, auto_failed))
        sampling.mark_done(user=user, conversation_id=conversation_id)
    score.refresh_from_db()
    return score


def lock_scores_of(conversation_id):
    """Hold the scores of a conversation until this transaction ends.

    Row locks alone hold nothing before a call's first score: two reviewers scoring it at
    once both made theirs current, and the second save failed. On PostgreSQL a transaction
    lock named after the conversation serialises them; SQLite writes one at a time anyway.
    The rows are locked too, so that a deletion's wipe of them waits for this commit.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [conversation_id])
    list(Score.objects.select_for_update().filter(conversation_id=conversation_id))


def owner_of(kind, conversation_id, scorecard, user, calibration):
    """What makes a score the one to replace: a reviewer's on a scorecard, theirs in a round,
    or the round's agreed one."""
    owner = {"conversation_id": conversation_id, "scorecard": scorecard, "kind": kind}
    if kind == Score.Kind.REVIEW:
        return {**owner, "user": user}
    if kind == Score.Kind.CALIBRATION:
        return {**owner, "calibration": calibration, "user": user}
    return {**owner, "calibration": calibration}


def mark_current(conversation_id, scorecard):
    """The one score that counts for a conversation on a scorecard: the newest agreed score,
    else the newest review score. Calibration scores never count on their own."""
    scores = Score.objects.filter(conversation_id=conversation_id, scorecard=scorecard)
    scores.filter(current=True).update(current=False)
    counted = (
        scores.filter(kind=Score.Kind.AGREED).order_by("-updated_at", "-id").first()
        or scores.filter(kind=Score.Kind.REVIEW).order_by("-updated_at", "-id").first()
    )
    if counted:
        scores.filter(pk=counted.pk).update(current=True)


def give_verdict(conversation_id, user, passed):
    """An unreviewed conversation takes its score's verdict; a status someone set stays."""
    if passed is None:
        return
    review = Review.objects.filter(conversation_id=conversation_id).first()
    if review and review.status != Review.Status.UNREVIEWED:
        return
    status = Review.Status.PASSED if passed else Review.Status.FLAGGED
    reviews.save_review(conversation_id=conversation_id, user=user, status=status)


def scores_given(conversation_id, scorecard):
    """The review scores of a conversation on a scorecard, newest first, with answers."""
    scores = Score.objects.filter(
        conversation_id=conversation_id, scorecard=scorecard, kind=Score.Kind.REVIEW
    ).select_related("version")
    return list(scores.prefetch_related("answers__criterion"))


# The scorecard panel of a conversation's page (templates/conversations/_scorecard.html); its
# criteria (_score_fields.html) also serve calibration's forms, with a prefix.


@dataclasses.dataclass(frozen=True)
class CriterionRow:
    """A criterion as the form shows it: its choices, the value and note to show, and the
    platform's verdict on the criterion it is linked to."""

    criterion: ScorecardCriterion
    choices: tuple
    value: str
    note: str
    platform: str | None
    field: str
    note_field: str


def criterion_rows(version, answers=None, *, prefix="", conversation=None):
    """The rows of a version's criteria, filled with `answers` (by key)."""
    answers = answers or {}
    verdicts = {e.criterion: platform_verdict(e) for e in getattr(conversation, "evaluation", ())}
    rows = []
    for criterion in criteria_of(version):
        answer = answers.get(criterion.key, Answer(""))
        field, note_field = field_names(criterion, prefix)
        platform = verdicts.get(criterion.platform_criterion)
        choices = VALUES[criterion.kind]
        rows.append(
            CriterionRow(criterion, choices, answer.value, answer.note, platform, field, note_field)
        )
    return rows


def platform_verdict(result):
    """The platform's verdict on a criterion in a word ("success"), or its score."""
    if result.result:
        return result.result
    return "no result" if result.score is None else f"{result.score:g}"


def typed_answers(version, data, prefix=""):
    """What a form sent for each criterion, to show again when nothing was saved."""
    typed = {}
    for criterion in criteria_of(version):
        field, note_field = field_names(criterion, prefix)
        typed[criterion.key] = Answer(data.get(field, "")[:4], data.get(note_field, "")[:NOTE_MAX])
    return typed


def answers_of(score):
    return {a.criterion.key: Answer(a.value, a.note) for a in score.answers.all()}


@dataclasses.dataclass(frozen=True)
class Panel:
    conversation_id: str
    scorecards: list
    scorecard: Scorecard
    version: ScorecardVersion
    rows: list
    given: list
    mine: Score | None
    list_query: str = ""
    queue: int | None = None  # the sampled queue the page was opened from
    blind: bool = False
    saved: bool = False
    error: str = ""

    @property
    def list_params(self):
        """The list's filters as fields, for the scorecard choice (a GET form)."""
        return list(QueryDict(self.list_query).items())


def read_queue(value):
    """A sampled queue's id as a page carries it; None for anything else."""
    return int(value) if re.fullmatch(r"[0-9]{1,9}", value or "") else None


def panel_context(request, conversation, *, typed=None, list_query="", blind=False, **extra):
    """{"scoring": Panel} for a conversation's page; Panel is None when the person may not
    score or no active scorecard is for the call's agent."""
    if not request.user.has_perm("conversations.review_conversation"):
        return {"scoring": None}
    offered = scorecards_for(conversation.agent_id)
    queue = read_queue(request.POST.get("queue") or request.GET.get("queue", ""))
    # The scorecard a score was sent with, else the one the page was opened with, else the
    # sampled queue's.
    chosen = request.POST.get("scorecard") or request.GET.get("scorecard", "")
    if not chosen and queue is not None:
        chosen = str(
            ReviewQueue.objects.filter(pk=queue).values_list("scorecard", flat=True).first()
        )
    scorecard = next((s for s in offered if str(s.pk) == chosen), offered[0] if offered else None)
    version = scorecard and current_version(scorecard)
    if version is None:
        return {"scoring": None}
    given = scores_given(conversation.id, scorecard)
    mine = next((s for s in given if s.user_id == request.user.pk), None)
    if blind:
        given = [mine] if mine else []
    if typed is None:
        typed = answers_of(mine) if mine and mine.version_id == version.pk else {}
    panel = Panel(
        conversation_id=conversation.id,
        scorecards=offered,
        scorecard=scorecard,
        version=version,
        rows=criterion_rows(version, typed, conversation=conversation),
        given=given,
        mine=mine,
        list_query=list_query,
        queue=queue,
        blind=blind,
        **extra,
    )
    return {"scoring": panel}
