"""Senders, one per channel, registered by whoever can deliver it (DESIGN.md: "senders register
per channel"). The outbox (portal.notifications) looks the sender up at delivery time; a
channel with no sender yet is recorded as skipped, with that reason, never silently dropped.

A sender is `send(notification)`; it raises PermanentError when this destination can never
accept the message (an invalid address: the row fails at once and the channel is not blamed),
and any other exception for a failure worth retrying (which counts against the provider's
circuit breaker). `provider(notification)` names who carries it (a mail relay, one webhook),
so one dead provider is short-circuited without silencing the channel's others. `timeout` is
the longest one send may take; the outbox lease is kept well above the largest."""

from collections.abc import Callable
from dataclasses import dataclass


class PermanentError(Exception):
    """This destination can never accept this message; retrying cannot help."""


@dataclass(frozen=True)
class Sender:
    channel: str
    send: Callable
    provider: Callable
    timeout: float
    # At most one message per this many seconds to one destination (SMS and calls: a person
    # is not woken twice in a minute); later ones wait their turn, none is dropped.
    min_interval: float = 0.0


_senders: dict[str, Sender] = {}


def register_sender(
    channel: str,
    send: Callable,
    *,
    provider: Callable | None = None,
    timeout: float = 30.0,
    min_interval: float = 0.0,
) -> Sender:
    from ..models import Channel

    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}; channels are {Channel.values}")
    sender = Sender(
        channel, send, provider or (lambda n: channel), float(timeout), float(min_interval)
    )
    _senders[channel] = sender
    return sender


def unregister_sender(channel: str) -> None:
    _senders.pop(channel, None)


def sender_for(channel: str) -> Sender | None:
    return _senders.get(channel)


def longest_timeout() -> float:
    return max((s.timeout for s in _senders.values()), default=0.0)
