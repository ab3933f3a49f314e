"""A revocation reaches the other processes: the broadcast side of ``SessionRevocation``.

Two ``SessionRevocation`` objects stand for two worker processes sharing one
real SQLite coordination file and one user store: a logout in one must make
the other refuse the same session id, for as long as the revocation holds
(its absolute end plus the clock skew), and no other session id. Mutation
testing showed no in-process test covered this path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from authplug.coordination import open_coordination
from authplug.coordination.base import Coordination
from authplug.revocation import REVOCATION_SKEW, RevokedSessions, SessionRevocation
from authplug.session.payload import SessionData
from authplug.stores.memory import MemoryUserStore

LIFETIME = 8 * 3600.0


def _session(sid: str, created_at: float) -> SessionData:
    return SessionData.model_validate(
        {
            "sid": sid,
            "user": {
                "user_id": "alice",
                "first_name": "A",
                "last_name": "L",
                "user_type": "internal-user",
            },
            "created_at": created_at,
            "last_seen_at": created_at,
            "validated_at": created_at,
        }
    )


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[tuple[Coordination, Coordination]]:
    path = str(tmp_path / "coordination.sqlite3")
    first = open_coordination("sqlite", {"path": path})
    second = open_coordination("sqlite", {"path": path})
    yield first, second
    first.close()
    second.close()


def _wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_a_revocation_in_one_process_is_refused_in_the_other(
    backends: tuple[Coordination, Coordination],
) -> None:
    store = MemoryUserStore()
    here = SessionRevocation(RevokedSessions(), store, LIFETIME, backends[0])
    there = SessionRevocation(RevokedSessions(), store, LIFETIME, backends[1])
    now = time.time()
    session = _session("broadcast-sid-0001", now - 60)
    other = _session("broadcast-sid-0002", now - 60)
    end = session.created_at + LIFETIME + REVOCATION_SKEW

    here.revoke(session, now)

    assert _wait_for(lambda: there.is_revoked(session, now)), "the other process never heard"
    assert there.is_revoked(session, end - 1)
    assert not there.is_revoked(session, end)
    assert not there.is_revoked(other, now)
    assert here.is_revoked(session, end - 1)
    assert not here.is_revoked(session, end)
