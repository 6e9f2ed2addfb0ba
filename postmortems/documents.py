"""The HTML the PDF reports are made from (templates under postmortems/templates/postmortems/
pdf/). Times are printed in the organisation's time zone (TIME_ZONE), named on every page."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from . import content, pdf
from .models import Paper, Revision

PAGE_SIZES = {Paper.A4: "A4", Paper.LETTER: "letter"}


def common_context(paper: str) -> dict:
    zone = ZoneInfo(settings.TIME_ZONE)
    return {
        "page_size": PAGE_SIZES[Paper(paper)],
        "zone": zone,
        "zone_name": settings.TIME_ZONE,
        "generated_at": timezone.now().astimezone(zone),
        "static_base": pdf.STATIC_BASE,
        "template_version": pdf.TEMPLATE_VERSION,
        "site_name": settings.SITE_NAME,
    }


def postmortem_html(revision: Revision, paper: str) -> str:
    doc = content.load(revision.content)
    context = common_context(paper) | {"doc": doc, "revision": revision}
    with timezone.override(context["zone"]):
        return render_to_string("postmortems/pdf/postmortem.html", context)
