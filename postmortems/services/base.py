"""Locking and the versioned save of a post-mortem (the incident edit's rule, DESIGN.md
decision 9): a save from a form opened before someone else's is refused, naming what changed."""

from typing import Any

from django.db.models import Model
from django.utils import timezone

from portal.errors import ApplicationError, ConflictError

from ..models import ActionItem, PostMortem, Status


def lock(postmortem: PostMortem, expected_version: int | None = None) -> PostMortem:
    locked = PostMortem.objects.select_for_update().select_related("incident").get(pk=postmortem.pk)
    if expected_version is not None and locked.version != expected_version:
        raise conflict(locked, expected_version)
    return locked


def conflict(postmortem: PostMortem, expected_version: int) -> ConflictError:
    return ConflictError(
        "Someone else changed this post-mortem after you opened it, so your changes were not "
        "saved. Your text is kept below, with theirs beside it where they differ; the owner, "
        "meeting and participants show what they saved. Check and save again."
    )


def save(obj: Model, **fields: Any) -> None:
    """Write fields and bump the version, refusing if another save slipped in meanwhile (on
    SQLite there are no row locks: the version check is the guard)."""
    fields["version"] = obj.version + 1
    fields["updated_at"] = timezone.now()
    model = type(obj)
    if not model.objects.filter(pk=obj.pk, version=obj.version).update(**fields):
        if isinstance(obj, PostMortem):
            raise conflict(obj, obj.version)
        raise ConflictError(
            "Someone else changed this action item after you opened it; nothing was saved. "
            "Reload it and try again."
        )
    for name, value in fields.items():
        setattr(obj, name, value)


def refuse_if_published(postmortem: PostMortem) -> None:
    if postmortem.status == Status.PUBLISHED:
        raise ApplicationError(
            f"Revision {postmortem.revision} is published and changes only through a new "
            f"revision: start revision {postmortem.revision + 1} to edit it."
        )


def lock_item(item: ActionItem, expected_version: int | None = None) -> ActionItem:
    locked = ActionItem.objects.select_for_update().get(pk=item.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError(
            "Someone else changed this action item after you opened it; nothing was saved. "
            "Check what they saved and save again."
        )
    return locked
