"""Forms of the on-call pages: input shape only; the services check the rules."""

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model

from ..models import display_name
from .models import ContactMethod

LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return display_name(obj)


def people():
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .select_related("profile")
        .order_by("profile__display_name", "username")
    )


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class OverrideForm(forms.Form):
    """Times are read in the schedule's time zone (the view activates it)."""

    user = PersonChoice(queryset=people(), label="Who covers")
    starts_at = forms.DateTimeField(
        label="From",
        input_formats=LOCAL,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL[0]),
    )
    ends_at = forms.DateTimeField(
        label="Until",
        input_formats=LOCAL,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL[0]),
    )
    reason = forms.CharField(max_length=200, required=False, label="Reason (optional)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people()
        self.helper = _helper()


class ContactMethodForm(forms.Form):
    kind = forms.ChoiceField(choices=ContactMethod.Kind.choices, label="Type")
    address = forms.CharField(
        max_length=32, label="Number", help_text="International format, e.g. +4915112345678."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self):
        data = super().clean()
        kind, address = data.get("kind"), (data.get("address") or "").replace(" ", "")
        if kind and not (
            address.startswith("+") and address[1:].isdigit() and 8 <= len(address) <= 16
        ):
            self.add_error("address", "Use international format: + and 7 to 15 digits.")
        data["address"] = address
        return data


class VerifyForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="Code from the test message",
        error_messages={"invalid": "The code is the 6 digits in the test message."},
    )
