"""The public status page's records: plain data holding only the fields meant for the public
(DESIGN.md decision 5). The public templates, the feeds and the API see these, never a model
instance, so an internal field cannot reach an anonymous response by a slip in a template.
Built by incidents/statuspage/public.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from ..models import ComponentStatus, MaintenanceStatus
from . import rules, uptime

STATUS_LABELS = dict(ComponentStatus.choices)
MAINTENANCE_LABELS = dict(MaintenanceStatus.choices)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.STATUS_PAGE_TIME_ZONE)


def opaque(*parts) -> str:
    """A stable opaque id for rows that have none of their own (an update): 12 characters,
    like the others, derived so that it cannot be guessed from a count."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:12]


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    url: str
    time_zone: str
    updated_at: datetime

    @classmethod
    def configured(cls, updated_at: datetime) -> Page:
        """The page as the settings describe it (STATUS_PAGE_*)."""
        return cls(
            id=settings.STATUS_PAGE_ID,
            name=settings.STATUS_PAGE_NAME,
            url=settings.STATUS_PAGE_URL,
            time_zone=settings.STATUS_PAGE_TIME_ZONE,
            updated_at=updated_at,
        )


@dataclass
class PublicComponent:
    id: str
    name: str
    description: str
    status: str
    position: int
    created_at: datetime
    updated_at: datetime
    start_date: date | None
    group_id: str | None = None
    group: bool = False
    children: list[PublicComponent] = field(default_factory=list)
    days: list[uptime.Day] = field(default_factory=list)
    day_incidents: dict[date, list[str]] = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def uptime(self) -> float:
        return uptime.overall(self.days)

    @property
    def bar(self) -> list[BarDay]:
        return [
            BarDay(
                d.day,
                d.worst,
                STATUS_LABELS.get(d.worst, d.worst),
                d.uptime,
                tuple(self.day_incidents.get(d.day, ())),
            )
            for d in self.days
        ]


@dataclass(frozen=True)
class BarDay:
    day: date
    worst: str
    worst_label: str
    uptime: float
    incidents: tuple[str, ...]

    @property
    def notable(self) -> bool:
        return bool(self.incidents) or self.worst != ComponentStatus.OPERATIONAL


@dataclass(frozen=True)
class AffectedComponent:
    code: str
    name: str
    old_status: str
    new_status: str


@dataclass(frozen=True)
class PublicUpdate:
    id: str
    status: str
    body: str
    created_at: datetime
    affected_components: tuple[AffectedComponent, ...] | None

    @property
    def status_label(self) -> str:
        return rules.PUBLIC_STATUS_LABELS.get(self.status) or MAINTENANCE_LABELS.get(
            self.status, self.status
        )


@dataclass
class PublicIncident:
    id: str
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    estimated_resolution_at: datetime | None
    updates: list[PublicUpdate]
    components: list[PublicComponent]
    maintenance: bool = False
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    # Shown by the in-app banner (/status/embed.js) while open.
    in_app: bool = False

    @property
    def status_label(self) -> str:
        return rules.PUBLIC_STATUS_LABELS.get(self.status) or MAINTENANCE_LABELS.get(
            self.status, self.status
        )

    @property
    def path(self) -> str:
        kind = "maintenance" if self.maintenance else "incidents"
        return f"/status/{kind}/{self.id}/"

    @property
    def shortlink(self) -> str:
        return settings.SITE_URL.rstrip("/") + self.path

    @property
    def is_open(self) -> bool:
        if self.maintenance:
            return self.status != MaintenanceStatus.COMPLETED
        return self.status not in rules.RESOLVED_PUBLIC_STATUSES


@dataclass
class PublicState:
    page: Page
    components: list[PublicComponent]  # top level, in order: groups hold their children
    incidents: list[PublicIncident]  # public incidents, newest first
    maintenances: list[PublicIncident]  # windows, newest start first
    indicator: rules.Indicator
    generated_at: datetime
    first_day: date
    last_day: date
    # The components' records by database id, for pages built from the same read (history).
    components_by_pk: dict[int, PublicComponent] = field(default_factory=dict, repr=False)

    @property
    def flat_components(self) -> list[PublicComponent]:
        """Statuspage's component list: each group followed by its children."""
        flat = []
        for c in self.components:
            flat.append(c)
            flat.extend(c.children)
        return flat

    @property
    def leaf_components(self) -> list[PublicComponent]:
        return [c for c in self.flat_components if not c.group]

    @property
    def open_incidents(self) -> list[PublicIncident]:
        return [i for i in self.incidents if i.is_open]

    @property
    def active_maintenances(self) -> list[PublicIncident]:
        active = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
        return [m for m in self.maintenances if m.status in active]

    @property
    def upcoming_maintenances(self) -> list[PublicIncident]:
        found = [m for m in self.maintenances if m.status == MaintenanceStatus.SCHEDULED]
        return sorted(found, key=lambda m: m.scheduled_for)
