"""Sampled review queues: drawing a reproducible sample of a list, handing it out, and
walking it with "Save and next"."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from conversations.models import QueueItem, ReviewQueue


def mark_done(*, user, conversation_id):
    """A reviewer scored or reviewed this conversation: it is done in every open queue where it
    is theirs, or nobody's yet (which makes it theirs)."""
    open_items = QueueItem.objects.filter(
        conversation_id=conversation_id, done_at__isnull=True, queue__closed_at__isnull=True
    )
    now = timezone.now()
    open_items.filter(reviewer=user).update(done_at=now)
    open_items.filter(reviewer__isnull=True).update(reviewer=user, done_at=now)


def next_in_queue(*, queue_id, user, current_id=None):
    """The URL of the next conversation of this reviewer's part of the queue after
    `current_id`, claiming one when none is theirs; None when nothing is left for them."""
    queue = ReviewQueue.objects.filter(pk=queue_id, closed_at__isnull=True).first()
    if queue is None:
        return None
    todo = queue.items.filter(done_at__isnull=True).exclude(conversation_id=current_id or "")
    item = todo.filter(reviewer=user).order_by("position").first()
    while item is None:
        free = todo.filter(reviewer__isnull=True).order_by("position").first()
        if free is None:
            return None
        with transaction.atomic():
            # Two reviewers may reach for the same item: only one update finds it free.
            if QueueItem.objects.filter(pk=free.pk, reviewer__isnull=True).update(reviewer=user):
                item = free
    url = reverse("conversations:detail", args=[item.conversation_id])
    return f"{url}?queue={queue.pk}"
