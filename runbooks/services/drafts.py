"""Drafts: the one editable text of a runbook, saved with a version (and its own identity,
so a form opened on an earlier draft never overwrites a later one), and frozen into a
numbered version when submitted for review."""

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from portal.errors import ApplicationError, ConflictError
from portal.models import display_name

from ..models import (
    SECTION_KEYS,
    SECTION_TITLES,
    Draft,
    Review,
    ReviewState,
    Runbook,
    Version,
)
from .base import (
    NOTE_MAX,
    _require,
    _tell_reviewers,
    _text,
    clean_sections,
)


def _locked_draft(runbook: Runbook, expected_draft: int | None = None) -> Draft:
    """The runbook's draft, locked. expected_draft: the draft the form was opened on; a
    newer draft (the old one submitted or discarded meanwhile) is a conflict, never a
    target for a stale form."""
    draft = Draft.objects.select_for_update().filter(runbook=runbook).first()
    if draft is None:
        raise ApplicationError(
            "This runbook has no draft any more (it was submitted or discarded): start a new "
            "one from the current version."
        )
    if expected_draft is not None and draft.pk != expected_draft:
        raise ConflictError(
            "The draft you opened was submitted or discarded meanwhile, and a new one was "
            "started; nothing of yours was saved. Compare, then save again."
        )
    return draft


@transaction.atomic
def draft_start(
    *,
    actor,
    runbook: Runbook,
    from_version: Version | None = None,
    action_item=None,
    now: datetime | None = None,
) -> Draft:
    """A draft from the current version, or from an older one (restoring it: the old text
    becomes a new draft; versions themselves never change)."""
    _require(actor)
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if Draft.objects.filter(runbook=runbook).exists():
        raise ApplicationError(
            "This runbook already has a draft: edit that one, or discard it first."
        )
    source = from_version or runbook.current
    if source is not None and source.runbook_id != runbook.pk:
        raise ApplicationError("That version belongs to another runbook.")
    now = now or timezone.now()
    return Draft.objects.create(
        runbook=runbook,
        based_on=source,
        sections=dict(source.sections) if source else clean_sections({}),
        image=source.image if source else "",
        created_at=now,
        updated_at=now,
        updated_by=actor,
        action_item=action_item,
    )


@transaction.atomic
def draft_save(
    *,
    actor,
    runbook: Runbook,
    sections: dict,
    expected_version: int,
    expected_draft: int | None = None,
    now: datetime | None = None,
) -> Draft:
    """Save the draft if nobody saved it since the form was opened; else refuse, naming the
    sections the other save changed (what was typed is kept by the form)."""
    _require(actor)
    draft = _locked_draft(runbook, expected_draft)
    cleaned = clean_sections(sections)
    if draft.version != expected_version:
        who = display_name(draft.updated_by) if draft.updated_by else "Someone"
        changed = [SECTION_TITLES[k] for k in SECTION_KEYS if draft.sections.get(k) != cleaned[k]]
        raise ConflictError(
            f"{who} saved this draft after you opened it; nothing of yours was saved. "
            "Compare, then save again.",
            details=changed,
        )
    Draft.objects.filter(pk=draft.pk).update(
        sections=cleaned,
        version=draft.version + 1,
        updated_at=now or timezone.now(),
        updated_by=actor,
    )
    draft.refresh_from_db()
    return draft


@transaction.atomic
def draft_set_image(
    *, actor, runbook: Runbook, image: str, expected_version: int, expected_draft=None
) -> Draft:
    """The architecture diagram of section 1 (a stored file's name; "" removes it)."""
    _require(actor)
    draft = _locked_draft(runbook, expected_draft)
    if draft.version != expected_version:
        raise ConflictError("Someone saved this draft after you opened it: reload, then try again.")
    Draft.objects.filter(pk=draft.pk).update(image=image, version=draft.version + 1)
    draft.refresh_from_db()
    return draft


@transaction.atomic
def draft_discard(
    *, actor, runbook: Runbook, expected_draft: int | None = None, expected_version=None
) -> None:
    """Discard the draft the page showed, as it was shown: a draft saved or replaced since
    is not thrown away unseen."""
    _require(actor)
    draft = _locked_draft(runbook, expected_draft)
    if expected_version is not None and draft.version != expected_version:
        raise ConflictError(
            "Someone saved this draft after you opened it; it was not discarded. Look at it first."
        )
    draft.delete()


def _next_number(runbook: Runbook) -> int:
    return (runbook.versions.aggregate(n=Max("number"))["n"] or 0) + 1


def _freeze(runbook, *, sections, image, change_note, author, now, system_import=False,
            action_item=None) -> Version:  # fmt: skip
    return Version.objects.create(
        runbook=runbook,
        number=_next_number(runbook),
        title=runbook.title,
        sections=sections,
        image=image,
        change_note=change_note,
        author=author,
        created_at=now,
        system_import=system_import,
        action_item=action_item,
    )


@transaction.atomic
def draft_submit(
    *,
    actor,
    runbook: Runbook,
    change_note: str,
    expected_version: int,
    expected_draft: int | None = None,
    now: datetime | None = None,
) -> Version:
    """Freeze the draft as the next numbered version, for review. A version still waiting
    for review or publication is withdrawn: the newest submission is the one reviewed."""
    _require(actor)
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    draft = _locked_draft(runbook, expected_draft)
    if draft.version != expected_version:
        raise ConflictError(
            "Someone saved this draft after you opened it; it was not submitted. Check their "
            "changes, then submit again."
        )
    note = _text(
        change_note, "Change note", NOTE_MAX, field="change_note",
        required="Say what changed and why (the change note).",
    )  # fmt: skip
    sections = clean_sections(draft.sections)
    if not any(sections.values()):
        raise ApplicationError("The draft is empty: write the runbook first.")
    # Unchanged from the version it started from (unless that is older than the current
    # one: restoring an old text is a change), or from the current version.
    base = draft.based_on
    if base is not None and runbook.current is not None and base.number < runbook.current.number:
        base = runbook.current
    base = base or runbook.current
    if base is not None and base.sections == sections and base.image == draft.image:
        raise ApplicationError(f"Nothing changed from version {base.number}: edit the draft first.")
    now = now or timezone.now()
    waiting = Review.objects.filter(
        version__runbook=runbook, state__in=(ReviewState.PENDING, ReviewState.APPROVED)
    )
    waiting.update(state=ReviewState.WITHDRAWN)
    version = _freeze(
        runbook, sections=sections, image=draft.image, change_note=note, author=actor, now=now,
        action_item=draft.action_item,
    )  # fmt: skip
    Review.objects.create(version=version)
    draft.delete()
    _tell_reviewers(version, actor, now)
    return version


# --- review and publication -------------------------------------------------------------


@transaction.atomic
def draft_update(
    *,
    actor,
    runbook: Runbook,
    sections: dict,
    expected_draft: int,
    expected_version: int,
    image: str | None = None,
    change_note: str | None = None,
    now: datetime | None = None,
) -> Draft | Version:
    """What the draft page sends, as one change: the text, the diagram if it changed (a
    stored file's name, "" to remove it, None to leave it), and, with a change note, the
    submission for review. Refused as a whole: nothing is written."""
    if change_note is not None and not change_note.strip():
        raise ApplicationError("Say what changed and why (the change note).", field="change_note")
    draft = draft_save(
        actor=actor, runbook=runbook, sections=sections, expected_version=expected_version,
        expected_draft=expected_draft, now=now,
    )  # fmt: skip
    if image is not None:
        draft = draft_set_image(
            actor=actor, runbook=runbook, image=image, expected_version=draft.version,
            expected_draft=draft.pk,
        )  # fmt: skip
    if change_note is None:
        return draft
    return draft_submit(
        actor=actor, runbook=runbook, change_note=change_note, expected_version=draft.version,
        expected_draft=draft.pk, now=now,
    )  # fmt: skip
