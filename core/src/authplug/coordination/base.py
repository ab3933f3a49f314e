"""The coordination contract: leases, short-lived results, revocation broadcast.

A :class:`Coordination` backend lets every process of one deployment (the
workers of one machine, the machines behind one load balancer) agree on two
things the in-process machinery cannot:

* **who refreshes a session**: :meth:`Coordination.try_lease` grants a named
  lease to one caller at a time; a lease ends when released, when its
  ``ttl`` passes, or (PostgreSQL) when its holder's connection drops, so a
  holder killed with ``kill -9`` never blocks the others for longer than the
  lease time. The holder leaves its outcome with :meth:`put_result` (an
  already *sealed* value: backends never see auth data in clear) and the
  others take it with :meth:`get_result`.
* **which sessions were revoked**: :meth:`publish_revocation` reaches every
  process that called :meth:`subscribe_revocations` (pub/sub, ``LISTEN/NOTIFY``
  or a polled log). A message missed during an outage is not replayed: the
  user store, which holds every revocation durably, is the fallback.

Methods are synchronous and thread-safe (the ASGI host calls them from worker
threads). Every backend failure raises :class:`CoordinationError`, a 503
naming the backend; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from authplug.errors import AuthplugError, ConfigError

__all__ = [
    "MAX_RESULT_TTL",
    "Coordination",
    "CoordinationError",
    "Lease",
    "RevocationListener",
    "float_option",
    "str_option",
]

MAX_RESULT_TTL = 60.0
"""Longest time a handed-off result is kept, in seconds."""

RevocationListener = Callable[[str, float], None]
"""Called with ``(sid, until)`` (epoch seconds) for every revocation broadcast."""


class CoordinationError(AuthplugError):
    """The coordination backend failed (unreachable, timed out, closed).

    The message names the backend and the failure class, never a key's
    value or a connection string. Hosts answer with 503 naming ``backend``.
    """

    code = "coordination_unavailable"
    status = 503

    def __init__(self, message: str, *, backend: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.backend = backend


@dataclass(eq=False)
class Lease:
    """A granted lease: release it with :meth:`Coordination.release`.

    Attributes:
        key: The lease's name.
        token: A random value proving ownership (only its holder releases it).
        handle: Backend state (the PostgreSQL connection holding the lock).
    """

    key: str
    token: str
    handle: Any = field(default=None, repr=False)


@runtime_checkable
class Coordination(Protocol):
    """What the lifecycle needs from a coordination backend (see the module docstring)."""

    name: str
    """The backend's config name (``inprocess``, ``sqlite``, ``postgres``, ``redis``)."""

    shared: bool
    """Whether other processes see this backend's leases and messages."""

    lease_ttl: float
    """Seconds a lease lasts unless released (its holder's refresh budget)."""

    def try_lease(self, key: str) -> Lease | None:
        """Take lease ``key`` for :attr:`lease_ttl` seconds, or ``None`` when someone holds it."""
        ...

    def release(self, lease: Lease) -> None:
        """End ``lease`` if it is still ours (a lease already expired is left alone)."""
        ...

    def wait_released(self, key: str, timeout: float) -> None:
        """Block until lease ``key`` may be free, at most ``timeout`` seconds (never raises on
        a timeout: the caller looks again)."""
        ...

    def put_result(self, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` (sealed) under ``key`` for ``ttl`` seconds (at most 60)."""
        ...

    def get_result(self, key: str) -> str | None:
        """The value kept under ``key``, or ``None`` (never kept, or expired)."""
        ...

    def publish_revocation(self, sid: str, until: float) -> None:
        """Tell every subscribed process that session ``sid`` is revoked until ``until``."""
        ...

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        """Call ``listener`` for every revocation published from now on (any process)."""
        ...

    def catch_up(self) -> None:
        """Deliver now, in the calling thread, the revocations that already reached this process.

        Called before every session check, so it must cost next to nothing
        and never raise: no network round trip, at most a zero-timeout look
        at the subscription socket. A message already delivered, or one still
        on its way, is left to the listener.
        """
        ...

    def check(self) -> str:
        """Reach the backend; return a one-line description (``redis 7.0.15 at 127.0.0.1:6379``)."""
        ...

    def close(self) -> None:
        """Stop listening and release connections; later calls raise :class:`CoordinationError`."""
        ...


def float_option(
    options: dict[str, Any], name: str, default: float, low: float, high: float
) -> float:
    """Option ``name`` as a number within ``[low, high]`` (env values arrive as strings).

    :raises ConfigError: not a number, or out of range.
    """
    raw = options.pop(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"coordination_options.{name}: not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"coordination_options.{name}: must be between {low:g} and {high:g}")
    return value


def str_option(options: dict[str, Any], name: str, default: str) -> str:
    """Option ``name`` as text.

    :raises ConfigError: not a string.
    """
    raw = options.pop(name, default)
    if not isinstance(raw, str):
        raise ConfigError(f"coordination_options.{name}: must be a string")
    return raw
