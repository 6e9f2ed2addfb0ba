"""Runbook versions (issue 13): drafts saved with a version, frozen versions that never
change, review by someone other than the author, publication, restore, test records and
the review cycle."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from django.utils import timezone

from portal import timers
from portal.errors import ApplicationError, ConflictError
from portal.models import Notification, Timer
from runbooks import services
from runbooks.models import Draft, ReviewState, Runbook, Version

from .conftest import text

pytestmark = pytest.mark.django_db


def test_the_shipped_runbooks_are_published_after_migrate():
    shipped = {r.slug: r for r in Runbook.objects.select_related("current")}
    assert set(shipped) >= {
        "ai-service-incidents",
        "database-incidents",
        "security-incidents",
        "external-dependency-failures",
        "disaster-recovery",
    }
    for runbook in shipped.values():
        assert runbook.current.number == 1 and runbook.current.system_import
        assert runbook.current.review.state == ReviewState.PUBLISHED
        assert all(runbook.current.sections[k] for k in ("recovery", "verification"))
        assert runbook.placeholders > 0  # contact details left for an owner to fill in
        assert runbook.review_due_at is not None
    database = shipped["database-incidents"].current.sections["recovery"]
    assert "restore.sh --type point-in-time" in database
    dr = shipped["disaster-recovery"].current.sections["overview"]
    assert "RTO 1 hour" in dr and "RPO 5 minutes" in dr
    # Loading again (every migrate does) creates nothing twice.
    assert services.load_shipped() == 0


def test_a_draft_save_from_a_stale_form_is_refused_naming_what_changed(
    runbook, responder, reviewer
):
    services.draft_save(
        actor=reviewer, runbook=runbook, sections=text(overview="Bea's words"), expected_version=1
    )
    with pytest.raises(ConflictError) as refused:
        services.draft_save(actor=responder, runbook=runbook, sections=text(), expected_version=1)
    assert "Bea saved this draft after you opened it" in refused.value.message
    assert refused.value.details == ["Component overview and architecture"]
    assert Draft.objects.get(runbook=runbook).sections["overview"] == "Bea's words"


def test_submitting_freezes_a_numbered_version_and_needs_a_change_note(runbook, responder):
    with pytest.raises(ApplicationError, match="change note"):
        services.draft_submit(actor=responder, runbook=runbook, change_note=" ", expected_version=1)
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="First version", expected_version=1
    )
    assert version.number == 1 and version.author == responder
    assert version.review.state == ReviewState.PENDING
    assert not Draft.objects.filter(runbook=runbook).exists()
    with pytest.raises(ValueError, match="never changes"):
        version.change_note = "rewritten"
        version.save()
    with pytest.raises(ValueError, match="never deleted"):
        version.delete()
    assert Version.objects.get(pk=version.pk).change_note == "First version"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_on_postgresql_a_trigger_refuses_to_change_or_delete_a_version(published):
    for statement in (
        "UPDATE runbooks_version SET change_note = 'x' WHERE id = %s",
        "DELETE FROM runbooks_version WHERE id = %s",
    ):
        refused = pytest.raises((IntegrityError, InternalError))
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [published.pk])
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Version.objects.filter(pk=published.pk).update(change_note="x")
    assert Version.objects.get(pk=published.pk).change_note == "First version"


def test_review_is_by_someone_else_and_publishing_supersedes_and_tells_the_team(
    runbook, responder, reviewer, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    first = services.draft_submit(
        actor=responder, runbook=runbook, change_note="First", expected_version=1
    )
    with pytest.raises(ApplicationError, match="other than the author"):
        services.review_approve(actor=responder, version=first)
    with pytest.raises(ApplicationError, match="has not been reviewed"):
        services.version_publish(actor=responder, version=first)
    services.review_approve(actor=reviewer, version=first, body="Clear.")
    reviewer.email = "bea@example.org"
    reviewer.save()
    services.version_publish(actor=responder, version=first)
    runbook.refresh_from_db()
    assert runbook.current == first
    told = Notification.objects.get(reason="runbook_published", recipient=reviewer, channel="email")
    assert told.url == first.get_absolute_url()  # a path: the email sender makes it absolute
    from django.core import mail

    from portal import notifications

    notifications.deliver(told.pk)
    (sent,) = [m for m in mail.outbox if m.subject.startswith("Runbook updated")]
    assert sent.body.count("http://") == 1  # the link, once
    assert sent.body.endswith(f"{settings.SITE_URL.rstrip('/')}{first.get_absolute_url()}")

    draft = services.draft_start(actor=reviewer, runbook=runbook)
    services.draft_save(
        actor=reviewer, runbook=runbook, sections=text(rollback="Roll back the deploy."),
        expected_version=draft.version,
    )  # fmt: skip
    second = services.draft_submit(
        actor=reviewer, runbook=runbook, change_note="Rollback step", expected_version=2
    )
    services.review_approve(actor=responder, version=second)
    services.version_publish(actor=reviewer, version=second)
    runbook.refresh_from_db()
    first.review.refresh_from_db()
    assert runbook.current == second and first.review.state == ReviewState.SUPERSEDED
    assert "Roll back the deploy." in runbook.search_text
    with pytest.raises(ApplicationError, match="cannot be published"):
        services.version_publish(actor=reviewer, version=first)


def test_an_admin_may_publish_unreviewed_with_a_recorded_reason(runbook, responder, admin_user):
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="Urgent fix", expected_version=1
    )
    with pytest.raises(ApplicationError, match="has not been reviewed"):
        services.version_publish(actor=responder, version=version, reason="urgent")
    with pytest.raises(ApplicationError, match="needs the reason"):
        services.version_publish(actor=admin_user, version=version)
    services.version_publish(actor=admin_user, version=version, reason="Outage in progress")
    version.review.refresh_from_db()
    assert version.review.state == ReviewState.PUBLISHED
    assert version.review.unreviewed_reason == "Outage in progress"


def test_changes_requested_return_the_text_to_a_draft(runbook, responder, reviewer):
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="First", expected_version=1
    )
    with pytest.raises(ApplicationError, match="which changes"):
        services.review_request_changes(actor=reviewer, version=version, body="")
    services.review_request_changes(actor=reviewer, version=version, body="Add the dashboard.")
    draft = Draft.objects.get(runbook=runbook)
    assert draft.based_on == version and draft.sections == version.sections
    with pytest.raises(ApplicationError, match="Nothing changed from version 1"):
        services.draft_submit(
            actor=responder, runbook=runbook, change_note="Again", expected_version=draft.version
        )


def test_restoring_an_old_version_makes_a_new_draft_of_its_text(
    published, runbook, responder, reviewer
):
    draft = services.draft_start(actor=responder, runbook=runbook)
    services.draft_save(
        actor=responder, runbook=runbook, sections=text(overview="Rewritten"),
        expected_version=draft.version,
    )  # fmt: skip
    second = services.draft_submit(
        actor=responder, runbook=runbook, change_note="Rewrite", expected_version=2
    )
    services.review_approve(actor=reviewer, version=second)
    services.version_publish(actor=reviewer, version=second)
    with pytest.raises(ApplicationError, match="another runbook"):
        other = Runbook.objects.exclude(pk=runbook.pk).first()
        services.draft_start(actor=responder, runbook=other, from_version=published)
    restored = services.draft_start(actor=responder, runbook=runbook, from_version=published)
    assert restored.sections == published.sections and restored.based_on == published
    with pytest.raises(ApplicationError, match="already has a draft"):
        services.draft_start(actor=responder, runbook=runbook, from_version=published)
    third = services.draft_submit(
        actor=responder, runbook=runbook, change_note="Back to v1", expected_version=1
    )
    assert third.number == 3 and third.sections == published.sections


def test_section_size_and_people_without_the_role_are_refused(runbook, responder, norole):
    with pytest.raises(ApplicationError, match="at most 30,000 characters"):
        services.draft_save(
            actor=responder, runbook=runbook, sections=text(recovery="x" * 30_001),
            expected_version=1,
        )  # fmt: skip
    with pytest.raises(ApplicationError, match="Only responders"):
        services.draft_save(actor=norole, runbook=runbook, sections=text(), expected_version=1)
    assert Draft.objects.get(runbook=runbook).version == 1


def test_test_records_and_the_review_cycle_reminds_once_per_due_date(
    published, runbook, responder, reviewer
):
    with pytest.raises(ApplicationError, match="has passed"):
        services.test_record(
            actor=responder, runbook=runbook, tested_on=date.today() + timedelta(days=2),
            exercise="Drill", outcome="passed",
        )  # fmt: skip
    services.test_record(
        actor=responder, runbook=runbook, tested_on=date(2026, 11, 2),
        exercise="Game day", outcome="passed",
    )  # fmt: skip
    runbook.refresh_from_db()
    assert runbook.last_tested_on == date(2026, 11, 2)
    timer = Timer.objects.get(kind=services.REVIEW_TIMER, object_id=runbook.pk)
    assert timer.due_at == runbook.review_due_at
    after_due = runbook.review_due_at + timedelta(minutes=1)
    timers.sweep(after_due)
    timers.sweep(after_due + timedelta(minutes=5))
    reminded = Notification.objects.filter(reason="runbook_review_due", channel="portal")
    assert sorted(n.recipient.username for n in reminded) == ["bea", "rita"]
    # Reviewed: the next one is an interval away, reminded afresh when it comes.
    services.runbook_mark_reviewed(actor=reviewer, runbook=runbook, now=after_due)
    runbook.refresh_from_db()
    assert runbook.review_due_at == after_due + timedelta(days=90)
    timers.sweep(runbook.review_due_at + timedelta(minutes=1))
    assert reminded.all().count() == 4  # a fresh query: the first one is cached
    assert timezone.now() < runbook.review_due_at


def test_a_rename_before_publishing_is_kept(runbook, responder, reviewer, team):
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="First", expected_version=1
    )
    services.runbook_update_details(
        actor=responder, runbook=runbook, title="Queue backlog and stalls", team=team,
        components=[], incident_types=[], tags=[], review_interval_days=90,
    )  # fmt: skip
    services.review_approve(actor=reviewer, version=version)
    services.version_publish(actor=reviewer, version=version)
    runbook.refresh_from_db()
    assert runbook.title == "Queue backlog and stalls"
    assert runbook.search_text.startswith("Queue backlog and stalls")


def test_a_runbook_without_a_team_reminds_the_managers(published, runbook, manager):
    Runbook.objects.filter(pk=runbook.pk).update(team=None)
    runbook.refresh_from_db()
    timers.sweep(runbook.review_due_at + timedelta(minutes=1))
    reminded = Notification.objects.filter(
        reason="runbook_review_due", channel="portal", subject__contains="Queue backlog"
    )
    assert [n.recipient for n in reminded] == [manager]
