from django import forms

from incidents.models import Component
from incidents.taxonomy import TYPES
from portal.models import Team

from .models import SECTION_MAX, SECTIONS, Outcome

SECTION_HELP = {
    "overview": "What the component does and how it is built; the diagram is attached below.",
    "recovery": "A numbered list: each item becomes a checklist step in incidents following it.",
    "verification": "A numbered list: each item becomes a checklist step too.",
}


class DetailsForm(forms.Form):
    # The details as the form showed them (services.details_stamp): a stale save is refused.
    stamp = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=200)
    team = forms.ModelChoiceField(Team.objects.order_by("name"), label="Owning team")
    components = forms.ModelMultipleChoiceField(
        Component.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple
    )
    incident_types = forms.MultipleChoiceField(
        choices=[(code, label) for code, (label, _) in TYPES.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Incident types",
    )
    tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated.")
    review_interval_days = forms.IntegerField(
        min_value=7, max_value=730, initial=90, label="Review every (days)"
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class DraftForm(forms.Form):
    draft = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, title in SECTIONS:
            self.fields[key] = forms.CharField(
                label=title,
                required=False,
                strip=False,
                help_text=SECTION_HELP.get(key, "Markdown."),
                # The limit is checked by the service, on the text with its line endings
                # made \n (a browser counts those, but sends \r\n).
                widget=forms.Textarea(
                    attrs={"rows": 8, "class": "font-monospace", "maxlength": SECTION_MAX}
                ),
            )

        self.fields["image"] = forms.ImageField(
            required=False, label="Architecture diagram (PNG, JPEG or WebP, up to 2 MB)"
        )
        self.fields["remove_image"] = forms.BooleanField(required=False, label="Remove the diagram")
        self.fields["change_note"] = forms.CharField(
            max_length=2000,
            required=False,
            widget=forms.Textarea(attrs={"rows": 2}),
            label="Change note (to submit)",
            help_text="What changed and why; kept with the version.",
        )

    def sections(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key, "") for key, _ in SECTIONS}


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("request_changes", "Request changes"),
            ("comment", "Comment only"),
        ],
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Comment"
    )


class PublishForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for publishing without review (admins only)",
    )


class TestForm(forms.Form):
    tested_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Tested on")
    exercise = forms.CharField(max_length=200, help_text="The drill, game day or exercise.")
    outcome = forms.ChoiceField(choices=Outcome.choices)
    notes = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
