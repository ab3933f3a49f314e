"""A mock user survives the real session cookie and keeps working afterwards."""

from __future__ import annotations

import time

import pytest

from authplug.host import Host
from authplug.request import AuthRequest

from .conftest import log_in

pytestmark = pytest.mark.anyio


def _cookie_header(cookies) -> tuple[bytes, bytes]:
    return (b"cookie", "; ".join(f"{c.name}={c.value}" for c in cookies).encode())


@pytest.mark.parametrize("user_id", ["admin", "staff", "customer"])
async def test_user_round_trips_through_the_session_cookie(host: Host, user_id: str) -> None:
    user = await log_in(host, user_id)
    now = time.time()

    cookies = host.sessions.write(host.sessions.new_session(user, now))
    read = host.sessions.read([_cookie_header(cookies)], now)

    assert len(cookies) == 1  # a mock session fits one cookie
    assert read.session is not None
    restored = read.session.user
    assert restored.model_dump() == user.model_dump()
    assert await host.hooks.validate(AuthRequest(method="GET", path="/"), restored) is None
    refreshed = await host.hooks.refresh(restored)
    assert refreshed.auth_data is not None
    assert restored.auth_data is not None
    assert refreshed.auth_data["access_token"] != restored.auth_data["access_token"]
