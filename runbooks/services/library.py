"""The library's records: making and describing runbooks, and runbooks as files. Files are
how the portal ships its runbooks (runbooks/library/, loaded on migrate as a system import
that needs no reviewer), how teams keep them in their own version control, and how the
disaster-recovery runbook stays at hand when the portal itself is down
(export_runbooks / import_runbooks)."""

import hashlib
import json
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from incidents.models import Component
from incidents.taxonomy import TYPES
from portal.errors import ApplicationError, ConflictError
from portal.models import Team

from .. import content
from ..models import RESERVED_SLUGS, Draft, Review, ReviewState, Runbook, Version
from .base import MAX_TAGS, _require, _text, clean_sections
from .drafts import _freeze
from .review import _make_current, _schedule_review

SHIPPED = Path(__file__).resolve().parent.parent / "library"


def _details(*, title, team, components, incident_types, tags, review_interval_days) -> dict:
    title = _text(title, "Title", 200, field="title", required="Give the runbook a title.")
    types = [t for t in (incident_types or []) if t]
    unknown = [t for t in types if t not in TYPES]
    if unknown:
        raise ApplicationError(f"Unknown incident type {unknown[0]!r}.", field="incident_types")
    tags = sorted({slugify(t)[:40] for t in (tags or []) if slugify(t)})
    if len(tags) > MAX_TAGS:
        raise ApplicationError(f"At most {MAX_TAGS} tags.", field="tags")
    try:
        interval = int(review_interval_days)
    except (TypeError, ValueError):
        interval = -1
    if not 7 <= interval <= 730:
        raise ApplicationError(
            "The review interval is 7 to 730 days.", field="review_interval_days"
        )
    return {
        "title": title,
        "team": team,
        "incident_types": sorted(set(types)),
        "tags": tags,
        "review_interval_days": interval,
        "components": list(components or []),
    }


def _unique_slug(title: str) -> str:
    base = slugify(title)[:90] or "runbook"
    slug, n = base, 2
    while slug in RESERVED_SLUGS or Runbook.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def runbook_create(
    *,
    actor,
    title: str,
    team=None,
    components=(),
    incident_types=(),
    tags=(),
    review_interval_days=90,
    sections: dict | None = None,
    now: datetime | None = None,
) -> Runbook:
    """A new runbook and its first draft (nothing is published until reviewed)."""
    _require(actor)
    now = now or timezone.now()
    fields = _details(
        title=title,
        team=team,
        components=components,
        incident_types=incident_types,
        tags=tags,
        review_interval_days=review_interval_days,
    )
    if team is None:
        raise ApplicationError("Choose the team that owns the runbook.", field="team")
    components = fields.pop("components")
    runbook = Runbook.objects.create(
        slug=_unique_slug(fields["title"]), created_by=actor, created_at=now, **fields
    )
    runbook.components.set(components)
    Draft.objects.create(
        runbook=runbook,
        sections=clean_sections(sections or {}),
        created_at=now,
        updated_at=now,
        updated_by=actor,
    )
    return runbook


def details_stamp(runbook: Runbook) -> str:
    """A digest of the runbook's details as a form shows them: a save from a form opened
    before someone else's is refused (DESIGN.md decision 9)."""
    shown = [
        runbook.title,
        runbook.team_id,
        sorted(runbook.components.values_list("pk", flat=True)),
        sorted(runbook.incident_types),
        sorted(runbook.tags),
        runbook.review_interval_days,
    ]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


@transaction.atomic
def runbook_update_details(
    *,
    actor,
    runbook: Runbook,
    title,
    team,
    components,
    incident_types,
    tags,
    review_interval_days,
    expected_stamp: str | None = None,
) -> Runbook:
    """What the runbook applies to and who owns it (not its text: that is versioned)."""
    _require(actor)
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if expected_stamp is not None and expected_stamp != details_stamp(runbook):
        raise ConflictError(
            "Someone changed these details after you opened the form; nothing was saved. "
            "Yours are kept below: save again to replace theirs."
        )
    fields = _details(
        title=title,
        team=team,
        components=components,
        incident_types=incident_types,
        tags=tags,
        review_interval_days=review_interval_days,
    )
    if team is None:
        raise ApplicationError("Choose the team that owns the runbook.", field="team")
    components = fields.pop("components")
    interval_changed = fields["review_interval_days"] != runbook.review_interval_days
    Runbook.objects.filter(pk=runbook.pk).update(**fields)
    runbook.refresh_from_db()
    runbook.components.set(components)
    if interval_changed and runbook.reviewed_at is not None:
        _schedule_review(runbook, runbook.reviewed_at)
    return runbook


# --- files --------------------------------------------------------------------------------


def _team(name: str) -> Team | None:
    return (
        Team.objects.filter(slug=slugify(name)).first()
        or Team.objects.filter(name__iexact=name.strip()).first()
    )


def _components(names: list[str]) -> list[Component]:
    wanted = {n.strip().lower() for n in names}
    return [c for c in Component.objects.all() if c.name.lower() in wanted]


def as_file(runbook: Runbook, version: Version) -> str:
    return content.write(
        content.RunbookFile(
            title=version.title,
            slug=runbook.slug,
            team=runbook.team.slug if runbook.team else "",
            components=sorted(c.name for c in runbook.components.all()),
            types=list(runbook.incident_types),
            tags=list(runbook.tags),
            review_interval_days=runbook.review_interval_days,
            sections=version.sections,
        )
    )


def export_all(directory: Path) -> list[Path]:
    """Every published runbook's current version, one <slug>.md each."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for runbook in Runbook.objects.filter(current__isnull=False).select_related("current", "team"):
        path = directory / f"{runbook.slug}.md"
        path.write_text(as_file(runbook, runbook.current), encoding="utf-8")
        written.append(path)
    return written


def _new_runbook(parsed: content.RunbookFile, now: datetime, actor=None) -> Runbook:
    if Runbook.objects.filter(slug=parsed.slug).exists():
        raise ApplicationError(f"A runbook with the slug {parsed.slug!r} exists.")
    runbook = Runbook.objects.create(
        title=_text(parsed.title, "Title", 200, field="title", required="A title is needed."),
        slug=parsed.slug,
        team=_team(parsed.team),
        incident_types=sorted({t for t in parsed.types if t in TYPES}),
        tags=sorted({slugify(t)[:40] for t in parsed.tags if slugify(t)})[:MAX_TAGS],
        review_interval_days=min(max(parsed.review_interval_days or 90, 7), 730),
        created_at=now,
        created_by=actor,
    )
    runbook.components.set(_components(parsed.components))
    return runbook


@transaction.atomic
def import_draft(*, actor, parsed: content.RunbookFile, now=None) -> Draft:
    """A file read back as a draft: of its runbook if the slug is known (which must have no
    draft), else of a new runbook. Nothing is published without review."""
    _require(actor)
    now = now or timezone.now()
    sections = clean_sections(parsed.sections)
    runbook = Runbook.objects.select_for_update().filter(slug=parsed.slug).first()
    if runbook is None:
        runbook = _new_runbook(parsed, now, actor)
    elif Draft.objects.filter(runbook=runbook).exists():
        raise ApplicationError(
            f"{runbook.title} already has a draft: submit or discard it, then import again."
        )
    return Draft.objects.create(
        runbook=runbook, based_on=runbook.current, sections=sections, created_at=now,
        updated_at=now, updated_by=actor,
    )  # fmt: skip


@transaction.atomic
def load_shipped(directory: Path = SHIPPED, now=None) -> int:
    """The runbooks that ship with the portal, published as version 1 by a system import
    (no reviewer): each once, by slug. Runs after every migrate, so it also links a shipped
    runbook to its team and components once they exist (created after it, e.g. by the
    demo). Returns how many runbooks it created."""
    now = now or timezone.now()
    created = 0
    for path in sorted(directory.glob("*.md")):
        parsed = content.parse(path.read_text(encoding="utf-8"), path.name)
        runbook = Runbook.objects.filter(slug=parsed.slug).first()
        if runbook is None:
            runbook = _new_runbook(parsed, now)
            version = _freeze(
                runbook, sections=clean_sections(parsed.sections), image="",
                change_note=f"Shipped with the portal ({path.name}), written from the "
                "incident response procedures.",
                author=None, now=now, system_import=True,
            )  # fmt: skip
            Review.objects.create(version=version, state=ReviewState.PUBLISHED, published_at=now)
            _make_current(runbook, version, now)
            created += 1
            continue
        if runbook.versions.filter(system_import=True, number=1).exists():
            if runbook.team_id is None and (team := _team(parsed.team)) is not None:
                Runbook.objects.filter(pk=runbook.pk).update(team=team)
            if not runbook.components.exists():
                runbook.components.set(_components(parsed.components))
    return created
