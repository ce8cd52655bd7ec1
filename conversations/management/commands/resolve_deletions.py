"""Record the outcome of deletion attempts that were interrupted, by asking the platform."""

from django.core.management.base import BaseCommand

from conversations import deletion
from conversations.models import AuditRecord


class Command(BaseCommand):
    help = (
        "Ask the platform about each deletion attempt whose outcome was never recorded "
        "(a crash, a database outage, a lost answer) and record what it says."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit, **options):
        resolved = deletion.resolve_open_attempts(limit=limit)
        still_open = AuditRecord.objects.open_attempts().count()
        self.stdout.write(f"Resolved {resolved} deletion attempt(s); {still_open} still open.")
