"""How long a revocation is kept: the session's absolute end plus the clock skew (issue #15.3).

A revocation that ended early would let a copied cookie be replayed in the
last part of its absolute lifetime; one kept forever would grow the store.
Both the in-process map and the shared store are checked at the last second
the revocation must hold and the first second it may end. Times are anchored
to the wall clock because the stores prune ended revocations by it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from authplug.revocation import REVOCATION_SKEW, RevokedSessions, SessionRevocation
from authplug.session.payload import SessionData
from authplug.stores.memory import MemoryUserStore

LIFETIME = 8 * 3600.0


def session_created(created_at: float) -> SessionData:
    return SessionData.model_validate(
        {
            "sid": "revoked-session-id-0001",
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


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


@pytest.mark.parametrize("left", [30.0, 120.0, LIFETIME / 2])
def test_revocation_holds_until_the_absolute_end_plus_skew(left: float) -> None:
    """``left``: seconds of absolute lifetime the session has when it is revoked."""
    now = float(int(time.time()))
    session = session_created(now - (LIFETIME - left))
    end = session.created_at + LIFETIME + REVOCATION_SKEW
    assert REVOCATION_SKEW == 60.0  # the session reader's tolerated skew, documented
    store = MemoryUserStore()
    here = SessionRevocation(RevokedSessions(), store, LIFETIME)
    assert here.until(session) == end

    here.revoke(session, now)
    for at, revoked in ((now, True), (end - 1, True), (end - 0.001, True), (end, False)):
        assert here.is_revoked(session, at) is revoked, at
        assert store.is_session_revoked(session.sid, moment(at)) is revoked, at

    # Another process learns it from the store and keeps it just as long.
    there = SessionRevocation(RevokedSessions(), store, LIFETIME)
    assert there.is_revoked(session, now) is False
    assert there.check_store(session, now) is True
    assert there.is_revoked(session, end - 1) is True
    assert there.is_revoked(session, end) is False


def test_a_session_not_revoked_is_not_reported() -> None:
    now = float(int(time.time()))
    session = session_created(now - 10)
    store = MemoryUserStore()
    here = SessionRevocation(RevokedSessions(), store, LIFETIME)
    assert here.check_store(session, now) is False
    assert here.is_revoked(session, now) is False


def test_prune_drops_a_revocation_at_its_end_not_before() -> None:
    revoked = RevokedSessions()
    revoked.revoke("a", until=100.0)
    revoked.revoke("b", until=101.0)
    assert revoked.prune(99.0) == 0
    assert revoked.prune(100.0) == 1  # is_revoked("a", 100.0) is already false
    assert len(revoked) == 1
    assert revoked.is_revoked("b", 100.0)
