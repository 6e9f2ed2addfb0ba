"""Every change to a post-mortem or an action item (DESIGN.md decision 1).

lifecycle.py     started on resolution or on request; review, publication, revisions;
                 the close guard and its waiver
editing.py       sections, 5 Whys, fishbone, meeting, timeline selection, comments
action_items.py  action items and their reminders
reminders.py     the durable timers' handlers
sharing.py       emailing a published post-mortem to teams
reports.py       PDF reports: requested, rendered, downloaded"""

from .action_items import (
    ItemInput,
    action_item_create,
    action_item_set_status,
    action_item_update,
)
from .editing import Draft, EntryChange, comment_add, postmortem_edit_timeline, postmortem_update
from .lifecycle import (
    postmortem_import_timeline,
    postmortem_publish,
    postmortem_return,
    postmortem_revise,
    postmortem_start,
    postmortem_submit,
    postmortem_waive,
)
from .sharing import postmortem_share

__all__ = [
    "Draft",
    "EntryChange",
    "ItemInput",
    "action_item_create",
    "action_item_set_status",
    "action_item_update",
    "comment_add",
    "postmortem_edit_timeline",
    "postmortem_import_timeline",
    "postmortem_publish",
    "postmortem_return",
    "postmortem_revise",
    "postmortem_share",
    "postmortem_start",
    "postmortem_submit",
    "postmortem_update",
    "postmortem_waive",
]
