"""``BoundedMap``: the hot path's memory: a dict with a size bound, lock-free reads.

Used for the answers the host remembers between requests (a session's
"valid" verdict per Cookie header, a stateless provider's
:class:`~authplug.results.Remembered` answer per credential). Every entry
carries its own validity window, checked by the caller on each hit; this map
only bounds how many are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["BoundedMap"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """A bounded map, oldest entries dropped first.

    Reads take no lock (one ``dict`` lookup, atomic); writes take one.

    :param capacity: Most entries kept (at least 1).
    """

    __slots__ = ("_entries", "_lock", "capacity", "get")

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._entries: dict[K, V] = {}
        self._lock = threading.Lock()
        self.get = self._entries.get
        """The value kept for a key, or ``None``."""

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` (dropping the oldest entries beyond the bound)."""
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            while len(entries) >= self.capacity:
                del entries[next(iter(entries))]
            entries[key] = value

    def drop(self, key: K) -> None:
        """Forget ``key`` (its window has passed, or it no longer holds)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._entries)
