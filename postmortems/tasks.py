from celery import shared_task

from .services import reports


@shared_task(
    name="postmortems.tasks.render_report", acks_late=True, time_limit=660, soft_time_limit=630
)
def render_report(report_id: int) -> str:
    """Render one PDF report (a child process holds the render's own time and memory
    limits, PDF_RENDER_*). Safe to run twice: the row is claimed before rendering."""
    return reports.render_report(report_id)
