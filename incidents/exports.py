"""CSV export of the incident list for managers."""

import csv
from collections.abc import Iterator
from datetime import timedelta

from portal.models import display_name

from .models import Incident
from .selectors import prefetched_commander

HEADER = [
    "reference",
    "title",
    "severity",
    "status",
    "type",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "resolved_at",
    "components",
    "incident_commander",
    "minutes_to_acknowledge",
    "minutes_to_mitigate",
    "minutes_to_resolve",
]
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _iso(value) -> str:
    """ISO 8601 to the second with the UTC offset: 2026-11-29T14:03:07+00:00."""
    return value.replace(microsecond=0).isoformat() if value else ""


def _minutes(value: timedelta | None) -> str:
    """A duration in whole minutes (rounded down), or empty when it has not happened."""
    return "" if value is None else str(value // timedelta(minutes=1))


def _commander(incident: Incident) -> str:
    user = prefetched_commander(incident)
    return csv_safe(display_name(user)) if user else ""


class _Echo:
    def write(self, value: str) -> str:
        return value


def incident_rows(incidents) -> Iterator[str]:
    """incidents: fetched with `selectors.with_commander` (and the components prefetched)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    incident: Incident
    for incident in incidents:
        yield writer.writerow(
            [
                incident.reference,
                csv_safe(incident.title),
                incident.severity,
                incident.status,
                incident.type,
                _iso(incident.detected_at),
                _iso(incident.declared_at),
                _iso(incident.acknowledged_at),
                _iso(incident.resolved_at),
                csv_safe("; ".join(c.name for c in incident.components.all())),
                _commander(incident),
                _minutes(incident.time_to_acknowledge),
                _minutes(incident.time_to_mitigate),
                _minutes(incident.time_to_resolve),
            ]
        )
