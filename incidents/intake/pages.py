"""Managing integrations in the portal (issue 12), for administrators: the list with when
each last delivered, a form that makes one and shows its secret URL once, and revoking."""

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError

from . import services
from .models import Integration, IntegrationKind

MANAGE = "incidents.add_integration"


class IntegrationForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=IntegrationKind.choices, label="Sends")
    bearer_token = forms.CharField(
        max_length=200,
        required=False,
        label="Bearer token (optional)",
        help_text="Also require Authorization: Bearer <this> (Alertmanager's http_config).",
    )
    signing_secret = forms.CharField(
        max_length=128,
        required=False,
        label="Signing secret (optional; Grafana and generic only)",
        help_text="Requests must then carry an HMAC-SHA256 signature over timestamp and body.",
    )
    auto_resolve = forms.BooleanField(
        required=False,
        label="Resolve its incidents when their alerts clear",
        help_text="Only incidents still in Triage that need no post-mortem (P3, P4); the others "
        "show their alerts resolved and wait for a person.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


def _page(request, form, status=200):
    return render(
        request,
        "incidents/integrations.html",
        {"integrations": Integration.objects.order_by("revoked_at", "name"), "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def integrations(request):
    form = IntegrationForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            integration, token = services.integration_create(
                actor=request.user, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            url = request.build_absolute_uri(reverse("integration_receive", args=[token]))
            messages.success(
                request,
                f"{integration.name} is ready. Its URL, shown this once (only a hash is "
                f"kept): {url}",
            )
            return redirect("incidents:integrations")
    return _page(request, form, status=400 if form.is_bound else 200)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def integration_revoke(request, pk: int):
    integration = get_object_or_404(Integration, pk=pk)
    try:
        services.integration_revoke(actor=request.user, integration=integration)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{integration.name} revoked: its URL no longer accepts alerts.")
    return redirect("incidents:integrations")
