"""Deleting conversations: the one place that does it, and the one that audits it.

Every path that deletes (the dialog, the page without JavaScript, the bulk bar) calls
`delete_conversation`, and every refusal goes through `deny`. The order is what makes the
audit log complete:

1. permission, the reason and the conversation's details are checked; nothing is written
   for a request that fails here, except a refusal (one record per refused request);
2. an `attempted` record is written. If that fails, the platform is never asked;
3. the platform is asked to delete;
4. the outcome is written as a second record pointing to the attempt, in one transaction
   with the wipe of everything the dashboard kept about the conversation.

A deletion the platform performed can therefore never be missing from the log: at worst
its attempt has no outcome yet (the process died, the database went away, the platform's
answer was lost). `resolve_open_attempts` settles those by asking the platform (a 404
means it is gone); docs/security.md says where that runs.
"""

import dataclasses
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from conversations import client, reviews
from conversations.errors import error_for
from conversations.models import AuditRecord

log = logging.getLogger(__name__)

Outcome = AuditRecord.Outcome

REASON_MAX = 1000
# Answers that mean the platform did not act on the request: nothing was deleted.
REFUSALS = (client.RateLimited, client.AuthenticationFailed, client.RequestRefused)
# Refused deletion requests recorded per user and window; past it they are answered 429
# without a record, so a scripted loop cannot flood the audit log.
DENIALS_PER_WINDOW = 10
DENIAL_WINDOW_SECONDS = 600


@dataclasses.dataclass(frozen=True)
class Deletion:
    """What came of one request to delete one conversation, ready to show."""

    conversation_id: str
    outcome: Outcome
    message: str
    # The HTTP status a view answers with when it shows this result on its own.
    status: int = 200
    conversation: client.Conversation | None = None
    retry_after: float | None = None

    @property
    def done(self):
        """The conversation is gone from the platform, and that is recorded."""
        return self.outcome in AuditRecord.GONE

    @property
    def rate_limited(self):
        return self.retry_after is not None


@dataclasses.dataclass(frozen=True)
class Denial:
    message: str
    status: int


class InvalidReason(ValueError):
    """A reason that cannot be recorded as it is; str() says what to change."""


def clean_reason(raw):
    """The reason as it will be recorded, or InvalidReason with what to change."""
    reason = str(raw or "").strip()
    if not reason:
        raise InvalidReason("Give a reason: it is recorded in the audit log with the deletion.")
    if len(reason) > REASON_MAX:
        raise InvalidReason(f"Keep the reason under {REASON_MAX} characters.")
    if any(ord(char) < 32 and char not in "\t\n\r" for char in reason):
        # PostgreSQL cannot store a NUL byte; no other control character belongs in a reason.
        raise InvalidReason("The reason contains a control character; type it again.")
    return reason


def storable(value, limit):
    """Platform text made safe to store: no NUL or other control characters, cut to size."""
    text = "".join(char for char in str(value or "") if ord(char) >= 32 or char in "\t\n")
    return text[:limit]


def can_delete(user):
    return user.has_perm("conversations.delete_conversation")


def delete_conversation(*, user, conversation_id, reason):
    """Delete one conversation on the platform, audited write-ahead; never raises."""
    client.validate_id(conversation_id)
    if not can_delete(user):
        denial = deny(user=user, conversation_ids=[conversation_id])
        return Deletion(conversation_id, Outcome.DENIED, denial.message, denial.status)
    try:
        reason = clean_reason(reason)
    except InvalidReason as exc:
        return Deletion(conversation_id, Outcome.NOT_ATTEMPTED, str(exc), 400)
    resolve_open_attempts(conversation_id=conversation_id)
    if AuditRecord.objects.gone_among([conversation_id]):
        # A repeated submit of a deletion that already happened: no call, no second record.
        return Deletion(
            conversation_id,
            Outcome.ALREADY_GONE,
            f"Conversation {conversation_id} was already deleted; the audit log has the record.",
        )
    return _delete(_Recorder(user=user, conversation_id=conversation_id, reason=reason))


def _delete(record):
    """Look the conversation up, record the attempt, ask the platform, record the outcome."""
    conversation_id = record.conversation_id
    try:
        conversation = client.get_conversation(conversation_id)
    except client.ConversationNotFound:
        return record.single(Outcome.ALREADY_GONE, status=404)
    except client.XunaError as exc:
        return record.single(Outcome.NOT_ATTEMPTED, status=exc.status, error=exc)
    record.conversation = conversation
    if not record.attempt():
        return record.result(
            Outcome.NOT_ATTEMPTED,
            "Nothing was deleted: the audit log could not be written, and no deletion is made"
            " without its record. Try again in a moment.",
            503,
        )
    return record.finish(*_ask_platform(conversation_id))


def _ask_platform(conversation_id):
    """(outcome, platform status, error) of asking the platform to delete."""
    try:
        client.delete_conversation(conversation_id)
    except client.ConversationNotFound:
        return Outcome.ALREADY_GONE, 404, None
    except REFUSALS as exc:
        return Outcome.FAILED, exc.status, exc
    except client.XunaError as exc:
        # A 5xx, or no answer at all: the platform may have deleted it. Ask.
        outcome = _outcome_by_asking(conversation_id)
        if outcome == Outcome.FAILED and exc.status is None:
            # With no answer the request may still be under way there and land later: only
            # a check after it can no longer be running settles it (resolve_open_attempts).
            outcome = Outcome.ATTEMPTED
        return outcome, exc.status, exc
    return Outcome.DELETED, 200, None


def _outcome_by_asking(conversation_id):
    """DELETED if the platform no longer has it, FAILED if it does, ATTEMPTED if it won't say."""
    try:
        client.get_conversation(conversation_id, cached=False)
    except client.ConversationNotFound:
        return Outcome.DELETED
    except client.XunaError:
        return Outcome.ATTEMPTED
    return Outcome.FAILED


class _Recorder:
    """Writes one deletion's records and words its result."""

    def __init__(self, *, user, conversation_id, reason):
        self.user = user
        self.conversation_id = conversation_id
        self.reason = reason
        self.conversation = None
        self.attempt_record = None

    def fields(self):
        conversation = self.conversation
        return {
            "conversation_id": self.conversation_id,
            "agent_id": storable(conversation.agent_id, 128) if conversation else "",
            "conversation_start": conversation.start_time if conversation else None,
            "user": self.user if self.user.is_authenticated else None,
            "username": storable(self.user.get_username(), 150),
            "reason": self.reason,
        }

    def attempt(self):
        """Write the attempt record; False when the database refused it."""
        try:
            self.attempt_record = AuditRecord.objects.create(
                outcome=Outcome.ATTEMPTED, **self.fields()
            )
        except DatabaseError:
            log.error(
                "Deletion of %s not attempted: its audit record could not be written",
                self.conversation_id,
                exc_info=True,
            )
            return False
        return True

    def single(self, outcome, *, status, error=None):
        """Record an outcome that needed no attempt (nothing was asked of the platform)."""
        detail = f"the platform could not be asked about it: {error_for(error)[1]}" if error else ""
        written = _write_outcome(self.fields(), outcome, status=status, detail=detail)
        if not written and outcome == Outcome.ALREADY_GONE:
            return self.result(
                Outcome.ATTEMPTED,
                f"Conversation {self.conversation_id} is no longer on the platform, but the"
                " dashboard could not record that or forget its review. Try again in a"
                " moment.",
                503,
            )
        return self.result(outcome, self.message(outcome, error), self.http_status(error), error)

    def finish(self, outcome, status, error):
        detail = ""
        if error is not None:
            detail = error_for(error)[1]
            if outcome == Outcome.DELETED:
                detail += "; asked afterwards, the platform no longer has it"
        if outcome == Outcome.ATTEMPTED:
            log.warning("Deletion of %s: outcome unknown, left open", self.conversation_id)
            return self.result(outcome, self.message(outcome, error), self.http_status(error))
        fields = {**self.fields(), "attempt": self.attempt_record}
        if not _write_outcome(fields, outcome, status=status, detail=detail):
            return self.result(
                Outcome.ATTEMPTED,
                "The platform answered, but the dashboard could not record the outcome, so it"
                " cannot say the deletion is done. The attempt is in the audit log and its"
                " outcome will be checked with the platform. Try again in a moment.",
                503,
            )
        if outcome in AuditRecord.GONE:
            return self.result(outcome, self.message(outcome, error))
        return self.result(outcome, self.message(outcome, error), self.http_status(error), error)

    def message(self, outcome, error):
        cid = self.conversation_id
        if outcome == Outcome.DELETED:
            return f"Conversation {cid} was deleted permanently."
        if outcome == Outcome.ALREADY_GONE:
            return f"Conversation {cid} was already gone; nothing left to delete."
        _, title, hint = error_for(error)
        if outcome == Outcome.NOT_ATTEMPTED:
            return (
                f"{title}. Nothing was deleted: the platform could not be asked about the"
                f" conversation, so no deletion was attempted. {hint}"
            )
        if outcome == Outcome.ATTEMPTED:
            return (
                f"{title}. The platform did not confirm the deletion, and whether it happened"
                " is not known yet. The attempt is recorded and will be checked with the"
                " platform; the audit log shows its outcome once known. Trying again is safe."
            )
        if isinstance(error, REFUSALS):
            return f"{title}. {hint} Nothing was deleted."
        return f"{title}. The platform still has the conversation: nothing was deleted. {hint}"

    def http_status(self, error):
        return error_for(error)[0] if error is not None else 200

    def result(self, outcome, message, status=200, error=None):
        return Deletion(
            self.conversation_id,
            outcome,
            message,
            status,
            self.conversation,
            retry_after=_retry_after(error),
        )


def _retry_after(error):
    if isinstance(error, client.RateLimited):
        return error.retry_after or 2.0
    return None


def _write_outcome(fields, outcome, *, status, detail=""):
    """Write an outcome and, once the conversation is gone, wipe what we kept of it.

    Both happen in one transaction. Returns False when the database refused; a repeat of an
    outcome already recorded (by a concurrent resolver, or a second deletion) is not a loss.
    """
    if (
        outcome == Outcome.DELETED
        and AuditRecord.objects.filter(
            conversation_id=fields["conversation_id"], outcome=Outcome.DELETED
        ).exists()
    ):
        # Deleted once already, by another attempt: this one found it gone.
        outcome = Outcome.ALREADY_GONE
    try:
        with transaction.atomic():
            AuditRecord.objects.create(
                outcome=outcome, upstream_status=status, detail=storable(detail, 300), **fields
            )
            if outcome in AuditRecord.GONE:
                reviews.wipe_local_traces(fields["conversation_id"])
    except DatabaseError as exc:
        attempt = fields.get("attempt")
        repeat = isinstance(exc, IntegrityError) and attempt is not None
        if repeat and AuditRecord.objects.filter(attempt=attempt).exists():
            log.info("The outcome of deletion attempt %s was already recorded", attempt.pk)
            return True
        log.critical(
            "AUDIT WRITE FAILED: %s of conversation %s was not recorded",
            outcome,
            fields["conversation_id"],
            exc_info=True,
        )
        return False
    return True


def resolve_after():
    """How old an open attempt must be before it counts as interrupted, not under way.

    A deletion's request asks the platform at most twice after writing its attempt (the
    DELETE, then a check), each within XUNA_API_TIMEOUT; past that it can only be stuck.
    """
    return timedelta(seconds=3 * float(settings.XUNA_API_TIMEOUT) + 10)


def resolve_open_attempts(*, conversation_id=None, limit=20):
    """Record the outcome of interrupted attempts by asking the platform; returns how many.

    An attempt is settled only when the platform answers: 404 means the conversation is
    gone (recorded as deleted, and its local traces wiped), a conversation it still has
    means the attempt failed. Stops at the first platform failure.
    """
    attempts = AuditRecord.objects.open_attempts().filter(
        created_at__lt=timezone.now() - resolve_after()
    )
    if conversation_id is not None:
        attempts = attempts.filter(conversation_id=conversation_id)
    resolved = 0
    for attempt in attempts.order_by("created_at")[:limit]:
        outcome = _outcome_by_asking(attempt.conversation_id)
        if outcome == Outcome.ATTEMPTED:
            break
        fields = {
            "conversation_id": attempt.conversation_id,
            "agent_id": attempt.agent_id,
            "conversation_start": attempt.conversation_start,
            "user": attempt.user,
            "username": attempt.username,
            "reason": attempt.reason,
            "attempt": attempt,
        }
        detail = (
            "outcome checked later: the platform no longer has it"
            if outcome == Outcome.DELETED
            else "outcome checked later: the platform still has it"
        )
        status = 404 if outcome == Outcome.DELETED else 200
        if _write_outcome(fields, outcome, status=status, detail=detail):
            resolved += 1
    return resolved


def deny(*, user, conversation_ids):
    """Refuse a deletion request: one record for the request, whatever it named.

    Refusals are counted per user: past DENIALS_PER_WINDOW in a window they are answered
    429 and no longer recorded one by one (the log says how many were dropped).
    """
    ids = list(conversation_ids)
    log.warning(
        "Refused a delete of %d conversation(s) by %s: no permission",
        len(ids),
        user.get_username(),
    )
    key = f"deletion-denials:{user.pk}"
    cache.add(key, 0, DENIAL_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    if count > DENIALS_PER_WINDOW:
        log.warning("Too many refused deletions by %s; not recorded", user.get_username())
        return Denial(
            "You do not have permission to delete conversations, and you have tried too"
            " often. Wait a few minutes.",
            429,
        )
    try:
        AuditRecord.objects.create(
            conversation_id=ids[0] if len(ids) == 1 else "",
            conversation_ids=" ".join(ids),
            user=user if user.is_authenticated else None,
            username=storable(user.get_username(), 150),
            outcome=Outcome.DENIED,
            detail=f"{len(ids)} conversation{'s' if len(ids) != 1 else ''} named"
            if len(ids) != 1
            else "",
        )
    except DatabaseError:
        log.critical("AUDIT WRITE FAILED: a refused deletion was not recorded", exc_info=True)
    return Denial("You do not have permission to delete conversations.", 403)
