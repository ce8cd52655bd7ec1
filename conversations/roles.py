"""The three roles, as Django groups, and what each may do."""

ROLES = {
    "Reviewer": ["view_conversation", "review_conversation"],
    "Lead": [
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
    ],
    "Admin": [
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
        "delete_conversation",
        "create_agent_session",
    ],
}


def sync_roles(group_model, permission_model):
    """Create the groups, each with exactly its permissions (models passed in for migrations)."""
    for name, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(
            permission_model.objects.filter(
                content_type__app_label="conversations", codename__in=codenames
            )
        )


def sync_roles_in_migration(apps, schema_editor):
    """RunPython step: create this app's permissions now (normally made after all migrations)."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("conversations")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))
