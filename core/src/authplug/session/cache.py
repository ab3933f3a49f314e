"""``OpenedSessionCache``: skip decrypting a session cookie the process has just opened.

A browser sends the same session cookie on every request until authplug
re-seals it (about once a minute at most), so most requests carry a value this
process has already decoded, decrypted and validated. The cache maps the exact
sealed value, byte for byte, to what it opened to.

Why this is safe:

* The key is the complete sealed value. An altered, truncated, re-encoded or
  spliced value is a different key and goes through the full strict path, so
  nothing that would be refused can be served from the cache.
* Only what opening proved is cached: the immutable
  :class:`~authplug.session.payload.SessionData`, whether an older key
  sealed it, and the window of time in which its timestamps pass the
  lifetime and clock-skew checks (computed from the payload once). Every
  per-request check still runs on a hit: idle and absolute lifetimes and
  timestamps from the future (against that window), revocation of the
  session id (in the lifecycle), validation and refresh when due.
* It is bounded (``session_cache_size`` entries, oldest dropped first) and
  per process. It holds what the session cookie holds, in this process's
  memory only, as the request being served does anyway.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from authplug.session.manager import SessionRead

__all__ = ["Opened", "OpenedSessionCache"]


class Opened(NamedTuple):
    """What a sealed value opened to.

    Attributes:
        read: The valid :class:`~authplug.session.manager.SessionRead` it
            gives (the session, whether an older key sealed it, its chunk count).
        earliest: First instant (epoch seconds) at which no timestamp of the
            session lies beyond the accepted clock skew.
        latest: Last instant at which neither its idle nor its absolute
            lifetime has ended.
    """

    read: SessionRead
    earliest: float
    latest: float


class OpenedSessionCache:
    """A bounded map from sealed session values to what they opened to.

    Reads take no lock (a ``dict`` lookup); inserts take one and drop the
    oldest entries beyond ``capacity``.

    :param capacity: Most entries kept (at least 1).
    """

    __slots__ = ("_entries", "_lock", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._entries: dict[bytes, Opened] = {}
        self._lock = threading.Lock()

    def get(self, sealed: bytes) -> Opened | None:
        """What ``sealed`` opened to, when this process opened it recently."""
        return self._entries.get(sealed)

    def put(self, sealed: bytes, opened: Opened) -> None:
        """Remember that ``sealed`` opened to ``opened``."""
        with self._lock:
            entries = self._entries
            if sealed in entries:
                return
            while len(entries) >= self.capacity:
                del entries[next(iter(entries))]
            entries[sealed] = opened

    def __len__(self) -> int:
        """How many values are cached."""
        return len(self._entries)
