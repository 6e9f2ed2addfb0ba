from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.conf import settings

        from . import roles
        from .channels import email, register_sender
        from .models import Channel

        # An SMTP send is a handful of socket operations, each bounded by EMAIL_TIMEOUT.
        register_sender(
            Channel.EMAIL, email.send, provider=email.provider, timeout=3 * settings.EMAIL_TIMEOUT
        )
        post_migrate.connect(roles.sync_groups, dispatch_uid="portal.sync_groups")
