"""A runbook's text: the seven sections as Markdown, the file format runbooks are shipped,
exported and imported in, the placeholders left for an owner, and the ordered-list steps of
the recovery and verification sections that run as a checklist inside an incident.

The file format: a front matter of "key: value" lines between "---" lines (title, slug, team,
components, types, tags, review_interval_days; lists comma-separated), then each section as
"## <its title>" followed by its Markdown. Headings inside a section use ### or lower."""

import re
from dataclasses import dataclass, field

from django.utils.text import slugify
from markdown_it import MarkdownIt

from .models import (
    CHECKLIST_SECTIONS,
    RESERVED_SLUGS,
    SECTION_KEYS,
    SECTION_MAX,
    SECTION_TITLES,
    SECTIONS,
)

PLACEHOLDER = re.compile(r"\[FILL IN:[^\]\n]*\]")
LIST_KEYS = ("components", "types", "tags")
_parser = MarkdownIt("commonmark")
_by_title = {title.lower(): key for key, title in SECTIONS}


class FormatError(ValueError):
    """The file is not a runbook in the portal's format; the message says where."""


@dataclass
class RunbookFile:
    title: str
    slug: str
    team: str
    components: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    review_interval_days: int | None = None
    sections: dict[str, str] = field(default_factory=dict)


def parse(text: str, name: str = "the file") -> RunbookFile:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise FormatError(f"{name}: it must start with a '---' front matter line.")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise FormatError(f"{name}: the front matter has no closing '---' line.") from None
    meta: dict[str, str] = {}
    for n, line in enumerate(lines[1:end], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise FormatError(f"{name}, line {n}: expected 'key: value'.")
        meta[key.strip().lower()] = value.strip()
    for required in ("title", "slug"):
        if not meta.get(required):
            raise FormatError(f"{name}: the front matter needs '{required}'.")
    sections: dict[str, list[str]] = {}
    current = None
    fence = ""  # inside a code block, "## " is text (a shell comment), not a section
    for n, line in enumerate(lines[end + 1 :], start=end + 2):
        marker = line.lstrip()[:3]
        if marker in ("```", "~~~"):
            fence = "" if fence == marker else (fence or marker)
        key = _by_title.get(line[3:].strip().lower()) if line.startswith("## ") else None
        if key is not None and not fence:
            if key in sections:
                raise FormatError(
                    f"{name}, line {n}: the section '{line[3:].strip()}' appears twice."
                )
            current = sections.setdefault(key, [])
            continue
        if current is None and line.startswith("## ") and not fence:
            raise FormatError(
                f"{name}, line {n}: '{line.strip()}' is not one of the sections "
                f"({'; '.join(SECTION_TITLES.values())})."
            )
        if current is None:
            if line.strip():
                raise FormatError(f"{name}, line {n}: text before the first '## ' section.")
            continue
        current.append(line)
    bodies = {key: "\n".join(sections.get(key, [])).strip() for key in SECTION_KEYS}
    for key, body in bodies.items():
        if len(body) > SECTION_MAX:
            raise FormatError(
                f"{name}: '{SECTION_TITLES[key]}' is over {SECTION_MAX:,} characters."
            )
    slug = slugify(meta["slug"])[:100]
    if not slug or slug in RESERVED_SLUGS:
        raise FormatError(f"{name}: the slug {meta['slug']!r} cannot name a runbook.")
    interval = meta.get("review_interval_days")
    if interval is not None and not interval.isdigit():
        raise FormatError(f"{name}: review_interval_days must be a number of days.")

    def listed(key: str) -> list[str]:
        return [v.strip() for v in meta.get(key, "").split(",") if v.strip()]

    return RunbookFile(
        title=meta["title"][:200],
        slug=slug,
        team=meta.get("team", ""),
        components=listed("components"),
        types=listed("types"),
        tags=listed("tags"),
        review_interval_days=int(interval) if interval else None,
        sections=bodies,
    )


def write(runbook_file: RunbookFile) -> str:
    meta = [
        "---",
        f"title: {runbook_file.title}",
        f"slug: {runbook_file.slug}",
        f"team: {runbook_file.team}",
        f"components: {', '.join(runbook_file.components)}",
        f"types: {', '.join(runbook_file.types)}",
        f"tags: {', '.join(runbook_file.tags)}",
    ]
    if runbook_file.review_interval_days:
        meta.append(f"review_interval_days: {runbook_file.review_interval_days}")
    meta.append("---")
    body = []
    for key, title in SECTIONS:
        body += ["", f"## {title}", "", runbook_file.sections.get(key, "").strip()]
    return "\n".join(meta + body).rstrip() + "\n"


def placeholders(sections: dict[str, str]) -> int:
    return sum(len(PLACEHOLDER.findall(sections.get(key, "") or "")) for key in SECTION_KEYS)


def search_text(title: str, sections: dict[str, str]) -> str:
    return "\n\n".join([title, *(sections.get(key, "") or "" for key in SECTION_KEYS)])


def steps(markdown: str) -> list[str]:
    """The items of the section's ordered lists (top level and nested), as plain text, in
    order: what an incident ticks off."""
    tokens = _parser.parse(markdown or "")
    found: list[str] = []
    ordered_depth = 0
    list_stack: list[bool] = []
    capture = False
    for token in tokens:
        if token.type in ("ordered_list_open", "bullet_list_open"):
            list_stack.append(token.type == "ordered_list_open")
            ordered_depth += token.type == "ordered_list_open"
        elif token.type in ("ordered_list_close", "bullet_list_close"):
            ordered_depth -= list_stack.pop()
        elif token.type == "list_item_open":
            capture = bool(list_stack and list_stack[-1])
        elif token.type == "inline" and capture:
            text = " ".join(token.content.split())
            if text:
                found.append(text)
            capture = False
    return found


def checklist_steps(sections: dict[str, str]) -> list[tuple[str, str]]:
    """(section key, step) for the recovery and verification sections."""
    return [(key, step) for key in CHECKLIST_SECTIONS for step in steps(sections.get(key, ""))]
