import zoneinfo

from crispy_forms.helper import FormHelper
from django import forms

from .models import Profile


def _zones():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=_zones, help_text="Every time is shown in this zone.")

    class Meta:
        model = Profile
        fields = ["display_name", "phone", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean_phone(self):
        phone = self.cleaned_data["phone"].replace(" ", "")
        if phone and not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
            raise forms.ValidationError("Use international format: + and 7 to 15 digits.")
        return phone
