"""Named hooks (DESIGN.md "portal/hooks.py"): apps register handlers for what happens to an
incident, and the service that makes it happen fires the hook, so portal and incidents never
import the apps that react (post-mortems, the status page, on-call).

Handlers run inside the firing service's transaction and should only write rows (a timer, an
outbox row, a draft): a handler that fails rolls the whole change back instead of being lost
after commit, and slow work goes through a durable timer or the outbox."""

from collections.abc import Callable

from django.db import connection

INCIDENT_RESOLVED = "incident resolved"
INCIDENT_CLOSED = "incident closed"
PUBLIC_STATE_CHANGED = "public state changed"
PAGE_ACKNOWLEDGED = "page acknowledged"
NAMES = (INCIDENT_RESOLVED, INCIDENT_CLOSED, PUBLIC_STATE_CHANGED, PAGE_ACKNOWLEDGED)

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = {name: [] for name in NAMES}


def _check(name: str) -> None:
    if name not in _handlers:
        raise ValueError(f"unknown hook {name!r}; hooks are {', '.join(NAMES)}")


def connect(name: str) -> Callable[[Handler], Handler]:
    """Decorator: run the function, with the hook's keyword arguments, when `name` fires."""
    _check(name)

    def decorator(fn: Handler) -> Handler:
        if fn not in _handlers[name]:
            _handlers[name].append(fn)
        return fn

    return decorator


def disconnect(name: str, fn: Handler) -> None:
    _check(name)
    if fn in _handlers[name]:
        _handlers[name].remove(fn)


def fire(name: str, **payload) -> int:
    """Run every handler of `name` in registration order; returns how many ran. Must be called
    inside the service's transaction; a handler's exception propagates and rolls it back."""
    _check(name)
    if not connection.in_atomic_block:
        raise RuntimeError(f"hook {name!r} fired outside a transaction")
    for handler in list(_handlers[name]):
        handler(**payload)
    return len(_handlers[name])
