from django import forms

from conversations.models import Review
from conversations.reviews import assignable_users, parse_tags

FIELDS = ("status", "assignee", "tags")


class ReviewForm(forms.Form):
    """The review panel and the bulk bar. A field left out of the POST is left unchanged.

    The panel also sends, for each field, the value it was shown with (`status_was`, ...):
    a field counts as changed only when its value differs from that, and reviews.save_review
    refuses the save when someone else changed such a field since. The bulk bar sends no
    `_was` values: the one field it sets is set as sent.
    """

    status = forms.ChoiceField(choices=Review.Status.choices, required=False)
    assignee = forms.ModelChoiceField(
        queryset=assignable_users(),
        required=False,
        to_field_name="username",
        error_messages={"invalid_choice": "Only people with a review role can be assigned."},
    )
    tags = forms.CharField(required=False, max_length=2000)
    status_was = forms.CharField(required=False, max_length=20)
    assignee_was = forms.CharField(required=False, max_length=150)
    tags_was = forms.CharField(required=False, max_length=2000)
    # The list and filter the reviewer came from, for "Save and next".
    list_query = forms.CharField(required=False, max_length=1000)
    # The sampled queue the reviewer is walking, for "Save and next" (sampling.py).
    queue = forms.IntegerField(required=False, min_value=1, max_value=2**62)

    def __init__(self, data=None, *args, can_assign=False, **kwargs):
        if data is not None and "assignee" in data and data["assignee"] == data.get("assignee_was"):
            # Unchanged, so not checked: someone assigned before losing their review role
            # stays assigned while others edit the rest of the review.
            data = data.copy()
            del data["assignee"]
        super().__init__(data, *args, **kwargs)
        self.can_assign = can_assign

    def clean(self):
        data = super().clean()
        if "assignee" in self.data and not self.can_assign:
            raise forms.ValidationError("Only leads and admins can assign conversations.")
        return data

    def changes(self):
        """The fields this person changed, as values for reviews.save_review."""
        changes = {}
        for name in FIELDS:
            if name not in self.data or (name == "status" and not self.cleaned_data[name]):
                continue
            value = self.value_of(name)
            if f"{name}_was" in self.data and self.comparable(name, value) == self.was(name):
                continue
            changes[name] = value
        return changes

    def expected(self):
        """For each changed field sent with its `_was`, the value the page was shown with."""
        return {name: self.was(name) for name in self.changes() if f"{name}_was" in self.data}

    def typed(self):
        """What the person sent for each field, to show again when nothing was saved."""
        return {name: self.data[name] for name in FIELDS if name in self.data}

    def value_of(self, name):
        return normalized(name, self.cleaned_data[name])

    def was(self, name):
        """The `_was` value, in the form reviews.review_values gives (user names, tag lists)."""
        return normalized(name, self.cleaned_data[f"{name}_was"])

    @staticmethod
    def comparable(name, value):
        if name == "assignee":
            return value.get_username() if value else ""
        return value


def normalized(name, value):
    """A submitted value as it is stored: tags as a list."""
    if name == "tags":
        return parse_tags(value)
    return value
