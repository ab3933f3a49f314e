"""Single-flight groups: one call per key at a time, shared outcome, short retention."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from authplug.singleflight import AsyncSingleFlight, ThreadSingleFlight

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _drive(coro: Any) -> Any:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("suspended")


async def test_async_concurrent_callers_share_one_call() -> None:
    flight: AsyncSingleFlight[int] = AsyncSingleFlight(retain=0)
    calls = 0
    gate = asyncio.Event()

    async def work() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 42

    tasks = [asyncio.ensure_future(flight.run("k", work)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == [42] * 20
    assert calls == 1
    # retain=0: a later call runs again.
    assert await flight.run("k", work) == 42
    assert calls == 2


async def test_async_errors_reach_every_waiter_and_are_not_retained() -> None:
    flight: AsyncSingleFlight[int] = AsyncSingleFlight()
    calls = 0

    async def fail() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise LookupError("nope")

    results = await asyncio.gather(
        *(flight.run("k", fail) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results)
    assert calls == 1
    with pytest.raises(LookupError):
        await flight.run("k", fail)
    assert calls == 2


async def test_async_cancelled_leader_does_not_cancel_the_call() -> None:
    flight: AsyncSingleFlight[str] = AsyncSingleFlight()
    gate = asyncio.Event()

    async def work() -> str:
        await gate.wait()
        return "done"

    leader = asyncio.ensure_future(flight.run("k", work))
    follower = asyncio.ensure_future(flight.run("k", work))
    await asyncio.sleep(0)
    leader.cancel()
    gate.set()
    assert await follower == "done"


async def test_retention_expires_and_keys_are_independent() -> None:
    clock = Clock()
    flight: AsyncSingleFlight[int] = AsyncSingleFlight(retain=30, clock=clock)
    counter = iter(range(100))

    def make() -> Callable[[], Awaitable[int]]:
        async def work() -> int:
            return next(counter)

        return work

    assert await flight.run("a", make()) == 0
    assert await flight.run("a", make()) == 0  # retained
    assert await flight.run("b", make()) == 1
    clock.now = 31
    assert await flight.run("a", make()) == 2


def test_thread_single_flight_shares_one_call_across_threads() -> None:
    flight: ThreadSingleFlight[int] = ThreadSingleFlight(retain=0)
    calls = 0
    entered = threading.Event()
    release = threading.Event()

    async def work() -> int:
        nonlocal calls
        calls += 1
        entered.set()
        release.wait(5)
        return 7

    with ThreadPoolExecutor(max_workers=10) as pool:
        leader = pool.submit(lambda: _drive(flight.run("k", work)))
        entered.wait(5)
        followers = [pool.submit(lambda: _drive(flight.run("k", work))) for _ in range(9)]
        # Followers are blocked on the leader; nothing has returned yet.
        assert not any(f.done() for f in followers)
        release.set()
        assert leader.result(5) == 7
        assert [f.result(5) for f in followers] == [7] * 9
    assert calls == 1


def test_thread_errors_reach_waiters() -> None:
    flight: ThreadSingleFlight[int] = ThreadSingleFlight()

    async def fail() -> int:
        raise KeyError("x")

    with pytest.raises(KeyError):
        _drive(flight.run("k", fail))
