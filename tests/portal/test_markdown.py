"""The one safe Markdown renderer (portal/markdown.py): what people write renders, and
nothing hostile survives — no script, style, event handler, htmx attribute, image or link to
anything but http, https and mailto."""

from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from portal.markdown import MAX_CHARS, render


def test_what_people_write_renders():
    html = render(
        "## Root cause\n\nThe **pool** was *exhausted*; ~~not~~ the DB.\n\n"
        "1. Deploy\n2. Errors\n\n- a\n- b\n\n> quoted\n\n`code` and\n\n```\nblock\n```\n\n"
        "| Time | Event |\n|---|---|\n| 14:02 | deploy |\n\n"
        "[runbook](https://runbooks.example.org/db) · <ops@example.org> · "
        "[mail](mailto:ops@example.org)"
    )
    for piece in (
        "<h2>Root cause</h2>",
        "<strong>pool</strong>",
        "<em>exhausted</em>",
        "<s>not</s>",
        "<ol>",
        "<li>a</li>",
        "<blockquote>",
        "<code>code</code>",
        "<pre><code>block\n</code></pre>",
        "<table>",
        "<td>14:02</td>",
        '<a href="https://runbooks.example.org/db" rel="noopener noreferrer nofollow">runbook</a>',
        '<a href="mailto:ops@example.org" rel="noopener noreferrer nofollow">mail</a>',
    ):
        assert piece in html, piece


class _Elements(HTMLParser):
    """Every element and attribute of rendered HTML (text, escaped markup included, is not)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.comments: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_comment(self, data):
        self.comments.append(data)


HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<style>body{display:none}</style>",
    '<a href="#" hx-get="/admin/" hx-trigger="load">x</a>',
    '<div data-hx-post="/x" onclick="x()">x</div>',
    "<iframe src=https://evil.example></iframe>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "[file](file:///etc/passwd)",
    "[relative](/admin/)",
    "![x](https://tracker.example/pixel.png)",
    "<!-- note --> text",
    '[t](https://ok.example "title" )',
]


@pytest.mark.parametrize("source", HOSTILE)
def test_nothing_hostile_survives(source):
    found = _Elements(render(source))
    assert not {"script", "style", "img", "iframe", "div"} & set(found.tags), found.tags
    for tag, name, value in found.attributes:
        assert not name.startswith(("on", "hx-", "data-", "style")), (tag, name)
        if name == "href":
            assert value.split(":", 1)[0].lower() in ("http", "https", "mailto"), value
    assert not found.comments


def test_raw_html_is_shown_as_text_not_dropped():
    # Someone pasting an error message with angle brackets still sees it.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render("<script>alert(1)</script>")


def test_the_filter_and_the_length_bound():
    out = Template("{% load portal_tags %}{{ text|markdown }}").render(
        Context({"text": "**bold** <b>raw</b>"})
    )
    assert out == "<p><strong>bold</strong> &lt;b&gt;raw&lt;/b&gt;</p>\n"
    assert render(None) == "" and render("") == ""
    long = render("x" * (MAX_CHARS + 5000))
    assert long.count("x") == MAX_CHARS
