"""The post-mortem's written sections, in the order the page, the form, the revision snapshot,
the search text and the PDF use (spec "Post-Mortem Process", "Root Cause Analysis"). The 5 Whys
chain and the fishbone are structured (postmortems.models) and placed among these by
`after`."""

from dataclasses import dataclass

MAX_SECTION_CHARS = 20_000
MAX_WHYS = 10
MAX_FACTORS = 20
MAX_FACTOR_CHARS = 300


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    help: str
    group: str


SECTIONS: tuple[Section, ...] = (
    Section("summary", "Summary", "What happened, in a few sentences.", "Overview"),
    Section(
        "impact_users",
        "User impact",
        "Who was affected and how: users, regions, features.",
        "Impact",
    ),
    Section(
        "business_impact",
        "Business impact",
        "Revenue, reputation, compliance, contracts and SLAs.",
        "Impact",
    ),
    Section(
        "supporting_material",
        "Supporting material",
        "Links to the dashboards, logs and communications this account relies on.",
        "Evidence",
    ),
    Section(
        "detection",
        "Detection",
        "How the problem was noticed, how quickly, and what would have caught it sooner.",
        "Effectiveness",
    ),
    Section(
        "response",
        "Response",
        "How the response was organised: people reached, roles, communication.",
        "Effectiveness",
    ),
    Section(
        "resolution",
        "Resolution",
        "How service was restored and how long each step took.",
        "Effectiveness",
    ),
    Section("went_well", "What went well", "Practices worth keeping.", "Reflection"),
    Section(
        "could_improve",
        "What could be improved",
        "Gaps in process, tooling and systems (not people).",
        "Reflection",
    ),
    Section(
        "root_cause",
        "Root causes and contributing factors",
        "All contributing causes, not only the primary one: technical, process and organisational.",
        "Analysis",
    ),
    Section(
        "lessons_learned",
        "Lessons learned",
        "What the organisation now knows that it did not before.",
        "Analysis",
    ),
)
SECTION_NAMES = tuple(s.name for s in SECTIONS)
SECTION_BY_NAME = {s.name: s for s in SECTIONS}


class Fishbone:
    """The spec's fishbone (Ishikawa) categories of contributing factors."""

    CATEGORIES: tuple[tuple[str, str], ...] = (
        ("people", "People"),
        ("process", "Process"),
        ("technology", "Technology"),
        ("environment", "Environment"),
        ("external", "External"),
    )
    NAMES = tuple(name for name, _ in CATEGORIES)
    LABELS = dict(CATEGORIES)
