"""The comment thread's forms: add, edit and delete one's own (comments.py does the work).

With htmx each answers the thread (_comments.html), and the turns whose comment count
changed out of band; without JavaScript, the conversation's page at its comments. A comment
that was not saved answers the thread again with why and what was typed, or, when the
conversation is gone or unknown, an error that says so.
"""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from conversations import client, comments, reviews
from conversations.errors import render_error
from conversations.models import Comment
from conversations.views import review_required

NOT_SAVED = "The comment was not saved"


@require_POST
@review_required
def comment_add(request, conversation_id):
    conversation_id = client.validate_id(conversation_id)
    body, turn = request.POST.get("body", ""), request.POST.get("turn")
    try:
        comment = comments.add_comment(
            user=request.user, conversation_id=conversation_id, body=body, turn=turn
        )
    except comments.CommentRefused as exc:
        return comment_refused(request, conversation_id, exc, typed_body=body, turn=turn)
    return thread_answer(request, conversation_id, changed=[comment.turn])


@require_POST
@review_required
def comment_edit(request, pk):
    body = request.POST.get("body", "")
    try:
        comment = comments.edit_comment(user=request.user, comment_id=pk, body=body)
    except comments.CommentRefused as exc:
        conversation_id = conversation_of(pk)
        return comment_refused(request, conversation_id, exc, typed_body=body, editing=pk)
    return thread_answer(request, comment.conversation_id)


@require_POST
@review_required
def comment_delete(request, pk):
    try:
        comment = comments.delete_comment(user=request.user, comment_id=pk)
    except comments.CommentRefused as exc:
        return comment_refused(request, conversation_of(pk), exc)
    return thread_answer(request, comment.conversation_id, changed=[comment.turn])


def conversation_of(pk):
    return Comment.objects.filter(pk=pk).values_list("conversation_id", flat=True).first()


def thread_answer(request, conversation_id, *, changed=(), **extra):
    """The thread for htmx (with the changed turns' counts), else the conversation's page."""
    if not request.htmx:
        return redirect(reverse("conversations:detail", args=[conversation_id]) + "#comments")
    return render_thread(request, conversation_id, changed=changed, **extra)


def render_thread(request, conversation_id, *, changed=(), status=200, turn=None, **extra):
    conversation = reviews.get_conversation(conversation_id)
    context = comments.thread_context(conversation, user=request.user, turn=turn)
    context.update(
        c=conversation,
        changed_turns=[number for number in changed if number is not None],
        **extra,
    )
    return render(request, "conversations/_comments.html", context, status=status)


def comment_refused(request, conversation_id, refusal, **typed):
    """Nothing was written: the thread again with why and what was `typed` (the body, the
    turn, the comment being edited), for htmx, when the conversation is still there to
    show; else an error that says why."""
    if not request.htmx or conversation_id is None or refusal.status in (404, 410):
        return render_error(request, refusal.status, NOT_SAVED, refusal.message)
    return render_thread(
        request, conversation_id, status=refusal.status, comment_error=refusal.message, **typed
    )
