from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_shipped(sender, using="default", **kwargs) -> None:
    from .services import load_shipped

    load_shipped()


class RunbooksConfig(AppConfig):
    name = "runbooks"

    def ready(self) -> None:
        from incidents import panels as incident_panels
        from portal import roles

        from . import (
            panels,
            reminders,  # noqa: F401  (registers the review timer)
        )

        incident_panels.register(panels.incident_runbooks)

        roles.grant(
            roles.RESPONDER,
            "runbooks.view_runbook",
            "runbooks.add_runbook",
            "runbooks.change_runbook",
        )
        post_migrate.connect(_load_shipped, sender=self, dispatch_uid="runbooks.shipped")
