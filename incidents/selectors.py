"""Read queries for the incident pages. Each page's query count is fixed, whatever the rows."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from . import bounds
from .models import (
    ACTIVE_STATUSES,
    Incident,
    IncidentChecklist,
    IncidentChecklistItem,
    ResponseRole,
    RoleAssignment,
    Status,
    TimelineEvent,
)
from .severity import SEVERITIES, SeverityLevel

# Statuses in lifecycle order, for sorting by status.
_STATUS_ORDER = Case(
    *(When(status=value, then=Value(i)) for i, value in enumerate(Status.values)),
    output_field=IntegerField(),
)
SORTS = {
    "newest": ("-declared_at", "-id"),
    "oldest": ("declared_at", "id"),
    "severity": ("severity", "-declared_at", "-id"),
    "status": (_STATUS_ORDER, "-declared_at", "-id"),
    "reference": ("reference",),
}


def _with_related(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    return qs.select_related("declared_by__profile").prefetch_related("components", "escalations")


def with_commander(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    """Prefetch the current Incident Commander: `incident.commanders` is a list of at most one
    RoleAssignment (with its user and profile); read it through `prefetched_commander`."""
    return qs.prefetch_related(
        Prefetch(
            "role_assignments",
            queryset=RoleAssignment.objects.filter(
                role=ResponseRole.COMMANDER, released_at__isnull=True
            ).select_related("user__profile"),
            to_attr="commanders",
        )
    )


def prefetched_commander(incident: Incident):
    """The User in command of an incident fetched through `with_commander`, or None."""
    return incident.commanders[0].user if incident.commanders else None


# The dashboard's "Recently resolved": what ended in the last day, for a manager arriving late.
RECENT_WINDOW = timedelta(hours=24)
RECENT_LIMIT = 20


@dataclass
class SeverityColumn:
    level: SeverityLevel
    incidents: list[Incident]


@dataclass
class Dashboard:
    columns: list[SeverityColumn]
    mine: list[Incident]  # declared by the viewer or holding a role on it
    active_count: int
    breached_count: int
    overdue_count: int
    now: datetime
    # Resolved (or since closed) in the last RECENT_WINDOW, newest first, at most RECENT_LIMIT;
    # recently_resolved_more: there were more than that.
    recently_resolved: list[Incident]
    recently_resolved_more: bool


def dashboard(user) -> Dashboard:
    """Each incident carries `commanders` (see `with_commander`)."""
    active = list(
        with_commander(_with_related(Incident.objects.active())).order_by("severity", "declared_at")
    )
    columns = [
        SeverityColumn(level, [i for i in active if i.severity == code])
        for code, level in SEVERITIES.items()
    ]
    commanding = set(
        RoleAssignment.objects.filter(
            user=user, released_at__isnull=True, incident__status__in=ACTIVE_STATUSES
        ).values_list("incident_id", flat=True)
    )
    mine = [i for i in active if i.declared_by_id == user.pk or i.pk in commanding]
    now = timezone.now()
    # Waiting for a response right now; those acknowledged late are history, not an alarm.
    breached = sum(
        1 for i in active if i.response_state(now) == "breached" and not i.acknowledged_at
    )
    overdue = sum(1 for i in active if i.update_state(now) == "overdue")
    resolved = Incident.objects.filter(
        status__in=(Status.RESOLVED, Status.CLOSED), resolved_at__gte=now - RECENT_WINDOW
    )
    recent = list(with_commander(resolved).order_by("-resolved_at", "-id")[: RECENT_LIMIT + 1])
    return Dashboard(
        columns,
        mine,
        len(active),
        breached,
        overdue,
        now,
        recently_resolved=recent[:RECENT_LIMIT],
        recently_resolved_more=len(recent) > RECENT_LIMIT,
    )


def _day_start(day: date) -> datetime:
    """Midnight of a date in the viewer's zone, as an aware datetime (index-friendly)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def incident_list(filters: dict) -> QuerySet[Incident]:
    qs = Incident.objects.all()
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(reference__icontains=q) | Q(title__icontains=q) | Q(summary__icontains=q))
    if filters.get("status"):
        wanted = set(filters["status"])
        if "active" in wanted:
            wanted.discard("active")
            wanted.update(ACTIVE_STATUSES)
        qs = qs.filter(status__in=wanted)
    if filters.get("severity"):
        qs = qs.filter(severity__in=filters["severity"])
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("component"):
        qs = qs.filter(components=filters["component"])
    # Clamped for callers that skip the form, whose bounds say the same.
    today = timezone.localdate()
    if filters.get("date_from"):
        start = bounds.clamp_filter_date(filters["date_from"], today)
        qs = qs.filter(declared_at__gte=_day_start(start))
    if filters.get("date_to"):
        end = bounds.clamp_filter_date(filters["date_to"], today)
        qs = qs.filter(declared_at__lt=_day_start(end + timedelta(days=1)))
    order = SORTS.get(filters.get("sort") or "newest", SORTS["newest"])
    return _with_related(qs.order_by(*order))


def _no_such_reference(reference: str) -> bool:
    """A NUL is in no reference, and PostgreSQL refuses it in a query: answer "not found"."""
    return "\x00" in reference


def incident_by_reference(reference: str) -> Incident:
    if _no_such_reference(reference):
        raise Http404("No such incident.")
    return get_object_or_404(Incident, reference=reference)


def incident_detail(reference: str) -> Incident:
    if _no_such_reference(reference):
        raise Http404("No such incident.")
    checklist_items = IncidentChecklistItem.objects.select_related("done_by__profile", "done_event")
    return get_object_or_404(
        Incident.objects.select_related("declared_by__profile").prefetch_related(
            "components",
            Prefetch(
                "checklists",
                queryset=IncidentChecklist.objects.prefetch_related(
                    Prefetch("items", queryset=checklist_items)
                ),
            ),
        ),
        reference=reference,
    )


TIMELINE_PAGE = 100


@dataclass
class Timeline:
    events: list[TimelineEvent]
    total: int
    newest_first: bool
    last_id: int = 0
    delta: bool = False  # only the events after the viewer's newest, to add to the page

    @property
    def hidden(self) -> int:
        return 0 if self.delta else self.total - len(self.events)


# Events whose arrival changes earlier entries (a key mark stars an older event): the live
# refresh then re-renders the whole timeline instead of adding to it.
REWRITING_KINDS = ("key_event",)


def timeline(
    incident: Incident,
    *,
    newest_first: bool = False,
    limit: int | None = TIMELINE_PAGE,
    after: int | None = None,
) -> Timeline:
    """The incident's events, the most recent `limit` of them (all with limit=None), in the
    order asked for. A war room with thousands of events stays fast; "show all" is a click.
    With `after` (a live refresh), just the newer events, unless one of them rewrites others."""
    qs = incident.events.prefetch_related("actor__profile").order_by("-id")
    if after is not None:
        newer = list(qs.filter(id__gt=after)[:TIMELINE_PAGE])
        if not any(e.kind in REWRITING_KINDS for e in newer):
            if not newest_first:
                newer.reverse()
            last = max((e.pk for e in newer), default=after)
            return Timeline(newer, len(newer), newest_first, last_id=last, delta=True)
    total = incident.events.count()
    events = list(qs[:limit] if limit else qs)
    last = max((e.pk for e in events), default=0)
    if not newest_first:
        events.reverse()
    return Timeline(events, total, newest_first, last_id=last)


@dataclass
class RoleSlot:
    role: str
    label: str
    holder: object | None  # the User holding it, or None


@dataclass
class Move:
    to: str
    transition: object  # transitions.Transition
    allowed: bool  # for this viewer
    who: str  # who may, in words


@dataclass
class WarRoom:
    """Everything the live incident page shows besides the timeline."""

    roles: list[RoleSlot]
    updates: list
    escalations: list
    paging: list  # the incident's escalations (pages), newest first
    alerts: list  # the monitoring alerts of the incident's alert groups, latest first
    related: list  # other active incidents on the same components (spec: "known issues")
    page_targets: dict
    failed_notifications: list
    transitions: dict
    assignable: list
    open_circuits: list
    key_event_ids: set[int]
    next_update_number: int
    commander: object | None  # the User in command, or None
    final_update_public: bool  # resolving will post a public final update
    # What the viewer may do (the authority table): each allowed move with who may make it,
    # and whether they may take or hand over command.
    moves: list[Move]
    may_take_command: bool
    may_hand_over: bool
    update_offer: bool  # the status moved on since the last update


def _alerts_of(incident: Incident) -> list:
    """The incident's alerts, latest first, each with .labels_shown: the labels that tell it
    from the others ("instance=db-2"), not those every one of them shares or that the
    incident already shows (name, severity, component, type)."""
    from .models import Alert

    alerts = list(Alert.objects.filter(group__incident=incident).select_related("integration")[:50])
    shared = (
        set.intersection(*(set(a.labels.items()) for a in alerts)) if len(alerts) > 1 else set()
    )
    for a in alerts:
        i = a.integration
        known = {"alertname", i.severity_label, i.component_label, i.type_label}
        shown = [(k, v) for k, v in sorted(a.labels.items()) if k not in known]
        a.labels_shown = ", ".join(f"{k}={v}" for k, v in shown if (k, v) not in shared)[:200]
    return alerts


def war_room(incident: Incident, event_ids: list[int], viewer) -> WarRoom:
    from django.contrib.auth import get_user_model

    from portal import notifications
    from portal.models import Notification
    from portal.oncall import selectors as oncall_selectors

    from . import authority, transitions
    from .models import KeyEvent, ResponseRole, RoleAssignment
    from .services.updates import final_audience

    holders = {
        a.role: a.user
        for a in RoleAssignment.objects.filter(
            incident=incident, released_at__isnull=True
        ).select_related("user__profile")
    }
    roles = [RoleSlot(value, label, holders.get(value)) for value, label in ResponseRole.choices]
    updates = list(incident.status_updates.select_related("posted_by__profile")[:10])
    next_number = updates[0].number + 1 if updates else 1
    escalations = list(incident.escalations.all())
    failed = list(
        # Failing, given up, or skipped (no sender for the channel, no address): never silent.
        Notification.objects.filter(topic=f"incident:{incident.pk}")
        .filter(Q(attempts__gt=0) | Q(status=Notification.Status.SKIPPED))
        .exclude(status=Notification.Status.SENT)
        .select_related("recipient__profile")[:20]
    )
    assignable = list(
        get_user_model()
        .objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .select_related("profile")
        .order_by("username")
    )
    keys = set(KeyEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))
    commander = holders.get(ResponseRole.COMMANDER)

    def may(action: str, **kwargs) -> bool:
        return authority.allows(action, viewer, incident, **kwargs)

    moves = []
    for to, transition in transitions.allowed(incident.status).items():
        who = authority.who_may(transition.action, incident, commander=commander)
        moves.append(Move(to, transition, may(transition.action, commander=commander), who))
    # The status moved on (or it was verified) since the last update: offer to post one.
    changed = (
        incident.events.filter(kind__in=("status_changed", "verified"))
        .order_by("-id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    offer = (
        incident.accepts_status_updates
        and incident.status != Status.RESOLVED
        and changed is not None
        and (not updates or updates[0].posted_at < changed)
    )
    return WarRoom(
        update_offer=offer,
        roles=roles,
        updates=updates,
        escalations=escalations,
        paging=oncall_selectors.escalations_for(f"incident:{incident.pk}"),
        alerts=_alerts_of(incident),
        related=list(
            Incident.objects.active()
            .filter(components__in=incident.components.all())
            .exclude(pk=incident.pk)
            .distinct()
            .order_by("severity", "-declared_at")[:5]
        ),
        page_targets=oncall_selectors.page_targets(),
        failed_notifications=failed,
        transitions=transitions.allowed(incident.status),
        open_circuits=notifications.open_circuits() if failed else [],
        assignable=assignable,
        key_event_ids=keys,
        next_update_number=next_number,
        commander=commander,
        final_update_public=final_audience(incident) == "public",
        moves=moves,
        may_take_command=commander is None and may("take_command", commander=None),
        may_hand_over=commander is not None and may("hand_over_command", commander=commander),
    )


def impact_summary(incident: Incident) -> list[tuple[str, list[tuple[str, str]]]]:
    """The impact assessment as the page shows it, group by group (from the model's groups):
    each field with its value, and the group's yes/no concerns on one line."""
    from django.db.models import BooleanField
    from django.utils.text import capfirst

    from .impact import IMPACT_GROUPS
    from .services.base import display

    groups = []
    for label, names in IMPACT_GROUPS:
        rows, concerns, has_flags = [], [], False
        for name in names:
            field = Incident._meta.get_field(name)
            value = getattr(incident, name)
            if isinstance(field, BooleanField):
                has_flags = True
                if value:
                    concerns.append(capfirst(field.verbose_name))
            else:
                shown = display(incident, name, value)
                if name == "users_affected_percent" and shown:
                    shown += "%"
                rows.append((capfirst(field.verbose_name), shown or "Unknown"))
        if has_flags:
            rows.append(("Concerns", "; ".join(concerns) or "None noted"))
        groups.append((label, rows))
    return groups


def newest_notice(user) -> int | None:
    from portal.models import Notification

    return (
        Notification.objects.filter(recipient=user, channel=Notification.Channel.PORTAL)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )


def poll_state(reference: str, user) -> tuple | None:
    """What a live page compares against: the incident's change stamp and the viewer's newest
    in-portal notification. One indexed query (the notification is a subquery)."""
    from django.db.models import Subquery

    from portal.models import Notification

    if _no_such_reference(reference):
        return None
    newest = (
        Notification.objects.filter(recipient=user, channel=Notification.Channel.PORTAL)
        .order_by("-id")
        .values("id")[:1]
    )
    rows = (
        Incident.objects.filter(reference=reference)
        .order_by()
        .annotate(notice=Subquery(newest))
        .values_list("changed_at", "notice")[:1]
    )
    return next(iter(rows), None)


def form_stamp(reference: str, kind: str, data) -> dict:
    """What a war-room form is written for now (after a refusal because it was stale): the
    values of its hidden stamps, and what the page shows for them."""
    from django.utils.text import capfirst

    from .models import ResponseRole, StatusUpdate

    incident = incident_by_reference(reference)
    if kind == "update":
        number = StatusUpdate.next_number_for(incident)
        return {
            "form": "update",
            "fields": {"for_number": number, "for_status": incident.status},
            "stamp": f"{number}:{incident.status}",
            "heading": f"Incident #{incident.reference} - {incident.title} - Update #{number} · "
            f"Status: {incident.get_status_display()}",
        }
    if kind == "status":
        return {
            "form": f"status-{data.get('to', '')}",
            "fields": {"from_status": incident.status},
            "stamp": incident.status,
        }
    role = data.get("role", "")
    holder = RoleAssignment.objects.current(incident, role) if role in ResponseRole.values else None
    from portal.models import display_name

    return {
        "form": "role",
        "role": role,
        "fields": {"holder": holder.user_id if holder else ""},
        "holder_name": capfirst(display_name(holder.user)) if holder else "",
    }
