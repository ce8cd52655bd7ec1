from django.contrib import admin

from conversations.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Read-only: audit records are append-only, for superusers too."""

    list_display = ["created_at", "username", "outcome", "conversation_id", "agent_id"]
    list_filter = ["outcome", "created_at"]
    search_fields = ["conversation_id", "username", "agent_id"]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
