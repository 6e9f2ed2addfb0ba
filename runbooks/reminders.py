"""The review cycle's durable timer (spec "Regular review cycle independent of incidents"):
when a runbook's review falls due, its owning team (else the Managers) is reminded, once
per due date: the outbox key names the date, so a repeated fire reminds nobody twice and a
new due date is reminded afresh."""

from datetime import datetime

from incidents.services.notices import managers
from portal import notifications, timers
from portal.models import Timer

from .models import Runbook
from .services import REVIEW_TIMER


@timers.register(REVIEW_TIMER)
def review_due(timer: Timer, now: datetime) -> None:
    runbook = Runbook.objects.select_related("team").filter(pk=timer.object_id).first()
    if runbook is None or runbook.current_id is None or runbook.review_due_at is None:
        return
    if runbook.review_due_at > now:
        return  # reviewed since: the new due date has its own timer
    people = list(runbook.team.members.filter(is_active=True)) if runbook.team else []
    if not people:
        people = list(managers())
    notifications.notify(
        key=f"runbook-review-due:{runbook.pk}:{runbook.review_due_at.isoformat()}",
        reason="runbook_review_due",
        recipients=people,
        subject=f"Runbook review due: {runbook.title}",
        body=(
            f"{runbook.title} is due for its review (every {runbook.review_interval_days} "
            "days). Check it still matches the system; mark it reviewed, or update it."
        ),
        url=runbook.get_absolute_url(),
        now=now,
    )
