"""kill -9 of the worker holding the refresh lease: another machine recovers the session.

The (counting) identity provider holds the first refresh while a file exists;
the test kills the worker in that refresh with SIGKILL, then sends the same
about-to-expire cookie to the other machine, which waits for the lease to
expire (3 s here) and refreshes: the user stays signed in.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server


def test_the_session_recovers_after_the_lease_holder_is_killed(
    cluster: Any, machines: tuple[Any, Any]
) -> None:
    a, b = machines
    session, cookies = cluster.session_cookie(expires_in=10)
    headers = cluster.headers(cookies)
    before = len(cluster.refreshes())
    cluster.hold.touch()
    outcome: list[object] = []

    def doomed() -> None:
        try:
            outcome.append(httpx.get(f"{a.url}/whoami", headers=headers, timeout=60))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=doomed)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(cluster.refreshes()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        refreshes = cluster.refreshes()
        assert len(refreshes) == before + 1, "the first refresh never started"
        os.kill(refreshes[-1], signal.SIGKILL)
    finally:
        cluster.hold.unlink()
    thread.join(timeout=60)
    assert outcome
    assert not isinstance(outcome[0], httpx.Response) or outcome[0].status_code != 200

    recovered = httpx.get(f"{b.url}/whoami", headers=headers, timeout=60)
    assert recovered.status_code == 200
    assert recovered.json()["user"] == "admin"
    renewed = cluster.read_session(dict(recovered.cookies))
    assert renewed is not None
    assert renewed.sid == session.sid
    assert renewed.user.auth_data["refresh_token"] != session.user.auth_data["refresh_token"]
    assert len(cluster.refreshes()) == before + 2
