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
        fields = ["display_name", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
