"""CSV export of the incident list for managers."""

import csv
from collections.abc import Iterator

from .models import Incident

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
]
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _iso(value) -> str:
    return value.isoformat() if value else ""


class _Echo:
    def write(self, value: str) -> str:
        return value


def incident_rows(incidents) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    incident: Incident
    for incident in incidents:
        yield writer.writerow(
            [
                incident.reference,
                _safe(incident.title),
                incident.severity,
                incident.status,
                incident.type,
                _iso(incident.detected_at),
                _iso(incident.declared_at),
                _iso(incident.acknowledged_at),
                _iso(incident.resolved_at),
                _safe("; ".join(c.name for c in incident.components.all())),
            ]
        )
