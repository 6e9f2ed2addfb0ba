"""The status page's rules, as tables (DESIGN.md "one place for each table of rules"): which
incidents the public sees and how, and the page's overall status. Pinned by
tests/incidents/test_spec_tables.py."""

import re
from dataclasses import dataclass

from ..models import ComponentStatus, MaintenanceStatus, PublicImpact, Status

# Spec "External Status Page": "for all P1/P2 incidents". They become public once verified
# unless the incident is sensitive; every other incident is public when a person says so.
AUTO_PUBLIC_SEVERITIES = frozenset({"P1", "P2"})

# Spec: security and data-privacy incidents are disclosed as regulations require, so never
# automatically: a person decides.
SENSITIVE_TYPES = frozenset({"security"})
SENSITIVE_SUBTYPES = frozenset({"data.data_exposure"})

# Never public while unconfirmed, nor once found to be a false alarm.
NEVER_PUBLIC_STATUSES = frozenset({Status.TRIAGE, Status.FALSE_ALARM})

# The impact the public is told, proposed from severity (a person may change it).
PUBLIC_IMPACT_BY_SEVERITY = {
    "P1": PublicImpact.CRITICAL,
    "P2": PublicImpact.MAJOR,
    "P3": PublicImpact.MINOR,
    "P4": PublicImpact.NONE,
}

# The incident status the public sees (Statuspage's own four; Closed is resolved to them).
PUBLIC_STATUS = {
    Status.INVESTIGATING: "investigating",
    Status.IDENTIFIED: "identified",
    Status.MONITORING: "monitoring",
    Status.RESOLVED: "resolved",
    Status.CLOSED: "resolved",
}
PUBLIC_STATUS_LABELS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "postmortem": "Post-mortem published",
}
RESOLVED_PUBLIC_STATUSES = frozenset({"resolved", "postmortem"})


def public_status(incident) -> str:
    """Statuspage's status of an incident: its own four, and "postmortem" once a resolved
    incident's post-mortem is published."""
    status = PUBLIC_STATUS.get(incident.status, "investigating")
    if status == "resolved" and incident.postmortem_published_at:
        return "postmortem"
    return status


# The public title until a person writes one: a neutral wording of the type, never the
# internal title.
NEUTRAL_TITLES = {
    "availability": "Service disruption",
    "performance": "Degraded performance",
    "data": "Data processing issue",
    "security": "Service incident",
    "external": "Disruption at a third-party provider",
}
NEUTRAL_TITLE = "Service incident"


# Characters no XML feed may carry (and no one means to publish): C0 controls other than tab
# and newline, and the Unicode non-characters the XML spec excludes.
_UNPUBLISHABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def publishable(text: str) -> str:
    """Public text without what would break a feed (or hide in a page); CR LF becomes LF."""
    return _UNPUBLISHABLE.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


def is_sensitive(incident) -> bool:
    return incident.type in SENSITIVE_TYPES or incident.subtype in SENSITIVE_SUBTYPES


def public_title(incident) -> str:
    return incident.public_title or NEUTRAL_TITLES.get(incident.type, NEUTRAL_TITLE)


# Spec "In-app Notifications": "For P1 incidents affecting all users". A person may show or
# hide the banner for any public incident (Incident.in_app_notice).
IN_APP_SEVERITIES = frozenset({"P1"})


def affects_all_users(incident) -> bool:
    percent = incident.users_affected_percent
    return (
        incident.technical_scope == "platform"
        or incident.symptom == "complete_outage"
        or (percent is not None and percent >= 100)
    )


def in_app(incident) -> bool:
    """Whether product pages show the in-app banner for this (public) incident."""
    if incident.in_app_notice is not None:
        return incident.in_app_notice
    return incident.severity in IN_APP_SEVERITIES and affects_all_users(incident)


def public_impact(incident) -> str:
    return incident.public_impact or PUBLIC_IMPACT_BY_SEVERITY.get(
        incident.severity, PublicImpact.NONE
    )


@dataclass(frozen=True)
class Indicator:
    key: str  # Statuspage's status.indicator
    description: str  # Statuspage's status.description, the banner's words
    rank: int  # higher is worse


# The overall status, worst first: the page shows the first row any input reaches.
INDICATORS = (
    Indicator("critical", "Major System Outage", 4),
    Indicator("major", "Partial System Outage", 3),
    Indicator("minor", "Minor Service Outage", 2),
    Indicator("maintenance", "Service Under Maintenance", 1),
    Indicator("none", "All Systems Operational", 0),
)
INDICATOR = {row.key: row for row in INDICATORS}

# What each input says about the page: a component's status, an open public incident's
# impact, a maintenance window's status.
COMPONENT_INDICATOR = {
    ComponentStatus.MAJOR_OUTAGE: "critical",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.DEGRADED: "minor",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.OPERATIONAL: "none",
}
INCIDENT_INDICATOR = {
    PublicImpact.CRITICAL: "critical",
    PublicImpact.MAJOR: "major",
    PublicImpact.MINOR: "minor",
    PublicImpact.NONE: "none",
}
MAINTENANCE_INDICATOR = {
    MaintenanceStatus.SCHEDULED: "none",
    MaintenanceStatus.IN_PROGRESS: "maintenance",
    MaintenanceStatus.VERIFYING: "maintenance",
    MaintenanceStatus.COMPLETED: "none",
}


def overall(component_statuses, open_incident_impacts, maintenance_statuses) -> Indicator:
    """The page's banner from what it shows: the worst indicator any input maps to."""
    keys = [COMPONENT_INDICATOR[s] for s in component_statuses]
    keys += [INCIDENT_INDICATOR[i] for i in open_incident_impacts]
    keys += [MAINTENANCE_INDICATOR[m] for m in maintenance_statuses]
    return max((INDICATOR[k] for k in keys), key=lambda row: row.rank, default=INDICATOR["none"])
