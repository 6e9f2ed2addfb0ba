from .actions import add_item, comment, import_timeline, share, waive, workflow
from .items import item_detail, item_list, item_status, weekly_review
from .pages import (
    detail,
    download,
    edit,
    edit_timeline,
    postmortem_list,
    reports_fragment,
    retry_report,
    revision,
    start,
)
from .reports import metrics, metrics_csv, monthly, monthly_pdf

__all__ = [
    "add_item",
    "comment",
    "detail",
    "download",
    "edit",
    "edit_timeline",
    "import_timeline",
    "item_detail",
    "item_list",
    "item_status",
    "metrics",
    "metrics_csv",
    "monthly",
    "monthly_pdf",
    "postmortem_list",
    "reports_fragment",
    "retry_report",
    "revision",
    "share",
    "start",
    "waive",
    "weekly_review",
    "workflow",
]
