"""The team: who uses the dashboard, in which role, and the changes an admin makes to it.

Every change goes through one function here (`add_user`, `set_role`, `set_active`,
`set_new_password`), which checks the guard rails first and logs the change. The audit log
(models.AuditRecord) records deletions and exports with a fixed set of outcomes, so team
changes are logged at INFO instead: who changed whom, and how, never a password.
"""

import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Prefetch

from conversations.roles import ROLES

log = logging.getLogger(__name__)

ADMIN = "Admin"
ROLE_NAMES = tuple(ROLES)


class Refused(Exception):
    """A change the guard rails refuse; the message says why, to the person who asked."""


def members():
    """Everyone with an account, active first, each with `role` (one of ROLE_NAMES, or "")."""
    roles = Prefetch("groups", queryset=Group.objects.filter(name__in=ROLE_NAMES), to_attr="roles")
    users = get_user_model().objects.prefetch_related(roles).order_by("-is_active", "username")
    users = list(users)
    for user in users:
        user.role = role_of(user)
    return users


def role_of(user):
    """The user's role; "" for none. Someone given several groups in the admin site counts as
    the one that grants the most (the last in ROLES)."""
    names = {group.name for group in user.roles} if hasattr(user, "roles") else None
    if names is None:
        names = set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
    return next((name for name in reversed(ROLE_NAMES) if name in names), "")


def signs_in_with(user):
    """How the user logs in: an account made for single sign-on has no usable password."""
    return "password" if user.has_usable_password() else "single sign-on"


def new_password():
    """A random password of 16 characters (96 bits), shown once and never stored in clear."""
    return secrets.token_urlsafe(12)


def is_locked_for(actor, user):
    """Whether the user's account is out of the actor's reach: a superuser's, or a staff
    account's (it may hold the admin site's user permissions, which can make a superuser),
    for anyone but a superuser."""
    return (user.is_superuser or user.is_staff) and not actor.is_superuser


def check_may_change(actor, user):
    """Refuse any change to a superuser or a staff account by someone who is not a superuser:
    the admin role must not open the way to the accounts that can do everything, the admin
    site included (a new password for a staff account that may edit users is a superuser)."""
    if is_locked_for(actor, user):
        raise Refused("Only a superuser can change a superuser's or a staff account.")


def passwords_allowed():
    """Whether people may log in with a password (LOCAL_LOGIN); if not, everyone signs in with
    single sign-on and their account is made at their first sign-in."""
    return getattr(settings, "LOCAL_LOGIN", True)


def add_user(*, actor, user, role):
    """Save the new (unsaved) user with the role and a generated password; return the password.

    The password is hashed before it is saved: the caller shows it once and forgets it.
    """
    if not passwords_allowed():
        raise Refused("Passwords are turned off: people sign in with single sign-on.")
    password = new_password()
    user.set_password(password)
    with transaction.atomic():
        user.save()
        user.groups.add(Group.objects.get(name=role))
    log.info("team: %s added %s as %s", actor.get_username(), user.get_username(), role)
    return password


def set_role(*, actor, user, role):
    """Give the user exactly this role (their other groups stay as they were).

    An admin cannot take the Admin role from themselves: whoever changes the team keeps the
    role that lets them, so the team is never left without an admin by its own hand.
    """
    check_may_change(actor, user)
    if user.pk == actor.pk and role != ADMIN:
        raise Refused("You cannot take away your own Admin role. Ask another admin.")
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=ROLE_NAMES).exclude(name=role))
        user.groups.add(Group.objects.get(name=role))
    log.info("team: %s gave %s the role %s", actor.get_username(), user.get_username(), role)


def set_active(*, actor, user, active):
    """Deactivate (they can no longer log in, and their sessions end) or reactivate a user.

    Nothing of theirs is removed: reviews, comments and scores keep their name.
    """
    check_may_change(actor, user)
    if user.pk == actor.pk and not active:
        raise Refused("You cannot deactivate yourself. Ask another admin.")
    user.is_active = active
    user.save(update_fields=["is_active"])
    what = "reactivated" if active else "deactivated"
    log.info("team: %s %s %s", actor.get_username(), what, user.get_username())


def set_new_password(*, actor, user):
    """Replace the user's password with a generated one and return it, to be shown once.

    Their other sessions end (Django checks the password's hash on each request).
    """
    check_may_change(actor, user)
    if not passwords_allowed():
        raise Refused("Passwords are turned off: people sign in with single sign-on.")
    if not user.has_usable_password():
        # Single sign-on does not take over an account with a password (conversations/sso.py).
        raise Refused(
            f"{user.get_username()} signs in with single sign-on; a password would stop that."
        )
    password = new_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    log.info("team: %s set a new password for %s", actor.get_username(), user.get_username())
    return password
