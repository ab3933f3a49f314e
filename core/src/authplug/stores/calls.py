"""``StoreCalls``: how a host's lifecycle reaches the user store, one awaitable per call.

Under an event-loop host (ASGI) a store that also implements
:class:`~authplug.stores.base.AsyncUserStore` is awaited on the loop: no
worker thread is taken per call. Otherwise (a blocking-only store such as
SQLite or memory, or the WSGI host) each call goes through the runtime's
``run_blocking``: a worker thread under ASGI, inline under WSGI, where the
request already has its own thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from authplug.models import ToolUserView
from authplug.stores.base import AsyncUserStore, UserStore

__all__ = ["StoreCalls"]

T = TypeVar("T")

RunBlocking = Callable[[Callable[[], Any]], Awaitable[Any]]


class StoreCalls:
    """The store calls of one host driver (see the module docstring).

    :param store: The host's user store.
    :param run_blocking: The runtime's way to run a blocking call.
    :param event_loop: Whether the runtime awaits on an event loop (ASGI), so
        the store's async methods, when it has them, are used.
    """

    __slots__ = ("_async", "_run", "_store")

    def __init__(self, store: UserStore, run_blocking: RunBlocking, *, event_loop: bool) -> None:
        self._store = store
        self._run = run_blocking
        self._async = store if event_loop and isinstance(store, AsyncUserStore) else None

    @property
    def awaited(self) -> bool:
        """Whether calls are awaited on the event loop (the store's async methods)."""
        return self._async is not None

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run another blocking call the way this driver does (a worker thread, or inline)."""
        result: T = await self._run(fn)
        return result

    async def record_login(self, user: ToolUserView, now: datetime) -> None:
        """:meth:`~authplug.stores.base.UserStore.record_login`."""
        if self._async is not None:
            await self._async.arecord_login(user, now)
        else:
            await self._run(lambda: self._store.record_login(user, now))

    async def update(self, user: ToolUserView, now: datetime) -> None:
        """:meth:`~authplug.stores.base.UserStore.update`."""
        if self._async is not None:
            await self._async.aupdate(user, now)
        else:
            await self._run(lambda: self._store.update(user, now))

    async def revoke_session(self, sid: str, until: datetime) -> None:
        """:meth:`~authplug.stores.base.UserStore.revoke_session`."""
        if self._async is not None:
            await self._async.arevoke_session(sid, until)
        else:
            await self._run(lambda: self._store.revoke_session(sid, until))

    async def is_session_revoked(self, sid: str, now: datetime) -> bool:
        """:meth:`~authplug.stores.base.UserStore.is_session_revoked`."""
        if self._async is not None:
            return await self._async.ais_session_revoked(sid, now)
        revoked: bool = await self._run(lambda: self._store.is_session_revoked(sid, now))
        return revoked

    async def release_loop(self) -> None:
        """At ASGI lifespan shutdown: the store's :meth:`AsyncUserStore.aclose`, if awaited."""
        if self._async is not None:
            await self._async.aclose()
