"""A conversation's comment thread: add, edit and delete one's own, anchored to a turn, refused
for a deleted or unknown conversation, wiped by a deletion, exported, and migrated from notes."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from conversations import comments, deletion
from conversations.models import AuditRecord, Comment
from tests.helpers import element, text_of

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
CONVERSATION = "conv_comments"


@pytest.fixture
def call(emulator):
    """A call of three turns: two with a time, the last without one."""
    return emulator.add_conversation(
        {
            "conversation_id": CONVERSATION,
            "agent_id": "agent_x",
            "status": "done",
            "metadata": {"start_time": "2026-11-01T10:00:00Z", "duration": 120},
            "transcript": [
                {"speaker": "agent", "text": "Hello, how can I help?", "timestamp": 0},
                {"speaker": "user", "text": "My card is 4111.", "timestamp": 83.5},
                {"speaker": "agent", "text": "Noted.", "timestamp": None},
            ],
        }
    )


def add(client, body="Agent read the card number back", turn="", headers=HTMX, to=CONVERSATION):
    return client.post(
        f"/conversations/{to}/comments", {"body": body, "turn": turn}, headers=headers
    )


def comment_by(user, body="Mine", turn=None, conversation_id=CONVERSATION):
    return Comment.objects.create(
        conversation_id=conversation_id,
        user=user,
        username=user.username,
        body=body,
        turn=turn,
        created_at=timezone.now(),
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def edit(client, user, comment, body):
    """`user` sends the comment's edit form, as htmx does."""
    return signed_in(client, user).post(
        f"/comments/{comment.pk}/edit", {"body": body}, headers=HTMX
    )


def reader(make_user):
    """Someone who may read conversations, but not review them."""
    user = make_user(None, username="reader")
    user.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    return user


# Adding


def test_a_comment_about_a_turn_is_added_and_the_thread_comes_back_with_it(as_role, call):
    response = add(as_role("Reviewer"), body="  Read the card back  ", turn="1")
    assert response.status_code == 200
    html = response.content.decode()
    comment = Comment.objects.get()
    assert (comment.username, comment.body, comment.turn) == (
        "reviewer-user",
        "Read the card back",
        1,
    )
    assert '<section id="comments" class="panel comments" aria-labelledby="comments-title">' in html
    assert f'<time datetime="{comment.created_at.isoformat()}' in html
    link = element(html, "a", class_="comment-turn")
    assert 'href="#t=83.500&amp;turn=2"' in link
    assert "at 1:23 (turn 2)" in text_of(link)


def test_the_turn_beside_which_a_comment_was_added_gets_its_comments_out_of_band(as_role, call):
    client = as_role("Reviewer")
    add(client, turn="1")
    html = add(client, body="Second", turn="1").content.decode()
    beside = element(html, "span", id="turn-comments-1", hx_swap_oob="true")
    second = Comment.objects.get(body="Second")
    assert (
        f'<a class="turn-comment" href="#comment-{second.pk}"><b>reviewer-user</b> Second</a>'
        in beside
    )
    assert beside.count('class="turn-comment"') == 2


def test_a_comment_about_the_whole_call_has_no_turn(as_role, call):
    add(as_role("Reviewer"), turn="")
    assert Comment.objects.get().turn is None


def test_a_comment_on_a_turn_without_a_time_links_to_the_turn_alone(as_role, call):
    html = add(as_role("Reviewer"), turn="2").content.decode()
    assert '<a class="comment-turn" href="#turn=3">turn 3</a>' in html


def test_without_javascript_adding_goes_back_to_the_conversation_at_its_comments(as_role, call):
    response = add(as_role("Reviewer"), headers={})
    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{CONVERSATION}/#comments"
    assert Comment.objects.count() == 1


def test_the_body_loses_nul_and_carriage_returns_and_keeps_its_line_breaks(as_role, call):
    client = as_role("Reviewer")
    add(client, body="line one\x00\r\nline <b>two</b>")
    assert Comment.objects.get().body == "line one\nline <b>two</b>"
    html = client.get(f"/conversations/{CONVERSATION}/").content.decode()
    assert "line one<br>line &lt;b&gt;two&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ("   \x00 ", "Write something before saving the comment."),
        ("x" * 5001, "A comment can be at most 5000 characters; this one has 5001."),
    ],
)
def test_an_empty_or_too_long_comment_is_refused_with_a_sentence(as_role, call, body, sentence):
    response = add(as_role("Reviewer"), body=body)
    assert response.status_code == 400
    html = response.content.decode()
    assert sentence in html
    assert 'role="alert"' in html
    assert 'id="comments"' in html
    assert not Comment.objects.exists()


@pytest.mark.parametrize("turn", ["-1", "first", "3", "1.5", "99999999999999999999"])
def test_a_turn_that_is_not_one_of_the_call_is_refused(as_role, call, turn):
    response = add(as_role("Reviewer"), turn=turn)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Comment.objects.exists()


def test_a_refused_comment_keeps_what_was_typed(as_role, call):
    html = add(as_role("Reviewer"), body="Keep me", turn="7").content.decode()
    assert "This call has 3 turns; pick one of them, or the whole call." in html
    assert "Keep me</textarea>" in html


def test_without_javascript_a_refused_comment_is_a_page_that_says_why(as_role, call):
    response = add(as_role("Reviewer"), body="", headers={})
    assert response.status_code == 400
    assert "Write something before saving the comment." in response.content.decode()


def test_a_comment_on_a_deleted_conversation_is_refused_and_writes_nothing(as_role, call):
    AuditRecord.objects.create(conversation_id=CONVERSATION, outcome="deleted", username="x")
    response = add(as_role("Reviewer"))
    assert response.status_code == 410
    assert "This conversation was deleted; the comment was not saved." in (
        response.content.decode()
    )
    assert not Comment.objects.exists()


def test_a_comment_while_a_deletion_is_under_way_writes_nothing(as_role, call):
    AuditRecord.objects.create(
        conversation_id=CONVERSATION, username="ann", reason="x", outcome="attempted"
    )
    assert add(as_role("Reviewer")).status_code == 410
    assert not Comment.objects.exists()


def test_a_comment_on_a_conversation_the_platform_does_not_know_is_refused(as_role, emulator):
    response = add(as_role("Reviewer"), to="conv_never_existed")
    assert response.status_code == 404
    assert "The platform has no such conversation" in response.content.decode()
    assert not Comment.objects.exists()


def test_adding_asks_for_the_review_permission(make_user, client, call):
    response = add(signed_in(client, reader(make_user)))
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_adding_is_a_post(as_role, call):
    response = as_role("Reviewer").get(f"/conversations/{CONVERSATION}/comments")
    assert response.status_code == 405


def test_adding_needs_the_csrf_token(make_user, call):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("Reviewer"))
    assert add(client).status_code == 403
    assert not Comment.objects.exists()


# Editing and deleting


def test_the_author_edits_a_comment_and_it_says_edited(make_user, client, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann, body="Frist")
    response = edit(client, ann, comment, "First")
    assert response.status_code == 200
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at is not None) == ("First", True)
    assert "(edited" in text_of(response.content.decode())


def test_saving_an_unchanged_comment_does_not_mark_it_edited(make_user, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann, body="Same")
    comments.edit_comment(user=ann, comment_id=comment.pk, body="Same ")
    comment.refresh_from_db()
    assert comment.edited_at is None


def test_someone_else_cannot_edit_a_comment(make_user, client, call):
    comment = comment_by(make_user("Reviewer", username="ann"), body="Ann's")
    bob = signed_in(client, make_user("Lead", username="bob"))
    response = bob.post(f"/comments/{comment.pk}/edit", {"body": "Bob's now"}, headers=HTMX)
    assert response.status_code == 403
    assert "Only the person who wrote a comment can change or delete it." in (
        response.content.decode()
    )
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at) == ("Ann's", None)


def test_the_author_deletes_a_comment(make_user, client, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann, turn=1)
    response = signed_in(client, ann).post(f"/comments/{comment.pk}/delete", headers=HTMX)
    assert response.status_code == 200
    assert not Comment.objects.exists()
    html = response.content.decode()
    assert "No comments yet." in html
    # The turn's count goes, too.
    assert '<span class="turn-comments" id="turn-comments-1" hx-swap-oob="true"></span>' in html


def test_without_javascript_deleting_goes_back_to_the_conversation(make_user, client, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann)
    response = signed_in(client, ann).post(f"/comments/{comment.pk}/delete")
    assert response["Location"] == f"/conversations/{CONVERSATION}/#comments"
    assert not Comment.objects.exists()


def test_someone_else_cannot_delete_a_comment(make_user, client, call):
    comment = comment_by(make_user("Reviewer", username="ann"))
    bob = signed_in(client, make_user("Admin", username="bob"))
    assert bob.post(f"/comments/{comment.pk}/delete", headers=HTMX).status_code == 403
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_a_comment_whose_author_was_removed_is_nobody_s_to_change(make_user, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann)
    Comment.objects.filter(pk=comment.pk).update(user=None)
    with pytest.raises(comments.CommentRefused) as refused:
        comments.delete_comment(user=ann, comment_id=comment.pk)
    assert refused.value.status == 403


def test_editing_a_comment_that_is_not_there_is_a_404(as_role, call):
    response = as_role("Reviewer").post("/comments/999/edit", {"body": "x"}, headers=HTMX)
    assert response.status_code == 404
    assert "There is no such comment" in response.content.decode()


def test_editing_a_comment_of_a_deleted_conversation_is_refused(make_user, client, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann, body="Before")
    AuditRecord.objects.create(conversation_id=CONVERSATION, outcome="deleted", username="x")
    response = edit(client, ann, comment, "After")
    assert response.status_code == 410
    comment.refresh_from_db()
    assert comment.body == "Before"


def test_an_empty_edit_is_refused_and_keeps_the_comment(make_user, client, call):
    ann = make_user("Reviewer", username="ann")
    comment = comment_by(ann, body="Before")
    response = edit(client, ann, comment, "  ")
    assert response.status_code == 400
    assert '<details class="comment-edit" open>' in response.content.decode()
    comment.refresh_from_db()
    assert comment.body == "Before"


# The conversation's page


def test_the_page_shows_the_thread_with_edit_and_delete_for_ones_own_only(make_user, client, call):
    ann, bob = make_user("Reviewer", username="ann"), make_user("Reviewer", username="bob")
    mine, theirs = comment_by(ann, body="Ann says"), comment_by(bob, body="Bob says")
    html = signed_in(client, ann).get(f"/conversations/{CONVERSATION}/").content.decode()
    own = element(html, "li", id=f"comment-{mine.pk}")
    other = element(html, "li", id=f"comment-{theirs.pk}")
    assert "Ann says" in own
    assert f"/comments/{mine.pk}/edit" in own
    assert f"/comments/{mine.pk}/delete" in own
    assert "Bob says" in other
    assert "/edit" not in other
    assert "/delete" not in other


def test_someone_who_may_only_read_sees_the_thread_but_no_form(make_user, client, call):
    comment_by(make_user("Reviewer", username="ann"), body="Ann says", turn=0)
    html = (
        signed_in(client, reader(make_user)).get(f"/conversations/{CONVERSATION}/").content.decode()
    )
    assert "Ann says" in html
    assert 'id="comment-form"' not in html
    assert "Comment on this turn" not in html
    assert "Ann says</a>" in element(html, "span", id="turn-comments-0")


def test_each_turn_shows_its_comments_beside_it_and_offers_to_comment_on_it(
    make_user, client, call
):
    ann = make_user("Reviewer", username="ann")
    first = comment_by(ann, body="Promised a <b>refund</b>", turn=1)
    second = comment_by(ann, body="x" * 300, turn=1)
    html = signed_in(client, ann).get(f"/conversations/{CONVERSATION}/").content.decode()
    turns = element(html, "ol", id="turns")
    assert (
        '<span class="turn-comments" id="turn-comments-1">'
        f'<a class="turn-comment" href="#comment-{first.pk}">'
        "<b>ann</b> Promised a &lt;b&gt;refund&lt;/b&gt;</a>"
        f'<a class="turn-comment" href="#comment-{second.pk}"><b>ann</b> {"x" * 119}…</a></span>'
    ) in turns
    assert '<span class="turn-comments" id="turn-comments-0"></span>' in turns
    assert 'href="?turn=2#comment-form" data-comment-turn="2"' in turns


def test_a_turn_with_many_comments_shows_the_first_three_and_how_many_in_all(
    make_user, client, call
):
    ann = make_user("Reviewer", username="ann")
    made = [comment_by(ann, body=f"note {n}", turn=1) for n in range(5)]
    html = signed_in(client, ann).get(f"/conversations/{CONVERSATION}/").content.decode()
    beside = element(html, "span", id="turn-comments-1")
    assert [f"note {n}" in beside for n in range(5)] == [True, True, True, False, False]
    assert f'<a href="#comment-{made[0].pk}">5 comments</a>' in beside


def test_comment_on_this_turn_without_javascript_preselects_the_turn(as_role, call):
    html = as_role("Reviewer").get(f"/conversations/{CONVERSATION}/?turn=1").content.decode()
    select = element(html, "select", id="comment-turn")
    assert '<option value="">The whole call</option>' in select
    assert '<option value="1" selected>1:23 user (turn 2)</option>' in select
    assert '<option value="2">agent (turn 3)</option>' in select


def test_a_turn_in_the_address_that_is_not_one_preselects_the_whole_call(as_role, call):
    html = as_role("Reviewer").get(f"/conversations/{CONVERSATION}/?turn=-4").content.decode()
    assert " selected>" not in element(html, "select", id="comment-turn")


def test_comment_on_this_turn_keeps_the_list_the_page_was_opened_from(as_role, call):
    html = as_role("Reviewer").get(f"/conversations/{CONVERSATION}/?review=flagged")
    assert 'href="?review=flagged&amp;turn=0#comment-form"' in html.content.decode()


# Deletion and export


def test_deleting_a_conversation_removes_its_comments(make_user, call):
    ann = make_user("Reviewer", username="ann")
    comment_by(ann, body="card 4111", turn=1)
    comment_by(ann, body="kept", conversation_id="conv_other")
    result = deletion.delete_conversation(
        user=make_user("Admin", username="root"), conversation_id=CONVERSATION, reason="asked"
    )
    assert result.done
    assert not Comment.objects.filter(conversation_id=CONVERSATION).exists()
    assert Comment.objects.filter(conversation_id="conv_other").exists()


def test_an_export_carries_the_comments_as_a_list_and_the_csv_their_number(make_user, client, call):
    ann = make_user("Reviewer", username="ann")
    comment_by(ann, body="=whole call")
    comment_by(ann, body="about the card", turn=1)
    lead = signed_in(client, make_user("Lead", username="lee"))
    lines = b"".join(
        lead.get("/export/", {"format": "jsonl", "agent": "agent_x"}).streaming_content
    )
    [record] = [json.loads(line) for line in lines.decode().splitlines()]
    assert [(c["author"], c["turn"], c["body"]) for c in record["comments"]] == [
        ("ann", None, "=whole call"),
        ("ann", 1, "about the card"),
    ]
    datetime.fromisoformat(record["comments"][0]["time"])
    content = b"".join(
        lead.get("/export/", {"format": "csv", "agent": "agent_x"}).streaming_content
    )
    [row] = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    assert row["comments"] == "2"
    assert "notes" not in row


# The notes, migrated


@pytest.mark.django_db(transaction=True)
def test_each_note_becomes_its_conversations_first_comment_and_goes_back_when_reversed():
    executor = MigrationExecutor(connection)
    before, after = (
        [("conversations", "0013_quality")],
        [("conversations", "0014_notes_to_comments")],
    )
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User = old.get_model("auth", "User")
    Review = old.get_model("conversations", "Review")
    ReviewChange = old.get_model("conversations", "ReviewChange")
    ann = User.objects.create(username="ann")
    bob = User.objects.create(username="bob")
    noted_at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    Review.objects.create(conversation_id="conv_a", notes="Refund promised\nby the agent")
    Review.objects.create(conversation_id="conv_b", notes="Older note")
    Review.objects.create(conversation_id="conv_c", notes="")
    for user, at in ((ann, datetime(2026, 4, 1, tzinfo=UTC)), (bob, noted_at)):
        change = ReviewChange.objects.create(
            conversation_id="conv_a", user=user, username=user.username, field="notes"
        )
        ReviewChange.objects.filter(pk=change.pk).update(changed_at=at)
    updated_b = Review.objects.get(conversation_id="conv_b").updated_at

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    NewComment = new.get_model("conversations", "Comment")
    found = {
        c.conversation_id: (c.username, c.user_id, c.body, c.turn, c.created_at)
        for c in NewComment.objects.all()
    }
    assert found == {
        "conv_a": ("bob", bob.pk, "Refund promised\nby the agent", None, noted_at),
        "conv_b": ("earlier note", None, "Older note", None, updated_b),
    }
    assert "notes" not in {f.name for f in new.get_model("conversations", "Review")._meta.fields}
    assert new.get_model("conversations", "ReviewChange").objects.filter(field="notes").count() == 2

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    back = executor.loader.project_state(before).apps
    notes = dict(
        back.get_model("conversations", "Review").objects.values_list("conversation_id", "notes")
    )
    assert notes == {
        "conv_a": "Refund promised\nby the agent",
        "conv_b": "Older note",
        "conv_c": "",
    }
    assert not back.get_model("conversations", "Comment").objects.exists()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
