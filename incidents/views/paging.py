"""Paging from the incident page (issue 11): page someone by hand, and acknowledge a page."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.views.decorators.http import require_POST

from portal.errors import ApplicationError
from portal.models import Escalation, OnCallSchedule, Team
from portal.oncall import services as oncall

from .. import paging, selectors
from .command import _done, _run
from .pages import WORK


def _target(value: str):
    """ "user:3", "team:2" or "schedule:5" -> the keyword for the paging service."""
    kind, _, pk = (value or "").partition(":")
    models = {"user": get_user_model(), "team": Team, "schedule": OnCallSchedule}
    if kind not in models or not pk.isdigit():
        raise forms.ValidationError("Choose whom to page.")
    found = models[kind].objects.filter(pk=int(pk)).first()
    if found is None or (kind == "user" and not found.is_active):
        raise forms.ValidationError("That person, team or schedule no longer exists.")
    return {kind: found}


class PageForm(forms.Form):
    target = forms.CharField(max_length=40, error_messages={"required": "Choose whom to page."})
    note = forms.CharField(max_length=300, required=False)

    def clean_target(self):
        return _target(self.cleaned_data["target"])


@require_POST
@permission_required(WORK, raise_exception=True)
def page_someone(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    return _run(
        request,
        reference,
        PageForm(request.POST),
        lambda d: paging.incident_page_someone(
            actor=request.user, incident=incident, note=d["note"], **d["target"]
        ),
        "Paged.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def acknowledge_page(request, reference: str, escalation_id: int):
    incident = selectors.incident_by_reference(reference)
    escalation = Escalation.objects.filter(pk=escalation_id, topic=paging.topic(incident)).first()
    if escalation is None:
        return _done(request, reference, error="That page does not belong to this incident.")
    try:
        oncall.escalation_acknowledge(user=request.user, escalation=escalation)
    except ApplicationError as error:
        return _done(request, reference, error=error.message)
    return _done(request, reference, success="Page acknowledged: the escalation stopped.")
