"""A conversation's comment thread: who said what and when, optionally about one turn.

Comments replace the review's one shared note, which the next save could overwrite: each
is its author's own, and only its author edits or deletes it. A comment is written only
for a conversation the platform knows and no deletion removed (reviews.writable_ids);
a deletion wipes the thread with the rest (reviews.wipe_local_traces).
"""

import dataclasses

from django.db import transaction
from django.utils import timezone

from conversations import client, reviews
from conversations.models import Comment, Review

BODY_MAX = Comment._meta.get_field("body").max_length


class CommentRefused(Exception):
    """Nothing was written, and why: a sentence and the HTTP status that goes with it."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


GONE = "This conversation was deleted; the comment was not saved."
UNKNOWN = "The platform has no such conversation; the comment was not saved."
NOT_FOUND = "There is no such comment; it may have been deleted."
NOT_YOURS = "Only the person who wrote a comment can change or delete it."


def thread(conversation_id):
    """The conversation's comments, oldest first."""
    return list(Comment.objects.filter(conversation_id=conversation_id))


@dataclasses.dataclass(frozen=True)
class Entry:
    """A comment as the thread shows it: the turn it is about (counted from 1, as people
    count, with its time), and whether the viewer may edit and delete it."""

    comment: Comment
    turn: int | None
    offset: float | None
    own: bool


def thread_context(conversation, *, user, list_query="", turn=None):
    """What _comments.html and the transcript's turns show of the thread.

    `turn` is the one the form preselects ("Comment on this turn" without JavaScript), as
    sent; one that is not a turn of this call preselects none.
    """
    comments = thread(conversation.id)
    transcript = conversation.transcript
    can_write = user.has_perm("conversations.review_conversation")
    entries = [
        Entry(
            comment=c,
            turn=None if c.turn is None else c.turn + 1,
            offset=offset_of(transcript, c.turn),
            own=can_write and c.user_id is not None and c.user_id == user.pk,
        )
        for c in comments
    ]
    try:
        selected = clean_turn(turn, len(transcript))
    except CommentRefused:
        selected = None
    return {
        "thread": entries,
        "turn_counts": counts_by_turn(comments),
        "comment_turn": selected,
        # The turns' "Comment on this turn" links keep the list the page was opened from.
        "comment_query": f"{list_query}&" if list_query else "",
    }


def offset_of(transcript, turn):
    """When the turn starts, in seconds; None for the whole call or a turn without a time (or
    one the transcript, read again, no longer has)."""
    if turn is None or turn >= len(transcript):
        return None
    return transcript[turn].offset


def counts_by_turn(comments):
    """The comments about each turn, oldest first: {turn: [Comment, ...]}."""
    by_turn = {}
    for comment in comments:
        if comment.turn is not None:
            by_turn.setdefault(comment.turn, []).append(comment)
    return by_turn


def comments_for(conversation_ids):
    """The comments of these conversations as export records ({author, time, turn, body}),
    by id: one query for a batch."""
    found = {}
    rows = Comment.objects.filter(conversation_id__in=list(conversation_ids))
    for comment in rows:
        found.setdefault(comment.conversation_id, []).append(
            {
                "author": comment.username,
                "time": comment.created_at.isoformat(),
                "turn": comment.turn,
                "body": comment.body,
            }
        )
    return found


def clean_body(text):
    """The body as stored: no NUL (PostgreSQL refuses one), plain line ends, trimmed."""
    body = str(text or "").replace("\x00", "").replace("\r\n", "\n").strip()
    if not body:
        raise CommentRefused("Write something before saving the comment.")
    if len(body) > BODY_MAX:
        raise CommentRefused(
            f"A comment can be at most {BODY_MAX} characters; this one has {len(body)}."
        )
    return body


def clean_turn(value, turn_count):
    """The turn a comment is about (from 0), or None for the whole call ("" or None)."""
    if value is None or value == "":
        return None
    try:
        turn = int(str(value).strip())
    except ValueError:
        raise CommentRefused("Pick a turn from the list, or the whole call.") from None
    if not 0 <= turn < turn_count:
        raise CommentRefused(
            f"This call has {turn_count} turn{'s' if turn_count != 1 else ''};"
            " pick one of them, or the whole call."
        )
    return turn


def add_comment(*, user, conversation_id, body, turn=None):
    """Add a comment to the conversation's thread; returns it. Raises CommentRefused.

    The transcript (client.get_conversation, cached) says which turns exist and that the
    platform knows the conversation. Other platform errors propagate.
    """
    body = clean_body(body)
    if not reviews.writable_ids([conversation_id]):
        raise CommentRefused(GONE, 410)
    try:
        conversation = client.get_conversation(conversation_id)
    except client.ConversationNotFound:
        raise CommentRefused(UNKNOWN, 404) from None
    turn = clean_turn(turn, len(conversation.transcript))
    with transaction.atomic():
        lock_review(conversation_id)
        if not reviews.writable_ids([conversation_id]):
            raise CommentRefused(GONE, 410)
        return Comment.objects.create(
            conversation_id=conversation_id,
            user=user,
            username=user.get_username(),
            body=body,
            turn=turn,
            created_at=timezone.now(),
        )


@transaction.atomic
def edit_comment(*, user, comment_id, body):
    """Replace the body of one's own comment; returns it. Raises CommentRefused."""
    body = clean_body(body)
    comment = own_comment(user, comment_id)
    lock_review(comment.conversation_id)
    if not reviews.writable_ids([comment.conversation_id]):
        raise CommentRefused(GONE, 410)
    if body != comment.body:
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
    return comment


@transaction.atomic
def delete_comment(*, user, comment_id):
    """Delete one's own comment; returns it, as it was. Raises CommentRefused."""
    comment = own_comment(user, comment_id)
    comment.delete()
    return comment


def own_comment(user, comment_id):
    """The comment, locked, if `user` wrote it."""
    comment = Comment.objects.select_for_update().filter(pk=comment_id).first()
    if comment is None:
        raise CommentRefused(NOT_FOUND, 404)
    if comment.user_id is None or comment.user_id != user.pk:
        raise CommentRefused(NOT_YOURS, 403)
    return comment


def lock_review(conversation_id):
    """Lock the conversation's review row, when it has one: a deletion's wipe deletes it
    first, so it waits for this transaction, and then removes the comment written here too.
    (Without a review row the check of writable_ids is what keeps a deleted one clean: the
    deletion's attempt is on record before the platform is asked.)"""
    list(Review.objects.select_for_update().filter(conversation_id=conversation_id))
