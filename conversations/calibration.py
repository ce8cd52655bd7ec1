"""Calibration rounds: chosen reviewers score the same calls blind, a lead compares and
settles them, and agreement is measured; and how far the platform's automatic grades agree
with the people's.

A reviewer of an open round sees nobody else's score of a call of it until they have given
their own (is_blind). A calibration score, once given, stays: changing it after seeing the
others' would measure nothing. The lead's agreed score becomes the call's current score
(scorecards.mark_current). The statistics are in agreement.py; what counts as a category
and which kappa is used is said where each is chosen below.
"""

import dataclasses
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from conversations import agreement, queries, reviews, scorecards
from conversations.models import (
    CalibrationCall,
    CalibrationRound,
    IndexedEvaluation,
    Score,
    ScoreAnswer,
    ScorecardCriterion,
)

MAX_CALLS = 200
LABELS = {"pass": "Pass", "fail": "Fail", "na": "N/A"}
NAME_MAX = 200


class CalibrationRefused(Exception):
    """A calibration action that cannot be done as asked; the message says why."""

    status = 400


class NotInRound(CalibrationRefused):
    status = 404


class NotAReviewer(CalibrationRefused):
    status = 403


class AlreadyScored(CalibrationRefused):
    status = 409


class RoundClosed(CalibrationRefused):
    status = 409


class StillBlind(CalibrationRefused):
    status = 409


# Rounds and their calls


@transaction.atomic
def create_round(*, user, name, version, reviewers, conversation_ids):
    """A new open round of these calls for these reviewers; calls a deletion removed are left
    out. The reviewers must be two or more (agreement needs two)."""
    reviewers = list(dict.fromkeys(reviewers))
    if len(reviewers) < 2:
        raise CalibrationRefused("Choose at least two reviewers: agreement needs two.")
    calibration = CalibrationRound.objects.create(
        name=name[:NAME_MAX], version=version, user=user, username=user.get_username()
    )
    calibration.reviewers.set(reviewers)
    add_calls(calibration=calibration, conversation_ids=conversation_ids)
    if not calibration.calls.exists():
        raise CalibrationRefused("None of these calls can be calibrated: add at least one.")
    return calibration


def add_calls(*, calibration, conversation_ids):
    """Add calls to a round after those it has (each once, none a deletion removed); the
    calls added."""
    ids = list(dict.fromkeys(conversation_ids))
    writable = reviews.writable_ids(ids)
    have = set(calibration.calls.values_list("conversation_id", flat=True))
    new = [c for c in ids if c in writable and c not in have]
    start = calibration.calls.count()
    if start + len(new) > MAX_CALLS:
        raise CalibrationRefused(f"A round holds at most {MAX_CALLS} calls.")
    return CalibrationCall.objects.bulk_create(
        CalibrationCall(round=calibration, position=start + n, conversation_id=c)
        for n, c in enumerate(new)
    )


def close_round(*, calibration):
    """Close a round: no more blind scores; the lead may still record agreed ones."""
    if calibration.closed_at is None:
        calibration.closed_at = timezone.now()
        calibration.save(update_fields=["closed_at"])
    return calibration


def rounds_for(user, *, manager):
    """The rounds a person sees: every round for a lead, the rounds they are in otherwise."""
    rounds = CalibrationRound.objects.select_related("version__scorecard")
    if not manager:
        rounds = rounds.filter(reviewers=user)
    return list(rounds.prefetch_related("calls"))


@dataclasses.dataclass(frozen=True)
class Progress:
    submitted: int
    calls: int


def progress(calibration, user):
    """How many of a round's calls this person has scored."""
    calls = calibration.calls.count()
    submitted = submitted_ids(calibration, user)
    return Progress(len(submitted), calls)


def overall_progress(calibration):
    """How many of the scores a round asks for (each reviewer, each call) are given."""
    wanted = calibration.calls.count() * calibration.reviewers.count()
    given = Score.objects.filter(calibration=calibration, kind=Score.Kind.CALIBRATION).count()
    return Progress(given, wanted)


def submitted_ids(calibration, user):
    return set(
        Score.objects.filter(
            calibration=calibration, kind=Score.Kind.CALIBRATION, user=user
        ).values_list("conversation_id", flat=True)
    )


def open_rounds_holding(conversation_id):
    return CalibrationRound.objects.filter(closed_at=None, calls__conversation_id=conversation_id)


def is_blind(user, conversation_id):
    """Whether this person must not see others' scores of this call yet: they review it in an
    open round and have not given their calibration score for it."""
    waiting = open_rounds_holding(conversation_id).filter(reviewers=user)
    given = Score.objects.filter(
        calibration__in=waiting,
        conversation_id=conversation_id,
        kind=Score.Kind.CALIBRATION,
        user=user,
    )
    return waiting.exclude(pk__in=given.values("calibration")).exists()


def blind_ids(user):
    """The calls this person is blind on (is_blind), in one query."""
    if not user.is_authenticated:
        return set()
    given = Score.objects.filter(
        calibration=OuterRef("round"),
        conversation_id=OuterRef("conversation_id"),
        kind=Score.Kind.CALIBRATION,
        user=user,
    )
    waiting = CalibrationCall.objects.filter(round__closed_at=None, round__reviewers=user)
    return set(waiting.filter(~Exists(given)).values_list("conversation_id", flat=True))


# Scores


def locked_call(calibration, conversation_id):
    """The round (locked, read again) after checking it holds this call."""
    calibration = CalibrationRound.objects.select_for_update().get(pk=calibration.pk)
    if not calibration.calls.filter(conversation_id=conversation_id).exists():
        raise NotInRound("This call is not in this calibration round.")
    return calibration


@transaction.atomic
def submit(*, user, calibration, conversation_id, answers):
    """A reviewer's blind score of a call of an open round they are in; given once."""
    calibration = locked_call(calibration, conversation_id)
    if not calibration.reviewers.filter(pk=user.pk).exists():
        raise NotAReviewer("You are not a reviewer of this round.")
    if calibration.closed_at:
        raise RoundClosed("This round is closed; it takes no more scores.")
    if conversation_id in submitted_ids(calibration, user):
        raise AlreadyScored("You have scored this call in this round; a calibration score stays.")
    return scorecards.save_score(
        conversation_id=conversation_id,
        version=calibration.version,
        user=user,
        answers=answers,
        kind=Score.Kind.CALIBRATION,
        calibration=calibration,
    )


@transaction.atomic
def record_agreed(*, user, calibration, conversation_id, answers):
    """The lead's settlement of a call of a round, open or closed: the call's current score
    from now on. Recording it again replaces it."""
    calibration = locked_call(calibration, conversation_id)
    if is_blind(user, conversation_id):
        # A lead who reviews in a round scores blind first, like everyone in it.
        raise StillBlind("Submit your own calibration score of this call first.")
    return scorecards.save_score(
        conversation_id=conversation_id,
        version=calibration.version,
        user=user,
        answers=answers,
        kind=Score.Kind.AGREED,
        calibration=calibration,
    )


@dataclasses.dataclass(frozen=True)
class Given:
    """One person's answer to one criterion; value None: not scored yet."""

    username: str
    value: str | None
    note: str = ""

    @property
    def label(self):
        return LABELS.get(self.value, self.value)


@dataclasses.dataclass(frozen=True)
class CriterionRow:
    criterion: ScorecardCriterion
    given: tuple
    agreed: Given | None

    @property
    def disagree(self):
        """Whether the reviewers who scored gave different values."""
        return len({g.value for g in self.given if g.value is not None}) > 1


def side_by_side(calibration, conversation_id):
    """Every reviewer's answer per criterion of a round's call, and the agreed one."""
    scores = Score.objects.filter(
        calibration=calibration, conversation_id=conversation_id
    ).prefetch_related("answers")
    reviewers = sorted(calibration.reviewers.all(), key=lambda u: u.get_username())
    mine = {s.user_id: s for s in scores if s.kind == Score.Kind.CALIBRATION}
    agreed = next((s for s in scores if s.kind == Score.Kind.AGREED), None)

    def answer(score, username, criterion):
        found = score and next(
            (a for a in score.answers.all() if a.criterion_id == criterion.pk), None
        )
        return Given(username, found.value, found.note) if found else Given(username, None)

    rows = []
    for criterion in scorecards.criteria_of(calibration.version):
        given = tuple(answer(mine.get(u.pk), u.get_username(), criterion) for u in reviewers)
        settled = answer(agreed, agreed.username, criterion) if agreed else None
        rows.append(CriterionRow(criterion, given, settled))
    return rows


@dataclasses.dataclass(frozen=True)
class CallStatus:
    """Who has scored a call of a round (in the order of the round's reviewers), and whether
    the lead has recorded the agreed score."""

    conversation_id: str
    scored: tuple
    agreed: bool


def call_status(calibration, calls, reviewers):
    given = defaultdict(set)
    agreed = set()
    scores = Score.objects.filter(calibration=calibration).values_list(
        "conversation_id", "kind", "user_id"
    )
    for conversation_id, kind, user_id in scores:
        if kind == Score.Kind.AGREED:
            agreed.add(conversation_id)
        else:
            given[conversation_id].add(user_id)
    return [
        CallStatus(
            call.conversation_id,
            tuple(u.pk in given[call.conversation_id] for u in reviewers),
            call.conversation_id in agreed,
        )
        for call in calls
    ]


@dataclasses.dataclass(frozen=True)
class CallPanel:
    """What a call's page shows of one round holding the call, to one person."""

    calibration: CalibrationRound
    conversation_id: str
    reviewer: bool  # one of the round's reviewers
    scored: bool  # has given their calibration score of this call
    blind: bool  # must score before seeing anyone else's
    lead: bool  # may record the agreed score
    rows: tuple | None  # side_by_side; None while blind
    score_rows: tuple  # the blind form's criteria (scorecards.criterion_rows)
    agreed_rows: tuple  # the agreed form's, filled with the agreed score if there is one
    saved: bool = False
    refusal: str = ""

    @property
    def disagreements(self):
        return sum(1 for row in self.rows or () if row.disagree)


def form_prefix(calibration, *, agreed):
    """The prefix of a score form's fields: each round's forms on a call's page, and the
    blind and agreed forms of one round, keep their fields apart."""
    return f"cal{calibration.pk}-{'agreed-' if agreed else ''}"


def call_panel(calibration, user, conversation_id, *, typed=None, agreed_typed=None, **extra):
    """`typed` and `agreed_typed`: what a refused form sent, shown again."""
    reviewer = calibration.reviewers.filter(pk=user.pk).exists()
    lead = user.has_perm("conversations.manage_quality")
    scored = reviewer and conversation_id in submitted_ids(calibration, user)
    blind = reviewer and not scored and calibration.closed_at is None
    # A lead who is also a reviewer of an open round scores blind like the others first.
    shown = not blind and (reviewer or lead)
    version = calibration.version
    if agreed_typed is None and lead and not blind:
        agreed = Score.objects.filter(
            calibration=calibration, conversation_id=conversation_id, kind=Score.Kind.AGREED
        ).first()
        agreed_typed = scorecards.answers_of(agreed) if agreed else None
    return CallPanel(
        calibration=calibration,
        conversation_id=conversation_id,
        reviewer=reviewer,
        scored=scored,
        blind=blind,
        lead=lead and not blind,
        rows=tuple(side_by_side(calibration, conversation_id)) if shown else None,
        score_rows=tuple(
            scorecards.criterion_rows(version, typed, prefix=form_prefix(calibration, agreed=False))
        ),
        agreed_rows=tuple(
            scorecards.criterion_rows(
                version, agreed_typed, prefix=form_prefix(calibration, agreed=True)
            )
        ),
        **extra,
    )


def page_context(user, conversation_id):
    """What a call's page shows of calibration: a panel per round holding the call that this
    person reviews in (every such round for a lead), and whether they are blind to others'
    scores of it."""
    rounds = CalibrationRound.objects.filter(calls__conversation_id=conversation_id)
    if not user.has_perm("conversations.manage_quality"):
        rounds = rounds.filter(reviewers=user)
    rounds = rounds.select_related("version__scorecard").distinct()
    return {
        "calibration_panels": [call_panel(r, user, conversation_id) for r in rounds],
        "calibration_blind": is_blind(user, conversation_id),
    }


# Agreement between reviewers


@dataclasses.dataclass(frozen=True)
class Agreement:
    """Agreement on one criterion of a scorecard (followed by its key from version to
    version) over some calls."""

    scorecard: str
    key: str
    name: str
    calls: int
    reviewers: int
    percent: float | None
    kappa: float | None
    kind: str  # "Cohen's kappa" or "Fleiss' kappa"

    @property
    def reading(self):
        return agreement.reading(self.kappa)


COHEN, FLEISS = "Cohen's kappa", "Fleiss' kappa"


def agreement_per_criterion(scores):
    """Agreement per criterion over the calibration scores among `scores` (a Score queryset:
    a round's, or those of some calls). Each value is a category ("na" too, and 1 to 5 on a
    scale, unweighted): reviewers who differ on whether a criterion applies disagree."""
    answers = (
        ScoreAnswer.objects.filter(score__in=scores.filter(kind=Score.Kind.CALIBRATION))
        .values_list(
            "criterion__version__scorecard__name",
            "criterion__key",
            "criterion__name",
            "score__calibration_id",
            "score__conversation_id",
            # By name, copied on the score: a reviewer removed since is still one rater.
            "score__username",
            "value",
        )
        .order_by(
            "criterion__version__scorecard__name",
            "criterion__version__number",
            "criterion__position",
        )
    )
    names, items = {}, defaultdict(lambda: defaultdict(dict))
    for scorecard, key, name, round_id, conversation_id, username, value in answers:
        names[scorecard, key] = name  # the newest version's name, read last
        items[scorecard, key][(round_id, conversation_id)][username] = value
    return [criterion_agreement(*found, names[found], items[found].values()) for found in names]


def criterion_agreement(scorecard, key, name, items):
    """Cohen's kappa when the same two people rated every call; else Fleiss' kappa, which
    allows different raters per call but needs as many on each: over the calls rated by the
    most common number of people (the more people on a tie)."""
    rated = [item for item in items if len(item) >= 2]
    raters = {user for item in rated for user in item}
    percent = agreement.percent_agreement([list(item.values()) for item in rated])
    if len(raters) == 2:
        first, second = sorted(raters)
        pairs = [(item[first], item[second]) for item in rated]
        kappa = agreement.cohen_kappa(pairs)
        return Agreement(scorecard, key, name, len(rated), 2, percent, kappa, COHEN)
    sizes = defaultdict(int)
    for item in rated:
        sizes[len(item)] += 1
    size = max(sizes, key=lambda n: (sizes[n], n)) if sizes else 0
    same = [list(item.values()) for item in rated if len(item) == size]
    kappa = agreement.fleiss_kappa(agreement.counts_table(same)) if same else None
    return Agreement(scorecard, key, name, len(rated), len(raters), percent, kappa, FLEISS)


# Human against automatic


# A person's answer as a verdict to set against the platform's: on a scale 4 and 5 pass and
# 1 and 2 fail; a 3 and "not applicable" say neither and are not compared.
# The list's filter of the calls where they differ (queries._disagreeing) reads them alike.
HUMAN_VERDICTS = {
    **dict.fromkeys(queries.PASSING, "success"),
    **dict.fromkeys(queries.FAILING, "failure"),
}
PLATFORM_VERDICTS = ("success", "failure")


@dataclasses.dataclass(frozen=True)
class HumanVsAutomatic:
    platform_criterion: str
    names: tuple  # the scorecard criteria linked to it
    compared: int
    matches: int
    kappa: float | None

    @property
    def differ(self):
        return self.compared - self.matches

    @property
    def rate(self):
        return self.matches / self.compared if self.compared else None

    @property
    def reading(self):
        return agreement.reading(self.kappa)


def human_vs_automatic(conversations):
    """Per platform criterion a scorecard criterion is linked to: over these conversations (a
    queryset of index rows), how often the current score's verdict matches the platform's.

    Only calls with both a human and a platform verdict count (see HUMAN_VERDICTS; a platform
    result "unknown" is none). Where a call has current scores on two scorecards linked to the
    same platform criterion, the newest counts.
    """
    linked = ScorecardCriterion.objects.exclude(platform_criterion="")
    names = defaultdict(dict)
    for platform, name in linked.values_list("platform_criterion", "name"):
        names[platform][name] = True
    if not names:
        return []
    answers = (
        ScoreAnswer.objects.filter(
            score__current=True,
            score__conversation_id__in=conversations.values("pk"),
            criterion__platform_criterion__in=list(names),
            value__in=list(HUMAN_VERDICTS),
        )
        .order_by("score__updated_at", "score__id")
        .values_list("score__conversation_id", "criterion__platform_criterion", "value")
    )
    human = {(c, p): HUMAN_VERDICTS[value] for c, p, value in answers}
    platform = dict(
        ((c, p), result)
        for c, p, result in IndexedEvaluation.objects.filter(
            conversation_id__in={c for c, _ in human},
            criterion__in=list(names),
            result__in=PLATFORM_VERDICTS,
        ).values_list("conversation_id", "criterion", "result")
    )
    pairs = defaultdict(list)
    for call, verdict in human.items():
        if call in platform:
            pairs[call[1]].append((verdict, platform[call]))
    return [
        HumanVsAutomatic(
            p,
            tuple(names[p]),
            len(pairs[p]),
            sum(1 for h, a in pairs[p] if h == a),
            agreement.cohen_kappa(pairs[p]),
        )
        for p in sorted(names)
    ]
