"""Every change to runbooks (DESIGN.md decision 1), following the spec's update process:
draft, review with relevant teams, test, publish and communicate. Each function runs in one
transaction, checks who may act, and raises ApplicationError (nothing written) when a rule
is broken."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from portal import notifications, timers
from portal.errors import ApplicationError, ConflictError
from portal.models import display_name

from .. import content
from ..models import (
    SECTION_KEYS,
    SECTION_MAX,
    SECTION_TITLES,
    CommentKind,
    Draft,
    Outcome,
    Review,
    ReviewComment,
    ReviewState,
    Runbook,
    TestRecord,
    Version,
)

EDIT_PERM = "runbooks.change_runbook"
UNREVIEWED_PERM = "runbooks.publish_unreviewed"
REVIEW_TIMER = "runbooks.review_due"
NOTE_MAX = 2000
COMMENT_MAX = 5000
MAX_TAGS = 20


def _require(actor, perm: str = EDIT_PERM, what: str = "edit runbooks") -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise ApplicationError(f"Only responders may {what}.")


def _text(value: str, label: str, limit: int, *, field: str, required: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(required, field=field)
    if len(value) > limit:
        raise ApplicationError(
            f"{label}: at most {limit:,} characters (it has {len(value):,}).", field=field
        )
    return value


def clean_sections(sections: dict) -> dict[str, str]:
    unknown = set(sections) - set(SECTION_KEYS)
    if unknown:
        raise ApplicationError(f"There is no section {sorted(unknown)[0]!r}.")
    cleaned = {}
    for key in SECTION_KEYS:
        value = (sections.get(key) or "").replace("\r\n", "\n").replace("\x00", "").strip()
        if len(value) > SECTION_MAX:
            raise ApplicationError(
                f"{SECTION_TITLES[key]}: at most {SECTION_MAX:,} characters "
                f"(it has {len(value):,}).",
                field=key,
            )
        cleaned[key] = value
    return cleaned


# --- drafts ----------------------------------------------------------------------------


def _locked_draft(runbook: Runbook) -> Draft:
    draft = Draft.objects.select_for_update().filter(runbook=runbook).first()
    if draft is None:
        raise ApplicationError(
            "This runbook has no draft any more (it was submitted or discarded): start a new "
            "one from the current version."
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
    now: datetime | None = None,
) -> Draft:
    """Save the draft if nobody saved it since the form was opened; else refuse, naming the
    sections the other save changed (what was typed is kept by the form)."""
    _require(actor)
    draft = _locked_draft(runbook)
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
def draft_set_image(*, actor, runbook: Runbook, image: str, expected_version: int) -> Draft:
    """The architecture diagram of section 1 (a stored file's name; "" removes it)."""
    _require(actor)
    draft = _locked_draft(runbook)
    if draft.version != expected_version:
        raise ConflictError("Someone saved this draft after you opened it: reload, then try again.")
    Draft.objects.filter(pk=draft.pk).update(image=image, version=draft.version + 1)
    draft.refresh_from_db()
    return draft


@transaction.atomic
def draft_discard(*, actor, runbook: Runbook) -> None:
    _require(actor)
    _locked_draft(runbook).delete()


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
    now: datetime | None = None,
) -> Version:
    """Freeze the draft as the next numbered version, for review. A version still waiting
    for review or publication is withdrawn: the newest submission is the one reviewed."""
    _require(actor)
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    draft = _locked_draft(runbook)
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


def _team_members(runbook: Runbook) -> list:
    if runbook.team is None:
        return []
    return [u for u in runbook.team.members.all() if u.is_active]


def _url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _tell_reviewers(version: Version, author, now: datetime) -> None:
    others = [u for u in _team_members(version.runbook) if u != author]
    if not others:
        return
    notifications.notify(
        key=f"runbook-review:{version.pk}",
        reason="runbook_review_requested",
        recipients=others,
        subject=f"Review requested: {version} ({version.runbook.title})",
        body=version.change_note,
        url=_url(version.get_absolute_url()),
        now=now,
    )


def _locked_review(version: Version) -> Review:
    return Review.objects.select_for_update().get(pk=version.pk)


@transaction.atomic
def review_comment(*, actor, version: Version, body: str, now=None) -> ReviewComment:
    _require(actor, what="comment on runbooks")
    body = _text(body, "Comment", COMMENT_MAX, field="body", required="Write the comment.")
    return ReviewComment.objects.create(
        version=version, author=actor, kind=CommentKind.COMMENT, body=body,
        created_at=now or timezone.now(),
    )  # fmt: skip


def _decide(actor, version: Version, state: str, kind: str, body: str, now) -> Review:
    _require(actor, what="review runbooks")
    review = _locked_review(version)
    if review.state != ReviewState.PENDING:
        raise ApplicationError(
            f"Version {version.number} is not awaiting review (it is "
            f"{review.get_state_display().lower()})."
        )
    if version.author_id == actor.pk:
        raise ApplicationError(
            "A reviewer other than the author decides (spec: review with relevant teams)."
        )
    now = now or timezone.now()
    Review.objects.filter(pk=review.pk).update(state=state, decided_by=actor, decided_at=now)
    ReviewComment.objects.create(
        version=version, author=actor, kind=kind, body=body, created_at=now
    )
    review.refresh_from_db()
    return review


@transaction.atomic
def review_approve(*, actor, version: Version, body: str = "", now=None) -> Review:
    body = _text(body, "Comment", COMMENT_MAX, field="body")
    return _decide(actor, version, ReviewState.APPROVED, CommentKind.APPROVE, body, now)


@transaction.atomic
def review_request_changes(*, actor, version: Version, body: str, now=None) -> Review:
    """Changes requested, with what to change; the text returns to a draft for its author
    (unless a draft already exists)."""
    body = _text(
        body, "Comment", COMMENT_MAX, field="body", required="Say which changes are needed."
    )
    review = _decide(
        actor, version, ReviewState.CHANGES_REQUESTED, CommentKind.REQUEST_CHANGES, body, now
    )
    if not Draft.objects.filter(runbook=version.runbook).exists():
        moment = now or timezone.now()
        Draft.objects.create(
            runbook=version.runbook, based_on=version, sections=dict(version.sections),
            image=version.image, created_at=moment, updated_at=moment, updated_by=actor,
            action_item=version.action_item,
        )  # fmt: skip
    return review


def _schedule_review(runbook: Runbook, reviewed_at: datetime) -> None:
    due = reviewed_at + timedelta(days=runbook.review_interval_days)
    Runbook.objects.filter(pk=runbook.pk).update(review_due_at=due)
    timers.schedule(REVIEW_TIMER, runbook.pk, due)


def _make_current(runbook: Runbook, version: Version, now: datetime) -> None:
    if runbook.current_id and runbook.current_id != version.pk:
        Review.objects.filter(pk=runbook.current_id).update(state=ReviewState.SUPERSEDED)
    sections = version.sections
    Runbook.objects.filter(pk=runbook.pk).update(
        current=version,
        title=version.title,
        search_text=content.search_text(version.title, sections),
        placeholders=content.placeholders(sections),
        reviewed_at=now,
    )
    _schedule_review(runbook, now)


@transaction.atomic
def version_publish(*, actor, version: Version, reason: str = "", now=None) -> Review:
    """Make an approved version current, supersede the previous one, and tell the owning
    team (spec "Publish and communicate changes"). An admin may publish a version nobody
    reviewed, with the reason recorded."""
    _require(actor, what="publish runbooks")
    runbook = Runbook.objects.select_for_update().get(pk=version.runbook_id)
    review = _locked_review(version)
    reason = _text(reason, "Reason", NOTE_MAX, field="reason")
    if review.state == ReviewState.PENDING:
        if not actor.has_perm(UNREVIEWED_PERM):
            raise ApplicationError(
                f"Version {version.number} has not been reviewed: a reviewer other than its "
                "author approves it first."
            )
        if not reason:
            raise ApplicationError(
                "Publishing without review needs the reason, recorded on the version.",
                field="reason",
            )
    elif review.state != ReviewState.APPROVED:
        raise ApplicationError(
            f"Version {version.number} cannot be published: it is "
            f"{review.get_state_display().lower()}."
        )
    now = now or timezone.now()
    Review.objects.filter(pk=review.pk).update(
        state=ReviewState.PUBLISHED,
        published_by=actor,
        published_at=now,
        unreviewed_reason=reason if review.state == ReviewState.PENDING else "",
    )
    ReviewComment.objects.create(
        version=version, author=actor, kind=CommentKind.PUBLISH, body=reason, created_at=now
    )
    _make_current(runbook, version, now)
    members = _team_members(runbook)
    if members:
        notifications.notify(
            key=f"runbook-published:{version.pk}",
            reason="runbook_published",
            recipients=members,
            subject=f"Runbook updated: {runbook.title} (version {version.number})",
            body=version.change_note,
            url=_url(version.get_absolute_url()),
            now=now,
        )
    review.refresh_from_db()
    return review


@transaction.atomic
def runbook_mark_reviewed(*, actor, runbook: Runbook, now=None) -> Runbook:
    """Reviewed on its cycle and still right: the next review is one interval away."""
    _require(actor, what="review runbooks")
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if runbook.current is None:
        raise ApplicationError("Only a published runbook has a review cycle.")
    now = now or timezone.now()
    Runbook.objects.filter(pk=runbook.pk).update(reviewed_at=now)
    _schedule_review(runbook, now)
    runbook.refresh_from_db()
    return runbook


@transaction.atomic
def test_record(
    *, actor, runbook: Runbook, tested_on: date, exercise: str, outcome: str, notes: str = "",
    now=None,
) -> TestRecord:  # fmt: skip
    _require(actor, what="record runbook tests")
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if runbook.current is None:
        raise ApplicationError("Publish the runbook before recording a test of it.")
    now = now or timezone.now()
    if tested_on is None or tested_on > timezone.localdate(now) or tested_on.year < 2000:
        raise ApplicationError("The test date is a day that has passed.", field="tested_on")
    exercise = _text(
        exercise, "Exercise", 200, field="exercise", required="Name the exercise or drill."
    )
    if outcome not in Outcome.values:
        raise ApplicationError("Choose the outcome.", field="outcome")
    notes = _text(notes, "Notes", 5000, field="notes")
    record = TestRecord.objects.create(
        runbook=runbook, version=runbook.current, tested_on=tested_on, exercise=exercise,
        outcome=outcome, notes=notes, recorded_by=actor, recorded_at=now,
    )  # fmt: skip
    latest = runbook.tests.order_by("-tested_on").values_list("tested_on", flat=True).first()
    Runbook.objects.filter(pk=runbook.pk).update(last_tested_on=latest)
    return record
