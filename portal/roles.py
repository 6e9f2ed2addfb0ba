"""The portal's three roles as Django groups, and which permissions each one holds.

Apps register their grants in AppConfig.ready(); after every migrate the groups are brought in
line with the registry, so a new permission reaches existing installs without a data migration.
Manager includes everything a Responder may do; Admin holds every permission."""

from django.contrib.auth.models import Group, Permission

RESPONDER = "Responder"
MANAGER = "Manager"
ADMIN = "Admin"
ROLES = (RESPONDER, MANAGER, ADMIN)

_grants: dict[str, set[str]] = {RESPONDER: set(), MANAGER: set()}


def grant(role: str, *perms: str) -> None:
    """perms are "app_label.codename"."""
    _grants[role].update(perms)


def _resolve(perms: set[str]) -> list[Permission]:
    found = []
    for perm in sorted(perms):
        app_label, codename = perm.split(".", 1)
        found.extend(
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        )
    return found


def sync_groups(sender=None, **kwargs) -> None:
    """Create the groups and add the registered permissions. Additive: permissions an admin
    granted by hand stay. Runs after the last app's post_migrate, when every permission
    exists."""
    from django.apps import apps

    if sender is not None and sender is not list(apps.get_app_configs())[-1]:
        return
    responder, _ = Group.objects.get_or_create(name=RESPONDER)
    manager, _ = Group.objects.get_or_create(name=MANAGER)
    admin, _ = Group.objects.get_or_create(name=ADMIN)
    responder.permissions.add(*_resolve(_grants[RESPONDER]))
    manager.permissions.add(*_resolve(_grants[RESPONDER] | _grants[MANAGER]))
    admin.permissions.add(*Permission.objects.all())
