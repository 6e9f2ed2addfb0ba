"""Forms check the shape of input; the services check the rules."""

from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from incidents.forms import DateAndTimeField, _zone_help
from portal.models import Team

from .models import ItemStatus, Paper
from .rules import PRIORITY_MATRIX, Category, Level
from .sections import (
    MAX_FACTOR_CHARS,
    MAX_FACTORS,
    MAX_SECTION_CHARS,
    MAX_WHYS,
    SECTIONS,
    Fishbone,
)

MIN_WHYS = 5


def active_people():
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .select_related("profile")
        .order_by("profile__display_name", "username")
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        from portal.models import display_name

        return display_name(user)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        from portal.models import display_name

        return display_name(user)


def _lines(text: str) -> list[str]:
    return [line.strip(" -*\t") for line in (text or "").splitlines() if line.strip(" -*\t")]


class PostMortemForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    owner = PersonChoiceField(queryset=active_people(), label="Owner")
    meeting_at = DateAndTimeField(required=False, label="Meeting time")
    participants = PeopleChoiceField(
        queryset=active_people(),
        required=False,
        label="Participants",
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Everyone who took part in the meeting, across teams.",
    )

    def __init__(self, *args, whys: int = 0, postmortem=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_people()
        # Participants who have left since stay on the record (and on the form).
        recorded = postmortem.participants.values("pk") if postmortem is not None else []
        self.fields["participants"].queryset = (
            get_user_model()
            .objects.filter(Q(is_active=True) | Q(pk__in=recorded))
            .select_related("profile")
            .order_by("profile__display_name", "username")
        )
        self.fields["meeting_at"].help_text = _zone_help("When the meeting was (or will be) held.")
        for section in SECTIONS:
            self.fields[section.name] = forms.CharField(
                label=section.label,
                help_text=section.help + " Markdown.",
                required=False,
                max_length=MAX_SECTION_CHARS,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        count = min(max(MIN_WHYS, whys + 1), MAX_WHYS)
        for n in range(1, count + 1):
            self.fields[f"why_{n}"] = forms.CharField(
                label=f"Why {n}",
                required=False,
                max_length=MAX_FACTOR_CHARS * 2,
            )
        for name, label in Fishbone.CATEGORIES:
            self.fields[f"fishbone_{name}"] = forms.CharField(
                label=label,
                required=False,
                max_length=(MAX_FACTOR_CHARS + 1) * MAX_FACTORS,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="One contributing factor per line.",
            )
        self.why_names = [f"why_{n}" for n in range(1, count + 1)]

    @staticmethod
    def initial_from(postmortem) -> dict:
        initial = {
            "version": postmortem.version,
            "owner": postmortem.owner_id,
            "meeting_at": postmortem.meeting_at,
            "participants": list(postmortem.participants.values_list("pk", flat=True)),
        }
        for section in SECTIONS:
            initial[section.name] = getattr(postmortem, section.name)
        for n, why in enumerate(postmortem.five_whys or [], start=1):
            initial[f"why_{n}"] = why
        for name in Fishbone.NAMES:
            initial[f"fishbone_{name}"] = "\n".join((postmortem.fishbone or {}).get(name, []))
        return initial

    def clean(self):
        cleaned = super().clean()
        for name in Fishbone.NAMES:
            factors = _lines(cleaned.get(f"fishbone_{name}", ""))
            if len(factors) > MAX_FACTORS:
                self.add_error(f"fishbone_{name}", f"At most {MAX_FACTORS} factors.")
            elif any(len(f) > MAX_FACTOR_CHARS for f in factors):
                self.add_error(
                    f"fishbone_{name}", f"Each factor at most {MAX_FACTOR_CHARS} characters."
                )
        return cleaned

    def draft(self):
        from .services import Draft

        data = self.cleaned_data
        return Draft(
            sections={s.name: data.get(s.name, "") for s in SECTIONS},
            five_whys=[data.get(name, "") for name in self.why_names],
            fishbone={name: _lines(data.get(f"fishbone_{name}", "")) for name in Fishbone.NAMES},
            meeting_at=data.get("meeting_at"),
            participant_ids=[u.pk for u in data.get("participants", [])],
            owner_id=data["owner"].pk if data.get("owner") else None,
        )


class TimelineForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    new_at = DateAndTimeField(required=False, label="Time")
    new_text = forms.CharField(required=False, max_length=2000, label="What happened")

    def __init__(self, *args, entries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = list(entries)
        self.fields["new_at"].help_text = _zone_help("")
        for entry in self.entries:
            self.fields[f"include_{entry.pk}"] = forms.BooleanField(
                required=False, initial=entry.included, label="Include"
            )
            self.fields[f"text_{entry.pk}"] = forms.CharField(
                max_length=2000, initial=entry.text, label="Entry"
            )

    def rows(self):
        return [
            (entry, self[f"include_{entry.pk}"], self[f"text_{entry.pk}"]) for entry in self.entries
        ]

    def changes(self):
        from .services import EntryChange

        return {
            e.pk: EntryChange(
                included=self.cleaned_data[f"include_{e.pk}"],
                text=self.cleaned_data[f"text_{e.pk}"],
            )
            for e in self.entries
        }


class ActionItemForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    title = forms.CharField(
        max_length=200, label="Action", help_text="Specific: what will be done."
    )
    done_when = forms.CharField(
        max_length=2000,
        required=False,
        label="Done when",
        help_text="Measurable: how anyone can tell it is done.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    owner = PersonChoiceField(queryset=active_people(), label="Owner")
    due_on = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ChoiceField(choices=Category.choices)
    impact = forms.ChoiceField(choices=Level.choices)
    effort = forms.ChoiceField(choices=Level.choices)
    ticket_url = forms.URLField(
        max_length=500,
        required=False,
        label="Tracker ticket",
        assume_scheme="https",
        help_text="Optional link to the issue in your tracker.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_people()

    def item_input(self):
        from .services import ItemInput

        d = self.cleaned_data
        return ItemInput(
            title=d["title"],
            owner_id=d["owner"].pk,
            due_on=d["due_on"],
            category=d["category"],
            impact=d["impact"],
            effort=d["effort"],
            done_when=d.get("done_when", ""),
            ticket_url=d.get("ticket_url", ""),
        )


class ItemStatusForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(choices=ItemStatus.choices)
    reason = forms.CharField(
        max_length=2000, required=False, label="Why (for won't do)",
        widget=forms.Textarea(attrs={"rows": 1}),
    )  # fmt: skip


class CommentForm(forms.Form):
    section = forms.ChoiceField(required=False, label="About")
    body = forms.CharField(
        max_length=5000, label="Comment", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [
            ("", "The whole post-mortem"),
            *((s.name, s.label) for s in SECTIONS),
            ("five_whys", "5 Whys"),
            ("fishbone", "Fishbone"),
        ]


class WorkflowForm(forms.Form):
    ACTIONS = ("submit", "return", "publish", "revise")
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(max_length=2000, required=False, label="Revision note")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, label="Why", widget=forms.Textarea(attrs={"rows": 2}))


class StartForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, required=False, label="Why a post-mortem",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the incident does not require one.",
    )  # fmt: skip


class ShareForm(forms.Form):
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(), widget=forms.CheckboxSelectMultiple, label="Teams"
    )
    note = forms.CharField(
        max_length=2000, required=False, label="Message",
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = Team.objects.all()


class PaperForm(forms.Form):
    paper = forms.ChoiceField(choices=Paper.choices)


class ItemFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Open and in progress"), ("all", "All"), *ItemStatus.choices],
    )
    owner = PersonChoiceField(queryset=active_people(), required=False, empty_label="Anyone")
    category = forms.ChoiceField(required=False, choices=[("", "Any"), *Category.choices])
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any"), *sorted((p.rank, str(p)) for p in PRIORITY_MATRIX.values())],
    )
    overdue = forms.BooleanField(required=False, label="Overdue only")
    due_month = forms.DateField(
        required=False,
        label="Due in",
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def clean_due_month(self):
        month = self.cleaned_data["due_month"]
        if month is not None and not date(2000, 1, 1) <= month <= date(2100, 12, 1):
            raise forms.ValidationError("Choose a month between 2000-01 and 2100-12.")
        return month

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_people()
