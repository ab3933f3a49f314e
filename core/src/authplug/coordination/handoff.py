"""Refresh single-flight across processes, with the result handed to the waiting processes.

When many processes see the same about-to-expire session at once, exactly one
may redeem its refresh token: a second redemption of a rotated refresh token
fails with ``invalid_grant`` (and revokes the token family, RFC 9700
§4.14.2), logging the user out. :class:`RefreshHandOff` runs the refresh
under a lease named after the session and its token generation:

1. a result already handed off for this generation is taken as is;
2. otherwise the caller that gets the lease refreshes, then leaves the new
   user *sealed* (AES-GCM with the cookie key ring, purpose ``handoff``, so
   it can never be replayed as a cookie) for at most 60 s, then releases;
3. the others wait on the lease (bounded by the lease time plus a margin)
   and take the holder's result when it is released. A holder that dies
   releases by lease expiry (or, on PostgreSQL, by its dropped connection),
   and the next waiter refreshes instead.

A refresh that ends the session (:class:`ForceUserToReauthenticateError`) is
handed off as well, so the waiters end it too instead of trying the dead
token again. The key names the session id and a digest of the current
``auth_data`` (its "token generation"); no token is ever stored in clear.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from pydantic import ValidationError

from authplug.coordination.base import MAX_RESULT_TTL, Coordination, CoordinationError, Lease
from authplug.errors import ForceUserToReauthenticateError
from authplug.session.codec import SessionCodec
from authplug.session.keyring import KeyRing
from authplug.session.payload import SessionData, SessionUser

__all__ = ["RESULT_TTL", "RefreshHandOff", "generation_key"]

_log = logging.getLogger("authplug.coordination")
T = TypeVar("T")

RESULT_TTL = 30.0
"""Seconds a handed-off result is kept (the in-process single-flight retains as long)."""

_WAIT_MARGIN = 2.0
"""Seconds a waiter waits beyond the lease time before giving up with a 503."""

Blocking = Callable[[Callable[[], T]], Awaitable[T]]


def generation_key(session: SessionData) -> str:
    """``refresh:<sid>:<digest of auth_data>``: one key per session and token generation."""
    auth = json.dumps(session.user.auth_data or {}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(
        auth.encode("utf-8"), digest_size=16, person=b"authplug-gen"
    ).hexdigest()
    return f"refresh:{session.sid}:{digest}"


class RefreshHandOff:
    """Cross-process refresh single-flight for one host (see the module docstring).

    :param coordination: The shared backend.
    :param keyring: The cookie key ring (results are sealed with it).
    :param cookie_name: The session cookie's name (part of the sealing purpose).
    :param run_blocking: How backend calls run off the event loop.
    :param result_ttl: Seconds a result is kept (at most 60).
    """

    def __init__(
        self,
        coordination: Coordination,
        keyring: KeyRing,
        cookie_name: str,
        run_blocking: Callable[[Callable[[], object]], Awaitable[object]],
        *,
        result_ttl: float = RESULT_TTL,
    ) -> None:
        self._backend = coordination
        self._codec = SessionCodec(keyring, f"handoff:{cookie_name}")
        self._run = run_blocking
        self._ttl = min(float(result_ttl), MAX_RESULT_TTL)
        self._wait = coordination.lease_ttl + _WAIT_MARGIN

    async def _call(self, fn: Callable[[], T]) -> T:
        return await self._run(fn)  # type: ignore[return-value]

    def seal(self, user: SessionUser) -> str:
        """The sealed hand-off value of a refreshed user."""
        data = user.model_dump(mode="json")
        # AuthenticatedUser leaves auth_data out of every dump; the hand-off, like
        # the session cookie, is sealed and must carry the new tokens.
        if user.auth_data is not None:
            data["auth_data"] = dict(user.auth_data)
        body = json.dumps({"user": data}, separators=(",", ":"))
        return self._codec.seal(body.encode("utf-8"))

    def seal_ended(self, code: str) -> str:
        """The sealed hand-off value of a refresh that ended the session."""
        return self._codec.seal(json.dumps({"ended": code}).encode("utf-8"))

    def open(self, value: str) -> SessionUser | None:
        """The user in a sealed value, or ``None`` when it cannot be opened (a foreign key).

        :raises ForceUserToReauthenticateError: the holder's refresh ended the session.
        """
        opened = self._codec.open(value)
        if opened is None:
            return None
        try:
            decoded = json.loads(opened[0])
            if "ended" in decoded:
                raise ForceUserToReauthenticateError(
                    "the session's refresh failed in another process",
                    code=str(decoded["ended"])[:64],
                )
            return SessionUser.model_validate(decoded["user"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return None

    async def run(
        self, session: SessionData, refresh: Callable[[], Awaitable[SessionUser]]
    ) -> SessionUser:
        """The refreshed user: handed off by another process, or from ``refresh()`` under the lease.

        :raises ForceUserToReauthenticateError: the refresh (here or in the
            holder) ended the session.
        :raises CoordinationError: the backend failed, or the holder neither
            finished nor let go within the lease time plus a margin.
        """
        key = generation_key(session)
        backend = self._backend
        deadline = time.monotonic() + self._wait
        while True:
            handed = await self._taken(key)
            if handed is not None:
                return handed
            lease = await self._call(lambda: backend.try_lease(key))
            if lease is not None:
                try:
                    handed = await self._taken(key)
                    if handed is not None:
                        return handed
                    return await self._refresh_and_hand_off(key, refresh)
                finally:
                    await self._release(lease)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CoordinationError(
                    f"the session's refresh in another process did not finish within "
                    f"{self._wait:g} s",
                    backend=backend.name,
                    code="refresh_wait_timeout",
                )
            await self._call(partial(backend.wait_released, key, min(remaining, 1.0)))

    async def _taken(self, key: str) -> SessionUser | None:
        sealed = await self._call(lambda: self._backend.get_result(key))
        return self.open(sealed) if sealed is not None else None

    async def _refresh_and_hand_off(
        self, key: str, refresh: Callable[[], Awaitable[SessionUser]]
    ) -> SessionUser:
        try:
            user = await refresh()
        except ForceUserToReauthenticateError as exc:
            await self._put(key, self.seal_ended(exc.code))
            raise
        await self._put(key, self.seal(user))
        return user

    async def _put(self, key: str, value: str) -> None:
        """Leave the result; a backend failure is logged (our own caller still gets it)."""
        try:
            await self._call(lambda: self._backend.put_result(key, value, self._ttl))
        except CoordinationError as exc:
            _log.warning("refresh result not handed off: %s", exc.message)

    async def _release(self, lease: Lease) -> None:
        try:
            await self._call(lambda: self._backend.release(lease))
        except CoordinationError as exc:
            _log.warning("lease not released (it expires by itself): %s", exc.message)
