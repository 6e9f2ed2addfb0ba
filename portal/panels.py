"""Panels one app adds to another's page (the runbooks an incident follows and suggests, the
runbook updates an action item proposed), without the page's app importing it (DESIGN.md:
dependencies point one way). An app registers a function for a slot in its
AppConfig.ready(); the page calls each with the request and its object and shows the HTML
returned, in registration order. A panel that fails is left out and logged: a page never
falls over for an extra."""

import logging
from collections.abc import Callable

from django.utils.safestring import SafeString

log = logging.getLogger(__name__)

INCIDENT = "incident"
ACTION_ITEM = "action item"
SLOTS = (INCIDENT, ACTION_ITEM)

Panel = Callable[..., SafeString | str]
_panels: dict[str, list[Panel]] = {slot: [] for slot in SLOTS}


def register(slot: str, fn: Panel) -> Panel:
    if slot not in _panels:
        raise ValueError(f"unknown panel slot {slot!r}; slots are {', '.join(SLOTS)}")
    if fn not in _panels[slot]:
        _panels[slot].append(fn)
    return fn


def render_all(slot: str, request, obj) -> list[SafeString | str]:
    out = []
    for panel in _panels[slot]:
        try:
            html = panel(request, obj)
        except Exception:
            log.exception("%s panel %s failed", slot, getattr(panel, "__name__", panel))
            continue
        if html:
            out.append(html)
    return out
