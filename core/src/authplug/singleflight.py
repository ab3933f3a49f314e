"""Single-flight: at most one call per key at a time, every waiter gets its result.

Token refresh must run once per session even when 50 requests carrying the
same near-expiry cookie arrive together: a second redemption of a rotated
refresh token would revoke the whole token family (RFC 9700 §4.14.2). A
successful result is also *retained* for a short while, so a request that
arrives just after the refresh with the old cookie reuses the new tokens
instead of redeeming the old refresh token again.

Two implementations share one interface, ``await flight.run(key, fn)``:

* :class:`AsyncSingleFlight` for the ASGI host: waiters are asyncio tasks; the
  call runs in its own task, so a cancelled (disconnected) leader does not
  cancel the refresh the others wait for.
* :class:`ThreadSingleFlight` for the WSGI host: waiters are threads blocked
  on an event. Its ``run`` is a coroutine that never suspends; the WSGI host
  drives the lifecycle coroutine synchronously (see :mod:`authplug.wsgi`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["AsyncSingleFlight", "SingleFlight", "ThreadSingleFlight"]

T = TypeVar("T")

DEFAULT_RETAIN_SECONDS = 30.0
DEFAULT_MAX_RETAINED = 4096


class SingleFlight(Protocol[T]):
    """Run ``fn`` once per ``key`` at a time; concurrent callers share its outcome."""

    async def run(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Return ``fn()``'s result, or the result of the call already running for ``key``."""
        ...


class _Retained(Generic[T]):
    """Recent successful results by key, bounded in age and number."""

    __slots__ = ("_clock", "_entries", "_max", "_retain")

    def __init__(self, retain: float, max_entries: int, clock: Callable[[], float]) -> None:
        self._retain = retain
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def get(self, key: str) -> tuple[bool, T | None]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if self._clock() - entry[0] > self._retain:
            del self._entries[key]
            return False, None
        return True, entry[1]

    def put(self, key: str, value: T) -> None:
        if self._retain <= 0:
            return
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


class AsyncSingleFlight(Generic[T]):
    """Single-flight for asyncio tasks (one instance per host, per event loop).

    :param retain: Seconds a successful result is reused for later callers
        with the same key (0 disables reuse).
    :param max_entries: Most retained results kept (oldest dropped first).
    :param clock: Monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        *,
        retain: float = DEFAULT_RETAIN_SECONDS,
        max_entries: int = DEFAULT_MAX_RETAINED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inflight: dict[str, asyncio.Task[T]] = {}
        self._retained: _Retained[T] = _Retained(retain, max_entries, clock)

    async def run(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Return ``fn()``'s result, sharing one call among concurrent callers of ``key``."""
        found, value = self._retained.get(key)
        if found:
            return value  # type: ignore[return-value]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._finish(key, t))
        return await asyncio.shield(task)

    def _finish(self, key: str, task: asyncio.Task[T]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled():
            return
        # Retrieving the exception marks it as seen even when every waiter left.
        if task.exception() is None:
            self._retained.put(key, task.result())


class _Call(Generic[T]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class ThreadSingleFlight(Generic[T]):
    """Single-flight for threads (the WSGI host).

    ``run`` is a coroutine so the lifecycle has one shape for both hosts, but
    it never suspends: waiters block their own thread until the leader is
    done. Do not use it on an event loop.

    :param retain: Seconds a successful result is reused (0 disables reuse).
    :param max_entries: Most retained results kept.
    :param clock: Monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        *,
        retain: float = DEFAULT_RETAIN_SECONDS,
        max_entries: int = DEFAULT_MAX_RETAINED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._inflight: dict[str, _Call[T]] = {}
        self._retained: _Retained[T] = _Retained(retain, max_entries, clock)

    async def run(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Return ``fn()``'s result, sharing one call among concurrent threads for ``key``."""
        with self._lock:
            found, value = self._retained.get(key)
            if found:
                return value  # type: ignore[return-value]
            call = self._inflight.get(key)
            leader = call is None
            if call is None:
                call = self._inflight[key] = _Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.value  # type: ignore[return-value]
        try:
            result = await fn()
        except BaseException as exc:
            call.error = exc
            raise
        else:
            call.value = result
            with self._lock:
                self._retained.put(key, result)
            return result
        finally:
            with self._lock:
                del self._inflight[key]
            call.done.set()
