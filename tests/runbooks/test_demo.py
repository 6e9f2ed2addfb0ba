import pytest
from django.core.management import call_command

from runbooks.models import IncidentRunbook, ReviewState, Runbook, Version

pytestmark = pytest.mark.django_db


def test_the_demo_links_the_shipped_runbooks_and_shows_them_in_use():
    call_command("seed_demo", force=True, verbosity=0)
    call_command("seed_runbooks", verbosity=0)
    counts = (Version.objects.count(), IncidentRunbook.objects.count())
    database = Runbook.objects.get(slug="database-incidents")
    assert database.team.slug == "data" and database.components.filter(name="Database").exists()
    assert database.versions.get(number=2).review.state == ReviewState.PENDING
    assert database.tests.count() == 1
    use = IncidentRunbook.objects.get(incident__title="AI suggestions timing out")
    assert use.checklist.items.exclude(done_at=None).count() == 1
    call_command("seed_runbooks", verbosity=0)
    assert (Version.objects.count(), IncidentRunbook.objects.count()) == counts
