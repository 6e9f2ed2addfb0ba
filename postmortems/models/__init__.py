from .action_item import OPEN_STATUSES, ActionItem, ActionItemChange, ItemStatus, org_today
from .postmortem import PostMortem, ReviewComment, Revision, Status, TimelineEntry
from .report import Download, Paper, PdfReport, RenderState

__all__ = [
    "OPEN_STATUSES",
    "ActionItem",
    "ActionItemChange",
    "Download",
    "ItemStatus",
    "Paper",
    "PdfReport",
    "PostMortem",
    "RenderState",
    "ReviewComment",
    "Revision",
    "Status",
    "TimelineEntry",
    "org_today",
]
