from django import template
from django.utils.html import format_html

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


@register.filter
def in_set(value, collection) -> bool:
    return value in collection
