"""What every incident service shares: taking the row, saving with the version check, the
refusal that lists what changed meanwhile, and the model's own field rules for callers that
bypass forms."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import capfirst

from portal import timers
from portal.errors import ApplicationError, ConflictError

from ..impact import IMPACT_FIELDS
from ..models import Incident
from ..taxonomy import SUBTYPE_LABELS


def _label(name: str) -> str:
    return capfirst(str(Incident._meta.get_field(name).verbose_name))


# Fields a responder edits after declaration, with the labels the timeline uses.
EDITABLE_FIELDS: dict[str, str] = {
    name: _label(name) for name in ("title", "summary", "type", "subtype", *IMPACT_FIELDS)
}


def lock(incident: Incident, expected_version: int | None = None) -> Incident:
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise conflict(locked, expected_version)
    return locked


def lock_for_timer(incident_id: int) -> Incident | None:
    """Timer handlers take the incident row first, like the services do, and without waiting:
    the sweep already holds the timer row, and a service holding the incident may be about to
    update that timer. If the incident is busy, the timer stays due for the next sweep
    (timers.Busy: no attempt used, no back-off) instead of deadlocking with the person at the
    keyboard."""
    try:
        with transaction.atomic():
            return Incident.objects.select_for_update(nowait=True).filter(pk=incident_id).first()
    except DatabaseError as error:  # PostgreSQL: "could not obtain lock on row"
        raise timers.Busy(f"incident {incident_id} is locked") from error


def conflict(incident: Incident, expected_version: int) -> ConflictError:
    recent = incident.events.select_related("actor__profile").order_by("-id")[:20]
    since = [e for e in reversed(recent) if e.params.get("v", 0) > expected_version]
    labels = {label: field for field, label in EDITABLE_FIELDS.items()}
    labels["Components"] = "components"
    changed: set[str] = set()
    for event in since:
        changed.update(labels[k] for k in event.params.get("changes", {}) if k in labels)
        if "to" in event.params and event.kind == "severity_changed":
            changed.add("severity")
    error = ConflictError(
        "Someone else changed this incident after you opened it, so your changes were not "
        "saved. The fields they changed now show their values; your other input is kept. "
        "Check it against the changes below and save again.",
        details=[e.text for e in since],
    )
    error.fields = changed
    return error


def touch(incident: Incident) -> None:
    """Mark the incident changed (notes, ticks, roles) without bumping its edit version, so
    live pages refresh but nobody's open edit form goes stale."""
    Incident.objects.filter(pk=incident.pk).touch()


def save_unversioned(incident: Incident, **fields: Any) -> None:
    """Write fields that are not on the edit form (what the status page shows, the
    significant mark) on a locked incident: live pages refresh, open edit forms stay valid."""
    fields["changed_at"] = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(**fields)
    for name, value in fields.items():
        setattr(incident, name, value)


def save(incident: Incident, **fields: Any) -> None:
    """Write fields and bump the version, refusing if another save slipped in meanwhile (on
    SQLite there are no row locks, so the version check is the guard)."""
    fields["version"] = incident.version + 1
    fields["updated_at"] = fields["changed_at"] = timezone.now()
    if not Incident.objects.filter(pk=incident.pk, version=incident.version).update(**fields):
        raise conflict(incident, incident.version)
    for name, value in fields.items():
        setattr(incident, name, value)


def validate(incident: Incident, fields: set[str] | None = None) -> None:
    """The model's own field rules (lengths, choices, ranges) for callers that bypass forms:
    tasks, commands, the API. Raises ApplicationError naming the first bad field."""
    names = {f.name for f in Incident._meta.concrete_fields}
    exclude = names - fields if fields is not None else {"reference"}
    try:
        incident.clean_fields(exclude=exclude)
        # Django enforces a TextField's max_length only in forms.
        for field in Incident._meta.concrete_fields:
            value = getattr(incident, field.attname)
            too_long = isinstance(value, str) and field.max_length and len(value) > field.max_length
            if field.name not in exclude and too_long:
                message = f"At most {field.max_length} characters (it has {len(value)})."
                raise ValidationError({field.name: message})
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        label = EDITABLE_FIELDS.get(field, field.replace("_", " ").capitalize())
        raise ApplicationError(f"{label}: {' '.join(messages)}", field=field) from error


def display(incident: Incident, field: str, value: Any) -> str:
    """A field's value as the timeline shows it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    model_field = Incident._meta.get_field(field)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if field == "subtype":
        return SUBTYPE_LABELS.get(value, value)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def now_or(now: datetime | None) -> datetime:
    return now or timezone.now()
