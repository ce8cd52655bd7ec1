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

    def gone_among(self, conversation_ids):
        """The ids, of those given, that a deletion through the dashboard removed.

        The database is shared by every worker and instance, so checking it keeps a deleted
        conversation off every page at once, whatever a cache still holds.
        """
        return set(
            self.filter(
                conversation_id__in=list(conversation_ids),
                outcome__in=["deleted", "already_gone"],
            ).values_list("conversation_id", flat=True)
        )


class AuditRecord(models.Model):
    """One deletion attempt. Holds who and why, never the conversation's content."""

    class Outcome(models.TextChoices):
        DELETED = "deleted", "Deleted"
        ALREADY_GONE = "already_gone", "Already gone"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"

    conversation_id = models.CharField(max_length=128, db_index=True)
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
