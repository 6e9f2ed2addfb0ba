"""Who may do what with a post-mortem and its action items, as one table (DESIGN.md "Who may
do what"). Post-mortems are written together: any responder edits; the owner (or a Manager)
sends to review and publishes; a Manager waives the review that closing needs."""

from enum import StrEnum

from incidents.authority import MANAGER_PERM, RESPONDER_PERM
from portal.errors import ApplicationError


class Party(StrEnum):
    OWNER = "the post-mortem's owner"
    MANAGER = "a Manager"
    RESPONDER = "a responder"
    ITEM_OWNER = "the action item's owner"
    SYSTEM = "the system"


OWN, MGR, RSP, ITEM, SYS = (
    Party.OWNER,
    Party.MANAGER,
    Party.RESPONDER,
    Party.ITEM_OWNER,
    Party.SYSTEM,
)

AUTHORITY: dict[str, tuple[str, frozenset[Party]]] = {
    "create": ("start a post-mortem", frozenset({RSP, SYS})),
    "edit": ("edit this post-mortem", frozenset({RSP})),
    "comment": ("comment on this post-mortem", frozenset({RSP, MGR})),
    "submit": ("send this post-mortem to review", frozenset({OWN, MGR})),
    "return": ("send this post-mortem back to draft", frozenset({OWN, MGR})),
    "publish": ("publish this post-mortem", frozenset({OWN, MGR})),
    "revise": ("start a new revision of this post-mortem", frozenset({OWN, MGR})),
    "waive": ("waive the post-mortem review that closing the incident needs", frozenset({MGR})),
    "share": ("share this post-mortem", frozenset({RSP, MGR})),
    "retry_report": ("render a report again", frozenset({RSP, MGR})),
    "add_item": ("add action items", frozenset({RSP})),
    "edit_item": ("change this action item", frozenset({RSP, ITEM, MGR})),
}


def parties(actor, postmortem=None, item=None) -> set[Party]:
    if actor is None:
        return {Party.SYSTEM}
    found: set[Party] = set()
    if not actor.is_active:
        return found
    if actor.has_perm(RESPONDER_PERM):
        found.add(Party.RESPONDER)
    if actor.has_perm(MANAGER_PERM):
        found.add(Party.MANAGER)
    if postmortem is not None and postmortem.owner_id == actor.pk:
        found.add(Party.OWNER)
    if item is not None and item.owner_id == actor.pk:
        found.add(Party.ITEM_OWNER)
    return found


def allows(action: str, actor, postmortem=None, item=None) -> bool:
    return bool(AUTHORITY[action][1] & parties(actor, postmortem, item))


def require(action: str, actor, postmortem=None, item=None) -> None:
    what, allowed = AUTHORITY[action]
    if allowed & parties(actor, postmortem, item):
        return
    names = [str(p) for p in Party if p in allowed and p != Party.SYSTEM]
    who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    raise ApplicationError(f"Only {who} can {what}.")


def can_read(user) -> bool:
    """Published post-mortems are for all staff (the knowledge base); drafts too: they are
    written in the open."""
    return bool(user and user.is_active and user.is_authenticated)
