from .drafts import edit, mark_reviewed, publish, record_test, review, start_draft
from .incidents import follow, propose
from .pages import compare, detail, details, diagram, library, new, version

__all__ = [
    "compare",
    "detail",
    "details",
    "diagram",
    "edit",
    "follow",
    "library",
    "mark_reviewed",
    "new",
    "propose",
    "publish",
    "record_test",
    "review",
    "start_draft",
    "version",
]
