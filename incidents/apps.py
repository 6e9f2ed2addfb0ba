from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        from portal import panels as page_panels
        from portal import roles
        from portal.channels import register_sender
        from portal.models import Channel

        from . import checklists, paging, timer_handlers  # noqa: F401  (registers the handlers)
        from .statuspage import snapshot  # noqa: F401  (the public-state hook, its timer)
        from .statuspage.subscriptions import fanout, notices, panel, sender, webhooks

        assert notices and fanout  # the subscribers' hook and timers
        page_panels.register(page_panels.INCIDENT, panel.incident_panel)
        register_sender(
            Channel.WEBHOOK, sender.send, provider=sender.provider, timeout=webhooks.TIMEOUT
        )

        roles.grant(
            roles.RESPONDER,
            "incidents.view_incident",
            "incidents.add_incident",
            "incidents.change_incident",
        )
        roles.grant(roles.MANAGER, "incidents.view_reports", "incidents.command_any_incident")
        post_migrate.connect(
            checklists.ensure_templates, sender=self, dispatch_uid="incidents.checklists"
        )
