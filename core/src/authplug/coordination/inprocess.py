"""``InProcessCoordination``: leases, results and broadcasts inside one process (the default).

This is authplug's behaviour without a shared backend: refresh is
single-flight per process and a logout reaches this process only (the user
store tells the others at their next due validation). It never fails.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from authplug.coordination.base import (
    MAX_RESULT_TTL,
    CoordinationError,
    Lease,
    RevocationListener,
    float_option,
)
from authplug.errors import ConfigError

__all__ = ["InProcessCoordination"]

_MAX_RESULTS = 4096


class InProcessCoordination:
    """The ``inprocess`` backend (options: ``lease_ttl``, seconds, default 10).

    :param clock: Monotonic clock, injectable for tests.
    """

    name = "inprocess"
    shared = False

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, **options: Any) -> None:
        self.lease_ttl = float_option(options, "lease_ttl", 10, 1, 300)
        if options:
            raise ConfigError(
                f"coordination_options: not accepted by the inprocess backend: "
                f"{', '.join(sorted(options))}"
            )
        self._clock = clock
        self._lock = threading.Condition()
        self._leases: dict[str, tuple[str, float]] = {}
        self._results: dict[str, tuple[str, float]] = {}
        self._listeners: list[RevocationListener] = []
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise CoordinationError("the inprocess coordination is closed", backend=self.name)

    def try_lease(self, key: str) -> Lease | None:
        """Take ``key`` unless a live lease holds it."""
        now = self._clock()
        with self._lock:
            self._check_open()
            held = self._leases.get(key)
            if held is not None and held[1] > now:
                return None
            token = secrets.token_urlsafe(16)
            self._leases[key] = (token, now + self.lease_ttl)
            return Lease(key, token)

    def release(self, lease: Lease) -> None:
        """Drop ``lease`` if it is still ours; wake the waiters."""
        with self._lock:
            held = self._leases.get(lease.key)
            if held is not None and held[0] == lease.token:
                del self._leases[lease.key]
            self._lock.notify_all()

    def wait_released(self, key: str, timeout: float) -> None:
        """Wait until ``key`` is released or expires, at most ``timeout`` seconds."""
        deadline = self._clock() + timeout
        with self._lock:
            while True:
                held = self._leases.get(key)
                now = self._clock()
                if held is None or held[1] <= now or now >= deadline or self._closed:
                    return
                self._lock.wait(min(deadline, held[1]) - now)

    def put_result(self, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds (at most 60); the oldest go first beyond 4096."""
        now = self._clock()
        with self._lock:
            self._check_open()
            self._results = {k: v for k, v in self._results.items() if v[1] > now}
            while len(self._results) >= _MAX_RESULTS:
                del self._results[next(iter(self._results))]
            self._results[key] = (value, now + min(ttl, MAX_RESULT_TTL))

    def get_result(self, key: str) -> str | None:
        """The value kept under ``key`` unless expired."""
        with self._lock:
            self._check_open()
            kept = self._results.get(key)
        if kept is None or kept[1] <= self._clock():
            return None
        return kept[0]

    def publish_revocation(self, sid: str, until: float) -> None:
        """Call this process's listeners."""
        with self._lock:
            self._check_open()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(sid, until)

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        """Add ``listener`` for revocations published in this process."""
        with self._lock:
            self._listeners.append(listener)

    def catch_up(self) -> None:
        """Nothing to catch up: this process's revocations are delivered as they are made."""

    def check(self) -> str:
        """Always reachable."""
        self._check_open()
        return "inprocess (this process only)"

    def close(self) -> None:
        """Forget everything; later calls raise."""
        with self._lock:
            self._closed = True
            self._leases.clear()
            self._results.clear()
            self._listeners.clear()
            self._lock.notify_all()
