"""The public data of the status page (DESIGN.md decision 5), read from the database in a
fixed number of queries into the records of incidents/statuspage/records.py, which hold only
the fields meant for the public."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Prefetch, Q
from django.utils import timezone

from ..models import (
    Audience,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    StatusUpdate,
)
from . import rules, uptime
from .records import (
    AffectedComponent,
    Page,
    PublicComponent,
    PublicIncident,
    PublicState,
    PublicUpdate,
    opaque,
    zone,
)

__all__ = ["Page", "PublicComponent", "PublicIncident", "PublicState", "PublicUpdate", "zone"]

UPTIME_DAYS = 90
LIST_LIMIT = 50  # Statuspage's list endpoints return the 50 most recent
MONTHS_PER_PAGE = 3
# What the snapshot holds ready: older incidents and history pages are read on demand.
SNAPSHOT_DAYS = 365
SNAPSHOT_HISTORY_PAGES = 4


def public_incidents():
    """The incidents the public may see: public, and never in Triage or a false alarm."""
    return Incident.objects.filter(is_public=True).exclude(status__in=rules.NEVER_PUBLIC_STATUSES)


def _public_updates():
    return StatusUpdate.objects.filter(audience=Audience.PUBLIC).only(
        "id", "incident_id", "number", "status", "public_body", "posted_at"
    )


def _component_record(c: Component, position: int, group_id: str | None) -> PublicComponent:
    return PublicComponent(
        id=c.public_id,
        name=rules.publishable(c.name),
        description=rules.publishable(c.description),
        status=c.status,
        position=position,
        created_at=c.created_at,
        updated_at=c.status_changed_at,
        start_date=c.created_at.astimezone(zone()).date(),
        group_id=group_id,
    )


def _components() -> tuple[list[PublicComponent], dict[int, PublicComponent]]:
    ordered = Component.objects.order_by("position", "name")
    groups = ComponentGroup.objects.prefetch_related(Prefetch("components", queryset=ordered))
    top: list[PublicComponent] = []
    by_pk: dict[int, PublicComponent] = {}
    position = 0
    for g in groups:
        members = list(g.components.all())
        if not members:
            continue
        position += 1
        record = PublicComponent(
            id=g.public_id,
            name=rules.publishable(g.name),
            description="",
            status=_group_status([m.status for m in members]),
            position=position,
            created_at=g.created_at,
            updated_at=max([g.created_at, *(m.status_changed_at for m in members)]),
            start_date=None,
            group=True,
        )
        top.append(record)
        for m in members:
            position += 1
            child = _component_record(m, position, g.public_id)
            record.children.append(child)
            by_pk[m.pk] = child
    for c in ordered.filter(group__isnull=True):
        position += 1
        record = _component_record(c, position, None)
        top.append(record)
        by_pk[c.pk] = record
    return top, by_pk


def components() -> tuple[list[PublicComponent], dict[int, PublicComponent]]:
    """The public components: the top level (groups and ungrouped) and each by its pk."""
    return _components()


def indicator() -> rules.Indicator:
    """The page's overall status now, from the database (three small queries): what a
    notice sent right after a change says, before the snapshot is rebuilt."""
    statuses = list(Component.objects.values_list("status", flat=True))
    impacts = [
        rules.public_impact(i)
        for i in public_incidents().active().only("public_impact", "severity", "status")
    ]
    windows = list(Maintenance.objects.open().values_list("status", flat=True))
    return rules.overall(statuses, impacts, windows)


def _group_status(statuses: list[str]) -> str:
    """A group shows its worst member's status."""
    return next((s for s in uptime.SEVERITY if s in statuses), ComponentStatus.OPERATIONAL)


def _affected(changes: list[ComponentStatusChange], by_pk) -> tuple[AffectedComponent, ...]:
    return tuple(
        AffectedComponent(
            code=by_pk[ch.component_id].id if ch.component_id in by_pk else "",
            name=by_pk[ch.component_id].name if ch.component_id in by_pk else "",
            old_status=ch.old,
            new_status=ch.new,
        )
        for ch in changes
    )


def _incident_record(incident: Incident, by_pk, changes) -> PublicIncident:
    """changes: the incident's component status changes, oldest first."""
    updates = sorted(incident.public_updates, key=lambda u: u.number)
    records = []
    previous = None
    for u in updates:
        made = [
            ch
            for ch in changes
            if ch.changed_at <= u.posted_at and (previous is None or ch.changed_at > previous)
        ]
        previous = u.posted_at
        records.append(
            PublicUpdate(
                id=opaque(incident.public_id, u.number),
                status=rules.PUBLIC_STATUS.get(u.status, "investigating"),
                body=rules.publishable(u.public_body),
                created_at=u.posted_at,
                affected_components=_affected(made, by_pk) or None,
            )
        )
    records.reverse()
    published = incident.published_at or incident.declared_at
    stamps = [published, incident.public_updated_at, *(u.created_at for u in records)]
    resolved_at = incident.resolved_at if incident.status in rules.PUBLIC_STATUS else None
    if rules.public_status(incident) in rules.RESOLVED_PUBLIC_STATUSES:
        stamps.append(resolved_at)
    else:
        resolved_at = None
    return PublicIncident(
        id=incident.public_id,
        name=rules.publishable(rules.public_title(incident)),
        status=rules.public_status(incident),
        impact=rules.public_impact(incident),
        created_at=published,
        updated_at=max(s for s in stamps if s is not None),
        started_at=incident.detected_at,
        monitoring_at=incident.mitigated_at,
        resolved_at=resolved_at,
        # An estimate that has passed is not shown (the page is rebuilt when it passes).
        estimated_resolution_at=(
            incident.estimated_resolution_at
            if incident.is_active
            and incident.estimated_resolution_at
            and incident.estimated_resolution_at > timezone.now()
            else None
        ),
        updates=records,
        components=[by_pk[c.pk] for c in incident.components.all() if c.pk in by_pk],
        in_app=rules.in_app(incident),
    )


def incidents(queryset, by_pk) -> list[PublicIncident]:
    rows = list(
        queryset.prefetch_related(
            Prefetch("status_updates", queryset=_public_updates(), to_attr="public_updates"),
            Prefetch("components", queryset=Component.objects.only("pk")),
        ).order_by("-published_at", "-pk")
    )
    changes: dict[int, list[ComponentStatusChange]] = {}
    for ch in ComponentStatusChange.objects.filter(incident__in=[i.pk for i in rows]).order_by(
        "changed_at", "pk"
    ):
        changes.setdefault(ch.incident_id, []).append(ch)
    return [_incident_record(i, by_pk, changes.get(i.pk, [])) for i in rows]


def _maintenance_record(m: Maintenance, by_pk) -> PublicIncident:
    updates = [
        PublicUpdate(
            id=opaque("m", m.public_id, u.pk),
            status=u.status,
            body=rules.publishable(u.body),
            created_at=u.posted_at,
            affected_components=None,
        )
        for u in m.updates.all()
    ]
    return PublicIncident(
        id=m.public_id,
        name=rules.publishable(m.title),
        status=m.status,
        impact="maintenance",
        created_at=m.created_at,
        updated_at=m.updated_at,
        started_at=m.started_at or m.starts_at,
        monitoring_at=None,
        resolved_at=m.completed_at,
        estimated_resolution_at=None,
        updates=updates,
        components=[by_pk[c.pk] for c in m.components.all() if c.pk in by_pk],
        maintenance=True,
        scheduled_for=m.starts_at,
        scheduled_until=m.ends_at,
    )


def maintenances(queryset, by_pk) -> list[PublicIncident]:
    rows = queryset.prefetch_related(
        Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("-posted_at", "-id")),
        Prefetch("components", queryset=Component.objects.only("pk")),
    ).order_by("-starts_at", "-pk")
    return [_maintenance_record(m, by_pk) for m in rows]


def _uptime(components: dict[int, PublicComponent], first: date, last: date, now: datetime):
    z = zone()
    start = datetime.combine(first, datetime.min.time(), tzinfo=z)
    changes: dict[int, list[ComponentStatusChange]] = {}
    for ch in ComponentStatusChange.objects.filter(changed_at__gte=start).order_by(
        "changed_at", "pk"
    ):
        changes.setdefault(ch.component_id, []).append(ch)
    for pk, record in components.items():
        own = changes.get(pk, [])
        before = own[0].old if own else record.status
        record.days = uptime.days(
            [(ch.changed_at, ch.new) for ch in own],
            status_before=before,
            first=first,
            last=last,
            zone=z,
            now=now,
        )


def _day_incidents(by_pk, items: list[PublicIncident], first: date, now: datetime) -> None:
    """Which public incidents touched each component on each day (the bar's tooltip)."""
    z = zone()
    for item in items:
        if item.maintenance:
            continue
        start = item.started_at.astimezone(z).date()
        end = (item.resolved_at or now).astimezone(z).date()
        day = max(start, first)
        while day <= end:
            for c in item.components:
                c.day_incidents.setdefault(day, []).append(item.name)
            day += timedelta(days=1)


def state(now: datetime | None = None) -> PublicState:
    now = now or timezone.now()
    z = zone()
    top, by_pk = _components()
    last = now.astimezone(z).date()
    first = last - timedelta(days=UPTIME_DAYS - 1)
    _uptime(by_pk, first, last, now)
    since = now - timedelta(days=SNAPSHOT_DAYS)
    recent = incidents(
        public_incidents().filter(
            Q(published_at__gte=since)
            | Q(status__in=rules.PUBLIC_STATUS) & ~Q(resolved_at__lt=since)
        ),
        by_pk,
    )
    windows = maintenances(
        Maintenance.objects.filter(Q(ends_at__gte=since) | ~Q(status=MaintenanceStatus.COMPLETED)),
        by_pk,
    )
    _day_incidents(by_pk, recent, first, now)
    indicator = rules.overall(
        [c.status for c in by_pk.values()],
        [i.impact for i in recent if i.is_open],
        [m.status for m in windows],
    )
    stamps = [now - timedelta(days=3650)]
    stamps += [c.updated_at for c in by_pk.values()]
    stamps += [i.updated_at for i in recent] + [m.updated_at for m in windows]
    page = Page.configured(updated_at=max(stamps))
    return PublicState(page, top, recent, list(windows), indicator, now, first, last, by_pk)


def one_incident(public_id: str, by_pk=None) -> PublicIncident | None:
    """An incident older than the snapshot holds, read on demand."""
    if by_pk is None:
        _, by_pk = _components()
    found = incidents(public_incidents().filter(public_id=public_id), by_pk)
    return found[0] if found else None


def one_maintenance(public_id: str, by_pk=None) -> PublicIncident | None:
    if by_pk is None:
        _, by_pk = _components()
    found = maintenances(Maintenance.objects.filter(public_id=public_id), by_pk)
    return found[0] if found else None


def history_months(page: int, today: date) -> list[date]:
    """The first days of the months page `page` (1 = the newest) covers, newest first."""
    months = []
    year, month = today.year, today.month
    skip = (page - 1) * MONTHS_PER_PAGE
    for i in range(skip, skip + MONTHS_PER_PAGE):
        y, m = year, month - i
        while m <= 0:
            m += 12
            y -= 1
        months.append(date(y, m, 1))
    return months


def history_page_count(today: date) -> int:
    """Pages back to the month of the oldest public incident or window (at least one)."""
    oldest = [
        public_incidents().order_by("published_at").values_list("published_at", flat=True).first(),
        Maintenance.objects.order_by("starts_at").values_list("starts_at", flat=True).first(),
    ]
    oldest = [o.astimezone(zone()).date() for o in oldest if o is not None]
    if not oldest:
        return 1
    first = min(oldest)
    months = (today.year - first.year) * 12 + today.month - first.month
    return max(1, months // MONTHS_PER_PAGE + 1)


def history(page: int, today: date, by_pk=None) -> list[tuple[date, list[PublicIncident]]]:
    """One history page: its months, newest first, each with its incidents and windows."""
    z = zone()
    months = history_months(page, today)
    start = datetime.combine(months[-1], datetime.min.time(), tzinfo=z)
    newest = months[0]
    after = date(newest.year + newest.month // 12, newest.month % 12 + 1, 1)
    end = datetime.combine(after, datetime.min.time(), tzinfo=z)
    if by_pk is None:
        _, by_pk = _components()
    items = incidents(
        public_incidents().filter(published_at__gte=start, published_at__lt=end), by_pk
    )
    items += maintenances(
        Maintenance.objects.filter(starts_at__gte=start, starts_at__lt=end), by_pk
    )
    by_month: dict[date, list[PublicIncident]] = {m: [] for m in months}
    for item in items:
        when = (item.scheduled_for if item.maintenance else item.created_at).astimezone(z).date()
        key = date(when.year, when.month, 1)
        if key in by_month:
            by_month[key].append(item)
    for bucket in by_month.values():
        bucket.sort(key=lambda i: i.scheduled_for or i.created_at, reverse=True)
    return [(m, by_month[m]) for m in months]
