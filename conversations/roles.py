"""The three roles, as Django groups, and what each may do; the backend that reads them."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

ROLES = {
    "Reviewer": ["view_conversation", "review_conversation"],
    "Lead": [
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
        "view_analytics",
        "manage_quality",
    ],
    "Admin": [
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
        "delete_conversation",
        "create_agent_session",
        "view_analytics",
        "manage_quality",
        "manage_team",
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


class RoleBackend(ModelBackend):
    """Django's ModelBackend, reading a user's permissions in one query instead of two.

    Every page checks permissions, and ModelBackend reads a user's own and their groups'
    separately: the second query was a tenth of what the list page costs the server
    (docs/performance.md). The answers are the same, read on each request as before, so a
    role taken away applies to the very next request. Permissions given to a user directly
    (in the admin site) still count.
    """

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj)
        if not hasattr(user_obj, "_perm_cache"):
            granted = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .values_list("content_type__app_label", "codename")
                .order_by()
            )
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in granted}
        return user_obj._perm_cache
