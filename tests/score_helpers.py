"""Scorecards and scores, written straight to the database, for the tests of what reads them
(the list's score filters and sorts, exports)."""

from conversations.models import Score, ScoreAnswer, Scorecard, ScorecardCriterion, ScorecardVersion

# Each value's points, as a score stores them.
POINTS = {"pass": 1.0, "fail": 0.0, "na": None, **{str(n): (n - 1) / 4 for n in range(1, 6)}}


def scorecard(name="Sales", criteria=("greeting", "empathy"), **options):
    """Version `number` (1) of a scorecard (a new one, or `card`) with these criteria: keys,
    named after themselves capitalised, or {key: name}; those in `scale` on a 1-5 scale,
    those in `linked` ({key: platform criterion}) linked to the platform's."""
    card = options.get("card") or Scorecard.objects.create(name=name)
    version = ScorecardVersion.objects.create(scorecard=card, number=options.get("number", 1))
    names = criteria if isinstance(criteria, dict) else {key: key.capitalize() for key in criteria}
    for position, (key, criterion_name) in enumerate(names.items()):
        ScorecardCriterion.objects.create(
            version=version,
            position=position,
            key=key,
            name=criterion_name,
            kind="scale" if key in options.get("scale", ()) else "pass_fail",
            platform_criterion=options.get("linked", {}).get(key, ""),
        )
    return card


def scored(conversation_id, card, total, answers=None, *, auto_failed=False, current=True):
    """A score of the card's newest version; `answers` maps a key to a value or (value, note)."""
    version = card.versions.order_by("-number").first()
    score = Score.objects.create(
        conversation_id=conversation_id,
        scorecard=card,
        version=version,
        username="rita",
        total=total,
        auto_failed=auto_failed,
        current=current,
    )
    for key, answer in (answers or {}).items():
        value, note = answer if isinstance(answer, tuple) else (answer, "")
        ScoreAnswer.objects.create(
            score=score,
            criterion=version.criteria.get(key=key),
            value=value,
            points=POINTS[value],
            note=note,
        )
    return score
