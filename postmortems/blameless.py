"""The blameless norm as a gentle hint (spec "Focus on process and system factors, not
individual errors"): sentences that name a person together with blame are pointed out so
the author can reword them around the process or system. A hint, never a filter: nothing
is refused."""

import re
from collections.abc import Iterable

from django.contrib.auth import get_user_model

BLAME = re.compile(
    r"\b(caused|cause of|fault|blame|mistake|forgot|failed to|neglect\w*|careless\w*|"
    r"should have|didn'?t|did not|broke|screwed|messed up|human error|error by|"
    r"responsible for|his error|her error|their error|was wrong)\b",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
MIN_NAME = 3
MAX_HINTS = 5


def known_names() -> set[str]:
    """First names, display names and usernames of the portal's people."""
    names: set[str] = set()
    rows = get_user_model().objects.values_list("username", "first_name", "profile__display_name")
    for row in rows:
        for value in row:
            if value and len(value) >= MIN_NAME:
                names.add(value)
                names.update(p for p in value.split() if len(p) >= MIN_NAME)
    return names


class Checker:
    """The hint for one page: the people's names compiled once, then any number of texts."""

    def __init__(self, names: Iterable[str]):
        # Names as people write them (capitalised), matched with their case: "will" and
        # "max" in a sentence are words, "Will" and "Max" are people.
        variants = {v for n in names for v in (n, n[:1].upper() + n[1:]) if v[:1].isupper()}
        ordered = sorted(variants, key=len, reverse=True)
        self.pattern = (
            re.compile(r"\b(" + "|".join(re.escape(n) for n in ordered) + r")\b")
            if ordered
            else None
        )

    @classmethod
    def for_people(cls) -> "Checker":
        return cls(known_names())

    def hints(self, text: str) -> list[str]:
        """The sentences of `text` that name a person and blame; at most MAX_HINTS."""
        if not text or self.pattern is None:
            return []
        found = []
        for match in SENTENCE.finditer(text):
            sentence = match.group().strip()
            if sentence and BLAME.search(sentence) and self.pattern.search(sentence):
                found.append(sentence[:300])
                if len(found) == MAX_HINTS:
                    break
        return found


def hints(text: str, names: Iterable[str]) -> list[str]:
    return Checker(names).hints(text)
