"""python manage.py create_integration --name NAME --kind alertmanager|grafana|generic: a new
alert integration; prints its secret URL (shown this once: only its hash is kept)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from portal.errors import ApplicationError

from ...intake import services
from ...intake.models import IntegrationKind


class Command(BaseCommand):
    help = "Create an alert integration and print its secret URL."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=IntegrationKind.values)
        parser.add_argument("--bearer-token", default="", help="Also require this bearer token.")
        parser.add_argument("--signing-secret", default="", help="HMAC secret (generic, Grafana).")
        parser.add_argument(
            "--auto-resolve",
            action="store_true",
            help="Resolve its P3/P4 incidents still in Triage when their alerts clear.",
        )

    def handle(self, *args, name, kind, bearer_token, signing_secret, auto_resolve, **options):
        try:
            integration, token = services.integration_create(
                actor=None,
                name=name,
                kind=kind,
                bearer_token=bearer_token,
                signing_secret=signing_secret,
                auto_resolve=auto_resolve,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        url = settings.SITE_URL.rstrip("/") + reverse("integration_receive", args=[token])
        self.stdout.write(url)
        self.stderr.write(f"Integration {integration.name!r} ({integration.get_kind_display()}).")
