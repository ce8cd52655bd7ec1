"""What the dashboard itself stores. The conversations live on the platform."""

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit record."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit records cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit records cannot be deleted.")

    # bulk_update is update() under another name.
    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Audit records cannot be changed.")

    # An upsert (INSERT ... ON CONFLICT DO UPDATE) rewrites the existing record it meets.
    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts:
            raise AppendOnlyError("Audit records cannot be changed.")
        return super().bulk_create(objs, *args, **kwargs)

    def gone_among(self, conversation_ids):
        """The ids, of those given, that a deletion through the dashboard removed.

        The database is shared by every worker and instance, so checking it keeps a deleted
        conversation off every page at once, whatever a cache still holds.
        """
        return set(
            self.filter(
                conversation_id__in=list(conversation_ids),
                outcome__in=AuditRecord.GONE,
            ).values_list("conversation_id", flat=True)
        )

    def open_attempts(self):
        """Deletion attempts whose outcome is not recorded yet: under way, or interrupted."""
        return self.filter(outcome=AuditRecord.Outcome.ATTEMPTED, resolution__isnull=True)

    def deleted_or_pending_among(self, conversation_ids):
        """The ids, of those given, that are deleted or whose deletion may have happened.

        Nothing local may be written for them: it would bring back what a deletion erased.
        """
        ids = list(conversation_ids)
        pending = self.open_attempts().filter(conversation_id__in=ids)
        return self.gone_among(ids) | set(pending.values_list("conversation_id", flat=True))


class AuditRecord(models.Model):
    """One deletion attempt or its outcome, a refusal, or an export.

    Holds who and why, never the conversation's content. A deletion is recorded twice: an
    `attempted` record is written before the platform is asked (so a deletion that happened
    is never missing from the log), then an outcome record that points to it through
    `attempt`. An attempt with no outcome is resolved later by asking the platform
    (conversations/deletion.py).
    """

    class Outcome(models.TextChoices):
        ATTEMPTED = "attempted", "Attempted"
        DELETED = "deleted", "Deleted"
        ALREADY_GONE = "already_gone", "Already gone"
        FAILED = "failed", "Failed"
        NOT_ATTEMPTED = "not_attempted", "Not attempted"
        DENIED = "denied", "Denied"
        EXPORTED = "exported", "Exported"
        # The worker's sweep found it deleted elsewhere (the platform's console, retention).
        FOUND_GONE = "found_gone", "Found gone"

    # The outcomes after which the conversation no longer exists on the platform.
    GONE = (Outcome.DELETED, Outcome.ALREADY_GONE, Outcome.FOUND_GONE)

    # Blank for an export, which concerns many conversations (see `detail` and `row_count`).
    conversation_id = models.CharField(max_length=128, db_index=True, blank=True)
    agent_id = models.CharField(max_length=128, blank=True)
    conversation_start = models.DateTimeField(null=True, blank=True)
    # The username is copied so the record still says who it was after the user is removed.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.TextField(blank=True, max_length=1000)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    # The attempt this record is the outcome of; one outcome per attempt.
    attempt = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="resolution"
    )
    # Every id a refused request named (one record per request, however many it named).
    conversation_ids = models.TextField(blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("view_conversation", "Can view conversations and play their audio"),
            ("delete_conversation", "Can delete conversations on the platform"),
            ("create_agent_session", "Can create signed URLs and tokens for an agent"),
            ("manage_team", "Can add users, change their roles and deactivate them"),
        ]
        constraints = [
            # A backstop for double submits: a conversation is deleted at most once.
            models.UniqueConstraint(
                fields=["conversation_id"],
                condition=models.Q(outcome="deleted"),
                name="one_successful_deletion_per_conversation",
            )
        ]

    def __str__(self):
        return f"{self.get_outcome_display()} {self.conversation_id} by {self.username}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit records cannot be deleted.")


class Review(models.Model):
    """A reviewer's judgement of one conversation: status, assignee and tags. What people say
    about it is its comment thread (Comment)."""

    class Status(models.TextChoices):
        UNREVIEWED = "unreviewed", "Unreviewed"
        PASSED = "passed", "Passed"
        FLAGGED = "flagged", "Flagged"
        FOLLOW_UP = "follow_up", "Needs follow-up"

    conversation_id = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNREVIEWED)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept on the row, not in a join table, so the list reads a page's reviews in one query.
    tags = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()
        # The queues (Flagged, Needs follow-up) join the index on the reviews of one status.
        indexes = [models.Index(fields=["status", "conversation_id"], name="review_status_idx")]
        permissions = [
            ("review_conversation", "Can review conversations: status, tags, comments and scores"),
            ("assign_conversation", "Can assign conversations to reviewers"),
            ("export_conversations", "Can export the conversation list with reviews"),
            ("view_analytics", "Can view analytics across conversations"),
        ]

    def __str__(self):
        return f"{self.conversation_id}: {self.get_status_display()}"


class ReviewChange(models.Model):
    """One change to a review: who, when, which field, from what to what."""

    conversation_id = models.CharField(max_length=128, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    changed_at = models.DateTimeField(auto_now_add=True)
    field = models.CharField(max_length=20)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        default_permissions = ()

    def __str__(self):
        return f"{self.username} changed {self.field} of {self.conversation_id}"


class Tag(models.Model):
    """A tag the team has used, offered as people type. Holds no conversation data."""

    name = models.CharField(max_length=50, unique=True)
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-uses", "name"]
        default_permissions = ()

    def __str__(self):
        return self.name


# The conversation index: the dashboard's own record of every conversation, filled by the
# worker (conversations/sync.py) so that questions the platform's API cannot answer (review
# state, dates, outcomes, criteria, values, over the whole history) are answered here.
# Holds platform data: a deletion removes a conversation's rows with its audit outcome.


class IndexedConversation(models.Model):
    """One conversation as the platform last described it."""

    conversation_id = models.CharField(max_length=128, primary_key=True)
    agent_id = models.CharField(max_length=128, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=40, blank=True)
    # Final: the platform will not change it any more (done, failed); else it is refreshed.
    final = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, blank=True)  # success, failure, unknown or ""
    title = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    message_count = models.PositiveIntegerField(default=0)
    has_audio = models.BooleanField(default=False)
    # Whether the detail was read (evaluation, values, turns), not only the list's summary.
    detailed = models.BooleanField(default=False)
    # Which version of the platform's answer this is: a digest of what the reader read.
    version = models.CharField(max_length=64, blank=True)
    indexed_at = models.DateTimeField()

    class Meta:
        default_permissions = ()
        indexes = [
            # Newest first, with the id as the tie-breaker of keyset pagination.
            models.Index(fields=["-start_time", "-conversation_id"], name="index_by_start"),
            models.Index(fields=["agent_id", "-start_time"], name="index_by_agent"),
            models.Index(fields=["outcome", "-start_time"], name="index_by_outcome"),
            models.Index(fields=["duration"], name="index_by_duration"),
            models.Index(fields=["final", "indexed_at"], name="index_not_final"),
        ]

    def __str__(self):
        return self.conversation_id


class IndexedEvaluation(models.Model):
    """One evaluation criterion's result for one indexed conversation."""

    conversation = models.ForeignKey(
        IndexedConversation, on_delete=models.CASCADE, related_name="evaluations"
    )
    criterion = models.CharField(max_length=200)
    result = models.CharField(max_length=10, blank=True)
    score = models.FloatField(null=True, blank=True)
    rationale = models.TextField(blank=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "criterion"], name="one_result_per_criterion"
            )
        ]
        indexes = [
            models.Index(fields=["criterion", "result"], name="index_by_criterion"),
            # Analytics: a criterion's results joined to the calls of a range, read from the
            # index alone on PostgreSQL (INCLUDE; SQLite makes a plain index of it).
            models.Index(
                fields=["criterion", "conversation"], include=["result"], name="evaluation_by_call"
            ),
        ]

    def __str__(self):
        return f"{self.criterion}: {self.result}"


class IndexedValue(models.Model):
    """One collected-data value for one indexed conversation."""

    conversation = models.ForeignKey(
        IndexedConversation, on_delete=models.CASCADE, related_name="values"
    )
    key = models.CharField(max_length=200)
    # The value as JSON, and as short text to filter on ("true", "42", "refund").
    value = models.JSONField(null=True, blank=True)
    text = models.CharField(max_length=200, blank=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["conversation", "key"], name="one_value_per_key")
        ]
        indexes = [
            models.Index(fields=["key", "text"], name="index_by_value"),
            # Analytics: a key's values joined to the calls of a range, from the index alone
            # (123 ms to 58 for 30 days of 100,000 on PostgreSQL).
            models.Index(fields=["key", "conversation"], include=["text"], name="value_by_call"),
        ]

    def __str__(self):
        return f"{self.key} = {self.text}"


class IndexedTurn(models.Model):
    """One turn of a transcript, for full-text search; kept only while settings allow."""

    conversation = models.ForeignKey(
        IndexedConversation, on_delete=models.CASCADE, related_name="turns"
    )
    position = models.PositiveIntegerField()
    speaker = models.CharField(max_length=40)
    offset = models.FloatField(null=True, blank=True)
    text = models.TextField()

    class Meta:
        default_permissions = ()
        ordering = ["conversation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "position"], name="one_turn_per_place")
        ]

    def __str__(self):
        return f"{self.speaker} at {self.offset}"


class IndexedText(models.Model):
    """What search reads of an indexed conversation: its title, summary, collected values
    and (while settings keep transcripts) turns, folded by search.fold and joined by
    newlines, so that a phrase never spans two of them.

    One row a conversation, not a row a turn: a search is one condition on 100,000 rows, not
    a join of 2,000,000. Its own integer key, because SQLite's full-text table
    (conversations_indexedtext_fts, migration 0010) follows this table by that key; on
    PostgreSQL a trigram index (pg_trgm) serves the same LIKE conditions (docs/decisions.md).
    A later migration that makes Django rebuild this table on SQLite (altering a column
    does) drops the full-text table's triggers: it must make them again as migration 0010
    does (tests/test_search.py checks that they exist).
    """

    id = models.BigAutoField(primary_key=True)
    conversation = models.OneToOneField(
        IndexedConversation, on_delete=models.CASCADE, related_name="search_text"
    )
    body = models.TextField()
    # Whether the turns are in it: false once INDEX_TRANSCRIPT_DAYS has dropped them.
    has_turns = models.BooleanField(default=False)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"search text of {self.conversation_id}"


class SyncState(models.Model):
    """Where a sync job stands, kept in the database so a restarted worker resumes there."""

    name = models.CharField(max_length=40, primary_key=True)
    cursor = models.TextField(blank=True)
    finished = models.BooleanField(default=False)
    seen = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return self.name


# Bulk jobs: a deletion, status or assignment over many conversations, worked through by the
# worker (conversations/jobs.py) so that it outlives the page that started it.


class BulkJob(models.Model):
    """One bulk action as a job: what to do, to which conversations (its items), how far."""

    class Kind(models.TextChoices):
        DELETE = "delete", "Deletion"
        STATUS = "status", "Status change"
        ASSIGN = "assign", "Assignment"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    # The id is also the confirmation form's token: a second submit of it finds this job.
    id = models.UUIDField(primary_key=True)
    # The username is copied so the job still says whose it was after the user is removed.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField(blank=True, max_length=1000)  # a deletion's
    changes = models.JSONField(default=dict, blank=True)  # a status or an assignee, by name
    # The list's filters for a job over a whole filter; blank for a selection.
    filter_query = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # The platform asked us to slow down (or an item failed): no slice runs before this.
    wait_until = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)  # why it waits, or why it stopped
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # A worker holds the job until lease_until; heartbeat is when a worker last touched it
    # (or will, for a job scheduled ahead): the sweep resumes a job nobody touched for long.
    lease_until = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    # Who holds the lease: a worker whose lease expired and was taken sees that it is no longer
    # its own, and stops without writing anything more.
    lease_owner = models.UUIDField(null=True, blank=True)
    # The chain of queued slices that runs the job: a slice of an older chain (queued before
    # the sweep started a new one) ends at once, so a job never runs as two chains.
    chain = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        default_permissions = ()
        indexes = [models.Index(fields=["state", "heartbeat"], name="bulkjob_by_state")]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.username} ({self.state})"


class BulkJobItem(models.Model):
    """One conversation of a bulk job and what came of it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        ALREADY_GONE = "already_gone", "Already gone"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        NOT_TRIED = "not_tried", "Not tried"

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    conversation_id = models.CharField(max_length=128)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.CharField(max_length=500, blank=True)
    # Tries that failed; a rate limit is not one (the platform asked us to wait, and we do).
    tries = models.PositiveSmallIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "position"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="one_item_per_place")
        ]
        indexes = [models.Index(fields=["job", "outcome", "position"], name="bulkjobitem_todo")]

    def __str__(self):
        return f"{self.conversation_id}: {self.outcome}"


# Quality assurance: scorecards and the scores given with them, comments, sampled review
# queues and calibration rounds. Keyed by conversation id like reviews (a score may exist
# before the index knows its conversation); a deletion removes them with the rest
# (reviews.wipe_local_traces).


class Scorecard(models.Model):
    """A written rubric, for every agent or some. Its criteria live in versions: editing a
    scorecard makes a new version, so that a score already given never changes."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    # The agents it is for; empty: every agent.
    agent_ids = models.JSONField(default=list, blank=True)
    # Archived scorecards keep their scores but are no longer offered for new ones.
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        default_permissions = ()
        permissions = [
            ("manage_quality", "Can define scorecards, sampled queues and calibration rounds"),
        ]

    def __str__(self):
        return self.name


class ScorecardVersion(models.Model):
    """One version of a scorecard: its criteria and pass mark as they were when saved."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # A total below this (a percentage) fails the call; so does a failed auto-fail criterion.
    pass_mark = models.PositiveSmallIntegerField(default=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scorecard", "-number"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "number"], name="one_version_number")
        ]

    def __str__(self):
        return f"{self.scorecard_id} v{self.number}"


class ScorecardCriterion(models.Model):
    """One criterion of a scorecard version: what a pass looks like, its weight and type."""

    class Kind(models.TextChoices):
        PASS_FAIL = "pass_fail", "Pass / fail / not applicable"
        SCALE = "scale", "Scale of 1 to 5"

    version = models.ForeignKey(ScorecardVersion, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField()
    # The same criterion keeps its key from version to version: lists, exports and agreement
    # follow a criterion by key across versions.
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PASS_FAIL)
    weight = models.PositiveSmallIntegerField(default=1)
    # A fail here (a 1 on a scale) makes the whole call's total 0: a compliance breach.
    auto_fail = models.BooleanField(default=False)
    # The platform's evaluation criterion (by id) this one judges the same thing as.
    platform_criterion = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["version", "position"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="one_criterion_per_key"),
            models.UniqueConstraint(fields=["version", "position"], name="one_criterion_per_place"),
        ]

    def __str__(self):
        return self.name


class CalibrationRound(models.Model):
    """Calls that chosen reviewers score blind on one scorecard version, for a lead to compare
    and settle with an agreed score."""

    name = models.CharField(max_length=200)
    version = models.ForeignKey(ScorecardVersion, on_delete=models.PROTECT, related_name="+")
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ()

    def __str__(self):
        return self.name


class CalibrationCall(models.Model):
    """One call of a calibration round."""

    round = models.ForeignKey(CalibrationRound, on_delete=models.CASCADE, related_name="calls")
    position = models.PositiveIntegerField()
    conversation_id = models.CharField(max_length=128, db_index=True)

    class Meta:
        ordering = ["round", "position"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["round", "conversation_id"], name="one_calibration_call"
            ),
        ]

    def __str__(self):
        return f"{self.conversation_id} in {self.round_id}"


class Score(models.Model):
    """One person's scoring of one conversation on one scorecard version.

    A review score is a reviewer's own (one per reviewer, conversation and scorecard); a
    calibration score is given blind in a round; an agreed score is the lead's settlement of a
    round. `current` marks the one that counts for the conversation in lists, exports and
    analytics: the agreed score if there is one, else the newest review score.
    """

    class Kind(models.TextChoices):
        REVIEW = "review", "Review"
        CALIBRATION = "calibration", "Calibration"
        AGREED = "agreed", "Agreed"

    conversation_id = models.CharField(max_length=128)
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="scores")
    version = models.ForeignKey(ScorecardVersion, on_delete=models.PROTECT, related_name="scores")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.REVIEW)
    calibration = models.ForeignKey(
        CalibrationRound, null=True, blank=True, on_delete=models.CASCADE, related_name="scores"
    )
    # The username is copied so the score still says who gave it after the user is removed.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    # The weighted total as a percentage; None when every criterion was not applicable.
    total = models.FloatField(null=True, blank=True)
    auto_failed = models.BooleanField(default=False)
    current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["conversation_id", "scorecard", "user"],
                condition=models.Q(kind="review"),
                name="one_review_score_per_reviewer",
            ),
            models.UniqueConstraint(
                fields=["conversation_id", "calibration", "user"],
                condition=models.Q(kind="calibration"),
                name="one_calibration_score_per_reviewer",
            ),
            models.UniqueConstraint(
                fields=["conversation_id", "calibration"],
                condition=models.Q(kind="agreed"),
                name="one_agreed_score_per_round",
            ),
            models.UniqueConstraint(
                fields=["conversation_id", "scorecard"],
                condition=models.Q(current=True),
                name="one_current_score_per_scorecard",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation_id", "current"], name="score_by_call"),
            models.Index(fields=["current", "total"], name="score_by_total"),
        ]

    def __str__(self):
        return f"{self.conversation_id}: {self.total} by {self.username}"


class ScoreAnswer(models.Model):
    """A score's value for one criterion, with an optional note."""

    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(ScorecardCriterion, on_delete=models.PROTECT, related_name="+")
    # "pass", "fail" or "na" for a pass/fail criterion; "1" to "5" (or "na") for a scale.
    value = models.CharField(max_length=4)
    # The value as a fraction of the criterion's weight (pass 1, fail 0, 3 of 5 is 0.5);
    # None for not applicable, which leaves the criterion out of the total.
    points = models.FloatField(null=True, blank=True)
    note = models.TextField(blank=True, max_length=2000)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["score", "criterion"], name="one_answer_per_criterion")
        ]

    def __str__(self):
        return f"{self.criterion_id}: {self.value}"


class Comment(models.Model):
    """One comment in a conversation's thread, optionally anchored to a transcript turn."""

    conversation_id = models.CharField(max_length=128, db_index=True)
    # The username is copied so the comment still says who wrote it after the user is removed.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    body = models.TextField(max_length=5000)
    # The turn (its place in the transcript, from 0) the comment is about; None: the whole call.
    turn = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        default_permissions = ()

    def __str__(self):
        return f"{self.username} on {self.conversation_id}"


class ReviewQueue(models.Model):
    """A sample of a list's conversations for reviewers to work through.

    Drawn once, at random but reproducibly: `seed` and `rule` draw the same sample from the
    same conversations again (sampling.py), and `description` says in words how it was drawn.
    """

    class Assignment(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin over the chosen reviewers"
        CLAIM = "claim", "Reviewers claim calls"

    name = models.CharField(max_length=200)
    # The list's filters the sample was drawn from, as the list's query string.
    filter_query = models.TextField(blank=True, max_length=1000)
    rule = models.JSONField(default=dict)
    seed = models.BigIntegerField()
    scorecard = models.ForeignKey(
        Scorecard, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignment = models.CharField(
        max_length=12, choices=Assignment.choices, default=Assignment.ROUND_ROBIN
    )
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    # How many conversations the list held when the sample was drawn.
    matched = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ()

    def __str__(self):
        return self.name


class QueueItem(models.Model):
    """One conversation of a sampled queue: why it is there, whose it is, whether it is done."""

    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    conversation_id = models.CharField(max_length=128, db_index=True)
    # "sampled", "minimum" (to reach the minimum per agent) or the "always include" rule.
    reason = models.CharField(max_length=100, blank=True)
    # Assigned round-robin, or claimed; None: nobody's yet.
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queue", "position"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["queue", "position"], name="one_queue_item_per_place"),
            models.UniqueConstraint(
                fields=["queue", "conversation_id"], name="one_queue_item_per_call"
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "reviewer", "done_at"], name="queue_item_todo"),
        ]

    def __str__(self):
        return f"{self.conversation_id} in {self.queue_id}"


class SignOn(models.Model):
    """Which provider account an account that signs in through OpenID Connect belongs to.

    The provider's `sub` is the one claim the standard promises to be stable and never
    reassigned; a username claim (`preferred_username`) may be changed or chosen by the
    person, so it only names a new account, and never lets one provider account into
    another's (conversations/sso.py).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_on"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_account_per_subject"),
        ]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"
