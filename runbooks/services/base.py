"""What every runbook service shares: who may act, text limits, the sections, the owning
team and links. The services follow the spec's update process (draft, review with relevant
teams, test, publish and communicate); each runs in one transaction, checks who may act, and
raises ApplicationError (nothing written) when a rule is broken (DESIGN.md decision 1)."""

from datetime import datetime

from portal import notifications
from portal.errors import ApplicationError

from ..models import (
    SECTION_KEYS,
    SECTION_MAX,
    SECTION_TITLES,
    Runbook,
    Version,
)

EDIT_PERM = "runbooks.change_runbook"
UNREVIEWED_PERM = "runbooks.publish_unreviewed"
REVIEW_TIMER = "runbooks.review_due"
NOTE_MAX = 2000
COMMENT_MAX = 5000
MAX_TAGS = 20


def _require(actor, perm: str = EDIT_PERM, what: str = "edit runbooks") -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise ApplicationError(f"Only responders may {what}.")


def _text(value: str, label: str, limit: int, *, field: str, required: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(required, field=field)
    if len(value) > limit:
        raise ApplicationError(
            f"{label}: at most {limit:,} characters (it has {len(value):,}).", field=field
        )
    return value


def clean_sections(sections: dict) -> dict[str, str]:
    unknown = set(sections) - set(SECTION_KEYS)
    if unknown:
        raise ApplicationError(f"There is no section {sorted(unknown)[0]!r}.")
    cleaned = {}
    for key in SECTION_KEYS:
        value = (sections.get(key) or "").replace("\r\n", "\n").replace("\x00", "").strip()
        if len(value) > SECTION_MAX:
            raise ApplicationError(
                f"{SECTION_TITLES[key]}: at most {SECTION_MAX:,} characters "
                f"(it has {len(value):,}).",
                field=key,
            )
        cleaned[key] = value
    return cleaned


# --- drafts ----------------------------------------------------------------------------


def _team_members(runbook: Runbook) -> list:
    if runbook.team is None:
        return []
    return [u for u in runbook.team.members.all() if u.is_active]


def _tell_reviewers(version: Version, author, now: datetime) -> None:
    others = [u for u in _team_members(version.runbook) if u != author]
    if not others:
        return
    notifications.notify(
        key=f"runbook-review:{version.pk}",
        reason="runbook_review_requested",
        recipients=others,
        subject=f"Review requested: {version} ({version.runbook.title})",
        body=version.change_note,
        url=version.get_absolute_url(),
        now=now,
    )
