"""The three roles, as groups: Reviewer, Lead and Admin (see conversations/roles.py)."""

from django.db import migrations

from conversations.roles import ROLES, sync_roles_in_migration


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync_roles_in_migration, remove_roles)]
