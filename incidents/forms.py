"""Forms check the shape of input; the services check the rules (and re-check what forms do,
since the API and tasks call them too)."""

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.models import fields_for_model
from django.utils import timezone

from . import bounds
from .impact import IMPACT_FIELDS, IMPACT_GROUPS, Assessment, suggest_severity
from .models import (
    Audience,
    Component,
    ComponentStatus,
    Followup,
    Incident,
    PublicImpact,
    ResponseRole,
    Status,
)
from .severity import SEVERITY_CHOICES
from .taxonomy import SUBTYPE_CHOICES, TYPE_CHOICES, subtype_belongs
from .timeline import NOTE_TAGS


class DateAndTimeInput(forms.MultiWidget):
    """A date picker and a 24-hour HH:MM field, the way the portal shows times (a browser's
    date-time picker follows its locale, often 12-hour). One ISO value ("2026-11-29T14:05")
    is accepted too, from scripts and older pages."""

    template_name = "incidents/_date_and_time.html"

    def __init__(self, attrs=None):
        super().__init__(
            [
                forms.DateInput(attrs={"type": "date", "aria-label": "Date"}, format="%Y-%m-%d"),
                forms.TimeInput(
                    attrs={
                        "inputmode": "numeric",
                        "pattern": "([01]?[0-9]|2[0-3])[:.]?[0-5][0-9]",
                        "placeholder": "HH:MM",
                        "maxlength": "5",
                        "size": "5",
                        "aria-label": "Time (24-hour, HH:MM)",
                    },
                    format="%H:%M",
                ),
            ],
            attrs,
        )

    def decompress(self, value):
        if not value:
            return [None, None]
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return [value.date(), value.time().replace(second=0, microsecond=0)]

    def value_from_datadict(self, data, files, name):
        if f"{name}_0" not in data and data.get(name):
            date, _, time = str(data[name]).replace(" ", "T", 1).partition("T")
            return [date, time]
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)


class DateAndTimeField(forms.SplitDateTimeField):
    widget = DateAndTimeInput

    def __init__(self, **kwargs):
        # 14:05, and what a phone's digit pad types: 1405, 14.05.
        kwargs.setdefault(
            "input_time_formats", ["%H:%M", "%H%M", "%H.%M", "%H:%M:%S", "%H:%M:%S.%f"]
        )
        kwargs.setdefault(
            "error_messages",
            {"invalid_time": "Enter the time as HH:MM, 24-hour (e.g. 14:05)."},
        )
        super().__init__(**kwargs)

    def clean(self, value):
        if isinstance(value, list | tuple) and len(value) == 2 and bool(value[0]) != bool(value[1]):
            raise forms.ValidationError("Enter both the date and the time (24-hour, HH:MM).")
        return super().clean(value)


def _zone_help(text: str) -> str:
    return f"{text} Your time zone: {timezone.get_current_timezone_name()}.".strip()


class _NoTagHelperMixin:
    def _helper(self) -> FormHelper:
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        return helper


def _is_box(field) -> bool:
    return isinstance(field, forms.BooleanField)


def _impact_formfield(model_field, **kwargs):
    """The model's field rules, ranges included, as form fields."""
    for validator in model_field.validators:
        if isinstance(validator, MinValueValidator):
            kwargs.setdefault("min_value", validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            kwargs.setdefault("max_value", validator.limit_value)
    return model_field.formfield(**kwargs)


# A form whose declared fields are the model's impact fields (the form metaclass collects them
# as if they were written out in the class body).
_ImpactFieldsBase = type(forms.Form)(
    "_ImpactFieldsBase",
    (forms.Form,),
    fields_for_model(Incident, fields=IMPACT_FIELDS, formfield_callback=_impact_formfield),
)


class ImpactFields(_ImpactFieldsBase):
    """The impact assessment shared by the declare and edit forms: the model's impact fields,
    in their three groups (incidents/models/impact.py declares them, once)."""

    IMPACT_NAMES = IMPACT_FIELDS

    @property
    def impact_groups(self) -> list[tuple[str, list]]:
        """The groups' fields, inputs and choices before the yes/no boxes (so they align)."""
        return [
            (label, sorted((self[n] for n in names), key=lambda f: _is_box(f.field)))
            for label, names in IMPACT_GROUPS
        ]

    def impact_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in IMPACT_FIELDS}

    def suggestion(self):
        """The proposed severity for whatever impact input is valid so far."""
        data = getattr(self, "cleaned_data", None) or {}
        return suggest_severity(Assessment.of(data))


class IncidentFieldsMixin(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(
        max_length=10_000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    type = forms.ChoiceField(choices=TYPE_CHOICES)
    subtype = forms.ChoiceField(choices=[("", "—")] + SUBTYPE_CHOICES, required=False)
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.select_related("group"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Affected components",
    )
    severity = forms.ChoiceField(choices=SEVERITY_CHOICES, widget=forms.RadioSelect)
    severity_reason = forms.CharField(
        max_length=1000,
        required=False,
        label="Reason for the severity",
        help_text="Required when you choose a severity other than the proposed one, and for "
        "every later change.",
    )

    def clean(self):
        cleaned = super().clean()
        type_, subtype = cleaned.get("type"), cleaned.get("subtype") or ""
        if type_ and not subtype_belongs(type_, subtype):
            self.add_error("subtype", "That subtype does not belong to the chosen type.")
        return cleaned


class DeclareForm(_NoTagHelperMixin, IncidentFieldsMixin, ImpactFields):
    detected_at = DateAndTimeField(label="Detected at")
    start_in_triage = forms.BooleanField(
        required=False,
        label="Suspected problem: start in Triage",
        help_text="Someone verifies it or closes it as a false alarm.",
    )
    commander = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True, groups__isnull=False).distinct(),
        required=False,
        label="Incident Commander",
        help_text="You, unless you name someone else.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    field_order = [
        "title",
        "summary",
        "type",
        "subtype",
        "components",
        "detected_at",
        "start_in_triage",
        "commander",
        *ImpactFields.IMPACT_NAMES,
        "severity",
        "severity_reason",
    ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["detected_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["detected_at"].help_text = _zone_help("")
        self.fields["commander"].initial = user.pk if user is not None else None
        self.fields["commander"].label_from_instance = lambda u: getattr(
            getattr(u, "profile", None), "name", u.get_username()
        )
        self.helper = self._helper()

    def clean_detected_at(self):
        value = self.cleaned_data["detected_at"]
        now = timezone.now()
        error = bounds.detection_error(value, now, skew=bounds.DETECTION_CLOCK_SKEW)
        if error:
            raise forms.ValidationError(error)
        return min(value, now)


class EditForm(_NoTagHelperMixin, IncidentFieldsMixin, ImpactFields):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, incident: Incident, **kwargs):
        self.incident = incident
        kwargs["initial"] = {name: getattr(incident, name) for name in self.EDITABLE} | {
            "components": list(incident.components.all()),
            "severity": incident.severity,
            "version": incident.version,
        }
        super().__init__(*args, **kwargs)
        self.fields["severity_reason"].help_text = "Required when the severity changes."
        self.helper = self._helper()

    EDITABLE = ("title", "summary", "type", "subtype", *ImpactFields.IMPACT_NAMES)

    def suggestion(self):
        if not self.is_bound:
            return suggest_severity(Assessment.of(self.incident))
        return super().suggestion()

    @classmethod
    def merge_conflict(cls, data, incident: Incident, changed_by_others: set[str]):
        """After a refused stale save: the fields someone else changed take the current values,
        every other field keeps what this user typed, and the version moves to the current one
        so that the next save is a deliberate one."""
        merged = data.copy()
        current = cls(incident=incident).initial
        for field in changed_by_others:
            value = current.get(field)
            if field == "components":
                merged.setlist(field, [str(c.pk) for c in value])
            elif isinstance(value, bool):
                if value:
                    merged[field] = "on"
                else:
                    merged.pop(field, None)
            else:
                merged[field] = "" if value is None else str(value)
        merged["version"] = str(incident.version)
        return merged


class FalseAlarmForm(forms.Form):
    note = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What should monitoring change so this does not recur?",
    )


class IncidentFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    # "" is the "any" option of the single-select widgets; several values may be given in
    # the query string (?severity=P1&severity=P2).
    status = forms.MultipleChoiceField(
        required=False, choices=[("", "Any status"), ("active", "Active (any)"), *Status.choices]
    )
    severity = forms.MultipleChoiceField(required=False, choices=[("", "Any"), *SEVERITY_CHOICES])

    def clean_status(self):
        return [v for v in self.cleaned_data["status"] if v]

    def clean_severity(self):
        return [v for v in self.cleaned_data["severity"] if v]

    type = forms.ChoiceField(
        required=False,
        choices=[("", "Any type")] + TYPE_CHOICES,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    component = forms.ModelChoiceField(
        required=False,
        queryset=Component.objects.all(),
        empty_label="Any component",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    date_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Declared from"
    )
    date_to = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="to"
    )
    sort = forms.ChoiceField(
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        choices=[
            ("newest", "Newest first"),
            ("oldest", "Oldest first"),
            ("severity", "Severity"),
            ("status", "Status"),
            ("reference", "Reference"),
        ],
    )

    def _clean_day(self, name: str):
        day = self.cleaned_data[name]
        if day is not None:
            error = bounds.filter_date_error(day, timezone.localdate())
            if error:
                raise forms.ValidationError(error)
        return day

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


class StatusChangeForm(forms.Form):
    # The status the person saw: if someone else moved the incident meanwhile, refuse.
    from_status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    to = forms.ChoiceField(choices=Status.choices, label="Move to")
    note = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    followup = forms.ChoiceField(
        required=False, choices=[("", "—"), *Followup.choices], label="Follow-up (to close)"
    )
    # Resolving: the resolution communication, posted as the final update.
    confirmed = forms.BooleanField(
        required=False,
        label="Normal operation is confirmed across all affected components",
    )
    explanation = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What occurred (brief explanation)",
    )
    user_action = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 1}),
        label="User action needed",
        help_text="Leave empty if users need to do nothing.",
    )
    prevention = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 1}),
        label="Preventive measures",
        help_text="If appropriate.",
    )
    public_message = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 1}),
        label="Message for the status page",
        help_text="Used only if the incident is on the public status page; default: “This "
        "incident has been resolved.”",
    )

    def resolution(self):
        from .services import ResolutionNotice

        d = self.cleaned_data
        if d.get("to") != Status.RESOLVED:
            return None
        return ResolutionNotice(
            confirmed=d["confirmed"],
            explanation=d["explanation"],
            user_action=d["user_action"],
            prevention=d["prevention"],
            public_message=d.get("public_message", ""),
        )


class RoleAssignForm(forms.Form):
    role = forms.ChoiceField(choices=ResponseRole.choices)
    user = forms.ModelChoiceField(queryset=get_user_model().objects.all(), label="Person")
    # The holder the person confirmed replacing (empty: the role was free when they chose).
    holder = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class RoleReleaseForm(forms.Form):
    role = forms.ChoiceField(choices=ResponseRole.choices)


class NoteForm(forms.Form):
    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    tag = forms.ChoiceField(required=False, choices=list(NOTE_TAGS.items()))


class StatusUpdateForm(forms.Form):
    # What the form was written for: the update number and status it showed. A form written
    # before someone else's update or a status change is refused instead of posted blind.
    for_number = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    for_status = forms.ChoiceField(
        required=False, choices=[("", ""), *Status.choices], widget=forms.HiddenInput
    )
    impact = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Affected services and user impact.",
    )
    impact_unconfirmed = forms.BooleanField(required=False, label="Impact not confirmed yet")
    cause = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 1}),
        help_text="What is known of the cause, if anything.",
    )
    cause_unconfirmed = forms.BooleanField(required=False, label="Cause not confirmed yet")
    actions = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Response actions in progress.",
    )
    audience = forms.ChoiceField(choices=Audience.choices, initial=Audience.INTERNAL)
    public_body = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Message for the status page",
        help_text="Public updates only: what customers read (status, impact, what is being done, "
        "next update), in plain words. Nothing above is shown to them.",
    )
    next_update_at = DateAndTimeField(required=False, label="Next update by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["next_update_at"].help_text = _zone_help(
            "Defaults to the severity's cadence; may be earlier."
        )

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("audience") == Audience.PUBLIC
            and not cleaned.get("public_body", "").strip()
        ):
            self.add_error(
                "public_body",
                "Write the message for the status page, or make the update internal.",
            )
        return cleaned

    def clean_next_update_at(self):
        value = self.cleaned_data["next_update_at"]
        if value is not None:
            error = bounds.next_update_error(value, timezone.now())
            if error:
                raise forms.ValidationError(error)
        return value


class WaiveForm(forms.Form):
    reason = forms.CharField(max_length=500)


class ChecklistTickForm(forms.Form):
    done = forms.TypedChoiceField(
        choices=[("1", "done"), ("0", "undone")], coerce=lambda v: v == "1"
    )


class KeyForm(forms.Form):
    key = forms.TypedChoiceField(
        choices=[("1", "key"), ("0", "not key")], coerce=lambda v: v == "1"
    )


class ComponentStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ComponentStatus.choices)


class PublicityForm(forms.Form):
    """What the public status page shows of an incident."""

    is_public = forms.BooleanField(required=False, label="Show on the public status page")
    public_title = forms.CharField(
        max_length=200,
        required=False,
        label="Public title",
        help_text="Empty: a neutral wording of the incident's type. Never the internal title.",
    )
    public_impact = forms.ChoiceField(
        choices=[("", "Proposed from severity"), *PublicImpact.choices],
        required=False,
        label="Public impact",
    )
    estimated_resolution_at = DateAndTimeField(required=False, label="Estimated resolution")
    in_app_notice = forms.ChoiceField(
        choices=[
            ("", "Automatic: P1 affecting all users"),
            ("yes", "Show the banner"),
            ("no", "Do not show the banner"),
        ],
        required=False,
        label="In-app banner",
        help_text="The banner product pages show through /status/embed.js while it is public.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["estimated_resolution_at"].help_text = _zone_help("Optional.")

    def clean_in_app_notice(self):
        return {"": None, "yes": True, "no": False}[self.cleaned_data["in_app_notice"]]

    def clean_estimated_resolution_at(self):
        value = self.cleaned_data["estimated_resolution_at"]
        initial = self.initial.get("estimated_resolution_at")
        if value is not None and value != initial:
            error = bounds.estimate_error(value, timezone.now())
            if error:
                raise forms.ValidationError(error)
        return value


class MaintenanceForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the public status page: what changes and what users may notice.",
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    starts_at = DateAndTimeField(label="Starts")
    ends_at = DateAndTimeField(label="Ends")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].help_text = _zone_help("")

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends:
            field, error = bounds.maintenance_error(starts, ends, timezone.now())
            if error:
                self.add_error(field, error)
        return cleaned


class SignificantForm(forms.Form):
    significant = forms.BooleanField(required=False, label="Significant: needs a post-mortem")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 1}), label="Why")
