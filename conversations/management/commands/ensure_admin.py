"""Create the first administrator with a generated password, once."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser named 'admin' with a generated password if no superuser exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "Log in with your existing administrator account "
                "(forgot the password? `.venv/bin/python manage.py changepassword admin`)."
            )
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        user.groups.add(*Group.objects.filter(name="Admin"))
        self.stdout.write(
            self.style.SUCCESS(f"Created the administrator. Log in as {username} / {password}")
        )
        self.stdout.write(
            "This password is shown once; give your team their accounts on the Team page (/team/)."
        )
