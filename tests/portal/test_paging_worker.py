"""Integration (issue 11): a real Celery worker and beat, through the configured broker (Redis
in CI), escalate a P1 through its three steps with the policy's minutes shortened to seconds
by configuration; the SMS of each step reaches a local HTTP provider once, with its
idempotency key, after its step was due."""

import uuid

import pytest
from django.utils import timezone

from incidents.models import Source
from portal.models import Escalation, Notification, Page
from tests.portal.conftest import wait_for
from tests.portal.oncall_fixtures import on_call_team, verified
from tests.portal.test_celery_worker import CeleryProcesses

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery(tmp_path):
    processes = CeleryProcesses(tmp_path)
    yield processes
    processes.stop()


def test_a_p1_escalates_through_three_steps_on_a_real_worker_and_beat(
    declare, make_user, celery, http_provider, settings
):
    provider = http_provider()
    team = on_call_team(make_user)
    for n, person in enumerate((team.primary, team.secondary, team.escalation_manager)):
        verified(person, "sms", f"+491510000000{n}")
    # Every moment is a working hour, so the P1 route is the same whenever this runs.
    from portal.oncall.routing import default_policy

    policy = default_policy()
    policy.working_start, policy.working_end = "00:00", "23:59:59"
    policy.save()
    pages_queue = f"pages-test-{uuid.uuid4().hex[:8]}"
    notices_queue = f"notices-test-{uuid.uuid4().hex[:8]}"
    # One policy minute lasts 1 s: steps at 0, 5 and 10 s.
    settings.ESCALATION_SECONDS_PER_MINUTE = 1.0
    settings.CELERY_PAGES_QUEUE = pages_queue
    settings.CELERY_NOTICES_QUEUE = notices_queue
    celery.env.update(
        ESCALATION_SECONDS_PER_MINUTE="1",
        SMS_PROVIDER_URL=f"{provider.url}/sms",
        CELERY_PAGES_QUEUE=pages_queue,
        CELERY_TASK_DEFAULT_QUEUE=notices_queue,
        PAGE_CONTACT_INTERVAL_SECONDS="1",
    )
    celery.worker(extra_queues=[pages_queue, notices_queue])
    celery.beat()
    started = timezone.now()
    incident = declare(
        actor=None, source=Source.ALERT, now=started, severity="P1", severity_reason="outage"
    )
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")

    def texted() -> list:
        return sorted(r["json"]["to"] for r in provider.requests)

    reached = wait_for(lambda: len(provider.requests) >= 3, timeout=60)
    assert reached, f"{texted()}\n" + celery.log()[-4000:]
    assert texted() == ["+4915100000000", "+4915100000001", "+4915100000002"]
    pages = list(Page.objects.filter(escalation=escalation).order_by("step"))
    assert [(p.step, p.user) for p in pages] == [
        (0, team.primary),
        (1, team.secondary),
        (2, team.escalation_manager),
    ]
    # Each SMS arrived after its step was due, with the outbox row's key as idempotency key.
    rows = {
        r.idempotency_key: r
        for r in Notification.objects.filter(
            idempotency_key__startswith=f"page:{escalation.pk}:", channel="sms"
        )
    }
    assert len(rows) == 3
    for request in provider.requests:
        key = request["headers"]["Idempotency-Key"]
        assert key in rows and request["json"]["idempotency_key"] == key
        assert request["at"] >= rows[key].due_at.timestamp() - 0.05
    # Steps at 0 and 5 s; the third 5 s after the second was paged (a sweep a second late
    # gives the next person the whole wait), so at 10 s and at most a sweep or two later.
    dues = [(p.due_at - started).total_seconds() for p in pages]
    assert dues[:2] == [0, 5] and 10 <= dues[2] <= 12.5, dues
    celery.stop()
    assert len(provider.requests) == 3  # each page sent once
