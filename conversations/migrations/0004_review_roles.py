"""Give the roles the review permissions added with the review state."""

from django.db import migrations

from conversations.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [("conversations", "0003_review_state")]

    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
