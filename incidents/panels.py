"""Panels other apps add to the incident page (the runbooks it follows and suggests), without
incidents importing them (DESIGN.md: dependencies point one way). An app registers a
function in its AppConfig.ready(); the page calls each with the request and the incident and
shows the HTML it returns, in registration order. A panel that fails is left out and logged:
the incident page never falls over for an extra."""

import logging
from collections.abc import Callable

from django.utils.safestring import SafeString

log = logging.getLogger(__name__)

Panel = Callable[..., SafeString | str]
_panels: list[Panel] = []


def register(fn: Panel) -> Panel:
    if fn not in _panels:
        _panels.append(fn)
    return fn


def render_all(request, incident) -> list[SafeString | str]:
    out = []
    for panel in _panels:
        try:
            html = panel(request, incident)
        except Exception:
            log.exception("incident panel %s failed", getattr(panel, "__name__", panel))
            continue
        if html:
            out.append(html)
    return out
