"""``MemoryUserStore``: a thread-safe, per-process user store (tests, demos).

Rows (revoked session ids, one-time keys) live in dicts guarded by a lock and vanish with
the process. It is the default store of :func:`authplug.host.build_host`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from authplug.models import ToolUserView
from authplug.stores.base import StoreError, UserRecord, as_utc

__all__ = ["MemoryUserStore"]

_PRUNE_AT = 1024
"""One-time keys held before ended ones are pruned on the next claim."""


class MemoryUserStore:
    """Keep user records in memory (entry point ``memory``; takes no options)."""

    def __init__(self) -> None:
        self._rows: dict[str, UserRecord] = {}
        self._revoked: dict[str, datetime] = {}
        self._claimed: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the user store is closed", code="store_closed")

    def record_login(self, user: ToolUserView, now: datetime) -> None:
        """Insert ``user`` or refresh its profile; set ``last_login`` to ``now``."""
        with self._lock:
            self._check_open()
            old = self._rows.get(user.user_id)
            first_seen = old.first_seen if old is not None else now
            self._rows[user.user_id] = UserRecord.from_view(
                user, first_seen=first_seen, last_login=now
            )

    def update(self, user: ToolUserView, now: datetime) -> None:
        """Replace ``user``'s profile, keeping its timestamps (create when missing)."""
        with self._lock:
            self._check_open()
            old = self._rows.get(user.user_id)
            if old is None:
                record = UserRecord.from_view(user, first_seen=now, last_login=now)
            else:
                record = UserRecord.from_view(
                    user, first_seen=old.first_seen, last_login=old.last_login
                )
            self._rows[user.user_id] = record

    def get(self, user_id: str) -> UserRecord | None:
        """Return the record of ``user_id`` or ``None``."""
        with self._lock:
            self._check_open()
            return self._rows.get(user_id)

    def revoke_session(self, sid: str, until: datetime) -> None:
        """Record ``sid`` as revoked until ``until``; drop revocations ended by the wall clock."""
        until = as_utc(until)
        with self._lock:
            self._check_open()
            previous = self._revoked.get(sid)
            if previous is not None and previous > until:
                until = previous
            now = datetime.now(UTC)
            self._revoked = {s: u for s, u in self._revoked.items() if u > now}
            self._revoked[sid] = until

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        """Whether ``sid`` is revoked at ``now``."""
        with self._lock:
            self._check_open()
            until = self._revoked.get(sid)
        return until is not None and as_utc(now) < until

    def claim_once(self, key: str, until: datetime, now: datetime) -> bool:
        """Record ``key`` as used until ``until``; ``False`` when it already is at ``now``."""
        until, now = as_utc(until), as_utc(now)
        with self._lock:
            self._check_open()
            previous = self._claimed.get(key)
            if previous is not None and previous > now:
                return False
            if len(self._claimed) >= _PRUNE_AT:
                self._claimed = {k: u for k, u in self._claimed.items() if u > now}
            self._claimed[key] = until
            return True

    def __len__(self) -> int:
        """The number of users recorded."""
        with self._lock:
            return len(self._rows)

    def close(self) -> None:
        """Mark the store closed and drop its rows."""
        with self._lock:
            self._closed = True
            self._rows.clear()
            self._revoked.clear()
            self._claimed.clear()
