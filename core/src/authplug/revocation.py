"""Server-side session revocation: the kill switch for stateless session cookies.

A sealed session cookie stays valid until its idle or absolute lifetime ends,
so a copy taken before logout could be replayed (SECURITY.md A.5), and a
pre-login session would survive a new login (A.15). Revoking a session id
closes both holes, in two layers:

* :class:`RevokedSessions`: an in-process, bounded map ``sid -> until``
  consulted on **every** request that carries a session. Reads are one
  lock-free ``dict.get``; writes take a lock.
* the user store (``revoke_session`` / ``is_session_revoked``), shared by
  every process using the same database. The lifecycle asks it only when a
  session's validation is due (every ``validate_interval``), never on an
  ordinary request, so another process's logout takes effect here within
  ``validate_interval``.
* with a shared coordination backend (``coordination = "redis"``,
  ``"postgres"`` or ``"sqlite"``) every revocation is also *broadcast*: each
  process adds it to its own map as the message arrives, so every other
  process refuses the cookie on its next request; :meth:`SessionRevocation.lookup`
  first applies a message that already reached the process but whose
  listener thread has not run yet (the backend's ``catch_up``). A message
  missed during an outage is covered by the store at the next due validation.

:class:`SessionRevocation` ties the two together: revoking writes the store
first (a failure raises :class:`~authplug.stores.StoreError` and changes
nothing), then the in-process map. It is process-wide state: :func:`~authplug.host.build_host`
creates one per host and every middleware over that host (an application and
a mounted sub-application, an ASGI and a WSGI host) shares it. The
lifecycle reaches the store through :class:`~authplug.stores.calls.StoreCalls`
(:meth:`SessionRevocation.revoke_via`, :meth:`SessionRevocation.check_store_via`):
the store's async methods on the ASGI event loop when it has them, otherwise
its blocking ones the way the host runs blocking calls (a worker thread under
ASGI, inline under WSGI).

A revocation is kept until the session's absolute end (``created_at +
absolute_lifetime`` plus the accepted clock skew): after that the cookie is
refused as expired anyway. Revocations key on the session id inside the
authenticated payload, never on the cookie text (A.3).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from authplug.coordination.base import Coordination, CoordinationError
from authplug.errors import ConfigError

if TYPE_CHECKING:
    from authplug.session.payload import SessionData
    from authplug.stores import UserStore
    from authplug.stores.calls import StoreCalls

__all__ = [
    "DEFAULT_CAPACITY",
    "REVOCATION_SKEW",
    "RevokedSessions",
    "SessionRevocation",
]

_log = logging.getLogger("authplug.revocation")

DEFAULT_CAPACITY = 100_000
"""Default bound of the in-process map (``config.revocation_capacity``)."""

REVOCATION_SKEW = 60.0
"""Seconds added to a session's absolute end, as the session reader tolerates clock skew."""


class RevokedSessions:
    """A bounded, thread-safe map of revoked session ids to the time their revocation ends.

    Entries are kept in insertion order. A write first drops expired entries
    from the oldest end, then, when the map is full, the oldest entries, so
    the size never exceeds ``capacity`` and each write costs O(1) amortised.
    Dropping a live entry only weakens this cache: the store still holds the
    revocation and refuses the session at its next validation.

    Reads take no lock: a CPython ``dict.get`` is atomic, and writers never
    leave the dict in a partial state.

    :param capacity: Most entries kept (at least 1).
    :raises ValueError: ``capacity`` is below 1.
    """

    __slots__ = ("_capacity", "_entries", "_lock")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """The most entries kept."""
        return self._capacity

    def __len__(self) -> int:
        """The number of entries held (expired ones not yet pruned included)."""
        return len(self._entries)

    def is_revoked(self, sid: str, now: float) -> bool:
        """Whether ``sid`` is revoked at ``now`` (epoch seconds). One dict lookup, no lock."""
        until = self._entries.get(sid)
        return until is not None and now < until

    def revoke(self, sid: str, until: float, now: float | None = None) -> None:
        """Revoke ``sid`` until ``until`` (epoch seconds; a later ``until`` for a known sid wins).

        :param now: The current time, for pruning expired entries (default:
            ``until`` is trusted and only the capacity bound prunes).
        """
        with self._lock:
            entries = self._entries
            previous = entries.pop(sid, None)
            if previous is not None and previous > until:
                until = previous
            if now is not None:
                while entries:
                    oldest = next(iter(entries))
                    if entries[oldest] > now:
                        break
                    del entries[oldest]
            while len(entries) >= self._capacity:
                del entries[next(iter(entries))]
            entries[sid] = until

    def prune(self, now: float) -> int:
        """Drop every expired entry (a full scan); return how many were dropped."""
        with self._lock:
            expired = [sid for sid, until in self._entries.items() if until <= now]
            for sid in expired:
                del self._entries[sid]
        return len(expired)


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


class SessionRevocation:
    """Revoke sessions and check revocations, in this process and in the shared store.

    :param revoked: This process's map.
    :param store: The user store (``revoke_session`` / ``is_session_revoked``).
    :param absolute_lifetime: Seconds a session lives at most after login.
    :param broadcast: A shared coordination backend: each revocation is also
        published to every process, and each process adds the revocations it
        hears to its own map (see :mod:`authplug.coordination`).
    """

    __slots__ = ("_broadcast", "_lifetime", "_store", "revoked")

    def __init__(
        self,
        revoked: RevokedSessions,
        store: UserStore,
        absolute_lifetime: float,
        broadcast: Coordination | None = None,
    ) -> None:
        self.revoked = revoked
        self._store = store
        self._lifetime = float(absolute_lifetime)
        self._broadcast = broadcast if broadcast is not None and broadcast.shared else None
        if self._broadcast is not None:
            self._broadcast.subscribe_revocations(self._heard)

    def lookup(self) -> Callable[[str, float], bool]:
        """The per-request check ``(sid, now) -> revoked``: one dict lookup in this
        process's map, after :meth:`~authplug.coordination.Coordination.catch_up`
        with a shared backend (a broadcast that already reached this process is
        applied before the answer, even when its listener thread has not run yet).
        """
        is_revoked = self.revoked.is_revoked
        broadcast = self._broadcast
        if broadcast is None:
            return is_revoked
        catch_up = broadcast.catch_up

        def caught_up(sid: str, now: float) -> bool:
            catch_up()
            return is_revoked(sid, now)

        return caught_up

    def _heard(self, sid: str, until: float) -> None:
        """A revocation broadcast by any process (this one included): refuse ``sid`` here."""
        self.revoked.revoke(sid, until, time.time())

    @staticmethod
    def require_support(store: object) -> None:
        """Fail at start-up when ``store`` predates revocation (no silent downgrade).

        :raises ConfigError: ``revoke_session`` or ``is_session_revoked`` is missing.
        """
        missing = [
            name
            for name in ("revoke_session", "is_session_revoked")
            if not callable(getattr(store, name, None))
        ]
        if missing:
            raise ConfigError(
                f"store: {type(store).__name__} does not implement {' and '.join(missing)}, "
                "which session revocation (logout) needs; upgrade the store"
            )

    def until(self, session: SessionData) -> float:
        """When revoking ``session`` may be forgotten: its absolute end plus clock skew."""
        return session.created_at + self._lifetime + REVOCATION_SKEW

    def is_revoked(self, session: SessionData, now: float) -> bool:
        """Whether this process knows ``session`` to be revoked (no I/O)."""
        return self.revoked.is_revoked(session.sid, now)

    def revoke(self, session: SessionData, now: float) -> None:
        """End ``session`` server-side: in the store first, then in this process (blocks).

        :raises StoreError: the store could not record it (nothing changed).
        """
        sid, until = session.sid, self.until(session)
        self._store.revoke_session(sid, _moment(until))
        self.revoked.revoke(sid, until, now)
        self._publish(sid, until)

    async def revoke_via(self, calls: StoreCalls, session: SessionData, now: float) -> None:
        """:meth:`revoke`, the store reached through ``calls`` (awaited on an event loop).

        :raises StoreError: the store could not record it (nothing changed).
        """
        sid, until = session.sid, self.until(session)
        await calls.revoke_session(sid, _moment(until))
        self.revoked.revoke(sid, until, now)
        if self._broadcast is not None:
            await calls.run_blocking(lambda: self._publish(sid, until))

    def _publish(self, sid: str, until: float) -> None:
        broadcast = self._broadcast
        if broadcast is not None:
            try:
                broadcast.publish_revocation(sid, until)
            except CoordinationError as exc:
                # The store holds it: other processes refuse the session at its
                # next due validation instead of at once.
                _log.warning("revocation not broadcast (%s): %s", exc.backend, exc.message)

    def check_store(self, session: SessionData, now: float) -> bool:
        """Ask the store whether another process revoked ``session``; remember a yes here (blocks).

        :raises StoreError: the store could not be read.
        """
        revoked = self._store.is_session_revoked(session.sid, _moment(now))
        if revoked:
            self.revoked.revoke(session.sid, self.until(session), now)
        return revoked

    async def check_store_via(self, calls: StoreCalls, session: SessionData, now: float) -> bool:
        """:meth:`check_store`, the store reached through ``calls``.

        :raises StoreError: the store could not be read.
        """
        revoked = await calls.is_session_revoked(session.sid, _moment(now))
        if revoked:
            self.revoked.revoke(session.sid, self.until(session), now)
        return revoked
