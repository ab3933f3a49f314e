"""Remembered "valid, nothing to do" verdicts, keyed by the exact Cookie header.

The hot path of a session request (:meth:`Lifecycle.fast_user
<authplug.lifecycle.Lifecycle.fast_user>`) asks the one classifier,
:meth:`Lifecycle.classify_session <authplug.lifecycle.Lifecycle.classify_session>`,
once per Cookie header value and keeps its answer here while it cannot
change: the classifier's answer for the same header bytes depends only on
the time (lifetimes, refresh margin, validation interval, touch interval),
on revocation and, for access rules, on the path. So an entry holds the
user, the session id and the time window ``[earliest, until)`` in which the
classifier would say ``VALID`` (or ``DENIED``, for a path a rule refuses); a
hit re-checks the window, revocation and the access rules on every request.
Outside the window (or on any doubt) the classifier decides again.

* Keyed by the whole header value as the host received it (``bytes`` from
  ASGI, ``str`` from WSGI), so a hit costs one dictionary lookup: no cookie
  parsing, no base64, no decryption, no model validation.
* Bounded (``session_cache_size`` entries, oldest dropped first) and off when
  the opened-session cache is off, so "cache off" means both.
* Holds what the cookie holds, in this process's memory only.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from authplug.models import AuthenticatedUser

__all__ = ["ValidVerdict", "VerdictCache"]


class ValidVerdict(NamedTuple):
    """A session the classifier found valid, and until when that holds.

    Attributes:
        user: The session's user.
        sid: The session id (revocation is checked on every hit).
        earliest: First instant (epoch seconds) the answer holds (no
            timestamp of the session lies beyond the accepted clock skew).
        until: First instant it no longer holds: the earliest of the idle
            and absolute ends, the refresh margin, the validation interval
            and the touch interval.
    """

    user: AuthenticatedUser[Any, Any]
    sid: str
    earliest: float
    until: float


class VerdictCache:
    """A bounded map from Cookie header values to :class:`ValidVerdict`.

    Reads take no lock (one ``dict`` lookup); writes take one and drop the
    oldest entries beyond ``capacity``.

    :param capacity: Most entries kept (at least 1).
    """

    __slots__ = ("_entries", "_lock", "capacity", "get")

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._entries: dict[bytes | str, ValidVerdict] = {}
        self._lock = threading.Lock()
        self.get = self._entries.get
        """The verdict remembered for a header value, or ``None``."""

    def put(self, header: bytes | str, verdict: ValidVerdict) -> None:
        """Remember ``verdict`` for ``header``."""
        with self._lock:
            entries = self._entries
            entries.pop(header, None)
            while len(entries) >= self.capacity:
                del entries[next(iter(entries))]
            entries[header] = verdict

    def drop(self, header: bytes | str) -> None:
        """Forget ``header`` (its window has passed or its session is revoked)."""
        with self._lock:
            self._entries.pop(header, None)

    def __len__(self) -> int:
        """How many header values are remembered."""
        return len(self._entries)
