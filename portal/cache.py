"""Django's Redis cache that degrades instead of failing (DESIGN.md decision 10): with Redis
down or frozen, every call answers as a cache miss within the socket timeout, and then at once
while the breaker (portal.resilience) is open. Sessions are cached_db, so log-in and every
staff page keep working on the database alone."""

from django.core.cache.backends.redis import RedisCache

from . import resilience


def _default(args, kwargs, index, name):
    if len(args) > index:
        return args[index]
    return kwargs.get(name)


_FALLBACKS = {
    "get": lambda a, k: _default(a, k, 1, "default"),
    "set": lambda a, k: None,
    "add": lambda a, k: False,
    "touch": lambda a, k: False,
    "delete": lambda a, k: False,
    "has_key": lambda a, k: False,
    "get_many": lambda a, k: {},
    "set_many": lambda a, k: list(a[0]) if a else [],
    "delete_many": lambda a, k: None,
    "clear": lambda a, k: False,
    "incr": lambda a, k: _raise_missing(a),
    "decr": lambda a, k: _raise_missing(a),
}


def _raise_missing(args):
    raise ValueError(f"Key {args[0] if args else ''!r} not found (Redis unavailable).")


def _guarded(name):
    method = getattr(RedisCache, name)
    fallback = _FALLBACKS[name]

    def call(self, *args, **kwargs):
        if resilience.redis.is_open():
            return fallback(args, kwargs)
        try:
            result = method(self, *args, **kwargs)
        except ValueError:
            raise
        except Exception as exc:  # redis.RedisError, OSError: down, refused or timed out
            resilience.redis.trip(exc)
            return fallback(args, kwargs)
        resilience.redis.reset()
        return result

    call.__name__ = name
    return call


class ResilientRedisCache(RedisCache):
    pass


for _name in _FALLBACKS:
    setattr(ResilientRedisCache, _name, _guarded(_name))
