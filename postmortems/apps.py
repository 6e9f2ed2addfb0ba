from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"

    def ready(self) -> None:
        from portal import hooks

        from . import checks  # noqa: F401  (registers the system checks)
        from .services import lifecycle, reminders  # noqa: F401  (registers the timers)

        hooks.connect(hooks.INCIDENT_RESOLVED)(lifecycle.on_resolved)
        hooks.connect(hooks.INCIDENT_CLOSED)(lifecycle.on_closed)
