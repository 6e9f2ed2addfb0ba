import re

from django import template
from django.utils.safestring import SafeString, mark_safe

from portal.markdown import render

register = template.Library()

# In rendered (already escaped) HTML a placeholder is plain text: marking it adds no markup
# from the text itself.
_PLACEHOLDER = re.compile(r"\[FILL IN:[^\]<\n]*\]")
_TAG = re.compile(r"(<[^>]*>)")


@register.filter
def runbook_markdown(value: str | None) -> SafeString:
    """The portal's safe Markdown, with the "[FILL IN: ...]" places highlighted."""
    parts = _TAG.split(render(value))
    for i in range(0, len(parts), 2):  # text between tags only, never inside a tag
        parts[i] = _PLACEHOLDER.sub(
            lambda m: f'<mark class="fill-in">{m.group(0)}</mark>', parts[i]
        )
    return mark_safe("".join(parts))  # noqa: S308 (render's output, text matches wrapped)
