from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.conf import settings

        from . import roles
        from .channels import email, http, register_sender
        from .models import Channel
        from .oncall import (
            defaults,
            services,  # noqa: F401  (registers the escalation timer)
        )

        # An SMTP send is a handful of socket operations, each bounded by EMAIL_TIMEOUT.
        register_sender(
            Channel.EMAIL, email.send, provider=email.provider, timeout=3 * settings.EMAIL_TIMEOUT
        )
        # Slack: each team's incoming webhook is the row's destination.
        register_sender(
            Channel.SLACK, http.slack_send, provider=http.slack_provider, timeout=http.TIMEOUT
        )
        for channel, config in settings.PAGING_PROVIDERS.items():
            provider = http.Provider(channel, **config)
            register_sender(
                channel,
                provider.send,
                provider=provider.provider,
                timeout=http.TIMEOUT,
                min_interval=settings.PAGE_CONTACT_INTERVAL_SECONDS,
            )
        post_migrate.connect(roles.sync_groups, dispatch_uid="portal.sync_groups")
        post_migrate.connect(
            defaults.ensure_default_policy, sender=self, dispatch_uid="portal.default_policy"
        )
