from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from . import roles

        post_migrate.connect(roles.sync_groups, dispatch_uid="portal.sync_groups")
