"""The user store contract: :class:`UserStore`, :class:`UserRecord`, :class:`StoreError`.

A store remembers who has signed in: the tool-visible part of each user
(names, type, roles, custom data, features) and when they were first and last
seen. It never holds auth data: the methods take a
:class:`~authplug.models.ToolUserView`, which has no ``auth_data`` field, and
:class:`UserRecord` forbids unknown fields, so persisting tokens is impossible
by construction rather than by convention.

A store also records revoked session ids (logout, a new login over an old
session), so every process sharing it refuses a replayed cookie once that
session's validation is due (see :mod:`authplug.revocation`).

Store methods are synchronous; the ASGI host runs them in a worker thread, so
every implementation must be safe to call from several threads at once. A
store may also offer the :class:`AsyncUserStore` methods (the PostgreSQL
store does, over psycopg's async pool): the ASGI host then awaits those on
its event loop instead of spending a thread per call (see
:mod:`authplug.stores.calls`); the WSGI host keeps the blocking ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from authplug.errors import AuthplugError
from authplug.models import ToolUserView

__all__ = ["AsyncUserStore", "StoreError", "UserRecord", "UserStore", "as_utc"]


class StoreError(AuthplugError):
    """The user store failed (database locked, disk I/O error, store closed).

    The message names the failure (``SQLITE_BUSY``, ``disk I/O error``) and
    never any user data. Hosts answer with 503 naming ``backend``: the
    request may succeed later.
    """

    code = "store_unavailable"
    status = 503
    backend: str | None

    def __init__(
        self, message: str, *, code: str | None = None, backend: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.backend = backend


class UserRecord(ToolUserView):
    """What a store knows about one user: the tool view plus two timestamps.

    It extends :class:`~authplug.models.ToolUserView`, which has no field for
    auth data and rejects unknown fields (``authData=...`` raises a
    validation error), so a record cannot carry tokens.

    Attributes:
        first_seen: When the user first signed in (UTC).
        last_login: When the user last signed in (UTC).
    """

    first_seen: datetime
    last_login: datetime

    @classmethod
    def from_view(
        cls, user: ToolUserView, *, first_seen: datetime, last_login: datetime
    ) -> UserRecord:
        """Build a record from a tool view and its two timestamps."""
        return cls(
            **dict(user),
            first_seen=as_utc(first_seen),
            last_login=as_utc(last_login),
        )


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@runtime_checkable
class UserStore(Protocol):
    """Where signed-in users are remembered (without their auth data).

    Implementations: :class:`~authplug.stores.memory.MemoryUserStore` and
    :class:`~authplug.stores.sqlite.SqliteUserStore`, registered under the
    ``authplug.stores`` entry points ``memory`` and ``sqlite``. A third-party
    store is a class taking keyword options (the config's ``store_options``)
    with these seven methods. Failures raise :class:`StoreError`.
    """

    def record_login(self, user: ToolUserView, now: datetime) -> None:
        """Insert or update ``user`` after a login.

        A new row gets ``first_seen = last_login = now``; an existing row
        keeps ``first_seen``, takes the new profile and ``last_login = now``.
        """
        ...

    def update(self, user: ToolUserView, now: datetime) -> None:
        """Save ``user`` after a validation changed it (roles, names, custom data).

        Keeps ``first_seen`` and ``last_login``; creates the row (both set to
        ``now``) when it is missing, e.g. after switching stores.
        """
        ...

    def get(self, user_id: str) -> UserRecord | None:
        """Return the record of ``user_id``, or ``None`` when unknown."""
        ...

    def revoke_session(self, sid: str, until: datetime) -> None:
        """Record that session ``sid`` is revoked until ``until`` (its absolute end).

        Recording a known ``sid`` again keeps the later ``until``. Entries whose
        ``until`` has passed may be pruned on any write.
        """
        ...

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        """Whether session ``sid`` is revoked at ``now`` (recorded with ``until > now``)."""
        ...

    def claim_once(self, key: str, until: datetime, now: datetime) -> bool:
        """Record one-time use of ``key`` until ``until``; whether this was the first use.

        Atomic across every process sharing the store: of concurrent calls
        with the same ``key`` exactly one returns ``True``. A ``key`` recorded
        with ``until > now`` is a replay (``False``, nothing changes); one
        whose ``until`` has passed is free again. Used for the SAML
        assertion-ID replay cache (``until`` = the assertion's
        ``NotOnOrAfter``). Keys are opaque text up to 512 characters (callers
        hash what they need to); entries past ``until`` may be pruned on any
        write. A store serving no SAML provider may lack it: the SAML provider
        refuses such a store at start-up.
        """
        ...

    def close(self) -> None:
        """Release connections; later calls raise :class:`StoreError`."""
        ...


@runtime_checkable
class AsyncUserStore(Protocol):
    """The optional non-blocking face of a :class:`UserStore`, awaited on an event loop.

    A store implementing these seven methods as well as the blocking ones is
    called through them by the ASGI host (no worker thread per call). Each
    has the same contract as its blocking namesake (``aget`` as ``get``...)
    and raises :class:`StoreError` the same way; both faces see the same data.
    """

    async def arecord_login(self, user: ToolUserView, now: datetime) -> None:
        """As :meth:`UserStore.record_login`."""
        ...

    async def aupdate(self, user: ToolUserView, now: datetime) -> None:
        """As :meth:`UserStore.update`."""
        ...

    async def aget(self, user_id: str) -> UserRecord | None:
        """As :meth:`UserStore.get`."""
        ...

    async def arevoke_session(self, sid: str, until: datetime) -> None:
        """As :meth:`UserStore.revoke_session`."""
        ...

    async def ais_session_revoked(self, sid: str, now: datetime) -> bool:
        """As :meth:`UserStore.is_session_revoked`."""
        ...

    async def aclaim_once(self, key: str, until: datetime, now: datetime) -> bool:
        """As :meth:`UserStore.claim_once`."""
        ...

    async def aclose(self) -> None:
        """Release what the async methods hold on the running event loop (its connections).

        The ASGI host calls it at lifespan shutdown, while the loop still
        runs. The blocking methods are unaffected, and a later async call
        (on another loop) opens what it needs again; :meth:`UserStore.close`
        ends the store for good.
        """
        ...
