"""/integrations/<token>/: where monitoring posts alerts (issue 12). No session, no CSRF
(a machine posts), no log-in: the secret URL, and an optional bearer token, authenticate.
Bad input gets a 4xx with the reason, never a 500; accepted alerts answer 202."""

import json
import logging

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import payloads, services

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024


def _refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@login_not_required
@require_POST
def receive(request, token: str):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "Content-Length is not a number.")
    if length > MAX_BODY:
        return _refuse(413, f"The body is over {MAX_BODY // 1024} KiB.")
    integration = services.integration_for(token)
    if integration is None:
        return _refuse(404, "No such integration (or it was revoked).")
    if not services.bearer_ok(integration, request.headers.get("Authorization", "")):
        return _refuse(401, "This integration needs its bearer token.")
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _refuse(413, f"The body is over {MAX_BODY // 1024} KiB.")
    refused = services.signature_error(integration, request.headers, body, timezone.now())
    if refused:
        return _refuse(401, refused)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "The body is not JSON.")
    try:
        groups = payloads.PARSERS[integration.kind](data)
    except payloads.PayloadError as error:
        return _refuse(400, str(error))
    try:
        result = services.alerts_receive(
            integration=integration,
            groups=groups,
            signature=services.signature_of(integration, request.headers),
        )
    except services.Replay as error:
        return _refuse(401, str(error))
    return JsonResponse({"status": "accepted", **result}, status=202)
