"""The three roles, as Django groups, and what each may do."""

ROLES = {
    "Reviewer": ["view_conversation"],
    "Lead": ["view_conversation", "view_auditrecord"],
    "Admin": [
        "view_conversation",
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
