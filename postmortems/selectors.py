"""Read queries for the post-mortem pages (DESIGN.md: views call a selector, then render)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from . import pdf
from .models import (
    OPEN_STATUSES,
    ActionItem,
    ActionItemChange,
    PdfReport,
    PostMortem,
    Revision,
    Status,
    org_today,
)

SEARCH_MAX = 200


def postmortem_for(reference: str, *, people: bool = True) -> PostMortem:
    """The post-mortem of the incident with this reference (404 if none). people=False
    leaves out the owner's, publisher's and waiver's names (a download needs none of them;
    fewer joins are quicker to plan)."""
    related = ["incident"]
    if people:
        related += ["owner__profile", "published_by__profile", "waived_by__profile"]
    try:
        return (
            PostMortem.objects.select_related(*related)
            .order_by()
            .get(incident__reference=reference)
        )
    except PostMortem.DoesNotExist:
        raise Http404("No post-mortem for that incident.") from None


def postmortem_list(*, status: str = "", query: str = "", mine_of=None) -> QuerySet:
    """Post-mortems, newest first. query searches the published revisions (the knowledge
    base: what was published, not drafts in progress)."""
    items = PostMortem.objects.select_related("incident", "owner__profile").annotate(
        open_items=Count("action_items", filter=Q(action_items__status__in=OPEN_STATUSES)),
        all_items=Count("action_items"),
    )
    if status == "overdue":
        items = items.filter(status=Status.DRAFT, meeting_at=None, due_at__lt=timezone.now())
    elif status in Status.values:
        items = items.filter(status=status)
    if mine_of is not None:
        items = items.filter(owner=mine_of)
    query = (query or "").strip()[:SEARCH_MAX]
    if query:
        hits = Revision.objects.filter(
            number=F("postmortem__published_revision"), search_text__icontains=query
        ).values("postmortem_id")
        items = items.filter(pk__in=Subquery(hits))
    return items.order_by("-created_at")


def revision(postmortem: PostMortem, number: int) -> Revision:
    try:
        return (
            Revision.objects.select_related("published_by__profile")
            .order_by()
            .get(postmortem=postmortem, number=number)
        )
    except Revision.DoesNotExist:
        raise Http404("No such revision.") from None


def revision_exists(postmortem: PostMortem, number: int) -> None:
    if not Revision.objects.filter(postmortem=postmortem, number=number).exists():
        raise Http404("No such revision.")


def reports_of(postmortem: PostMortem, revision: int | None = None) -> list[PdfReport]:
    """The PDF reports of a revision (by default the last published one), A4 first."""
    revision = revision or postmortem.published_revision
    if not revision:
        return []
    return list(
        PdfReport.objects.filter(
            postmortem=postmortem, revision=revision, template_version=pdf.TEMPLATE_VERSION
        ).order_by("paper")
    )


def report(postmortem: PostMortem, revision: int, paper: str) -> PdfReport | None:
    """The report of this revision and paper by the current template, if requested before."""
    return (
        PdfReport.objects.filter(
            postmortem=postmortem,
            revision=revision,
            paper=paper,
            template_version=pdf.TEMPLATE_VERSION,
        )
        .order_by()
        .first()
    )


def item_list(
    *,
    status: str = "",
    owner=None,
    category: str = "",
    priority: int | None = None,
    overdue: bool = False,
    due_month: date | None = None,
    today: date | None = None,
) -> QuerySet:
    today = today or org_today()
    items = ActionItem.objects.select_related("owner__profile", "postmortem__incident")
    if status == "all":
        pass
    elif status:
        items = items.filter(status=status)
    else:
        items = items.filter(status__in=OPEN_STATUSES)
    if owner is not None:
        items = items.filter(owner=owner)
    if category:
        items = items.filter(category=category)
    if priority:
        items = items.filter(priority=priority)
    if overdue:
        items = items.filter(status__in=OPEN_STATUSES, due_on__lt=today)
    if due_month:
        following = (due_month.replace(day=28) + timedelta(days=4)).replace(day=1)
        items = items.filter(due_on__gte=due_month.replace(day=1), due_on__lt=following)
    return items.order_by("due_on", "priority", "id")


def weekly_review(now: datetime | None = None, *, days: int = 7) -> dict:
    """The weekly review: overdue open items first, then what changed in the last week,
    then what falls due in the coming one."""
    now = now or timezone.now()
    today = timezone.localdate(now, ZoneInfo(settings.TIME_ZONE))
    since = now - timedelta(days=days)
    related = ("owner__profile", "postmortem__incident")
    return {
        "since": since,
        "overdue": list(
            ActionItem.objects.select_related(*related)
            .filter(status__in=OPEN_STATUSES, due_on__lt=today)
            .order_by("due_on", "priority")
        ),
        "changes": list(
            ActionItemChange.objects.select_related(
                "actor__profile", "item__postmortem__incident", "item__owner__profile"
            )
            .filter(at__gte=since)
            .order_by("-at", "-id")[:300]
        ),
        "due_next": list(
            ActionItem.objects.select_related(*related)
            .filter(
                status__in=OPEN_STATUSES,
                due_on__gte=today,
                due_on__lte=today + timedelta(days=days),
            )
            .order_by("due_on", "priority")
        ),
    }
