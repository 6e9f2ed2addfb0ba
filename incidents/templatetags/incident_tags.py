from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..severity import SEVERITIES

register = template.Library()


@register.simple_tag
def severity_badge(code: str, long: bool = False):
    level = SEVERITIES.get(code)
    if level is None:
        return code
    text = level.choice_label if long else level.code
    return format_html(
        '<span class="badge sev text-bg-{}" title="{} · response within {}">{}</span>',
        level.css,
        level.description,
        level.response_time_display,
        text,
    )


@register.simple_tag
def status_badge(incident):
    return format_html(
        '<span class="badge status-badge status-{}">{}</span>',
        incident.status,
        incident.get_status_display(),
    )


@register.inclusion_tag("incidents/_response.html")
def response_clock(incident, now):
    state = incident.response_state(now)
    return {
        "incident": incident,
        "state": state,
        "level": incident.severity_level,
        "overdue_by": now - incident.response_due_at,
        "remaining": incident.response_due_at - now,
    }


@register.simple_tag
def safe_when(value):
    """portal's {% when %}, except that an instant the viewer's zone cannot represent (within
    a day of year 1 or 9999, only ever a value stored before the input bounds existed) is
    shown in UTC instead of failing the page for everyone."""
    from portal.templatetags.portal_tags import when

    try:
        return when(value)
    except OverflowError:
        with timezone.override(UTC):
            return when(value)


@register.filter
def in_set(value, collection) -> bool:
    return value in collection


@register.simple_tag
def update_badge(incident, now):
    """The status-update clock: unmistakable when overdue."""
    state = incident.update_state(now)
    if state == "overdue":
        return format_html(
            '<span class="badge update-overdue" data-update="overdue">'
            "UPDATE OVERDUE · {} late</span>",
            _short(now - incident.next_update_due_at),
        )
    if state == "soon":
        return format_html(
            '<span class="badge text-bg-warning" data-update="soon">Update due in {}</span>',
            _short(incident.next_update_due_at - now),
        )
    return ""


@register.simple_tag
def next_update(incident, now):
    """When the next status update is due, always shown (the dashboard): unmistakable when
    overdue, in the words and colours of `update_badge` and the incident page."""
    state = incident.update_state(now)
    if not state:
        return mark_safe(
            '<span class="text-body-secondary" data-update="none">No update scheduled</span>'
        )
    due = safe_when(incident.next_update_due_at)
    if state == "overdue":
        return format_html(
            '<span class="badge update-overdue" data-update="overdue">'
            "UPDATE OVERDUE · due {} · {} late</span>",
            due,
            _short(now - incident.next_update_due_at),
        )
    if state == "soon":
        return format_html(
            '<span class="badge text-bg-warning" data-update="soon">'
            "Next update due {} · in {}</span>",
            due,
            _short(incident.next_update_due_at - now),
        )
    return format_html(
        '<span data-update="scheduled">Next update due {} · in {}</span>',
        due,
        _short(incident.next_update_due_at - now),
    )


def _short(delta) -> str:
    from portal.templatetags.portal_tags import duration

    return duration(delta)


@register.filter
def ago(value, now=None) -> str:
    """'just now', '4 min ago', '2 h 10 min ago': never '0 minutes ago'."""
    from portal.templatetags.portal_tags import duration

    if value is None:
        return ""
    elapsed = (now or timezone.now()) - value
    if elapsed.total_seconds() < 60:
        return "just now"
    return f"{duration(elapsed)} ago"


@register.filter
def since(value, now=None) -> str:
    """How long ago, without 'ago': 'just now' under a minute, never '0 minutes'."""
    text = ago(value, now)
    return text.removesuffix(" ago")
