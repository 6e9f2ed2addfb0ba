from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A compact duration: '45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h"


@register.simple_tag
def when(value):
    """A time in the viewer's zone, with the exact UTC instant for machines and tooltips."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        local.strftime("%b %-d, %H:%M %Z"),
    )


@register.filter(name="markdown")
def markdown_filter(value: str | None):
    """{{ text|markdown }}: the portal's safe Markdown (portal/markdown.py)."""
    from portal.markdown import render

    return render(value)


@register.filter
def person(person_id, names: dict) -> str:
    """{{ shift.person|person:names }}: a person's name by id; "nobody" for a gap."""
    if person_id is None:
        return "Nobody (gap)"
    return names.get(person_id, "a deactivated user")
