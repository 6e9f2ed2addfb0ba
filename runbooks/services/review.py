"""Review and publication (spec "Review with relevant teams", "Publish and communicate
changes"), the review cycle and test records."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from portal import notifications, timers
from portal.errors import ApplicationError

from .. import content
from ..models import (
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
from .base import (
    COMMENT_MAX,
    NOTE_MAX,
    REVIEW_TIMER,
    UNREVIEWED_PERM,
    _require,
    _team_members,
    _text,
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
    # The runbook row first, as draft_start takes it: a draft started at this moment waits.
    Runbook.objects.select_for_update().get(pk=version.runbook_id)
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
    # The runbook keeps its own title (renamed under Details); the version keeps the one it
    # was written under.
    Runbook.objects.filter(pk=runbook.pk).update(
        current=version,
        search_text=content.search_text(runbook.title, sections),
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
            url=version.get_absolute_url(),
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
