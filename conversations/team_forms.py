"""The team page's forms: a new user with a role, and a change of role."""

from django import forms
from django.contrib.auth import get_user_model

from conversations.team import ROLE_NAMES

ROLE_CHOICES = [(name, name) for name in ROLE_NAMES]


class UserAddForm(forms.ModelForm):
    """The user's name (Django's own rules: letters, digits and @.+-_), optionally their name
    and email, and their role."""

    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=ROLE_NAMES[0])

    class Meta:
        model = get_user_model()
        fields = ["username", "first_name", "last_name", "email"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        # "Ana" beside "ana" would be two accounts that people take for one.
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(f"There is already a user called “{username}”.")
        return username


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
