"""Logout on one machine: the old cookie is refused by every worker of the other at once.

Without the broadcast the other machine's workers would accept the cookie
until the session's next due validation (``validate_interval``, 300 s here).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server


def test_logout_on_a_is_refused_on_b_on_the_very_next_request(
    cluster: Any, machines: tuple[Any, Any]
) -> None:
    a, b = machines
    _, cookies = cluster.session_cookie(expires_in=3000)
    headers = cluster.headers(cookies)
    with httpx.Client(timeout=30) as client:
        # Every worker of B accepts the session first (fresh connections spread over workers).
        for _ in range(8):
            ok = client.get(f"{b.url}/whoami", headers={**headers, "connection": "close"})
            assert ok.status_code == 200
        out = cluster.logout(client, a.url, cookies)
        assert out.status_code in (302, 303)
        refused = [
            client.get(f"{b.url}/whoami", headers={**headers, "connection": "close"})
            for _ in range(8)
        ]
    assert [r.status_code for r in refused] == [401] * 8
