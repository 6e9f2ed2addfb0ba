"""Reading the library: search (PostgreSQL full-text over the generated column; a simple
match elsewhere), filters, and what the pages show of a runbook."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import BooleanField, Exists, FloatField, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import Draft, Review, ReviewState, Runbook

MAX_QUERY = 200
STALE_TEST_DAYS = 180


@dataclass
class Filters:
    q: str = ""
    component: int | None = None
    type: str = ""
    team: str = ""
    state: str = ""  # published, draft, in_review, placeholders, unowned
    review: str = ""  # overdue, soon
    tested: str = ""  # never, stale


STATES = (
    ("published", "Published"),
    ("in_review", "Awaiting review"),
    ("draft", "Has a draft"),
    ("placeholders", "Needs owner input"),
    ("unowned", "No owning team"),
)
REVIEW = (("overdue", "Review overdue"), ("soon", "Review due within 30 days"))
TESTED = (("never", "Never tested"), ("stale", f"Not tested for {STALE_TEST_DAYS} days"))


def for_type(code: str) -> Q:
    """Runbooks for this incident type: membership in the JSON list, the same on SQLite and
    PostgreSQL."""
    return Q(incident_types__icontains=f'"{code}"')


def simple_match(runbooks: QuerySet, q: str) -> QuerySet:
    """Search without PostgreSQL: every word (up to 8) in the title or the current text."""
    for word in q.split()[:8]:
        runbooks = runbooks.filter(Q(title__icontains=word) | Q(search_text__icontains=word))
    return runbooks


def library(filters: Filters) -> QuerySet:
    now = timezone.now()
    runbooks = (
        Runbook.objects.select_related("team", "current")
        # The list shows neither text: up to 210 KB each, for 50 rows a page.
        .defer("search_text", "current__sections")
        .prefetch_related("components")
        .annotate(
            in_review=Exists(
                Review.objects.filter(version__runbook=OuterRef("pk"), state=ReviewState.PENDING)
            ),
            has_draft=Exists(Draft.objects.filter(runbook=OuterRef("pk"))),
        )
    )
    q = " ".join((filters.q or "").split())[:MAX_QUERY]
    if q:
        if connection.vendor == "postgresql":
            query = "websearch_to_tsquery('english', %s)"
            runbooks = (
                runbooks.annotate(
                    hit=RawSQL(f"runbooks_runbook.search @@ {query}", [q], BooleanField()),
                    rank=RawSQL(f"ts_rank(runbooks_runbook.search, {query})", [q], FloatField()),
                )
                .filter(hit=True)
                .order_by("-rank", "title")
            )
        else:
            runbooks = simple_match(runbooks, q)
    if filters.component:
        runbooks = runbooks.filter(components=filters.component)
    if filters.type:
        runbooks = runbooks.filter(for_type(filters.type))
    if filters.team:
        runbooks = runbooks.filter(team__slug=filters.team)
    match filters.state:
        case "published":
            runbooks = runbooks.filter(current__isnull=False)
        case "in_review":
            runbooks = runbooks.filter(in_review=True)
        case "draft":
            runbooks = runbooks.filter(has_draft=True)
        case "placeholders":
            runbooks = runbooks.filter(placeholders__gt=0)
        case "unowned":
            runbooks = runbooks.filter(team__isnull=True)
    match filters.review:
        case "overdue":
            runbooks = runbooks.filter(review_due_at__lte=now)
        case "soon":
            runbooks = runbooks.filter(review_due_at__lte=now + timedelta(days=30))
    match filters.tested:
        case "never":
            runbooks = runbooks.filter(last_tested_on__isnull=True)
        case "stale":
            cutoff = timezone.localdate(now) - timedelta(days=STALE_TEST_DAYS)
            runbooks = runbooks.filter(
                Q(last_tested_on__isnull=True) | Q(last_tested_on__lt=cutoff)
            )
    return runbooks.distinct() if filters.component else runbooks


def overdue() -> QuerySet:
    return (
        Runbook.objects.filter(review_due_at__lte=timezone.now())
        .select_related("team")
        .order_by("review_due_at")
    )
