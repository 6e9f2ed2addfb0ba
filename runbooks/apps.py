from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_shipped(sender, using="default", plan=None, **kwargs) -> None:
    """After a migrate that leaves the database fully migrated (not one that went backwards,
    or stopped at an earlier migration: the models would not match the tables)."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    if any(backwards for _, backwards in plan or ()):
        return
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    from .services import load_shipped

    load_shipped()


class RunbooksConfig(AppConfig):
    name = "runbooks"

    def ready(self) -> None:
        from portal import panels as page_panels
        from portal import roles

        from . import (
            panels,
            reminders,  # noqa: F401  (registers the review timer)
        )

        page_panels.register(page_panels.INCIDENT, panels.incident_runbooks)
        page_panels.register(page_panels.ACTION_ITEM, panels.action_item_updates)

        roles.grant(
            roles.RESPONDER,
            "runbooks.view_runbook",
            "runbooks.add_runbook",
            "runbooks.change_runbook",
        )
        post_migrate.connect(_load_shipped, sender=self, dispatch_uid="runbooks.shipped")
