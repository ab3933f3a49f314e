"""A refresh storm across 2 machines x 4 uvicorn workers reaches the identity provider once.

200 concurrent requests carry one session whose access token is about to
expire, spread over both machines. Without the cross-process hand-off every
worker would refresh (eight refreshes; with a rotating refresh token all but
one would fail with ``invalid_grant`` and log the user out).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

STORM = 200


def test_one_refresh_reaches_the_idp_and_nobody_is_logged_out(
    cluster: Any, machines: tuple[Any, Any]
) -> None:
    session, cookies = cluster.session_cookie(expires_in=10)
    before = len(cluster.refreshes())
    headers = cluster.headers(cookies)

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=STORM, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.get(f"{machines[i % 2].url}/whoami", headers=headers)
                    for i in range(STORM)
                )
            )

    responses = asyncio.run(storm())
    assert [r.status_code for r in responses] == [200] * STORM
    assert {r.json()["user"] for r in responses} == {"admin"}
    assert len({r.json()["pid"] for r in responses}) >= 2  # really spread over processes
    assert len(cluster.refreshes()) - before == 1
    renewed = [cluster.read_session(dict(r.cookies)) for r in responses]
    assert all(s is not None and s.sid == session.sid for s in renewed)
    tokens = {s.user.auth_data["refresh_token"] for s in renewed if s is not None}
    assert len(tokens) == 1
    assert session.user.auth_data["refresh_token"] not in tokens
