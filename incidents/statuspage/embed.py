"""The in-app banner (issue 14; spec "In-app Notifications"): /status/embed.js, a small
script product pages include, and /status/embed.json, the public data it reads.

The data is part of the public snapshot (short cache, CORS open, public fields only): the
open public incidents flagged for in-app notice, each with its public title, a brief
description (its latest public update), the estimated resolution if known and a link to
the status page. The script runs inside customers' pages, so it builds the banner with
textContent only (a hostile title stays text), sends no credentials, sets no cookies,
accepts only http(s) links, and adds nothing when all is well. It is the same file for
every page and changes only with a release: cached for a day."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings

from .api import when
from .records import PublicState

PATH = "/status/embed.js"
DATA_PATH = "/status/embed.json"
SCRIPT_MAX_AGE = 86400
MESSAGE_MAX = 280


def _brief(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1].rstrip() + "…"


def document(state: PublicState) -> dict:
    items = []
    for incident in state.open_incidents:
        if not incident.in_app:
            continue
        latest = incident.updates[0].body if incident.updates else ""
        items.append(
            {
                "id": incident.id,
                "name": incident.name,
                "status": incident.status,
                "impact": incident.impact,
                "message": _brief(latest),
                "estimated_resolution_at": when(incident.estimated_resolution_at),
                "updated_at": when(incident.updated_at),
                "url": incident.shortlink,
            }
        )
    return {
        "page": {"name": state.page.name, "url": settings.STATUS_PAGE_URL},
        "incidents": items,
    }


# The script is a file beside this module (read once; it changes only with a release).
SCRIPT_BYTES = (Path(__file__).with_name("embed.js")).read_bytes()

SCRIPT_ETAG = '"' + hashlib.sha256(SCRIPT_BYTES).hexdigest()[:20] + '"'
