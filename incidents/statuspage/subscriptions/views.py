"""The public subscription pages (issue 14): sign-up, confirmation, choosing components and
unsubscribing. They post to their own uncached endpoints, are exempt from CSRF (the double
opt-in and the links' secrets protect them; there is no session to ride) and set no cookies,
so the status page itself stays cacheable and cookie-free. Every answer is no-store."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from portal.errors import ApplicationError
from portal.security import client_ip

from ...models import SubscriberKind, SubscriberState
from ..records import Page
from . import selectors, services

SENT = (
    "If {address} can receive our updates, a message with a confirmation link is on its way. "
    "Nothing is sent to it until the link is followed."
)
SENT_WEBHOOK = (
    "If {address} can receive our updates, it is being sent a challenge now: answer it and "
    "notices start. The signing secret is in the challenge."
)


def _render(request, template: str, status: int = 200, **context):
    response = render(
        request,
        f"incidents/statuspage/public/{template}",
        {
            "page": Page.configured(timezone.now()),
            # No clock on these pages: answers that must not differ do not.
            "generated_at": None,
            "here": "subscribe",
            **context,
        },
        status=status,
    )
    response["X-Robots-Tag"] = "noindex"
    return response


def _public(view):
    """Anonymous, no CSRF, never cached."""
    return login_not_required(csrf_exempt(never_cache(view)))


def _form_context(data=None, errors=None, kind=SubscriberKind.EMAIL):
    data = data or {}
    return {
        "components": selectors.components_choices(),
        "chosen": set(data.get("components", [])),
        "email": data.get("email", ""),
        "endpoint": data.get("endpoint", ""),
        "kind": data.get("kind", kind),
        "errors": errors or {},
    }


@_public
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    if request.method != "POST":
        kind = request.GET.get("kind", SubscriberKind.EMAIL)
        if kind not in SubscriberKind.values:
            kind = SubscriberKind.EMAIL
        return _render(request, "subscribe.html", **_form_context(kind=kind))
    data = {
        "kind": request.POST.get("kind", SubscriberKind.EMAIL)[:16],
        "email": request.POST.get("email", "")[:300],
        "endpoint": request.POST.get("endpoint", "")[:600],
        "components": [c[:16] for c in request.POST.getlist("components")[:300]],
    }
    try:
        if not services.client_allowed(client_ip(request)):
            raise services.Throttled
        signup = services.clean(
            kind=data["kind"],
            email=data["email"],
            endpoint=data["endpoint"],
            component_ids=data["components"],
        )
        services.subscription_request(signup=signup, client_address=client_ip(request))
    except ApplicationError as refusal:
        errors = {refusal.field or "form": refusal.message}
        return _render(request, "subscribe.html", status=400, **_form_context(data, errors))
    except services.Throttled:
        response = _render(
            request,
            "subscribe.html",
            status=429,
            **_form_context(
                data,
                {"form": "Too many sign-ups from your network in the last hour. Try again later."},
            ),
        )
        response["Retry-After"] = "3600"
        return response
    address = signup.endpoint or signup.email
    text = (SENT_WEBHOOK if signup.endpoint else SENT).format(address=address)
    return _render(
        request,
        "subscribed.html",
        heading="Check your inbox" if not signup.endpoint else "Answer the challenge",
        text=text,
    )


@_public
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token: str):
    try:
        if request.method == "POST":
            subscriber, _ = services.subscription_confirm(token=token)
            return _render(
                request,
                "subscription.html",
                subscriber=subscriber,
                confirmed=True,
                **_form_context({"components": [c.public_id for c in subscriber.components.all()]}),
            )
        subscriber = services.read_confirmation(token)
    except ApplicationError as refusal:
        return _render(
            request,
            "subscribed.html",
            status=400,
            heading="Link not valid",
            text=refusal.message,
            failed=True,
        )
    if subscriber.state == SubscriberState.ACTIVE:
        return _render(
            request,
            "subscribed.html",
            heading="Already confirmed",
            text=f"{subscriber.email} is subscribed already.",
        )
    return _render(request, "confirm.html", subscriber=subscriber, token=token)


@_public
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token: str):
    try:
        subscriber = services.subscriber_for_link(token)
        saved = False
        if request.method == "POST":
            subscriber = services.subscription_set_components(
                token=token, component_ids=request.POST.getlist("components")[:300]
            )
            saved = True
    except ApplicationError as refusal:
        return _render(
            request,
            "subscribed.html",
            status=400,
            heading="Cannot change this subscription",
            text=refusal.message,
            failed=True,
        )
    chosen = [c.public_id for c in subscriber.components.all()]
    return _render(
        request,
        "subscription.html",
        subscriber=subscriber,
        saved=saved,
        token=token,
        **_form_context({"components": chosen}),
    )


@_public
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """GET asks (mail scanners open links); POST, from the page's button or a mail client's
    RFC 8058 one-click request (body List-Unsubscribe=One-Click), unsubscribes."""
    try:
        if request.method == "POST":
            subscriber, ended = services.subscription_end(token=token)
            return _render(
                request,
                "subscribed.html",
                heading="Unsubscribed",
                text=f"{subscriber} will get no more updates from {settings.STATUS_PAGE_NAME}."
                if ended
                else f"{subscriber} was already unsubscribed; nothing more is sent to it.",
            )
        subscriber = services.subscriber_for_link(token)
    except ApplicationError as refusal:
        return _render(
            request,
            "subscribed.html",
            status=400,
            heading="Link not valid",
            text=refusal.message,
            failed=True,
        )
    return _render(
        request,
        "unsubscribe.html",
        subscriber=subscriber,
        token=token,
        ended=subscriber.state in (SubscriberState.UNSUBSCRIBED, SubscriberState.DROPPED),
    )
