"""Demo on-call data (make run): schedules for the spec's team roles, the escalation matrix
and team leads, so the demo pages real people. Idempotent."""

from datetime import date

from .models import (
    MatrixEntry,
    OnCallRole,
    OnCallSchedule,
    RotationMember,
    ScheduleRotation,
)

START = date(2026, 1, 5)  # a Monday


def _schedule(name: str, slug: str, zone: str, people, team=None, description=""):
    schedule, created = OnCallSchedule.objects.get_or_create(
        slug=slug,
        defaults={"name": name, "time_zone": zone, "team": team, "description": description},
    )
    if created or not schedule.rotations.exists():
        rotation = ScheduleRotation.objects.create(schedule=schedule, name="Weekly", start=START)
        for position, person in enumerate(people):
            RotationMember.objects.create(rotation=rotation, user=person, position=position)
    return schedule


def seed(users: dict, teams: dict) -> None:
    alice, bob, dana, carol = (users[n] for n in ("alice", "bob", "dana", "carol"))
    platform, ai, security, data = (
        teams[n] for n in ("Platform", "AI Services", "Security", "Data")
    )
    for team, lead in ((platform, alice), (ai, bob), (security, dana), (data, alice)):
        if team.lead_id is None:
            team.lead = lead
            team.queue_email = f"{team.slug}-queue@example.org"
            team.save(update_fields=["lead", "queue_email"])
    primary = _schedule(
        "Primary On-call", "primary", "Europe/Berlin", [alice, bob, dana],
        description="First responder for all incidents; weekly, Monday 09:00.",
    )  # fmt: skip
    secondary = _schedule(
        "Secondary On-call", "secondary", "Europe/Berlin", [bob, dana, alice],
        description="Backup responder if the primary does not answer.",
    )  # fmt: skip
    managers = OnCallSchedule.objects.get(slug="escalation-managers")
    if not managers.rotations.exists():
        rotation = ScheduleRotation.objects.create(schedule=managers, name="Weekly", start=START)
        RotationMember.objects.create(rotation=rotation, user=carol, position=0)
    ai_engineer = _schedule("AI engineer", "ai-engineer", "America/New_York", [bob], ai)
    security_engineer = _schedule(
        "Security engineer", "security-engineer", "America/Los_Angeles", [dana], security
    )
    cto = _schedule("CTO", "cto", "Europe/London", [carol])
    for role, schedule, user in (
        ("primary_oncall", primary, None),
        ("secondary_oncall", secondary, None),
        ("engineering_manager", None, carol),
        ("operations_manager", None, carol),
        ("security_lead", None, dana),
        ("communications_lead", None, carol),
    ):
        OnCallRole.objects.get_or_create(role=role, defaults={"schedule": schedule, "user": user})
    rows = (
        ("Backend API", platform, "", primary, secondary, cto),
        ("AI Service", ai, "", ai_engineer, primary, cto),
        ("Security Event", None, "security", security_engineer, secondary, cto),
        ("Data Issues", None, "data", primary, secondary, cto),
    )
    for label, team, kind, first, second, third in rows:
        if MatrixEntry.objects.filter(label=label).exists():
            continue
        MatrixEntry.objects.create(
            label=label, team=team, incident_type=kind, first=first, second=second, third=third
        )
