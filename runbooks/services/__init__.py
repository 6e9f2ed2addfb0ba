from .base import EDIT_PERM, REVIEW_TIMER, UNREVIEWED_PERM, clean_sections
from .drafts import (
    draft_discard,
    draft_save,
    draft_set_image,
    draft_start,
    draft_submit,
    draft_update,
)
from .incidents import runbook_follow, suggestions
from .library import (
    as_file,
    details_stamp,
    export_all,
    import_draft,
    load_shipped,
    runbook_create,
    runbook_update_details,
)
from .review import (
    review_approve,
    review_comment,
    review_request_changes,
    runbook_mark_reviewed,
    test_record,
    version_publish,
)

__all__ = [
    "EDIT_PERM",
    "REVIEW_TIMER",
    "UNREVIEWED_PERM",
    "as_file",
    "clean_sections",
    "details_stamp",
    "draft_discard",
    "draft_save",
    "draft_set_image",
    "draft_start",
    "draft_submit",
    "draft_update",
    "export_all",
    "import_draft",
    "load_shipped",
    "review_approve",
    "review_comment",
    "review_request_changes",
    "suggestions",
    "runbook_create",
    "runbook_follow",
    "runbook_mark_reviewed",
    "runbook_update_details",
    "test_record",
    "version_publish",
]
