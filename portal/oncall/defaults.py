"""The spec's alert-routing framework ("Response Activation") as the default escalation
policy, created after every migrate when no policy exists, so a fresh install pages by the
procedures before anyone edits it (and a test database flushed between tests gets it back).
The escalation managers' schedule starts empty: until an admin fills it, that step falls
through to the Manager group."""

from django.conf import settings
from django.db import transaction

# severity -> window -> (tracked for next business day, [(wait minutes, [target kinds])])
R1, R2, LEAD, QUEUE, MANAGERS = "responder_1", "responder_2", "team_lead", "team_queue", "schedule"
ROUTES = {
    "P1": {
        "working": (False, [(5, [R1]), (5, [R2]), (10, [MANAGERS])]),
        "after_hours": (False, [(5, [R1]), (5, [R2]), (10, [MANAGERS])]),
    },
    "P2": {
        "working": (False, [(10, [R1]), (10, [R2]), (15, [LEAD])]),
        "after_hours": (False, [(10, [R1]), (10, [R2])]),
    },
    "P3": {
        "working": (False, [(30, [R1]), (60, [LEAD])]),
        "after_hours": (True, [(30, [R1]), (60, [LEAD])]),
    },
    "P4": {
        "working": (False, [(60, [QUEUE])]),
        "after_hours": (True, [(60, [QUEUE])]),
    },
}


def ensure_default_policy(**kwargs) -> None:
    from .models import (
        EscalationPolicy,
        EscalationRoute,
        EscalationStep,
        OnCallSchedule,
        StepTarget,
    )

    if EscalationPolicy.objects.exists():
        return
    with transaction.atomic():
        managers, _ = OnCallSchedule.objects.get_or_create(
            slug="escalation-managers",
            defaults={
                "name": "Escalation managers",
                "time_zone": settings.TIME_ZONE,
                "description": "The managers P1 pages escalate to after the secondary on-call.",
            },
        )
        policy = EscalationPolicy.objects.create(
            name="Incident response routing",
            slug="default",
            time_zone=settings.TIME_ZONE,
            is_default=True,
            description="The procedures' alert-routing framework (Response Activation).",
        )
        for severity, windows in ROUTES.items():
            for window, (deferred, steps) in windows.items():
                route = EscalationRoute.objects.create(
                    policy=policy, severity=severity, window=window, next_business_day=deferred
                )
                for position, (wait, kinds) in enumerate(steps):
                    step = EscalationStep.objects.create(
                        route=route, position=position, wait_minutes=wait
                    )
                    for kind in kinds:
                        StepTarget.objects.create(
                            step=step, kind=kind, schedule=managers if kind == MANAGERS else None
                        )
