"""Refresh single-flight across "processes" with result hand-off, on every backend.

Each ``RefreshHandOff`` has its own backend instance opened with the same
options, as two processes would; many concurrent refreshes of one session
must reach the identity provider once, and every caller gets the same user.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.coordination import Coordination, CoordinationError
from authplug.coordination.handoff import RefreshHandOff, generation_key
from authplug.errors import ForceUserToReauthenticateError, ProviderUnavailableError
from authplug.session.keyring import KeyRing
from authplug.session.payload import SessionData, SessionUser

pytestmark = pytest.mark.anyio


def _keyring(key: str | None = None) -> KeyRing:
    key = key or base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    return KeyRing.from_config(AuthplugConfig(cookie_keys=[key]))


def _session(refresh_token: str = "rt-0") -> SessionData:
    user = SessionUser(
        user_id="ada",
        user_type="internal-user",
        auth_data={"access_token": "at-0", "refresh_token": refresh_token, "expires_at": "1"},
    )
    return SessionData.start(user, 1_700_000_000.0)


class Idp:
    """Counts refreshes; each one rotates the tokens."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls = 0
        self.fail = fail

    async def refresh(self, session: SessionData) -> SessionUser:
        self.calls += 1
        await asyncio.sleep(0.2)
        if self.fail is not None:
            raise self.fail
        return session.user.model_copy(
            update={
                "auth_data": {
                    "access_token": f"at-{self.calls}",
                    "refresh_token": f"rt-{self.calls}",
                    "expires_at": "9999999999",
                }
            }
        )


def _handoffs(
    open_backend: Callable[..., Coordination], keyring: KeyRing, count: int = 2
) -> list[RefreshHandOff]:
    first = open_backend(lease_ttl=5)
    backends = [first] + [
        first if not first.shared else open_backend(lease_ttl=5) for _ in range(count - 1)
    ]
    return [RefreshHandOff(b, keyring, "authplug_session", asyncio.to_thread) for b in backends]


async def test_concurrent_refreshes_reach_the_idp_once(
    open_backend: Callable[..., Coordination],
) -> None:
    keyring = _keyring()
    a, b = _handoffs(open_backend, keyring)
    idp = Idp()
    session = _session()
    results = await asyncio.gather(
        *(h.run(session, lambda: idp.refresh(session)) for h in [a, b] * 4)
    )
    assert idp.calls == 1
    assert {r.auth_data["refresh_token"] for r in results if r.auth_data} == {"rt-1"}
    # A latecomer with the old cookie takes the kept result instead of refreshing again.
    late = await b.run(session, lambda: idp.refresh(session))
    assert late.auth_data == results[0].auth_data
    assert idp.calls == 1


async def test_the_next_generation_refreshes_again(
    open_backend: Callable[..., Coordination],
) -> None:
    a, _ = _handoffs(open_backend, _keyring())
    idp = Idp()
    first = _session("rt-0")
    await a.run(first, lambda: idp.refresh(first))
    second = _session("rt-1").model_copy(update={"sid": first.sid})
    assert generation_key(second) != generation_key(first)
    await a.run(second, lambda: idp.refresh(second))
    assert idp.calls == 2


async def test_an_ended_session_ends_for_every_waiter(
    open_backend: Callable[..., Coordination],
) -> None:
    a, b = _handoffs(open_backend, _keyring())
    idp = Idp(ForceUserToReauthenticateError("refresh token revoked", code="invalid_grant"))
    session = _session()
    outcomes = await asyncio.gather(
        *(h.run(session, lambda: idp.refresh(session)) for h in [a, b, a, b]),
        return_exceptions=True,
    )
    assert idp.calls == 1
    assert all(isinstance(o, ForceUserToReauthenticateError) for o in outcomes)
    assert {o.code for o in outcomes if isinstance(o, ForceUserToReauthenticateError)} == {
        "invalid_grant"
    }


async def test_a_holder_that_fails_lets_the_next_one_try(
    open_backend: Callable[..., Coordination],
) -> None:
    a, b = _handoffs(open_backend, _keyring())
    failing = Idp(ProviderUnavailableError("idp down", provider="mock"))
    session = _session()
    with pytest.raises(ProviderUnavailableError):
        await a.run(session, lambda: failing.refresh(session))
    working = Idp()
    user = await b.run(session, lambda: working.refresh(session))
    assert working.calls == 1
    assert user.auth_data is not None
    assert user.auth_data["refresh_token"] == "rt-1"


async def test_the_kept_result_is_sealed(open_backend: Callable[..., Coordination]) -> None:
    keyring = _keyring()
    a, _ = _handoffs(open_backend, keyring)
    backend: Any = a._backend
    idp = Idp()
    session = _session()
    await a.run(session, lambda: idp.refresh(session))
    kept = backend.get_result(generation_key(session))
    assert kept is not None
    assert "rt-1" not in kept
    assert "at-1" not in kept
    assert "ada" not in kept
    # Another key ring cannot open it, and a cookie codec cannot either (own purpose).
    stranger = RefreshHandOff(backend, _keyring(), "authplug_session", asyncio.to_thread)
    assert stranger.open(kept) is None
    other_cookie = RefreshHandOff(backend, keyring, "other_cookie", asyncio.to_thread)
    assert other_cookie.open(kept) is None
    assert a.open(kept) is not None
    # Nor can the session cookie's codec: a kept result is never a valid cookie.
    from authplug.session.codec import SessionCodec

    assert SessionCodec(keyring, "session:authplug_session").open(kept) is None


async def test_a_holder_that_never_finishes_is_a_503(
    open_backend: Callable[..., Coordination],
) -> None:
    backend = open_backend(lease_ttl=1)
    session = _session()
    key = generation_key(session)
    lease = backend.try_lease(key)
    assert lease is not None
    handoff = RefreshHandOff(backend, _keyring(), "authplug_session", asyncio.to_thread)
    handoff._wait = 0.5  # the holder keeps renewing in spirit: shorter than the lease
    idp = Idp()
    with pytest.raises(CoordinationError) as caught:
        await handoff.run(session, lambda: idp.refresh(session))
    assert caught.value.status == 503
    assert idp.calls == 0
    backend.release(lease)
