"""python manage.py export_runbooks DIR: every published runbook's current version as
DIR/<slug>.md, in the format import_runbooks reads back (spec "Runbooks maintained in
version control system"; and the disaster-recovery runbook at hand when the portal is down)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from runbooks.services import export_all


class Command(BaseCommand):
    help = "Write the published runbooks as Markdown files into DIR."

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, *args, directory, **options):
        written = export_all(Path(directory))
        for path in written:
            self.stdout.write(str(path))
        self.stderr.write(f"{len(written)} runbook(s) written to {directory}.")
