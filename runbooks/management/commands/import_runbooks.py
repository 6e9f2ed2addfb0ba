"""python manage.py import_runbooks DIR --as USERNAME: reads DIR/*.md (the export_runbooks
format) back as drafts, to be reviewed and published in the portal. A file that cannot be
read, or whose runbook already has a draft, is reported and skipped; the others import."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from portal.errors import ApplicationError
from runbooks import content
from runbooks.services import import_draft

REFUSED = (content.FormatError, ApplicationError, UnicodeDecodeError, IntegrityError)


class Command(BaseCommand):
    help = "Read Markdown runbooks from DIR back as drafts."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--as", dest="username", required=True, help="Who imports them.")

    def handle(self, *args, directory, username, **options):
        actor = get_user_model().objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {username!r}.")
        paths = sorted(Path(directory).glob("*.md"))
        if not paths:
            raise CommandError(f"No .md files in {directory}.")
        failed = 0
        for path in paths:
            try:
                parsed = content.parse(path.read_text(encoding="utf-8"), path.name)
                draft = import_draft(actor=actor, parsed=parsed)
            except (
                content.FormatError,
                ApplicationError,
                UnicodeDecodeError,
                IntegrityError,
            ) as error:
                failed += 1
                message = getattr(error, "message", str(error))
                self.stderr.write(
                    message if message.startswith(path.name) else f"{path.name}: {message}"
                )
                continue
            self.stdout.write(f"{path.name}: a draft of {draft.runbook.title}")
        if failed:
            raise CommandError(f"{failed} of {len(paths)} file(s) were not imported.")
