"""The spec's "Status Transition Criteria" as data: which status may follow which, what each
transition must record (and where), and which milestone it stamps. The service enforces it."""

from dataclasses import dataclass

from .models import Status


@dataclass(frozen=True)
class Transition:
    to: str
    note_label: str  # what the required note means for this transition
    records: str | None  # Incident field the note is kept in
    stamps: str | None  # Incident milestone stamped when first reached
    criterion: str = ""  # the spec's criterion for the move, where it gives one
    action: str = "change_status"  # who may make it: the action in authority.AUTHORITY


IDENTIFIED = Transition(
    Status.IDENTIFIED, "Root cause", "root_cause", "identified_at", "Root cause determined"
)
MONITORING = Transition(
    Status.MONITORING,
    "Mitigation applied",
    "mitigation",
    "mitigated_at",
    "Fix implemented, verifying resolution",
)
RESOLVED = Transition(
    Status.RESOLVED,
    "Resolution summary",
    "resolution_summary",
    "resolved_at",
    "Normal operation confirmed for adequate period",
    action="resolve",
)
CLOSED = Transition(Status.CLOSED, "Follow-up", "followup_note", "closed_at", action="close")

TRANSITIONS: dict[str, dict[str, Transition]] = {
    Status.INVESTIGATING: {
        Status.IDENTIFIED: IDENTIFIED,
        # Mitigating before the root cause is known is allowed: stop the bleeding first.
        Status.MONITORING: MONITORING,
    },
    Status.IDENTIFIED: {
        Status.MONITORING: MONITORING,
        Status.INVESTIGATING: Transition(
            Status.INVESTIGATING, "Why the root cause is in doubt again", None, None
        ),
    },
    Status.MONITORING: {
        Status.RESOLVED: RESOLVED,
        Status.INVESTIGATING: Transition(
            Status.INVESTIGATING, "Why the mitigation did not hold", None, None
        ),
    },
    Status.RESOLVED: {
        Status.CLOSED: CLOSED,
        Status.INVESTIGATING: Transition(
            Status.INVESTIGATING, "Reason for re-opening", None, None, action="reopen"
        ),
    },
}


def allowed(from_status: str) -> dict[str, Transition]:
    return TRANSITIONS.get(from_status, {})
