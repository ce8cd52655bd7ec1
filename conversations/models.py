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
    """A reviewer's judgement of one conversation: status, assignee, tags and notes."""

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
    notes = models.TextField(blank=True, max_length=10_000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()
        # The queues (Flagged, Needs follow-up) join the index on the reviews of one status.
        indexes = [models.Index(fields=["status", "conversation_id"], name="review_status_idx")]
        permissions = [
            ("review_conversation", "Can set review status, tags and notes"),
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
