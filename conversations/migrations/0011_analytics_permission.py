"""The permission to view analytics, given to the Lead and Admin roles."""

from django.db import migrations

from conversations.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [("conversations", "0010_indexed_text")]

    operations = [
        migrations.AlterModelOptions(
            name="review",
            options={
                "default_permissions": (),
                "permissions": [
                    ("review_conversation", "Can set review status, tags and notes"),
                    ("assign_conversation", "Can assign conversations to reviewers"),
                    ("export_conversations", "Can export the conversation list with reviews"),
                    ("view_analytics", "Can view analytics across conversations"),
                ],
            },
        ),
        migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop),
    ]
