"""Logout on one machine: the old cookie is refused by every worker of the other at once.

Without the broadcast the other machine's workers would accept the cookie
until the session's next due validation (``validate_interval``, 300 s here).
"At once" is checked the strict way, many times: each round signs a new
session in, lets every worker of B accept it (so each remembers it as
valid), logs it out on A and sends the very next request to B with no pause,
while other clients keep B's workers busy (a busy receiver is where a
message still waiting on the subscriber's socket would let the cookie
through).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

ROUNDS = 25


def _rounds(cluster: Any, a: Any, b: Any) -> list[tuple[int, int]]:
    """Run the rounds; return ``(round, status)`` of each very next request not refused."""
    _, busy_cookies = cluster.session_cookie(expires_in=3000, user_id="busy")
    stop = threading.Event()

    def keep_b_busy() -> None:
        with httpx.Client(timeout=30) as busy:
            while not stop.is_set():
                busy.get(f"{b.url}/whoami", headers=cluster.headers(busy_cookies))

    load = [threading.Thread(target=keep_b_busy, daemon=True) for _ in range(4)]
    for thread in load:
        thread.start()
    accepted_after_logout = []
    try:
        with httpx.Client(timeout=30) as client:
            for round_number in range(ROUNDS):
                _, cookies = cluster.session_cookie(expires_in=3000)
                headers = {**cluster.headers(cookies), "connection": "close"}
                # Every worker of B accepts the session first (fresh connections spread).
                for _ in range(8):
                    assert client.get(f"{b.url}/whoami", headers=headers).status_code == 200
                out = cluster.logout(client, a.url, cookies)
                assert out.status_code in (302, 303)
                after = client.get(f"{b.url}/whoami", headers=headers)
                if after.status_code != 401:
                    accepted_after_logout.append((round_number, after.status_code))
                refused = [client.get(f"{b.url}/whoami", headers=headers) for _ in range(4)]
                assert [r.status_code for r in refused] == [401] * 4
    finally:
        stop.set()
        for thread in load:
            thread.join(timeout=30)
    return accepted_after_logout


def test_logout_on_a_is_refused_on_b_on_the_very_next_request(
    cluster: Any, machines: tuple[Any, Any]
) -> None:
    """Redis coordination, two machines of four workers."""
    a, b = machines
    assert _rounds(cluster, a, b) == []
