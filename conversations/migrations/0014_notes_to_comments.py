"""A review's one shared note becomes the first comment of its conversation's thread.

Its author is whoever last changed the note (the newest ReviewChange of "notes"), at that
time; without such a change, "earlier note" at the review's last save. The note is kept
whole, even past a comment's 5,000 characters (the column does not limit it). The history's
"notes" rows stay: they are what was said before.

Reversed, each conversation's first comment goes back into its review's note (a review is
made for it if it has none) and leaves the thread; later comments stay where they are, since
one note cannot hold a thread.
"""

from django.db import migrations

EARLIER_NOTE = "earlier note"


def notes_to_comments(apps, schema_editor):
    Review = apps.get_model("conversations", "Review")
    ReviewChange = apps.get_model("conversations", "ReviewChange")
    Comment = apps.get_model("conversations", "Comment")
    noted = Review.objects.exclude(notes="").order_by("id")
    for review in noted.iterator(chunk_size=500):
        change = (
            ReviewChange.objects.filter(conversation_id=review.conversation_id, field="notes")
            .order_by("-changed_at", "-id")
            .first()
        )
        Comment.objects.create(
            conversation_id=review.conversation_id,
            user_id=change.user_id if change else None,
            username=change.username if change else EARLIER_NOTE,
            body=review.notes,
            turn=None,
            created_at=change.changed_at if change else review.updated_at,
        )


def comments_to_notes(apps, schema_editor):
    Review = apps.get_model("conversations", "Review")
    Comment = apps.get_model("conversations", "Comment")
    firsts = {}
    for comment in Comment.objects.order_by("created_at", "id").iterator(chunk_size=500):
        firsts.setdefault(comment.conversation_id, comment)
    for conversation_id, comment in firsts.items():
        Review.objects.update_or_create(
            conversation_id=conversation_id, defaults={"notes": comment.body}
        )
        comment.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0013_quality"),
    ]

    operations = [
        migrations.RunPython(notes_to_comments, comments_to_notes),
        migrations.RemoveField(model_name="review", name="notes"),
        migrations.AlterModelOptions(
            name="review",
            options={
                "default_permissions": (),
                "permissions": [
                    (
                        "review_conversation",
                        "Can review conversations: status, tags, comments and scores",
                    ),
                    ("assign_conversation", "Can assign conversations to reviewers"),
                    ("export_conversations", "Can export the conversation list with reviews"),
                    ("view_analytics", "Can view analytics across conversations"),
                ],
            },
        ),
    ]
