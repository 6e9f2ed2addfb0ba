"""Writing the post-mortem: its sections, 5 Whys and fishbone, the meeting, its timeline
selection, and reviewers' comments. Every save is versioned: a form opened before someone
else's save is refused and keeps what was typed."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from incidents import bounds
from portal.errors import ApplicationError

from .. import authority
from ..models import PostMortem, ReviewComment, TimelineEntry
from ..sections import (
    MAX_FACTOR_CHARS,
    MAX_FACTORS,
    MAX_SECTION_CHARS,
    MAX_WHYS,
    SECTION_BY_NAME,
    SECTION_NAMES,
    Fishbone,
)
from .base import lock, refuse_if_published, save
from .lifecycle import TEXT_MAX

COMMENT_MAX = 5000
MAX_PARTICIPANTS = 100


@dataclass
class Draft:
    """What the edit form sends: every section, the chain, the factors and the meeting."""

    sections: dict[str, str] = field(default_factory=dict)
    five_whys: list[str] = field(default_factory=list)
    fishbone: dict[str, list[str]] = field(default_factory=dict)
    meeting_at: datetime | None = None
    participant_ids: list[int] = field(default_factory=list)
    owner_id: int | None = None


def _clean(draft: Draft) -> dict:
    fields: dict = {}
    for name, text in draft.sections.items():
        if name not in SECTION_NAMES:
            raise ApplicationError(f"There is no section {name!r}.")
        text = (text or "").strip()
        if len(text) > MAX_SECTION_CHARS:
            label = SECTION_BY_NAME[name].label
            raise ApplicationError(
                f"{label}: at most {MAX_SECTION_CHARS:,} characters (it has {len(text):,}).",
                field=name,
            )
        fields[name] = text
    whys = [w.strip() for w in draft.five_whys if w and w.strip()]
    if len(whys) > MAX_WHYS:
        raise ApplicationError(f"At most {MAX_WHYS} whys.", field="five_whys")
    for why in whys:
        if len(why) > MAX_FACTOR_CHARS * 2:
            raise ApplicationError(
                f"Each why: at most {MAX_FACTOR_CHARS * 2} characters.", field="five_whys"
            )
    fields["five_whys"] = whys
    fishbone = {}
    for name, factors in draft.fishbone.items():
        if name not in Fishbone.NAMES:
            raise ApplicationError(f"There is no fishbone category {name!r}.")
        factors = [f.strip() for f in factors if f and f.strip()]
        label = Fishbone.LABELS[name]
        if len(factors) > MAX_FACTORS:
            raise ApplicationError(f"{label}: at most {MAX_FACTORS} factors.", field="fishbone")
        if any(len(f) > MAX_FACTOR_CHARS for f in factors):
            raise ApplicationError(
                f"{label}: each factor at most {MAX_FACTOR_CHARS} characters.", field="fishbone"
            )
        if factors:
            fishbone[name] = factors
    fields["fishbone"] = fishbone
    fields["meeting_at"] = draft.meeting_at
    return fields


def _within(at: datetime | None, postmortem: PostMortem, what: str, field: str) -> None:
    if at is None:
        return
    error = bounds.postmortem_time_error(at, postmortem.incident.detected_at, what)
    if error:
        raise ApplicationError(error, field=field)


def _people(ids: list[int], what: str, keep: set[int] = frozenset()) -> list:
    """The people named, all active, except those in `keep` (participants recorded before
    they left stay on the record)."""
    users = list(get_user_model().objects.filter(pk__in=ids))
    inactive = [u.get_username() for u in users if not u.is_active and u.pk not in keep]
    if len(users) != len(set(ids)) or inactive:
        raise ApplicationError(
            f"{what}: only active people"
            + (f" ({', '.join(inactive)} is not active)." if inactive else "."),
            field="participants" if what == "Participants" else "owner",
        )
    return users


@transaction.atomic
def postmortem_update(
    *, actor, postmortem: PostMortem, draft: Draft, expected_version: int
) -> PostMortem:
    postmortem = lock(postmortem, expected_version)
    authority.require("edit", actor, postmortem)
    refuse_if_published(postmortem)
    fields = _clean(draft)
    _within(draft.meeting_at, postmortem, "The meeting time", "meeting_at")
    if len(draft.participant_ids) > MAX_PARTICIPANTS:
        raise ApplicationError(f"At most {MAX_PARTICIPANTS} participants.", field="participants")
    recorded = set(postmortem.participants.values_list("pk", flat=True))
    participants = _people(draft.participant_ids, "Participants", keep=recorded)
    if draft.owner_id is not None and draft.owner_id != postmortem.owner_id:
        (owner,) = _people([draft.owner_id], "Owner")
        fields["owner"] = owner
    save(postmortem, **fields)
    postmortem.participants.set(participants)
    return postmortem


@dataclass
class EntryChange:
    included: bool
    text: str


@transaction.atomic
def postmortem_edit_timeline(
    *,
    actor,
    postmortem: PostMortem,
    expected_version: int,
    changes: dict[int, EntryChange],
    new_at: datetime | None = None,
    new_text: str = "",
) -> PostMortem:
    """The editable selection: keep or leave out each entry, reword it (an imported entry
    stays linked to its event), and add one written here."""
    postmortem = lock(postmortem, expected_version)
    authority.require("edit", actor, postmortem)
    refuse_if_published(postmortem)
    entries = {e.pk: e for e in postmortem.entries.all()}
    unknown = set(changes) - set(entries)
    if unknown:
        raise ApplicationError("Some timeline entries are no longer there: reload the page.")
    for pk, change in changes.items():
        text = (change.text or "").strip()
        if not text:
            raise ApplicationError("A timeline entry needs its text.", field="timeline")
        if len(text) > TEXT_MAX:
            raise ApplicationError(
                f"A timeline entry: at most {TEXT_MAX} characters.", field="timeline"
            )
        entry = entries[pk]
        if entry.included != change.included or entry.text != text:
            TimelineEntry.objects.filter(pk=pk).update(included=change.included, text=text)
    new_text = (new_text or "").strip()
    if new_text or new_at:
        if not (new_text and new_at):
            raise ApplicationError(
                "A new timeline entry needs both its time and its text.", field="new_text"
            )
        if len(new_text) > TEXT_MAX:
            raise ApplicationError(f"At most {TEXT_MAX} characters.", field="new_text")
        _within(new_at, postmortem, "The entry's time", "new_at")
        TimelineEntry.objects.create(postmortem=postmortem, at=new_at, text=new_text)
    save(postmortem)
    return postmortem


@transaction.atomic
def comment_add(
    *, actor, postmortem: PostMortem, body: str, section: str = "", now=None
) -> ReviewComment:
    postmortem = lock(postmortem)
    authority.require("comment", actor, postmortem)
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write the comment.", field="body")
    if len(body) > COMMENT_MAX:
        raise ApplicationError(
            f"At most {COMMENT_MAX} characters (it has {len(body)}).", field="body"
        )
    if section and section not in SECTION_NAMES and section not in ("five_whys", "fishbone"):
        raise ApplicationError("Choose a section from the list.", field="section")
    return ReviewComment.objects.create(
        postmortem=postmortem,
        author=actor,
        revision=postmortem.revision,
        section=section,
        body=body,
        created_at=now or timezone.now(),
    )
