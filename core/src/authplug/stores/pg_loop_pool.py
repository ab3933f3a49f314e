"""``LoopPool``: a psycopg :class:`~psycopg_pool.AsyncConnectionPool` bound to one event loop.

An async pool's tasks, locks and connections belong to the loop that opened
it, and psycopg_pool expects to be closed while that loop runs: its
maintenance workers swallow a cancellation that arrives mid-task, so a loop
ended by :func:`asyncio.run` (or a server's shutdown) with the pool still
open would wait forever for them. A :class:`LoopPool` therefore keeps a
*guard* task on its loop: when the loop's runner cancels every task at the
end, the guard closes the pool, which stops the workers for good. Every way
of closing is covered:

* :meth:`LoopPool.aclose` on the loop (the ASGI lifespan shutdown);
* :meth:`LoopPool.close` from another thread while the loop runs (closed on
  the loop), from the loop's own thread (the connections are ended at once
  and the pool's tasks stopped right after), or once the loop has ended (the
  connections, tracked as the pool made them, are ended at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

__all__ = ["AsyncConnection", "LoopPool"]

_log = logging.getLogger("authplug.stores")

AsyncConnection = psycopg.AsyncConnection[tuple[Any, ...]]


class LoopPool:
    """The async pool of one event loop (see the module docstring).

    :param dsn: libpq connection string or URL (already checked).
    :param min_size: Connections kept open.
    :param max_size: Most connections open at once.
    :param timeout: Seconds to wait for a connection.
    :param kwargs: Connection keyword arguments (autocommit, connect_timeout).
    :param name: The pool's name in psycopg's logs.
    :param on_loop_end: Called with this object when the guard closes the pool
        because the loop is ending (its owner forgets it).
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int,
        max_size: int,
        timeout: float,
        kwargs: dict[str, Any],
        name: str,
        on_loop_end: Callable[[LoopPool], None],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self._connections: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()
        self._on_loop_end = on_loop_end
        self._guard: asyncio.Task[None] | None = None
        self._owner_closed = False
        self._closing: set[asyncio.Task[None]] = set()
        self._timeout = timeout
        self.pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs=kwargs,
            check=AsyncConnectionPool.check_connection,
            configure=self._track,
            open=False,
            name=name,
        )

    async def _track(self, conn: AsyncConnection) -> None:
        """The pool's ``configure``: remember each connection it makes."""
        self._connections.add(conn)

    async def ready(self) -> AsyncConnectionPool[AsyncConnection]:
        """The pool, opened (and guarded) on first use; idempotent and concurrency-safe."""
        if self._guard is None:
            await self.pool.open()
            if self._guard is None:
                self._guard = self.loop.create_task(self._watch(), name=f"{self.pool.name} guard")
        return self.pool

    async def _watch(self) -> None:
        """Wait for the loop's end; close the pool when its runner cancels every task."""
        try:
            await self.loop.create_future()
        except asyncio.CancelledError:
            if not self._owner_closed:
                self._on_loop_end(self)
                # The pool's own close would stop half-way: the workers it waits
                # for were cancelled too. End the connections here, then let it
                # queue the workers' stop (what frees a worker that swallowed
                # its cancellation).
                self._end_connections()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self.pool.close()
            raise

    async def _close_quietly(self) -> None:
        try:
            await self.pool.close()
        except Exception as exc:  # closing must not fail a shutdown; say what happened
            _log.warning("postgres user store: async pool not closed cleanly (%s)", exc)

    def _end_connections(self) -> None:
        """Close every connection the pool made, at once (no I/O to wait for)."""
        for conn in list(self._connections):
            conn.pgconn.finish()

    def _stop_guard(self) -> None:
        guard = self._guard
        if guard is not None and guard is not asyncio.current_task():
            guard.cancel()

    async def aclose(self) -> None:
        """Close the pool on its loop (call it there)."""
        self._owner_closed = True
        self._stop_guard()
        await self._close_quietly()

    def close(self) -> None:
        """Close the pool from any thread (see the module docstring)."""
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        loop = self.loop
        if loop.is_running() and loop is not current:
            try:
                asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(self._timeout + 5)
                return
            except Exception as exc:  # the loop is stuck or stopping: end the connections
                _log.warning("postgres user store: async pool not closed on its loop (%s)", exc)
        self._end_connections()
        if loop is current:  # the pool's tasks stop once this call returns to the loop
            task = loop.create_task(self.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
