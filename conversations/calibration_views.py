"""Calibration rounds: the list of rounds, a lead's form for a new one, a round's page with
its agreement, closing it, and the blind and agreed scores given on a call's page
(calibration.py keeps the rules)."""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import calibration, client, reviews, scorecards
from conversations.errors import render_error
from conversations.models import CalibrationRound, Scorecard

review_required = permission_required("conversations.review_conversation", raise_exception=True)
quality_required = permission_required("conversations.manage_quality", raise_exception=True)

NOT_YOURS = "You are not a reviewer of this round. Ask a lead to add you to it."
NOT_SAVED = "Nothing was saved"
GONE = "This conversation was deleted; nothing was saved."
IDS_MAX = 20_000
# Ids pasted one a line, or separated by commas or spaces.
SEPARATORS = re.compile(r"[\s,;]+")


class RoundForm(forms.Form):
    """A new round: its name, the scorecard scored with (its current version), who scores,
    and the calls, pasted or carried from the list's selection."""

    name = forms.CharField(max_length=calibration.NAME_MAX)
    scorecard = forms.ModelChoiceField(queryset=Scorecard.objects.filter(active=True))
    reviewers = forms.ModelMultipleChoiceField(
        queryset=reviews.assignable_users(),
        to_field_name="username",
        error_messages={"invalid_choice": "Only people with a review role can calibrate."},
    )
    calls = forms.CharField(
        max_length=IDS_MAX,
        widget=forms.Textarea,
        help_text="Conversation ids, one a line (or separated by commas or spaces).",
    )

    def clean_name(self):
        return self.cleaned_data["name"].replace("\x00", "").strip()

    def clean_reviewers(self):
        reviewers = self.cleaned_data["reviewers"]
        if len(reviewers) < 2:
            raise forms.ValidationError("Choose at least two reviewers: agreement needs two.")
        return reviewers

    def clean_calls(self):
        ids = list(dict.fromkeys(p for p in SEPARATORS.split(self.cleaned_data["calls"]) if p))
        bad = [i for i in ids if not client.ID_RE.fullmatch(i)]
        if bad:
            raise forms.ValidationError(f"Not a conversation id: {', '.join(bad[:5])}.")
        if not ids:
            raise forms.ValidationError("Give at least one conversation id.")
        if len(ids) > calibration.MAX_CALLS:
            raise forms.ValidationError(f"A round holds at most {calibration.MAX_CALLS} calls.")
        return ids

    def clean(self):
        data = super().clean()
        if data.get("scorecard") and not scorecards.current_version(data["scorecard"]):
            raise forms.ValidationError("This scorecard has no criteria yet.")
        return data


@require_GET
@review_required
def calibration_list(request):
    """A lead sees every round; a reviewer, the rounds they are in, with their progress."""
    lead = can_manage(request.user)
    rounds = calibration.rounds_for(request.user, manager=lead)
    rows = [
        (r, calibration.overall_progress(r) if lead else calibration.progress(r, request.user))
        for r in rounds[:200]
    ]
    return render(request, "conversations/calibration_list.html", {"rows": rows, "lead": lead})


@require_http_methods(["GET", "POST"])
@quality_required
def calibration_new(request):
    if request.method == "GET":
        # The list's selected calls (`ids`) come along when the round is started from there.
        carried = "\n".join(i for i in request.GET.getlist("ids") if client.ID_RE.fullmatch(i))
        return render_round_form(request, RoundForm(initial={"calls": carried}))
    form = RoundForm(request.POST)
    if not form.is_valid():
        return render_round_form(request, form, status=400)
    data = form.cleaned_data
    try:
        created = calibration.create_round(
            user=request.user,
            name=data["name"],
            version=scorecards.current_version(data["scorecard"]),
            reviewers=data["reviewers"],
            conversation_ids=data["calls"],
        )
    except calibration.CalibrationRefused as exc:
        form.add_error(None, str(exc))
        return render_round_form(request, form, status=400)
    messages.success(request, f"Round “{created.name}” started: {created.calls.count()} calls.")
    return redirect("conversations:calibration", created.pk)


def render_round_form(request, form, status=200):
    context = {
        "form": form,
        "users": reviews.assignable_users(),
        "chosen": form["reviewers"].value() or [],
        "scorecards": Scorecard.objects.filter(active=True),
        "max_calls": calibration.MAX_CALLS,
    }
    return render(request, "conversations/calibration_new.html", context, status=status)


@require_GET
@review_required
def calibration_detail(request, pk):
    """A round's calls and who has scored each; for a lead, agreement per criterion."""
    round_ = get_object_or_404(CalibrationRound.objects.select_related("version__scorecard"), pk=pk)
    lead = can_manage(request.user)
    reviewers = sorted(round_.reviewers.all(), key=lambda u: u.get_username())
    if not lead and request.user not in reviewers:
        return render_error(request, 403, "Not your round", NOT_YOURS)
    calls = list(round_.calls.all())
    context = {
        "round": round_,
        "lead": lead,
        "reviewers": reviewers,
        "calls": calibration.call_status(round_, calls, reviewers),
        "mine": calibration.progress(round_, request.user),
        # Agreement shows others' scores in sum: only for a lead who is not still scoring
        # some of its calls blind, or once the round is over.
        "agreement": (
            calibration.agreement_per_criterion(round_.scores.all())
            if round_.closed_at or (lead and not blind_in(round_, calls, request.user))
            else None
        ),
    }
    return render(request, "conversations/calibration.html", context)


def blind_in(round_, calls, user):
    """Whether this person still has calls of this open round to score blind."""
    return bool(calibration.blind_ids(user) & {call.conversation_id for call in calls})


@require_POST
@quality_required
def calibration_close(request, pk):
    round_ = get_object_or_404(CalibrationRound, pk=pk)
    calibration.close_round(calibration=round_)
    messages.success(request, f"Round “{round_.name}” closed.")
    return redirect("conversations:calibration", round_.pk)


@require_POST
@review_required
def calibration_score(request, pk, conversation_id):
    """A reviewer's blind score of a call of the round."""
    return save(request, pk, conversation_id, calibration.submit)


@require_POST
@quality_required
def calibration_agreed(request, pk, conversation_id):
    """The lead's agreed score of a call: the call's current score from now on."""
    return save(request, pk, conversation_id, calibration.record_agreed)


def save(request, pk, conversation_id, action):
    conversation_id = client.validate_id(conversation_id)
    round_ = get_object_or_404(CalibrationRound.objects.select_related("version"), pk=pk)
    agreed = action is calibration.record_agreed
    prefix = calibration.form_prefix(round_, agreed=agreed)
    try:
        answers = scorecards.read_answers(round_.version, request.POST, prefix=prefix)
        action(
            user=request.user, calibration=round_, conversation_id=conversation_id, answers=answers
        )
    except scorecards.InvalidAnswers as exc:
        status, message = 400, str(exc)
    except calibration.CalibrationRefused as exc:
        status, message = exc.status, str(exc)
    except reviews.ConversationGone:
        status, message = 410, GONE
    else:
        if request.htmx:
            return render_panel(request, round_, conversation_id, saved=True)
        return redirect("conversations:detail", conversation_id)
    if not request.htmx:
        return render_error(request, status, NOT_SAVED, message)
    # The round's panel again, with what was typed and why it was not saved.
    typed = scorecards.typed_answers(round_.version, request.POST, prefix)
    kept = {"agreed_typed" if agreed else "typed": typed}
    return render_panel(request, round_, conversation_id, status, refusal=message, **kept)


def render_panel(request, round_, conversation_id, status=200, **extra):
    panel = calibration.call_panel(round_, request.user, conversation_id, **extra)
    context = {"panel": panel, "c_id": conversation_id}
    return render(request, "conversations/_calibration_round.html", context, status=status)


def can_manage(user):
    return user.has_perm("conversations.manage_quality")
