"""The difference between two versions of a runbook, per section: lines first, then words
within the lines that changed. Two views of the same comparison: side by side (rows of
left and right) and inline (one column of removed, added and unchanged lines). Everything
returned is escaped HTML, safe to show."""

import difflib
import re
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import SECTIONS

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")
# Bounds that keep any stored text from making the page slow (DESIGN.md decision 10):
# the word diff runs on lines up to this long; above this many lines in a section the line
# diff lets difflib skip very common lines (its autojunk heuristic).
WORD_DIFF_MAX_CHARS = 1_000
EXACT_LINES_MAX = 2_000


@dataclass
class Row:
    """One row of the side-by-side view: kind is "same", "changed", "removed" or "added"."""

    kind: str
    left: SafeString
    right: SafeString
    left_no: int | None
    right_no: int | None


@dataclass
class Line:
    """One line of the inline view: kind is "same", "removed" or "added"."""

    kind: str
    html: SafeString


@dataclass
class SectionDiff:
    key: str
    title: str
    changed: bool
    rows: list[Row] = field(default_factory=list)
    inline: list[Line] = field(default_factory=list)
    added: int = 0
    removed: int = 0


def _words(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Both lines with the words that differ marked (<del>, <ins>); a very long line is
    marked whole."""
    if len(old) > WORD_DIFF_MAX_CHARS or len(new) > WORD_DIFF_MAX_CHARS:
        return (
            mark_safe(f"<del>{escape(old)}</del>"),  # noqa: S308 (escaped)
            mark_safe(f"<ins>{escape(new)}</ins>"),  # noqa: S308 (escaped)
        )
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old_part, new_part = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(old_part)
            right.append(new_part)
            continue
        if old_part:
            left.append(f"<del>{old_part}</del>")
        if new_part:
            right.append(f"<ins>{new_part}</ins>")
    return mark_safe("".join(left)), mark_safe("".join(right))  # noqa: S308 (escaped above)


def _section(key: str, title: str, old: str, new: str) -> SectionDiff:
    result = SectionDiff(key, title, changed=(old or "") != (new or ""))
    if not result.changed:
        return result  # the page says "unchanged" and shows no rows
    a, b = (old or "").split("\n"), (new or "").split("\n")
    exact = len(a) + len(b) <= EXACT_LINES_MAX
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=not exact)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for n in range(i2 - i1):
                text = escape(a[i1 + n])
                result.rows.append(Row("same", text, text, i1 + n + 1, j1 + n + 1))
                result.inline.append(Line("same", text))
            continue
        old_lines, new_lines = a[i1:i2], b[j1:j2]
        result.removed += len(old_lines)
        result.added += len(new_lines)
        # Pair the replaced lines one to one (word diff within), the rest stand alone.
        pairs = min(len(old_lines), len(new_lines)) if op == "replace" else 0
        removed_inline, added_inline = [], []
        for n in range(max(len(old_lines), len(new_lines))):
            left = old_lines[n] if n < len(old_lines) else None
            right = new_lines[n] if n < len(new_lines) else None
            if n < pairs:
                left_html, right_html = _words(left, right)
                kind = "changed"
            else:
                left_html = escape(left) if left is not None else mark_safe("")
                right_html = escape(right) if right is not None else mark_safe("")
                kind = "removed" if right is None else "added"
            result.rows.append(
                Row(
                    kind,
                    left_html,
                    right_html,
                    i1 + n + 1 if left is not None else None,
                    j1 + n + 1 if right is not None else None,
                )
            )
            if left is not None:
                removed_inline.append(Line("removed", left_html))
            if right is not None:
                added_inline.append(Line("added", right_html))
        result.inline += removed_inline + added_inline
    return result


def compare(old: dict[str, str], new: dict[str, str]) -> list[SectionDiff]:
    """Every section of the two texts, in the runbook's order."""
    return [_section(key, title, old.get(key, ""), new.get(key, "")) for key, title in SECTIONS]
