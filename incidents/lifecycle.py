"""The spec's "Status Transition Criteria" as data: which status may follow which, what each
transition must record, and which milestone it stamps. The service enforces it."""

from dataclasses import dataclass

from .models import Status


@dataclass(frozen=True)
class Transition:
    to: str
    note_label: str  # what the required note means for this transition
    stamps: str | None  # Incident field stamped once when first reached


TRANSITIONS: dict[str, dict[str, Transition]] = {
    Status.INVESTIGATING: {
        Status.IDENTIFIED: Transition(Status.IDENTIFIED, "Root cause", "identified_at"),
        Status.MONITORING: Transition(Status.MONITORING, "Mitigation applied", "mitigated_at"),
    },
    Status.IDENTIFIED: {
        Status.MONITORING: Transition(Status.MONITORING, "Mitigation applied", "mitigated_at"),
        Status.INVESTIGATING: Transition(
            Status.INVESTIGATING, "Why the root cause is in doubt again", None
        ),
    },
    Status.MONITORING: {
        Status.RESOLVED: Transition(Status.RESOLVED, "Resolution summary", "resolved_at"),
        Status.INVESTIGATING: Transition(
            Status.INVESTIGATING, "Why the mitigation did not hold", None
        ),
    },
    Status.RESOLVED: {
        Status.CLOSED: Transition(Status.CLOSED, "Follow-up decided", "closed_at"),
        Status.INVESTIGATING: Transition(Status.INVESTIGATING, "Reason for re-opening", None),
    },
}


def allowed(from_status: str) -> dict[str, Transition]:
    return TRANSITIONS.get(from_status, {})
