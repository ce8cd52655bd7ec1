from django import forms
from django.contrib.auth import get_user_model

from conversations.models import Review
from conversations.reviews import parse_tags


class ReviewForm(forms.Form):
    """The review panel and the bulk bar. A field left out of the POST is left unchanged."""

    status = forms.ChoiceField(choices=Review.Status.choices, required=False)
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        to_field_name="username",
    )
    tags = forms.CharField(required=False, max_length=2000)
    notes = forms.CharField(required=False, max_length=10_000)
    # The list and filter the reviewer came from, for "Save and next".
    list_query = forms.CharField(required=False, max_length=1000)

    def __init__(self, *args, can_assign=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_assign = can_assign

    def clean(self):
        data = super().clean()
        if "assignee" in self.data and not self.can_assign:
            raise forms.ValidationError("Only leads and admins can assign conversations.")
        return data

    def changes(self):
        """The cleaned values of the fields that were sent, ready for reviews.save_review."""
        present = {name for name in ("status", "assignee", "tags", "notes") if name in self.data}
        changes = {}
        if "status" in present and self.cleaned_data["status"]:
            changes["status"] = self.cleaned_data["status"]
        if "assignee" in present:
            changes["assignee"] = self.cleaned_data["assignee"]
        if "tags" in present:
            changes["tags"] = parse_tags(self.cleaned_data["tags"])
        if "notes" in present:
            changes["notes"] = self.cleaned_data["notes"].replace("\r\n", "\n")
        return changes
