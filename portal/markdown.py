"""The portal's one Markdown renderer (DESIGN.md "one safe Markdown renderer"): post-mortem
sections, runbook steps and anything else people write in Markdown. markdown-it-py turns
CommonMark (plus tables and strikethrough) into HTML with raw HTML switched off, and nh3
then keeps only an allowlist of tags and attributes: no script, style or iframe, no event
handlers, no hx-* or data-hx* attributes (htmx would act on them), no images (a rendered
PDF must not fetch anything), and links only to http, https and mailto addresses."""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# Longer text is rendered as far as this (a section of a post-mortem is far shorter); the
# bound keeps one stored value from costing every page that shows it.
MAX_CHARS = 100_000
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del",
        "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_parser.enable(["table", "strikethrough"])


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        scheme = urlsplit(value.strip()).scheme.lower()
        return value if scheme in LINK_SCHEMES else None
    return value


def render(text: str | None) -> SafeString:
    """Safe HTML for Markdown someone typed (None and "" render as "")."""
    source = (text or "")[:MAX_CHARS]
    html = _parser.render(source)
    clean = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_keep_attribute,
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308  (nh3 has just cleaned it)
