"""The form a lead defines a scorecard with: its name and agents, and a formset of criteria."""

from django import forms

from conversations import scorecards
from conversations.models import ScorecardCriterion

AGENTS_MAX = 100


class ScorecardForm(forms.Form):
    name = forms.CharField(max_length=scorecards.NAME_MAX)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)
    agent_ids = forms.CharField(
        required=False,
        max_length=5000,
        label="Agents",
        help_text="Agent ids, comma-separated; empty: every agent.",
    )
    pass_mark = forms.IntegerField(min_value=0, max_value=100, initial=80, label="Pass mark (%)")
    active = forms.BooleanField(
        required=False, initial=True, help_text="Archived scorecards keep their scores."
    )

    def __init__(self, *args, scorecard=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scorecard = scorecard

    def clean_name(self):
        name = self.cleaned_data["name"].replace("\x00", "").strip()
        others = scorecards.Scorecard.objects.filter(name=name)
        if self.scorecard:
            others = others.exclude(pk=self.scorecard.pk)
        if others.exists():
            raise forms.ValidationError("Another scorecard has this name.")
        return name

    def clean_description(self):
        return self.cleaned_data["description"].replace("\x00", "").strip()

    def definition(self, criteria):
        data = self.cleaned_data
        return scorecards.Definition(
            name=data["name"],
            criteria=criteria,
            description=data["description"],
            agent_ids=tuple(data["agent_ids"]),
            pass_mark=data["pass_mark"],
            # A new scorecard is offered at once; the form has no "active" box for it.
            active=data["active"] if self.scorecard else True,
        )

    def clean_agent_ids(self):
        parts = self.cleaned_data["agent_ids"].replace("\x00", "").split(",")
        ids = list(dict.fromkeys(part.strip()[:128] for part in parts if part.strip()))
        if len(ids) > AGENTS_MAX:
            raise forms.ValidationError(f"At most {AGENTS_MAX} agents.")
        return ids


class CriterionForm(forms.Form):
    # The criterion this row continues from the version before (empty: a new one).
    key = forms.CharField(required=False, max_length=50, widget=forms.HiddenInput)
    name = forms.CharField(max_length=scorecards.NAME_MAX)
    description = forms.CharField(
        required=False,
        max_length=2000,
        label="What a pass looks like",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    kind = forms.ChoiceField(
        choices=ScorecardCriterion.Kind.choices,
        initial=ScorecardCriterion.Kind.PASS_FAIL,
        label="Type",
    )
    weight = forms.IntegerField(min_value=1, max_value=scorecards.WEIGHT_MAX, initial=1)
    auto_fail = forms.BooleanField(required=False, label="Auto-fail")
    platform_criterion = forms.CharField(
        required=False,
        max_length=200,
        label="Platform criterion",
        widget=forms.TextInput(attrs={"list": "platform-criteria", "autocomplete": "off"}),
    )

    def has_changed(self):
        """A blank extra row adds nothing, whatever its type and weight say: a row is a new
        criterion once something is typed in it."""
        typed = any(
            self.data.get(self.add_prefix(name), "").strip()
            for name in ("name", "description", "platform_criterion")
        )
        return typed or (bool(self.initial) and super().has_changed())

    def clean(self):
        data = super().clean()
        for name in ("name", "description", "platform_criterion", "key"):
            if isinstance(data.get(name), str):
                data[name] = data[name].replace("\x00", "").strip()
        return data

    def spec(self):
        data = self.cleaned_data
        return scorecards.CriterionSpec(
            name=data["name"],
            kind=data["kind"],
            weight=data["weight"],
            auto_fail=data["auto_fail"],
            description=data["description"],
            platform_criterion=data["platform_criterion"],
            key=data["key"] or None,
        )


class BaseCriterionFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.kept():
            raise forms.ValidationError("A scorecard needs at least one criterion.")

    def kept(self):
        """The rows to save, in the order given (rows without an order keep their place)."""
        rows = [
            (form.cleaned_data.get("ORDER") or index + 1, index, form)
            for index, form in enumerate(self.forms)
            # A blank extra row adds nothing; an existing one is kept unless deleted.
            if (index < self.initial_form_count() or form.has_changed())
            and not self._should_delete_form(form)
        ]
        return [form for _, _, form in sorted(rows, key=lambda row: row[:2])]

    def specs(self):
        return [form.spec() for form in self.kept()]


CriterionFormSet = forms.formset_factory(
    CriterionForm,
    formset=BaseCriterionFormSet,
    extra=2,
    can_delete=True,
    can_order=True,
    max_num=50,
    absolute_max=60,
    validate_max=True,
)


def criteria_initial(version):
    """The formset's rows for a version's criteria."""
    fields = ("key", "name", "description", "kind", "weight", "auto_fail", "platform_criterion")
    return [
        {**{name: getattr(c, name) for name in fields}, "ORDER": c.position + 1}
        for c in scorecards.criteria_of(version)
    ]
