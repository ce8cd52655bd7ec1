"""The team page: the users and their roles, and an admin's changes to them (team.py makes
them). A generated password is shown once, in the answer to the POST that made it."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from conversations import team
from conversations.errors import render_error
from conversations.team_forms import RoleForm, UserAddForm

team_required = permission_required("conversations.manage_team", raise_exception=True)


def render_team(request, *, form=None, shown=None, status=200):
    """The page; `shown` is (user, password, sentence) right after a password was made."""
    members = team.members()
    for member in members:
        # What this admin may do to each: the guard rails in team.py, shown as missing buttons.
        member.yourself = member.pk == request.user.pk
        member.locked = team.is_locked_for(request.user, member)
    context = {
        "members": members,
        "form": form or UserAddForm(),
        "roles": team.ROLE_NAMES,
        "shown": shown,
        "passwords": team.passwords_allowed(),
        "single_sign_on": bool(getattr(settings, "OIDC_RP_CLIENT_ID", "")),
    }
    return render(request, "conversations/team.html", context, status=status)


@require_GET
@team_required
def team_list(request):
    return render_team(request)


@require_POST
@team_required
@never_cache
def team_add(request):
    form = UserAddForm(request.POST)
    if not form.is_valid():
        return render_team(request, form=form, status=400)
    user = form.save(commit=False)
    try:
        password = team.add_user(actor=request.user, user=user, role=form.cleaned_data["role"])
    except team.Refused as exc:
        return render_error(request, 400, "Not added", str(exc))
    sentence = f"{user.username} was added as {form.cleaned_data['role']}."
    return render_team(request, shown=(user, password, sentence))


@require_POST
@team_required
def team_role(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return render_error(request, 400, "Not a role", "Choose Reviewer, Lead or Admin.")
    role = form.cleaned_data["role"]
    try:
        team.set_role(actor=request.user, user=user, role=role)
    except team.Refused as exc:
        return render_error(request, 403, "Not changed", str(exc))
    messages.success(request, f"{user.username} is now {role}.")
    return redirect("conversations:team")


@require_POST
@team_required
def team_deactivate(request, pk):
    return change_active(request, pk, active=False)


@require_POST
@team_required
def team_reactivate(request, pk):
    return change_active(request, pk, active=True)


def change_active(request, pk, *, active):
    user = get_object_or_404(get_user_model(), pk=pk)
    try:
        team.set_active(actor=request.user, user=user, active=active)
    except team.Refused as exc:
        return render_error(request, 403, "Not changed", str(exc))
    if active:
        messages.success(request, f"{user.username} can log in again.")
    else:
        messages.success(request, f"{user.username} is deactivated; their reviews stay.")
    return redirect("conversations:team")


@require_POST
@team_required
@never_cache
def team_password(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    try:
        password = team.set_new_password(actor=request.user, user=user)
    except team.Refused as exc:
        return render_error(request, 403, "Not changed", str(exc))
    if user.pk == request.user.pk:
        # Your own new password: this session stays logged in, the others end.
        update_session_auth_hash(request, user)
    sentence = f"{user.username} has a new password; the old one no longer works."
    return render_team(request, shown=(user, password, sentence))
