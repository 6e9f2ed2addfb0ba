"""The reports' GET forms: a period of calendar months, one month, a paper size. They check the
shape and the bounds of what they are given (metrics.period_error), so that no query string can
make a report fail."""

import re
from datetime import date

from django import forms

from . import metrics
from .models import Paper

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class MonthInput(forms.TextInput):
    """<input type="month">; browsers without a month picker show a text box, so the pattern and
    placeholder say what to type."""

    input_type = "month"

    def __init__(self, attrs=None):
        base = {"class": "form-control", "pattern": r"\d{4}-\d{2}", "placeholder": "YYYY-MM"}
        super().__init__({**base, **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, date):
            return f"{value:%Y-%m}"
        return super().format_value(value)


class MonthField(forms.Field):
    widget = MonthInput
    default_error_messages = {"invalid": "Enter a month as YYYY-MM, for example 2026-03."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return metrics.month_of(value)
        match = _MONTH.match(str(value)[:20])
        try:
            return date(int(match.group(1)), int(match.group(2)), 1)  # type: ignore[union-attr]
        except (AttributeError, ValueError):  # no match; month 13, year 0
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class PeriodForm(forms.Form):
    """?start=YYYY-MM&end=YYYY-MM, both optional: the last 12 months by default, 36 at most."""

    start = MonthField(required=False, label="From month")
    end = MonthField(required=False, label="To month")

    def clean(self):
        cleaned = super().clean()
        for name in ("start", "end"):
            month = cleaned.get(name)
            if month is not None:
                message = metrics.month_error(month)
                if message:
                    self.add_error(name, message)
        if self.errors:
            return cleaned
        first, last = cleaned.get("start"), cleaned.get("end")
        if last is None:
            last = (
                min(
                    metrics.add_months(first, metrics.DEFAULT_MONTHS - 1),
                    metrics.latest_month(),
                )
                if first
                else metrics.default_period()[1]
            )
        if first is None:
            first = max(
                metrics.add_months(last, 1 - metrics.DEFAULT_MONTHS), metrics.EARLIEST_MONTH
            )
        field, message = metrics.period_error(first, last)
        if message:
            self.add_error(field, message)
            return cleaned
        cleaned["start"], cleaned["end"] = first, last
        return cleaned

    @property
    def period(self) -> tuple[date, date]:
        return self.cleaned_data["start"], self.cleaned_data["end"]


class MonthForm(forms.Form):
    """?month=YYYY-MM (this month by default) and, for the PDF, ?paper=a4|letter."""

    month = MonthField(required=False, label="Month")
    paper = forms.ChoiceField(required=False, choices=Paper.choices, label="Paper")

    def clean_month(self):
        month = self.cleaned_data["month"] or metrics.this_month()
        message = metrics.month_error(month)
        if message:
            raise forms.ValidationError(message)
        return month

    def clean_paper(self):
        return self.cleaned_data["paper"] or Paper.A4
