"""Emailing affected users (spec "Email Communications", issue 14): the composer, prefilled
from what the public has been told, sent to the subscribers of the affected components and
to pasted addresses."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.errors import ApplicationError

from .. import selectors, services
from ..services import communications
from ..statuspage.subscriptions import selectors as subscriber_selectors
from .pages import WORK


class EmailUsersForm(forms.Form):
    subject = forms.CharField(max_length=communications.SUBJECT_MAX)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14}), max_length=communications.BODY_MAX
    )
    to_subscribers = forms.BooleanField(required=False, initial=True)
    addresses = forms.CharField(
        label="Other addresses",
        required=False,
        max_length=300_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, or separated by commas: the users of an affected subset.",
    )
    nonce = forms.CharField(widget=forms.HiddenInput, max_length=40, required=False)


@require_http_methods(["GET", "POST"])
@permission_required(WORK, raise_exception=True)
def email_users(request, reference: str):
    incident = selectors.incident_detail(reference)
    subscribers = subscriber_selectors.affected_subscribers(incident)
    if request.method == "POST":
        form = EmailUsersForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _, sent = services.incident_email_users(
                    actor=request.user,
                    incident=incident,
                    subject=data["subject"],
                    body=data["body"],
                    to_subscribers=data["to_subscribers"],
                    addresses=data["addresses"],
                    nonce=data["nonce"],
                )
            except ApplicationError as refusal:
                form.add_error(
                    refusal.field if refusal.field in form.fields else None, refusal.message
                )
            else:
                messages.success(
                    request,
                    "The email to affected users is on its way."
                    if sent
                    else "This email was sent already; nothing was sent again.",
                )
                return redirect(incident)
        status = 422
    else:
        form = EmailUsersForm(
            initial={**communications.draft(incident), "nonce": communications.new_nonce()}
        )
        status = 200
    return render(
        request,
        "incidents/email_users.html",
        {
            "incident": incident,
            "form": form,
            "subscribers": subscribers,
            "sent": subscriber_selectors.recent(10, incident=incident),
            "refusal": communications.email_users_refusal(request.user, incident),
        },
        status=status,
    )
